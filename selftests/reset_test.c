// SPDX-License-Identifier: GPL-2.0
/*
 * A guest reset drops what the guest set up with pvx, as QEMU's
 * system_reset does it: nothing reaches KVM but KVM_SET_LAPIC on every
 * vCPU (the boot vCPU gets no INIT).  Before the reset the guest has a
 * notification vector, a 300 ms timer armed, 16 pages ballooned and a
 * split-phase copy finished but not collected; after it (the VMM's
 * KVM_SET_LAPIC of vCPU 0) the next boot must see a first boot: no timer
 * interrupt, no vector (TIMER_SET -ENOENT), nothing ballooned (the same
 * range inflates again), nothing to collect, another probe instance.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_irq.h"

#define VEC		0xec
#define MS		1000000ULL
#define PAGE		4096ULL
#define ANON_GPA	0x20000000ULL
#define ANON_SIZE	(2ULL << 20)
#define NPAGES		16

enum { STEP_ARMED = 1, STEP_INSTANCE, STEP_AFTER, STEP_INSTANCE2, STEP_AGAIN };

static struct pvx_gfn_range range __aligned(64);
static struct pvx_copy_entry copy __aligned(64);
static struct pvx_completion done_rec __aligned(64);
static struct pvx_probe_info info __aligned(64);
static struct pvx_balloon_info binfo __aligned(64);

static uint64_t probe_instance(void)
{
	guest_hypercall(PVX_HC_PROBE, (uint64_t)&info, sizeof(info), 0, 0);
	return info.instance;
}

static uint64_t inflate(void)
{
	range.gfn = ANON_GPA / PAGE;
	range.npages = NPAGES;
	range.status = 0;
	return guest_hypercall(PVX_HC_BALLOON_INFLATE, (uint64_t)&range, 1,
			       0, 0);
}

static void guest_main(uint64_t arg)
{
	uint64_t t0, n, timer, split, ballooned;

	(void)arg;
	guest_x2apic_enable();
	guest_kvmclock_enable();
	guest_hypercall(PVX_HC_SET_VECTOR, VEC, 0, 0, 0);
	/* A copy done by the host, its notification not yet taken. */
	copy.src_gfn = ANON_GPA / PAGE + NPAGES;
	copy.dst_gfn = ANON_GPA / PAGE + NPAGES + 1;
	split = guest_hypercall(PVX_HC_COPY_PAGES, (uint64_t)&copy, 1,
				PVX_SPLIT, (uint64_t)&done_rec);
	GUEST_SYNC(STEP_ARMED, guest_hypercall(PVX_HC_TIMER_SET, 300 * MS, 0,
					       0, 0),
		   inflate(), split);
	GUEST_SYNC(STEP_INSTANCE, probe_instance());

	/* The reset came: 600 ms, interrupts on. */
	n = guest_irq_count;
	t0 = guest_kvmclock_ns();
	guest_sti();
	while (guest_kvmclock_ns() - t0 < 600 * MS)
		asm volatile("pause");
	guest_cli();
	timer = guest_hypercall(PVX_HC_TIMER_SET, 1 * MS, 0, 0, 0);
	guest_hypercall(PVX_HC_BALLOON_STATS, (uint64_t)&binfo, sizeof(binfo),
			0, 0);
	ballooned = binfo.ballooned_pages;
	GUEST_SYNC(STEP_AFTER, guest_irq_count - n, timer, ballooned);
	GUEST_SYNC(STEP_INSTANCE2, probe_instance());
	GUEST_SYNC(STEP_AGAIN, inflate(),
		   guest_hypercall(PVX_HC_SPLIT_COLLECT, 0, 0, 0, 0),
		   done_rec.state);
	GUEST_DONE();
}

static uint64_t ballooned_now(int pvx, uint64_t id, uint64_t *resets)
{
	struct pvx_vm_stats st;

	if (pvx_find_vm(pvx, id, &st) != 1)
		return ~0ULL;
	*resets = st.guest_resets;
	return st.balloon_pages;
}

int main(void)
{
	struct kvm_lapic_state lapic;
	uint64_t id, instance, pages, resets = 0, t0;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int pvx, r;

	tap_init("reset_test: a guest reset (KVM_SET_LAPIC) drops its pvx state");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_TIMER | PVX_F_BALLOON | PVX_F_SPLIT |
				PVX_F_COPY_PAGES);
	vm = vm_create();
	vm_enable_irqchip(vm);
	vcpu = vcpu_add(vm, guest_main, 0);
	vcpu_setup_idt(vcpu);
	vm_add_anon_slot(vm, 1, ANON_GPA, ANON_SIZE, 0, false);
	r = __pvx_attach(pvx, vm->fd, PVX_F_TIMER | PVX_F_BALLOON | PVX_F_SPLIT |
			 PVX_F_COPY_PAGES, 0, &id);
	if (!tap_ok(!r, "attach: %s", r ? strerror(-r) : "ok"))
		tap_finish();

	if (!vcpu_expect_step(vcpu, STEP_ARMED, &uc))
		goto out;
	TAP_EQ(uc.args[1], 0, "before the reset: 300 ms timer armed");
	TAP_EQ(uc.args[2], 1, "before the reset: %d pages ballooned", NPAGES);
	TAP_EQ(uc.args[3], PVX_ERR(PVX_EINPROGRESS),
	       "before the reset: a split-phase copy submitted");
	if (!vcpu_expect_step(vcpu, STEP_INSTANCE, &uc))
		goto out;
	instance = uc.args[1];
	pages = ballooned_now(pvx, id, &resets);
	tap_ok(pages == NPAGES && resets == 0,
	       "pvx's stats: %llu pages ballooned, %llu resets",
	       (unsigned long long)pages, (unsigned long long)resets);
	usleep(100 * 1000);	/* the copy is done: only its collection waits */

	/*
	 * What QEMU's system_reset does to each vCPU's local APIC: a state
	 * with nothing pending (the copy's notification is in IRR by now).
	 * The rest stays as it was, so the guest code goes on in x2APIC mode.
	 */
	r = ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic);
	if (!r) {
		memset(&lapic.regs[0x100], 0, 0x80);	/* ISR */
		memset(&lapic.regs[0x200], 0, 0x80);	/* IRR */
		r = ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic);
	}
	if (!tap_ok(!r, "KVM_GET_LAPIC, KVM_SET_LAPIC on vCPU 0"))
		goto out;
	t0 = now_ns();
	do {
		pages = ballooned_now(pvx, id, &resets);
	} while ((pages || resets != 1) && now_ns() - t0 < 5000 * MS &&
		 !usleep(10000));
	tap_ok(pages == 0 && resets == 1,
	       "pvx's stats after the reset: %llu pages ballooned, %llu resets",
	       (unsigned long long)pages, (unsigned long long)resets);

	if (vcpu_expect_step(vcpu, STEP_AFTER, &uc)) {
		TAP_EQ(uc.args[1], 0,
		       "no timer interrupt reached the new boot in 600 ms");
		TAP_EQ(uc.args[2], PVX_ERR(PVX_ENOENT),
		       "TIMER_SET after the reset: no vector registered");
		TAP_EQ(uc.args[3], 0, "BALLOON_STATS: nothing ballooned");
	}
	if (vcpu_expect_step(vcpu, STEP_INSTANCE2, &uc))
		tap_ok(uc.args[1] && uc.args[1] != instance,
		       "PROBE: another instance after the reset (%#llx, was %#llx)",
		       (unsigned long long)uc.args[1],
		       (unsigned long long)instance);
	if (vcpu_expect_step(vcpu, STEP_AGAIN, &uc)) {
		TAP_EQ(uc.args[1], 1,
		       "the same range inflates again (not -EBUSY)");
		TAP_EQ(uc.args[2], 0,
		       "SPLIT_COLLECT: nothing from before the reset");
		TAP_EQ(uc.args[3], PVX_COMPLETION_PENDING,
		       "the old completion record was not written");
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "guest done");
out:
	vm_free(vm);
	close(pvx);
	tap_finish();
}
