// SPDX-License-Identifier: GPL-2.0
/*
 * A VMM saving a vCPU (KVM_GET_LAPIC, as QEMU does for every vCPU at a
 * live migration's switch-over, the VM stopped) gets an armed pvx timer's
 * interrupt in the saved APIC: the destination host knows nothing of the
 * source's timers, so an expiry left behind on the source would never
 * reach the guest, and a guest tick waiting on it would stop.  The guest
 * arms 10 s and stops (the VMM's save); the saved IRR must hold the
 * vector, the guest must take it long before 10 s, and the next deadline
 * (1 ms) must not be pushed past the old one.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_irq.h"

#define VEC		0xec
#define MS		1000000ULL

enum { STEP_ARMED = 1, STEP_WOKEN, STEP_AGAIN };

static uint64_t timer_set(uint64_t delta)
{
	return guest_hypercall(PVX_HC_TIMER_SET, delta, 0, 0, 0);
}

/* Interrupts on until the count moves, @ms of kvmclock time at most. */
static uint64_t guest_wait_irq(uint64_t ms)
{
	uint64_t n = guest_irq_count, t0 = guest_kvmclock_ns();

	guest_sti();
	while (guest_irq_count == n && guest_kvmclock_ns() - t0 < ms * MS)
		asm volatile("pause");
	guest_cli();
	return guest_kvmclock_ns() - t0;
}

static void guest_main(uint64_t arg)
{
	uint64_t n, ns, r;

	(void)arg;
	guest_x2apic_enable();
	guest_kvmclock_enable();
	guest_hypercall(PVX_HC_SET_VECTOR, VEC, 0, 0, 0);
	GUEST_SYNC(STEP_ARMED, timer_set(10000 * MS));
	n = guest_irq_count;
	ns = guest_wait_irq(3000);
	GUEST_SYNC(STEP_WOKEN, guest_irq_count - n, ns,
		   guest_irq_vec_count[VEC]);
	r = timer_set(1 * MS);
	n = guest_irq_count;
	ns = guest_wait_irq(3000);
	GUEST_SYNC(STEP_AGAIN, r, guest_irq_count - n, ns);
	GUEST_DONE();
}

int main(void)
{
	struct kvm_lapic_state lapic;
	struct pvx_vm_stats st;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint64_t id;
	int pvx, r;

	tap_init("save_test: a VMM's save of a vCPU takes its armed pvx timer along");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_TIMER);
	vm = vm_create();
	vm_enable_irqchip(vm);
	vcpu = vcpu_add(vm, guest_main, 0);
	vcpu_setup_idt(vcpu);
	id = pvx_attach(pvx, vm->fd, PVX_F_TIMER, 0);

	if (!vcpu_expect_step(vcpu, STEP_ARMED, &uc) ||
	    !TAP_EQ(uc.args[1], 0, "10 s timer armed"))
		goto out;
	r = ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic);
	if (!tap_ok(!r, "KVM_GET_LAPIC on the stopped vCPU"))
		goto out;
	/* IRR: 8 registers of 32 bits, 16 bytes apart, from 0x200. */
	tap_ok(lapic.regs[0x200 + (VEC / 32) * 0x10 + (VEC % 32) / 8] &
	       (1 << (VEC % 8)),
	       "the saved APIC holds the timer's interrupt (vector %#x in IRR)",
	       VEC);
	r = pvx_find_vm(pvx, id, &st);
	tap_ok(r == 1 && st.timers_fired == 1,
	       "pvx counted the expiry as fired (r=%d, fired %llu)", r,
	       (unsigned long long)(r == 1 ? st.timers_fired : 0));
	if (vcpu_expect_step(vcpu, STEP_WOKEN, &uc)) {
		TAP_EQ(uc.args[1], 1, "the guest took one interrupt");
		tap_ok(uc.args[2] < 3000 * MS,
		       "long before its 10 s deadline (%llu ms after the save)",
		       (unsigned long long)(uc.args[2] / MS));
		TAP_EQ(uc.args[3], 1, "on the registered vector");
	}
	if (vcpu_expect_step(vcpu, STEP_AGAIN, &uc)) {
		TAP_EQ(uc.args[1], 0, "a 1 ms timer armed after it");
		TAP_EQ(uc.args[2], 1, "and it fired");
		tap_ok(uc.args[3] < 3000 * MS,
		       "in %llu ms: the early expiry did not push it to the old deadline",
		       (unsigned long long)(uc.args[3] / MS));
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "guest done");
out:
	vm_free(vm);
	close(pvx);
	tap_finish();
}
