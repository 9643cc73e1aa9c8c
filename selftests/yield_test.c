// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_YIELD_TO: directed yield to a named lock holder.
 *
 * The testbed's L1 has one CPU, so two vCPU threads of one VM time-share
 * it: exactly the overcommit in which a spinning waiter burns its slice
 * while the vCPU it waits for sits preempted.  vCPU 0 spins on a flag
 * that only vCPU 1 sets; with directed yield the spin ends after the first
 * yield, without it only when the host scheduler preempts the spinner.
 * The two spin counts are compared within one run (a ratio, not a time).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pvx_test.h"

#define YIELD_EVERY		64
#define RATE_LIMIT_HZ		3
#define RATE_LIMIT_CALLS	40
#define RATE_PARAM		"/sys/module/pvx_host/parameters/yield_rate_hz"

enum {
	STEP_SELF = 1,
	STEP_NO_SUCH,
	STEP_OTHER_VM,
	STEP_FLAGS,
	STEP_NEVER_RAN,
	STEP_SPIN,
	STEP_RATE,
};

/* Shared between the vCPUs of one VM (each VM has its own copy). */
static volatile uint64_t holder_ready, waiter_spinning, lock_released;
static volatile uint64_t stop_holder;
static uint64_t busy_ready[3];

static uint64_t yield_to(uint64_t id, uint64_t flags)
{
	return guest_hypercall(PVX_HC_YIELD_TO, id, flags, 0, 0);
}

static void guest_refusals(uint64_t other_vm_id)
{
	GUEST_SYNC(STEP_SELF, yield_to(0, 0));
	GUEST_SYNC(STEP_NO_SUCH, yield_to(999, 0));
	GUEST_SYNC(STEP_OTHER_VM, yield_to(other_vm_id, 0));
	GUEST_SYNC(STEP_FLAGS, yield_to(1, 1));
	/* vCPU 1 exists but never ran: nothing to boost. */
	GUEST_SYNC(STEP_NEVER_RAN, yield_to(1, 0));
	GUEST_DONE();
}

/* The lock holder: releases the "lock" as soon as it gets the CPU. */
static void guest_holder(uint64_t arg)
{
	(void)arg;
	holder_ready = 1;
	while (!waiter_spinning)
		asm volatile("pause");
	lock_released = 1;
	GUEST_DONE();
}

static void guest_waiter(uint64_t use_yield)
{
	uint64_t spins = 0, yields = 0, done = 0;

	waiter_spinning = 1;
	while (!lock_released) {
		spins++;
		if (use_yield && !(spins % YIELD_EVERY)) {
			yields++;
			if (yield_to(1, 0) == PVX_YIELD_DONE)
				done++;
		}
	}
	GUEST_SYNC(STEP_SPIN, spins, yields, done);
	GUEST_DONE();
}

/* A holder that keeps its vCPU (id @arg) busy: preempted, never halted. */
static void guest_busy_holder(uint64_t arg)
{
	WRITE_ONCE(busy_ready[arg], 1);
	holder_ready = 1;
	while (!stop_holder)
		asm volatile("pause");
	GUEST_DONE();
}

/*
 * @bursts bursts of RATE_LIMIT_CALLS yields to vCPU 1, one GUEST_SYNC
 * each: how many got through (boosted or declined: both spend budget),
 * were rate limited, found vCPU 1 not preempted.
 */
static void guest_rate(uint64_t bursts)
{
	uint64_t res[PVX_YIELD_NR_RESULTS], other = 0, b, i, r;

	for (b = 0; b < bursts; b++) {
		for (i = 0; i < PVX_YIELD_NR_RESULTS; i++)
			res[i] = 0;
		for (i = 0; i < RATE_LIMIT_CALLS; i++) {
			r = yield_to(1, 0);
			if (r < PVX_YIELD_NR_RESULTS)
				res[r]++;
			else
				other++;
		}
		GUEST_ASSERT_EQ(other, 0);
		GUEST_SYNC(STEP_RATE,
			   res[PVX_YIELD_DONE] + res[PVX_YIELD_DECLINED],
			   res[PVX_YIELD_RATE_LIMITED],
			   res[PVX_YIELD_NOT_PREEMPTED]);
	}
	stop_holder = 1;
	GUEST_DONE();
}

struct run_result {
	uint64_t cmd;
	struct ucall sync;	/* the last UCALL_SYNC */
};

/* Runs a vCPU to GUEST_DONE; keeps the last message it sent. */
static void *vcpu_runner(struct vcpu *vcpu)
{
	struct run_result *res = vcpu->thread_arg;
	struct ucall uc;

	for (;;) {
		res->cmd = vcpu_get_ucall(vcpu, &uc);
		if (res->cmd == UCALL_SYNC) {
			res->sync = uc;
			continue;
		}
		return NULL;
	}
}

static struct vm *attached_vm(int pvx, int nr_vcpus, uint64_t features,
			      uint64_t *vm_id)
{
	struct vm *vm = vm_create();
	int i;

	for (i = 0; i < nr_vcpus; i++)
		vcpu_add(vm, NULL, 0);
	*vm_id = pvx_attach(pvx, vm->fd, features, 0);
	return vm;
}

static bool wait_busy(struct vm *vm, int id)
{
	int i;

	for (i = 0; i < 10000 && !guest_global(vm, busy_ready[id]); i++)
		usleep(1000);
	return guest_global(vm, busy_ready[id]);
}

static void test_refusals(int pvx)
{
	struct run_result busy[2] = { 0 };
	struct pvx_vm_stats st;
	struct vm *vm, *other;
	uint64_t id, other_id;
	struct ucall uc;
	int i;

	/*
	 * Another VM, attached too, with a vCPU 1 as this one has and a
	 * vCPU 2 this one lacks.  Both spin, so on the one CPU they sit
	 * preempted whenever this VM's vCPU 0 runs: a yield that resolved
	 * ids outside the caller's VM would find them boostable.
	 */
	other = attached_vm(pvx, 3, PVX_F_YIELD_TO, &other_id);
	for (i = 1; i <= 2; i++) {
		vcpu_set_entry(other->vcpus[i], guest_busy_holder, i);
		vcpu_thread_start(other->vcpus[i], vcpu_runner, &busy[i - 1]);
	}
	tap_ok(wait_busy(other, 1) && wait_busy(other, 2),
	       "other VM: vCPUs 1 and 2 running");
	vm = attached_vm(pvx, 2, PVX_F_YIELD_TO, &id);
	vcpu_set_entry(vm->vcpus[0], guest_refusals, 2);

	if (vcpu_expect_step(vm->vcpus[0], STEP_SELF, &uc))
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL), "yield to self refused");
	if (vcpu_expect_step(vm->vcpus[0], STEP_NO_SUCH, &uc))
		TAP_EQ(uc.args[1], PVX_ERR(PVX_ENOENT), "yield to vCPU 999 refused");
	if (vcpu_expect_step(vm->vcpus[0], STEP_OTHER_VM, &uc))
		TAP_EQ(uc.args[1], PVX_ERR(PVX_ENOENT),
		       "yield to an id only another VM has, its vCPU preempted: refused");
	if (vcpu_expect_step(vm->vcpus[0], STEP_FLAGS, &uc))
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL), "unknown flags refused");
	if (vcpu_expect_step(vm->vcpus[0], STEP_NEVER_RAN, &uc))
		TAP_EQ(uc.args[1], PVX_YIELD_NOT_PREEMPTED,
		       "target that never ran: not preempted, no yield (the other VM's vCPU 1 is)");
	/* pvx counts a result in the caller's VM, whichever vCPU it found. */
	if (tap_ok(pvx_find_vm(pvx, id, &st) == 1, "VM listed in stats")) {
		TAP_EQ(st.yield[PVX_YIELD_DONE] + st.yield[PVX_YIELD_DECLINED], 0,
		       "no yield of this VM reached a vCPU");
		TAP_EQ(st.yield[PVX_YIELD_NOT_PREEMPTED], 1,
		       "one found its own vCPU 1 not preempted");
	}

	/* Its own vCPU 0 does reach them: they were there to be found. */
	vcpu_set_entry(other->vcpus[0], guest_rate, 1);
	if (vcpu_expect_step(other->vcpus[0], STEP_RATE, &uc))
		tap_ok(uc.args[1] >= 1,
		       "other VM: its own vCPU 0 boosts its vCPU 1 (%llu of %d got through)",
		       (unsigned long long)uc.args[1], RATE_LIMIT_CALLS);
	guest_global(other, stop_holder) = 1;
	for (i = 1; i <= 2; i++)
		vcpu_thread_join(other->vcpus[i]);
	tap_ok(busy[0].cmd == UCALL_DONE && busy[1].cmd == UCALL_DONE,
	       "other VM: vCPUs 1 and 2 finished");
	vm_free(vm);
	vm_free(other);

	/* Without the feature bit the call is refused as a whole. */
	vm = attached_vm(pvx, 2, 0, &id);
	vcpu_set_entry(vm->vcpus[0], guest_refusals, 2);
	if (vcpu_expect_step(vm->vcpus[0], STEP_SELF, &uc))
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EOPNOTSUPP),
		       "VM attached without PVX_F_YIELD_TO: -EOPNOTSUPP");
	vm_free(vm);
}

/* Spins of the waiter until the holder released the lock. */
static uint64_t spin_run(int pvx, bool use_yield, uint64_t *yields,
			 uint64_t *yields_done, uint64_t *stat_done,
			 uint64_t *hypercalls)
{
	struct run_result holder = { 0 }, waiter = { 0 };
	struct pvx_vm_stats st;
	struct vm *vm;
	uint64_t id;
	int i;

	vm = attached_vm(pvx, 2, PVX_F_YIELD_TO, &id);
	vcpu_set_entry(vm->vcpus[0], guest_waiter, use_yield);
	vcpu_set_entry(vm->vcpus[1], guest_holder, 0);

	/* The holder runs first, so that the waiter preempts it. */
	vcpu_thread_start(vm->vcpus[1], vcpu_runner, &holder);
	for (i = 0; i < 10000 && !guest_global(vm, holder_ready); i++)
		usleep(1000);
	tap_ok(guest_global(vm, holder_ready), "%s: holder vCPU running",
	       use_yield ? "yield" : "no yield");
	vcpu_thread_start(vm->vcpus[0], vcpu_runner, &waiter);
	vcpu_thread_join(vm->vcpus[0]);
	vcpu_thread_join(vm->vcpus[1]);

	tap_ok(waiter.cmd == UCALL_DONE && waiter.sync.args[0] == STEP_SPIN &&
	       holder.cmd == UCALL_DONE, "%s: both vCPUs finished",
	       use_yield ? "yield" : "no yield");
	*yields = waiter.sync.args[2];
	*yields_done = waiter.sync.args[3];
	*hypercalls = vcpu_stat(vm->vcpus[0], "hypercalls");
	*stat_done = pvx_find_vm(pvx, id, &st) == 1 ? st.yield[PVX_YIELD_DONE] : 0;
	vm_free(vm);
	return waiter.sync.args[1];
}

static void test_spin_ratio(int pvx)
{
	uint64_t plain, yielded, yields, done, stat_done, hc_plain, hc_yield;
	uint64_t unused;

	plain = spin_run(pvx, false, &unused, &unused, &unused, &hc_plain);
	yielded = spin_run(pvx, true, &yields, &done, &stat_done, &hc_yield);

	tap_diag("spins until the holder ran: %llu without yield, %llu with "
		 "(ratio %.1f); waiter hypercalls %llu vs %llu",
		 (unsigned long long)plain, (unsigned long long)yielded,
		 yielded ? (double)plain / yielded : 0.0,
		 (unsigned long long)hc_plain, (unsigned long long)hc_yield);
	tap_ok(done >= 1, "at least one yield boosted the holder (%llu)",
	       (unsigned long long)done);
	TAP_EQ(stat_done, done, "pvx stats count the boosts the guest saw");
	TAP_EQ(hc_plain, 0, "no hypercall exits without yield");
	TAP_EQ(hc_yield, yields, "one hypercall exit per yield the guest made");
	tap_ok(yielded * 4 <= plain,
	       "directed yield cuts the spin at least 4x (%llu vs %llu)",
	       (unsigned long long)yielded, (unsigned long long)plain);
}

static int write_param(const char *path, unsigned int val, unsigned int *old)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0 && old) {
		buf[n] = '\0';
		*old = strtoul(buf, NULL, 0);
	}
	n = snprintf(buf, sizeof(buf), "%u\n", val);
	if (pwrite(fd, buf, n, 0) != n) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

/*
 * Exactly the budget gets through in a window, and a new window brings
 * exactly that much again: counts of results, each burst well inside
 * one window (one second) and the two bursts in different ones.
 */
static void test_rate_limit(int pvx)
{
	uint64_t id, allowed, limited, np, sum_allowed = 0, sum_limited = 0;
	struct run_result holder = { 0 };
	unsigned int old = 0;
	struct pvx_vm_stats st;
	struct vcpu *waiter;
	struct ucall uc;
	struct vm *vm;
	int b, r;

	/* Before the VM exists: no yield can see another budget. */
	r = write_param(RATE_PARAM, RATE_LIMIT_HZ, &old);
	if (!tap_ok(!r, "set %s=%d: %s", RATE_PARAM, RATE_LIMIT_HZ,
		    r ? strerror(-r) : "ok"))
		return;

	vm = attached_vm(pvx, 2, PVX_F_YIELD_TO, &id);
	waiter = vm->vcpus[0];
	vcpu_set_entry(waiter, guest_rate, 2);
	vcpu_set_entry(vm->vcpus[1], guest_busy_holder, 1);
	vcpu_thread_start(vm->vcpus[1], vcpu_runner, &holder);
	tap_ok(wait_busy(vm, 1), "rate limit: holder vCPU running");

	for (b = 1; b <= 2; b++) {
		/* Sleep past the window the first burst opened. */
		if (b == 2)
			usleep(1500 * 1000);
		if (!vcpu_expect_step(waiter, STEP_RATE, &uc))
			break;
		allowed = uc.args[1];
		limited = uc.args[2];
		np = uc.args[3];
		tap_diag("%d/s, burst %d of %d: %llu got through, %llu limited, %llu not preempted",
			 RATE_LIMIT_HZ, b, RATE_LIMIT_CALLS,
			 (unsigned long long)allowed,
			 (unsigned long long)limited, (unsigned long long)np);
		TAP_EQ(allowed, RATE_LIMIT_HZ,
		       "burst %d: exactly the budget got through", b);
		/* The holder spins, so every yield reaches the budget. */
		TAP_EQ(limited, RATE_LIMIT_CALLS - RATE_LIMIT_HZ,
		       "burst %d: every other yield rate limited", b);
		sum_allowed += allowed;
		sum_limited += limited;
	}
	if (b > 2)
		tap_ok(vcpu_get_ucall(waiter, &uc) == UCALL_DONE,
		       "rate-limit guest finished");
	guest_global(vm, stop_holder) = 1;
	vcpu_thread_join(vm->vcpus[1]);
	write_param(RATE_PARAM, old, NULL);

	if (tap_ok(pvx_find_vm(pvx, id, &st) == 1, "VM listed in stats")) {
		TAP_EQ(st.yield[PVX_YIELD_RATE_LIMITED], sum_limited,
		       "pvx stats count the rate-limited yields");
		TAP_EQ(st.yield[PVX_YIELD_DONE] + st.yield[PVX_YIELD_DECLINED],
		       sum_allowed, "pvx stats count the yields that got through");
	}
	vm_free(vm);
}

int main(void)
{
	int pvx;

	tap_init("yield_test: PVX_HC_YIELD_TO");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_YIELD_TO);

	test_refusals(pvx);
	test_spin_ratio(pvx);
	test_rate_limit(pvx);
	close(pvx);
	tap_finish();
}
