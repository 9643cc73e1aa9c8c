// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_SET_VECTOR + PVX_HC_TIMER_SET: a guest with an IDT and an enabled
 * x2APIC arms a one-shot timer and halts; the interrupt must come, on the
 * registered vector, not before the deadline (measured on the guest's
 * kvmclock, which follows the host's CLOCK_MONOTONIC).  Cancel and re-arm
 * semantics, the cost of an arm in exits, and teardown with timers armed.
 * A guest that arms deadlines closer together than timer_min_interval_us
 * has its expiries coalesced to that interval, never refused.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_irq.h"

#define VEC		0xec
#define MS		1000000ULL
#define DELTA		(1 * MS)
#define NR_ARMS		1000
#define MIN_PARAM	"/sys/module/pvx_host/parameters/timer_min_interval_us"
#define MIN_US		20000
#define NR_SHORT	10
#define NR_STORM	2000
#define STORM_MIN_US	"2000"
#define SAFETY_VEC	0xd0
#define SAFETY_COUNT	2500000000ULL	/* 5 s: 1 ns a bus cycle, by 2 */
#define MSR_X2APIC_LVTT	0x832
#define MSR_X2APIC_TMICT	0x838
#define MSR_X2APIC_TDCR	0x83e

enum {
	STEP_NO_VECTOR = 1,
	STEP_BAD_VECTOR,
	STEP_SET_VECTOR,
	STEP_BAD_FLAGS,
	STEP_FIRED,
	STEP_CANCEL,
	STEP_REARM,
	STEP_LOOP_START,
	STEP_LOOP_END,
	STEP_ARMED,
	STEP_LONG_ARMED,
	STEP_LONG_WOKEN,
	STEP_SHORT,
	STEP_STORM,
	STEP_TSC_PROBE,
	STEP_TSC_FLAGS,
	STEP_TSC_FIRED,
	STEP_TSC_PAST,
	STEP_TSC_FAR,
};

static uint64_t timer_set(uint64_t delta, uint64_t flags)
{
	return guest_hypercall(PVX_HC_TIMER_SET, delta, flags, 0, 0);
}

static uint64_t set_vector(uint64_t vector, uint64_t flags)
{
	return guest_hypercall(PVX_HC_SET_VECTOR, vector, flags, 0, 0);
}

/* Interrupts on, for @ns of kvmclock time. */
static void guest_wait_ns(uint64_t ns)
{
	uint64_t end = guest_kvmclock_ns() + ns;

	guest_sti();
	while (guest_kvmclock_ns() < end)
		asm volatile("pause");
	guest_cli();
}

static void guest_main(uint64_t arg)
{
	uint64_t t0, r, n, c1, c2, i, bad = 0;

	(void)arg;
	guest_x2apic_enable();
	guest_kvmclock_enable();

	GUEST_SYNC(STEP_NO_VECTOR, timer_set(DELTA, 0));
	GUEST_SYNC(STEP_BAD_VECTOR, set_vector(16, 0), set_vector(256, 0),
		   set_vector(VEC, 2));
	GUEST_SYNC(STEP_SET_VECTOR, set_vector(VEC, 0));
	GUEST_SYNC(STEP_BAD_FLAGS, timer_set(0, 4), timer_set(5, PVX_TIMER_CANCEL));

	/* One shot: arm, halt, the interrupt wakes us. */
	t0 = guest_kvmclock_ns();
	r = timer_set(DELTA, 0);
	while (!guest_irq_count)
		guest_safe_halt();
	guest_cli();
	GUEST_SYNC(STEP_FIRED, r, guest_irq_last_ns - t0, guest_irq_last_vector);

	/*
	 * Cancelled: nothing arrives in the 600 ms after a 500 ms deadline.
	 * (A 5 ms one expired between arm and cancel when the build machine
	 * was loaded and the vCPU lost its CPU for that long.)
	 */
	n = guest_irq_count;
	timer_set(500 * MS, 0);
	c1 = timer_set(0, PVX_TIMER_CANCEL);
	c2 = timer_set(0, PVX_TIMER_CANCEL);
	guest_wait_ns(600 * MS);
	GUEST_SYNC(STEP_CANCEL, c1, c2, guest_irq_count - n);

	/* Arming again replaces the deadline: one interrupt, not two. */
	n = guest_irq_count;
	timer_set(20 * MS, 0);
	t0 = guest_kvmclock_ns();
	timer_set(DELTA, 0);
	guest_wait_ns(60 * MS);
	GUEST_SYNC(STEP_REARM, guest_irq_count - n, guest_irq_last_ns - t0);

	/* Each arm is one exit, nothing more. */
	GUEST_SYNC(STEP_LOOP_START);
	for (i = 0; i < NR_ARMS; i++)
		if (timer_set(10000 * MS, 0))
			bad++;
	GUEST_SYNC(STEP_LOOP_END, bad);

	/* Leave one armed: the host destroys the VM under it. */
	GUEST_SYNC(STEP_ARMED, timer_set(1000 * MS, 0));
	GUEST_DONE();
}

/*
 * Arms a 10 s timer and waits for an interrupt, 3 s at most (kvmclock):
 * the host detaches meanwhile and must fire the timer early.
 */
static void guest_long_wait(uint64_t arg)
{
	uint64_t t0, n, end;

	(void)arg;
	guest_x2apic_enable();
	guest_kvmclock_enable();
	set_vector(VEC, 0);
	n = guest_irq_count;
	GUEST_SYNC(STEP_LONG_ARMED, timer_set(10000 * MS, 0));
	t0 = guest_kvmclock_ns();
	end = t0 + 3000 * MS;
	guest_sti();
	while (guest_irq_count == n && guest_kvmclock_ns() < end)
		asm volatile("pause");
	guest_cli();
	GUEST_SYNC(STEP_LONG_WOKEN, guest_irq_count - n,
		   guest_kvmclock_ns() - t0, timer_set(DELTA, 0));
	GUEST_DONE();
}

/*
 * NR_SHORT expiries, each armed 1 us (or 0 ns) after the previous one
 * arrived: returns the arms that failed, and the kvmclock time from the
 * first arm to the last interrupt.
 */
static void guest_short(uint64_t arg)
{
	uint64_t t0, n, i, bad = 0;

	(void)arg;
	guest_x2apic_enable();
	guest_kvmclock_enable();
	set_vector(VEC, 0);
	n = guest_irq_count;
	t0 = guest_kvmclock_ns();
	for (i = 0; i < NR_SHORT; i++) {
		if (timer_set(i & 1 ? 0 : 1000, 0))
			bad++;
		while (guest_irq_count == n + i)
			guest_safe_halt();
		guest_cli();
	}
	GUEST_SYNC(STEP_SHORT, bad, guest_irq_count - n, guest_irq_last_ns - t0);
	GUEST_DONE();
}

/*
 * NR_STORM deadlines of 0-300 us, armed the ways a guest kernel arms its
 * tick: plain, replacing a later one, after a cancel, and right after an
 * earlier expiry fired but before its interrupt was taken (the host's
 * injection still on its way).  Each must bring an interrupt at or after
 * its own deadline, coalesced or not (timer_min_interval_us is raised
 * for it).  A LAPIC one-shot timer 5 s out is the safety net
 * (L1 was seen to stall for over a second on a busy build machine):
 * when it comes first, the expiry was lost (a guest kernel's CPU would
 * have slept on with no tick).  Returns the lost ones, the first lost
 * iteration + 1, and the pvx interrupts taken.
 */
static void guest_storm(uint64_t arg)
{
	uint64_t rng = 0x9e3779b97f4a7c15ULL, lost = 0, first = 0;
	uint64_t i, d, p, s, deadline, n0;

	(void)arg;
	guest_x2apic_enable();
	guest_kvmclock_enable();
	set_vector(VEC, 0);
	guest_wrmsr(MSR_X2APIC_TDCR, 0);		/* divide by 2 */
	guest_wrmsr(MSR_X2APIC_LVTT, SAFETY_VEC);	/* one-shot */
	n0 = guest_irq_vec_count[VEC];
	for (i = 0; i < NR_STORM; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		d = (rng >> 8) % 300000;
		p = guest_irq_vec_count[VEC];
		s = guest_irq_vec_count[SAFETY_VEC];
		switch (rng & 7) {
		case 0:		/* replaces a later deadline */
			timer_set(50 * MS, 0);
			break;
		case 1:		/* after a cancel */
			timer_set(50 * MS, 0);
			timer_set(0, PVX_TIMER_CANCEL);
			break;
		case 2:		/* an expiry in flight, not taken yet */
			timer_set(0, 0);
			deadline = guest_kvmclock_ns() + 100000;
			while (guest_kvmclock_ns() < deadline)
				asm volatile("pause");
			d += 200000;	/* its own interrupt comes far earlier */
			break;
		}
		deadline = guest_kvmclock_ns() + d;
		timer_set(d, 0);
		guest_wrmsr(MSR_X2APIC_TMICT, SAFETY_COUNT);
		for (;;) {
			guest_safe_halt();
			guest_cli();
			if (guest_irq_vec_count[SAFETY_VEC] != s)
				break;
			if (guest_irq_vec_count[VEC] != p &&
			    guest_irq_last_vector == VEC &&
			    guest_irq_last_ns >= deadline)
				break;
		}
		guest_wrmsr(MSR_X2APIC_TMICT, 0);
		if (guest_irq_vec_count[SAFETY_VEC] != s && !(lost++))
			first = i + 1;
		if (lost == 3)		/* 5 s each: enough to tell */
			break;
	}
	GUEST_SYNC(STEP_STORM, lost, first, guest_irq_vec_count[VEC] - n0);
	GUEST_DONE();
}

static struct pvx_probe_info tsc_probe __aligned(64);

/*
 * Waits, interrupts on, for a VEC interrupt after @n of them, @ms of
 * kvmclock time at most: returns the number that came.
 */
static uint64_t guest_wait_vec(uint64_t n, uint64_t ms)
{
	uint64_t end = guest_kvmclock_ns() + ms * MS;

	guest_sti();
	while (guest_irq_vec_count[VEC] == n && guest_kvmclock_ns() < end)
		asm volatile("pause");
	guest_cli();
	return guest_irq_vec_count[VEC] - n;
}

/*
 * PVX_TIMER_TSC_DEADLINE: absolute deadlines on the vCPU's TSC, as
 * IA32_TSC_DEADLINE takes them.  @arg is the TSC frequency in kHz.
 */
static void guest_tsc(uint64_t khz)
{
	uint64_t n, dl, r, got, c;

	guest_x2apic_enable();
	guest_kvmclock_enable();
	set_vector(VEC, 0);
	GUEST_SYNC(STEP_TSC_PROBE, guest_hypercall(PVX_HC_PROBE,
		   (uint64_t)&tsc_probe, sizeof(tsc_probe), 0, 0));
	GUEST_SYNC(STEP_TSC_FLAGS,
		   timer_set(0, PVX_TIMER_TSC_DEADLINE | PVX_TIMER_CANCEL),
		   timer_set(guest_rdtsc(), PVX_TIMER_TSC_DEADLINE | 4));

	/* 20 ms ahead: the interrupt comes, and not before the TSC got there. */
	n = guest_irq_vec_count[VEC];
	dl = guest_rdtsc() + 20 * khz;
	r = timer_set(dl, PVX_TIMER_TSC_DEADLINE);
	/* One statement each: the order of a call's arguments is not C's. */
	got = guest_wait_vec(n, 2000);
	GUEST_SYNC(STEP_TSC_FIRED, r, got, (int64_t)(guest_irq_last_tsc - dl));

	/* Passed already: at once, not 2^64 ticks later. */
	n = guest_irq_vec_count[VEC];
	r = timer_set(guest_rdtsc() / 2, PVX_TIMER_TSC_DEADLINE);
	got = guest_wait_vec(n, 2000);
	GUEST_SYNC(STEP_TSC_PAST, r, got);

	/* The end of time: nothing comes, and it is still pending. */
	n = guest_irq_vec_count[VEC];
	r = timer_set(~0ULL, PVX_TIMER_TSC_DEADLINE);
	got = guest_wait_vec(n, 200);
	c = timer_set(0, PVX_TIMER_CANCEL);
	GUEST_SYNC(STEP_TSC_FAR, r, got, c);
	GUEST_DONE();
}

static struct vm *timer_vm_entry(int pvx, uint64_t features, uint64_t *id,
				 void (*entry)(uint64_t))
{
	struct vcpu *vcpu;
	struct vm *vm;

	vm = vm_create();
	vm_enable_irqchip(vm);
	vcpu = vcpu_add(vm, entry, 0);
	vcpu_setup_idt(vcpu);
	*id = pvx_attach(pvx, vm->fd, features, 0);
	return vm;
}

static struct vm *timer_vm(int pvx, uint64_t features, uint64_t *id)
{
	return timer_vm_entry(pvx, features, id, guest_main);
}

static void test_timer(int pvx)
{
	uint64_t id, exits0, hc0, exits, hc, fired_seen;
	struct pvx_vm_stats st;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	vm = timer_vm(pvx, PVX_F_TIMER, &id);
	vcpu = vm->vcpus[0];

	if (vcpu_expect_step(vcpu, STEP_NO_VECTOR, &uc))
		TAP_EQ(uc.args[1], PVX_ERR(PVX_ENOENT),
		       "timer before a vector is registered: -ENOENT");
	if (vcpu_expect_step(vcpu, STEP_BAD_VECTOR, &uc)) {
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL), "vector 16 refused");
		TAP_EQ(uc.args[2], PVX_ERR(PVX_EINVAL), "vector 256 refused");
		TAP_EQ(uc.args[3], PVX_ERR(PVX_EINVAL), "set_vector flags refused");
	}
	if (vcpu_expect_step(vcpu, STEP_SET_VECTOR, &uc))
		TAP_EQ(uc.args[1], 0, "vector %#x registered", VEC);
	if (vcpu_expect_step(vcpu, STEP_BAD_FLAGS, &uc)) {
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL), "unknown timer flag refused");
		TAP_EQ(uc.args[2], PVX_ERR(PVX_EINVAL),
		       "cancel with a non-zero delta refused");
	}
	if (vcpu_expect_step(vcpu, STEP_FIRED, &uc)) {
		TAP_EQ(uc.args[1], 0, "timer armed");
		/* Signed: an interrupt before t0 must not wrap to "late". */
		tap_ok((int64_t)uc.args[2] >= (int64_t)DELTA,
		       "interrupt not before the deadline: %lld ns after arming, deadline %llu ns",
		       (long long)uc.args[2], DELTA);
		TAP_EQ(uc.args[3], VEC, "interrupt on the registered vector");
	}
	if (vcpu_expect_step(vcpu, STEP_CANCEL, &uc)) {
		TAP_EQ(uc.args[1], 1, "cancel of a pending timer returns 1");
		TAP_EQ(uc.args[2], 0, "cancel with nothing pending returns 0");
		TAP_EQ(uc.args[3], 0, "no interrupt after cancel");
	}
	if (vcpu_expect_step(vcpu, STEP_REARM, &uc)) {
		TAP_EQ(uc.args[1], 1, "re-arming replaced the deadline: one interrupt");
		tap_ok((int64_t)uc.args[2] >= (int64_t)DELTA,
		       "re-armed interrupt not early (%lld ns)",
		       (long long)uc.args[2]);
	}
	if (vcpu_expect_step(vcpu, STEP_LOOP_START, &uc)) {
		exits0 = vcpu_stat(vcpu, "exits");
		hc0 = vcpu_stat(vcpu, "hypercalls");
		if (vcpu_expect_step(vcpu, STEP_LOOP_END, &uc)) {
			exits = vcpu_stat(vcpu, "exits") - exits0;
			hc = vcpu_stat(vcpu, "hypercalls") - hc0;
			TAP_EQ(uc.args[1], 0, "%d arms succeeded", NR_ARMS);
			tap_diag("%d arms: %llu exits, %llu hypercalls", NR_ARMS,
				 (unsigned long long)exits, (unsigned long long)hc);
			TAP_EQ(hc, NR_ARMS, "one hypercall per arm");
			/* The rest: the message itself and host interrupts. */
			tap_ok(exits >= NR_ARMS && exits - NR_ARMS < NR_ARMS / 10,
			       "no extra exits per arm (%llu exits for %d arms)",
			       (unsigned long long)exits, NR_ARMS);
		}
	}
	fired_seen = guest_global(vm, guest_irq_count);
	if (tap_ok(pvx_find_vm(pvx, id, &st) == 1, "VM listed in stats"))
		TAP_EQ(st.timers_fired, fired_seen,
		       "pvx counts the interrupts the guest took");
	if (vcpu_expect_step(vcpu, STEP_ARMED, &uc))
		TAP_EQ(uc.args[1], 0, "timer left armed");
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "guest done");
	/* Destroyed with a timer armed: pvx must cancel it first. */
	vm_free(vm);
	tap_ok(pvx_find_vm(pvx, id, &st) == 0,
	       "VM destroyed with a timer armed: state gone");
}

static void test_detach_armed(int pvx)
{
	struct ucall uc;
	struct vm *vm;
	uint64_t id;
	int i, r = 0;

	vm = timer_vm(pvx, PVX_F_TIMER, &id);
	/* The arm loop leaves a 10 s timer pending: detach under it. */
	for (i = STEP_NO_VECTOR; i <= STEP_LOOP_END; i++)
		if (vcpu_get_ucall(vm->vcpus[0], &uc) != UCALL_SYNC)
			break;
	tap_ok(i > STEP_LOOP_END, "guest armed a 10 s timer before detach");
	r = __pvx_detach_id(pvx, id);
	tap_ok(!r, "detach with a timer armed: %s", r ? strerror(-r) : "ok");
	usleep(50 * 1000);
	vm_free(vm);
}

/*
 * A guest waiting for its timer when pvx stops serving it gets the
 * interrupt at once: its next TIMER_SET fails and it can fall back,
 * instead of sleeping until an expiry that no longer comes.
 */
static void test_detach_fires(int pvx)
{
	struct pvx_vm_stats st;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint64_t id;
	int r;

	vm = timer_vm_entry(pvx, PVX_F_TIMER, &id, guest_long_wait);
	vcpu = vm->vcpus[0];
	if (!vcpu_expect_step(vcpu, STEP_LONG_ARMED, &uc) ||
	    !TAP_EQ(uc.args[1], 0, "10 s timer armed"))
		goto out;
	r = pvx_find_vm(pvx, id, &st);
	tap_ok(r == 1 && st.timers_fired == 0,
	       "nothing fired before the detach (r=%d, fired %llu)", r,
	       (unsigned long long)st.timers_fired);
	r = __pvx_detach_id(pvx, id);
	tap_ok(!r, "detach while the guest waits: %s",
	       r ? strerror(-r) : "ok");
	if (vcpu_expect_step(vcpu, STEP_LONG_WOKEN, &uc)) {
		TAP_EQ(uc.args[1], 1,
		       "the armed timer fired at the detach, one interrupt");
		tap_ok(uc.args[2] < 3000 * MS,
		       "long before its 10 s deadline (%llu ms after arming)",
		       (unsigned long long)(uc.args[2] / MS));
		TAP_EQ(uc.args[3], PVX_ERR(PVX_ENOSYS),
		       "the next TIMER_SET: -ENOSYS, no pvx any more");
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "guest done");
out:
	vm_free(vm);
}

/*
 * Expiries at least MIN_US apart, on the host's clock: NR_SHORT of them
 * take (NR_SHORT - 1) * MIN_US at least, however fast the guest re-arms.
 * The host counts the injections; none of the arms fails.
 */
static void test_coalesce(int pvx)
{
	struct pvx_vm_stats st;
	char buf[32];
	uint64_t id, old;
	struct ucall uc;
	struct vm *vm;
	int r;

	old = read_u64(MIN_PARAM);
	snprintf(buf, sizeof(buf), "%u\n", MIN_US);
	r = write_file(MIN_PARAM, buf);
	tap_ok(!r, "%s = %d: %s", MIN_PARAM, MIN_US, r ? strerror(-r) : "ok");
	vm = timer_vm_entry(pvx, PVX_F_TIMER, &id, guest_short);
	if (vcpu_expect_step(vm->vcpus[0], STEP_SHORT, &uc)) {
		tap_diag("%d expiries armed 1 us or 0 ns after each other, %d us apart at least: %llu us from the first arm to the last",
			 NR_SHORT, MIN_US,
			 (unsigned long long)(uc.args[3] / 1000));
		TAP_EQ(uc.args[1], 0, "short deadlines: no TIMER_SET failed");
		TAP_EQ(uc.args[2], NR_SHORT, "short deadlines: %d interrupts",
		       NR_SHORT);
		/* 1% for kvmclock's rate against CLOCK_MONOTONIC. */
		tap_ok(uc.args[3] >= (NR_SHORT - 1) * MIN_US * 990ULL,
		       "short deadlines: coalesced to %d us apart (%llu us for %d)",
		       MIN_US, (unsigned long long)(uc.args[3] / 1000),
		       NR_SHORT);
	}
	tap_ok(vcpu_get_ucall(vm->vcpus[0], &uc) == UCALL_DONE,
	       "short deadlines: guest done");
	if (tap_ok(pvx_find_vm(pvx, id, &st) == 1, "VM listed in stats"))
		TAP_EQ(st.timers_fired, NR_SHORT,
		       "short deadlines: pvx injected %d", NR_SHORT);
	if (!r) {
		snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)old);
		write_file(MIN_PARAM, buf);
	}
	vm_free(vm);
}

/*
 * A lost expiry stops a guest kernel's tick on that CPU: seen as RCU
 * stalls and soft lockups in L2.  None may be lost, whatever the order
 * of arms, cancels and expiries.
 */
static void test_storm(int pvx)
{
	struct pvx_vm_stats st;
	uint64_t id, taken, old;
	char buf[32];
	int r;
	struct ucall uc;
	struct vm *vm;

	/* Most deadlines closer to the last expiry than that: coalesced. */
	old = read_u64(MIN_PARAM);
	r = write_file(MIN_PARAM, STORM_MIN_US "\n");
	tap_ok(!r, "%s = %s: %s", MIN_PARAM, STORM_MIN_US,
	       r ? strerror(-r) : "ok");
	vm = timer_vm_entry(pvx, PVX_F_TIMER, &id, guest_storm);
	if (vcpu_expect_step(vm->vcpus[0], STEP_STORM, &uc)) {
		tap_diag("%d deadlines of 0-300 us: %llu lost (first at %llu), %llu pvx interrupts",
			 NR_STORM, (unsigned long long)uc.args[1],
			 (unsigned long long)uc.args[2],
			 (unsigned long long)uc.args[3]);
		TAP_EQ(uc.args[1], 0,
		       "storm: every one of %d deadlines brought its interrupt before the 5 s safety net",
		       NR_STORM);
		tap_ok(uc.args[3] >= NR_STORM,
		       "storm: at least one pvx interrupt per deadline (%llu for %d)",
		       (unsigned long long)uc.args[3], NR_STORM);
	}
	tap_ok(vcpu_get_ucall(vm->vcpus[0], &uc) == UCALL_DONE,
	       "storm: guest done");
	/* Two injections before the guest takes the first make one. */
	taken = guest_global(vm, guest_irq_vec_count[VEC]);
	if (tap_ok(pvx_find_vm(pvx, id, &st) == 1, "VM listed in stats"))
		tap_ok(st.timers_fired >= taken,
		       "storm: pvx injected at least the %llu interrupts the guest took (%llu)",
		       (unsigned long long)taken,
		       (unsigned long long)st.timers_fired);
	vm_free(vm);
	if (!r) {
		snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)old);
		write_file(MIN_PARAM, buf);
	}
}

static void test_feature_gate(int pvx)
{
	struct ucall uc;
	struct vm *vm;
	uint64_t id;

	vm = timer_vm(pvx, 0, &id);
	if (vcpu_expect_step(vm->vcpus[0], STEP_NO_VECTOR, &uc))
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EOPNOTSUPP),
		       "VM attached without PVX_F_TIMER: -EOPNOTSUPP");
	vm_free(vm);
}

static void test_tsc_deadline(int pvx)
{
	struct pvx_probe_info info;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint64_t id;
	int khz;

	vm = vm_create();
	vm_enable_irqchip(vm);
	vcpu = vcpu_add(vm, guest_tsc, 0);
	vcpu_setup_idt(vcpu);
	khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	TEST_ASSERT(khz > 0, "KVM_GET_TSC_KHZ");
	vcpu_set_entry(vcpu, guest_tsc, khz);
	id = pvx_attach(pvx, vm->fd, PVX_F_TIMER, 0);
	(void)id;

	if (vcpu_expect_step(vcpu, STEP_TSC_PROBE, &uc)) {
		memcpy(&info, guest_ptr(vm, (uint64_t)&tsc_probe), sizeof(info));
		TAP_EQ(info.timer_flags, PVX_TIMER_CANCEL | PVX_TIMER_TSC_DEADLINE,
		       "PROBE lists the TIMER_SET flags the host takes");
		TAP_EQ(info.reserved[0] | info.reserved[1], 0, "reserved still zero");
	}
	if (vcpu_expect_step(vcpu, STEP_TSC_FLAGS, &uc)) {
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL), "TSC deadline with cancel refused");
		TAP_EQ(uc.args[2], PVX_ERR(PVX_EINVAL), "TSC deadline, unknown flag refused");
	}
	if (vcpu_expect_step(vcpu, STEP_TSC_FIRED, &uc)) {
		TAP_EQ(uc.args[1], 0, "TSC deadline 20 ms ahead armed");
		TAP_EQ(uc.args[2], 1, "its interrupt came");
		/* Signed: an early one is negative, not a large "late". */
		tap_ok((int64_t)uc.args[3] >= 0,
		       "not before the TSC reached the deadline (%lld ticks after)",
		       (long long)uc.args[3]);
	}
	if (vcpu_expect_step(vcpu, STEP_TSC_PAST, &uc)) {
		TAP_EQ(uc.args[1], 0, "a passed TSC deadline armed");
		TAP_EQ(uc.args[2], 1, "a passed TSC deadline fires at once");
	}
	if (vcpu_expect_step(vcpu, STEP_TSC_FAR, &uc)) {
		TAP_EQ(uc.args[1], 0, "TSC deadline 2^64 - 1 armed");
		TAP_EQ(uc.args[2], 0, "it does not fire (no overflow into the past)");
		TAP_EQ(uc.args[3], 1, "it is still pending: cancel returns 1");
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "guest done");
	vm_free(vm);
}

int main(void)
{
	int pvx;

	tap_init("timer_test: PVX_HC_SET_VECTOR, PVX_HC_TIMER_SET");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_TIMER);

	test_feature_gate(pvx);
	test_timer(pvx);
	test_detach_armed(pvx);
	test_detach_fires(pvx);
	test_storm(pvx);
	test_coalesce(pvx);
	test_tsc_deadline(pvx);
	close(pvx);
	tap_finish();
}
