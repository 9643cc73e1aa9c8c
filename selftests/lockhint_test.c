// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_LOCKHINT_SET and PVX_HC_LOCK_WAIT: a waiter about to halt gives
 * its time to a preempted vCPU of its own VM whose registered preempt
 * count is non-zero.
 *
 * The testbed's L1 has one CPU: while vCPU 0 makes its calls, every other
 * vCPU thread in KVM_RUN is runnable and off the CPU, which is what KVM
 * calls preempted.  A second VM, attached too, keeps two vCPUs spinning
 * with non-zero counts the whole time: a host that looked outside the
 * caller's VM would boost them.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pvx_test.h"

#define WAITS		40
#define ROUNDS		5
#define NEED_RESCHED_ONLY 0x80000000U	/* x86: count 0, no resched wanted */
#define SLOT_GPA	0x8000000ULL	/* 128 MiB: above the 64 MiB of RAM */
#define SLOT_SIZE	0x200000ULL
#define RATE_PARAM	"/sys/module/pvx_host/parameters/yield_rate_hz"
#define BUDGET		2	/* LOCK_WAITs a second, for test_budget() */

enum {
	STEP_REFUSE = 1,
	STEP_REGISTERED,
	STEP_WAITS,
	STEP_FLIP,
};

/* Each VM has its own copy: one count per vCPU, and the harness's flags. */
static volatile uint32_t counts[4] __attribute__((aligned(64)));
static volatile uint64_t ready[4], stop, flip;

static uint64_t set(uint64_t gpa, uint64_t a1)
{
	return guest_hypercall(PVX_HC_LOCKHINT_SET, gpa, a1, 0, 0);
}

static uint64_t lock_wait(void)
{
	return guest_hypercall(PVX_HC_LOCK_WAIT, 0, 0, 0, 0);
}

static void guest_refusals(uint64_t arg)
{
	uint64_t good = (uint64_t)&counts[0];

	(void)arg;
	GUEST_SYNC(STEP_REFUSE, set(good + 1, 0), set(good + 2, 0),
		   set(1ULL << 40, 0));
	GUEST_SYNC(STEP_REFUSE, set(SLOT_GPA, 0), set(good, 1),
		   guest_hypercall(PVX_HC_LOCK_WAIT, 1, 0, 0, 0));
	GUEST_SYNC(STEP_REGISTERED, set(good, 0), set(0, 0), lock_wait());
	GUEST_DONE();
}

/*
 * vCPU @arg: registers its count (in the extra memslot for vCPU 3), then
 * spins until told to stop; under `flip`, vCPU 1 rewrites its count all
 * the time, as a hostile or merely busy guest would.
 */
static void guest_spinner(uint64_t arg)
{
	uint64_t gpa = arg == 3 ? SLOT_GPA : (uint64_t)&counts[arg];
	uint32_t v = 0;

	GUEST_ASSERT_EQ(set(gpa, 0), 0);
	ready[arg] = 1;
	while (!stop) {
		if (flip && arg == 1)
			counts[1] = (v++ & 3) == 0 ? 0 : (v & 1 ? NEED_RESCHED_ONLY : v);
		else if (!ready[arg])
			ready[arg] = 1;	/* saw flip clear: writes no more */
		asm volatile("pause");
	}
	GUEST_DONE();
}

/* Registers a non-zero count and leaves KVM_RUN for good: not preempted. */
static void guest_gone(uint64_t arg)
{
	counts[arg] = 7;
	GUEST_ASSERT_EQ(set((uint64_t)&counts[arg], 0), 0);
	GUEST_DONE();
}

/* @arg rounds of WAITS calls; per round: boosts, none found, and ids seen. */
static void guest_waiter(uint64_t arg)
{
	uint64_t r, round, i, boosted, none, ids;

	for (round = 0; round < arg; round++) {
		boosted = none = ids = 0;
		for (i = 0; i < WAITS; i++) {
			r = lock_wait();
			switch (PVX_LOCK_WAIT_CODE(r)) {
			case PVX_LOCK_WAIT_BOOSTED:
				boosted++;
				ids |= 1ULL << (PVX_LOCK_WAIT_VCPU(r) & 63);
				break;
			case PVX_LOCK_WAIT_NONE:
				none++;
				GUEST_ASSERT_EQ(PVX_LOCK_WAIT_VCPU(r), 0);
				break;
			case PVX_LOCK_WAIT_REFUSED:
				ids |= 1ULL << (PVX_LOCK_WAIT_VCPU(r) & 63);
				break;
			default:
				/* an error, or a code the ABI lacks */
				ids |= 1ULL << 63;
			}
		}
		GUEST_SYNC(STEP_WAITS, boosted, none, ids);
	}
	GUEST_DONE();
}

static void *vcpu_runner(struct vcpu *vcpu)
{
	uint64_t *cmd = vcpu->thread_arg;
	struct ucall uc;

	do
		*cmd = vcpu_get_ucall(vcpu, &uc);
	while (*cmd == UCALL_SYNC);
	return NULL;
}

/* WAITS calls: how many found none, were rate limited, or else. */
static void guest_budget_waiter(uint64_t arg)
{
	uint64_t i, r, none = 0, limited = 0, other = 0;

	(void)arg;
	for (i = 0; i < WAITS; i++) {
		r = lock_wait();
		if (r == PVX_LOCK_WAIT_NONE)
			none++;
		else if (r == PVX_LOCK_WAIT_RATE_LIMITED)
			limited++;
		else
			other++;
	}
	GUEST_SYNC(STEP_WAITS, none, limited, other);
	GUEST_DONE();
}

static bool wait_ready(struct vm *vm, int id)
{
	int i;

	for (i = 0; i < 10000 && !guest_global(vm, ready[id]); i++)
		usleep(1000);
	return guest_global(vm, ready[id]);
}

static void test_refusals(int pvx)
{
	struct pvx_vm_stats st;
	struct vm *vm;
	struct ucall uc;
	uint64_t id;

	vm = vm_create();
	vcpu_add(vm, guest_refusals, 0);
	id = pvx_attach(pvx, vm->fd, PVX_F_LOCKHINT, 0);
	if (vcpu_expect_step(vm->vcpus[0], STEP_REFUSE, &uc)) {
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL), "count at an odd address refused");
		TAP_EQ(uc.args[2], PVX_ERR(PVX_EINVAL), "count at a 2-byte aligned address refused");
		TAP_EQ(uc.args[3], PVX_ERR(PVX_EFAULT), "count at 1 TiB (no memslot) refused");
	}
	if (vcpu_expect_step(vm->vcpus[0], STEP_REFUSE, &uc)) {
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EFAULT), "count just above RAM refused");
		TAP_EQ(uc.args[2], PVX_ERR(PVX_EINVAL), "reserved argument of LOCKHINT_SET refused");
		TAP_EQ(uc.args[3], PVX_ERR(PVX_EINVAL), "reserved argument of LOCK_WAIT refused");
	}
	if (vcpu_expect_step(vm->vcpus[0], STEP_REGISTERED, &uc)) {
		TAP_EQ(uc.args[1], 0, "count in RAM registered");
		TAP_EQ(uc.args[2], 0, "count forgotten (0)");
		TAP_EQ(uc.args[3], PVX_LOCK_WAIT_NONE, "a lone vCPU's wait finds nobody");
	}
	if (tap_ok(pvx_find_vm(pvx, id, &st) == 1, "VM listed in stats"))
		tap_ok(st.lock_waits == 1 && st.lock_none == 1 && !st.lock_boosts,
		       "stats: 1 wait, 1 none, 0 boosts (%llu %llu %llu)",
		       (unsigned long long)st.lock_waits,
		       (unsigned long long)st.lock_none,
		       (unsigned long long)st.lock_boosts);
	vm_free(vm);

	vm = vm_create();
	vcpu_add(vm, guest_refusals, 0);
	pvx_attach(pvx, vm->fd, PVX_F_YIELD_TO, 0);
	if (vcpu_expect_step(vm->vcpus[0], STEP_REFUSE, &uc))
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EOPNOTSUPP),
		       "VM attached without PVX_F_LOCKHINT: -EOPNOTSUPP");
	vm_free(vm);
}

static bool waits(struct vm *vm, const char *what, uint64_t *boosted,
		  uint64_t *none, uint64_t *ids)
{
	struct ucall uc;

	if (!vcpu_expect_step(vm->vcpus[0], STEP_WAITS, &uc))
		return false;
	*boosted = uc.args[1];
	*none = uc.args[2];
	*ids = uc.args[3];
	tap_diag("%s: %llu of %d waits boosted, %llu found none, ids %#llx",
		 what, (unsigned long long)*boosted, WAITS,
		 (unsigned long long)*none, (unsigned long long)*ids);
	return true;
}

static void test_boosts(int pvx)
{
	uint64_t cmd[4] = { 0 }, ocmd[3] = { 0 }, b, n, ids, id, other_id;
	struct pvx_vm_stats st, ost;
	struct vm *vm, *other;
	struct ucall uc;
	uint32_t *slot_count;
	uint8_t *slot;
	int i;

	/* Another VM: vCPUs 1 and 2 spin with counts 1, preempted. */
	other = vm_create();
	for (i = 0; i < 3; i++)
		vcpu_add(other, guest_spinner, i);
	other_id = pvx_attach(pvx, other->fd, PVX_F_LOCKHINT, 0);
	guest_global(other, counts[1]) = 1;
	guest_global(other, counts[2]) = 1;
	for (i = 1; i <= 2; i++)
		vcpu_thread_start(other->vcpus[i], vcpu_runner, &ocmd[i]);

	/*
	 * This VM: vCPU 1 spins with a count of NEED_RESCHED only, vCPU 2
	 * registered 7 and left KVM_RUN, vCPU 3 spins with its count in a
	 * memslot of its own, zero.
	 */
	vm = vm_create();
	vcpu_add(vm, guest_waiter, ROUNDS);
	vcpu_add(vm, guest_spinner, 1);
	vcpu_add(vm, guest_gone, 2);
	vcpu_add(vm, guest_spinner, 3);
	slot = vm_add_anon_slot(vm, 1, SLOT_GPA, SLOT_SIZE, 0, false);
	slot_count = (uint32_t *)slot;
	id = pvx_attach(pvx, vm->fd, PVX_F_LOCKHINT, 0);
	guest_global(vm, counts[1]) = NEED_RESCHED_ONLY;
	for (i = 1; i <= 3; i++)
		vcpu_thread_start(vm->vcpus[i], vcpu_runner, &cmd[i]);
	vcpu_thread_join(vm->vcpus[2]);
	tap_ok(cmd[2] == UCALL_DONE, "vCPU 2 registered count 7 and left");
	tap_ok(wait_ready(vm, 1) && wait_ready(vm, 3) &&
	       wait_ready(other, 1) && wait_ready(other, 2),
	       "spinners of both VMs registered");

	if (waits(vm, "counts zero here, 1 in the other VM", &b, &n, &ids)) {
		TAP_EQ(n, WAITS, "no candidate: zero counts, a count outside KVM_RUN, another VM's");
		TAP_EQ(ids, 0, "no vCPU named");
	}
	if (tap_ok(pvx_find_vm(pvx, id, &st) == 1, "VM listed in stats"))
		tap_ok(st.lock_zero_count >= 1,
		       "preempted vCPUs with zero counts seen and passed over (%llu)",
		       (unsigned long long)st.lock_zero_count);

	guest_global(vm, counts[1]) = 1;
	if (waits(vm, "vCPU 1's count 1", &b, &n, &ids)) {
		tap_ok(b >= 1, "vCPU 1 boosted (%llu times)", (unsigned long long)b);
		TAP_EQ(ids, 1ULL << 1, "vCPU 1 the only one named");
	}

	/* Hostile: the count changes under the host all the time. */
	guest_global(vm, flip) = 1;
	if (waits(vm, "vCPU 1's count flipping", &b, &n, &ids))
		tap_ok(!(ids & ~(1ULL << 1)), "only vCPU 1 named, no error (ids %#llx)",
		       (unsigned long long)ids);
	guest_global(vm, flip) = 0;
	guest_global(vm, ready[1]) = 0;
	tap_ok(wait_ready(vm, 1), "vCPU 1 stopped rewriting its count");
	guest_global(vm, counts[1]) = 0;

	/* Then vCPU 3's count, in its memslot; then the memslot goes. */
	*slot_count = 1;
	if (waits(vm, "vCPU 3's count 1, in its memslot", &b, &n, &ids)) {
		tap_ok(b >= 1, "vCPU 3 boosted (%llu times)", (unsigned long long)b);
		TAP_EQ(ids, 1ULL << 3, "vCPU 3 the only one named");
	}
	vm_delete_slot(vm, 1, SLOT_GPA);
	munmap(slot, SLOT_SIZE);
	if (waits(vm, "vCPU 3's memslot deleted", &b, &n, &ids)) {
		TAP_EQ(n, WAITS, "a count outside RAM now: no candidate");
		TAP_EQ(ids, 0, "no vCPU named");
	}
	tap_ok(vcpu_get_ucall(vm->vcpus[0], &uc) == UCALL_DONE, "waiter finished");

	guest_global(vm, stop) = 1;
	guest_global(other, stop) = 1;
	for (i = 1; i <= 3; i += 2)
		vcpu_thread_join(vm->vcpus[i]);
	for (i = 1; i <= 2; i++)
		vcpu_thread_join(other->vcpus[i]);
	tap_ok(cmd[1] == UCALL_DONE && cmd[3] == UCALL_DONE &&
	       ocmd[1] == UCALL_DONE && ocmd[2] == UCALL_DONE,
	       "every spinner finished");

	if (tap_ok(pvx_find_vm(pvx, id, &st) == 1 &&
		   pvx_find_vm(pvx, other_id, &ost) == 1, "both VMs in stats")) {
		TAP_EQ(st.lock_waits, ROUNDS * WAITS, "stats: every wait counted");
		TAP_EQ(st.lock_boosts + st.lock_refused + st.lock_none, st.lock_waits,
		       "stats: each wait boosted, refused or found none");
		tap_ok(st.lock_unreadable >= 1,
		       "stats: the count outside RAM counted unreadable (%llu)",
		       (unsigned long long)st.lock_unreadable);
		TAP_EQ(ost.lock_waits + ost.lock_boosts, 0,
		       "the other VM: no wait, no boost");
	}
	vm_free(vm);
	vm_free(other);
}

/*
 * A guest may call LOCK_WAIT as fast as it can exit; each call makes the
 * host look at every other vCPU of the VM and read their counts.  The
 * budget must stop the looking, not only the boosting: with BUDGET calls
 * a second, WAITS calls in a row look BUDGET times (twice that if they
 * straddle a second) and are refused the rest without a look, which the
 * passed-over count of the preempted vCPU 1 (count zero) shows.
 */
static void test_budget(int pvx)
{
	uint64_t cmd = 0, none, limited, other, id;
	char old[32] = "", buf[32];
	struct pvx_vm_stats st;
	struct ucall uc;
	struct vm *vm;

	if (read_file(RATE_PARAM, old, sizeof(old)) < 0) {
		tap_ok(false, "read %s", RATE_PARAM);
		return;
	}
	vm = vm_create();
	vcpu_add(vm, guest_budget_waiter, 0);
	vcpu_add(vm, guest_spinner, 1);
	id = pvx_attach(pvx, vm->fd, PVX_F_LOCKHINT, 0);
	vcpu_thread_start(vm->vcpus[1], vcpu_runner, &cmd);
	tap_ok(wait_ready(vm, 1), "vCPU 1 registered count 0 and spins");
	snprintf(buf, sizeof(buf), "%d\n", BUDGET);
	write_file(RATE_PARAM, buf);
	if (vcpu_expect_step(vm->vcpus[0], STEP_WAITS, &uc)) {
		none = uc.args[1];
		limited = uc.args[2];
		other = uc.args[3];
		tap_diag("%d waits at %d a second: %llu found none, %llu rate limited, %llu else",
			 WAITS, BUDGET, (unsigned long long)none,
			 (unsigned long long)limited, (unsigned long long)other);
		TAP_EQ(other, 0, "every wait found none or was rate limited");
		tap_ok(none >= 1 && none <= 2 * BUDGET,
		       "%llu waits looked: the budget's, at most two seconds' worth",
		       (unsigned long long)none);
		TAP_EQ(none + limited, WAITS, "the rest rate limited");
	}
	write_file(RATE_PARAM, old);
	guest_global(vm, stop) = 1;
	vcpu_thread_join(vm->vcpus[1]);
	if (tap_ok(pvx_find_vm(pvx, id, &st) == 1, "VM listed in stats")) {
		/* Signed: more looks than waits must not wrap to "few". */
		tap_ok((int64_t)st.lock_zero_count <= (int64_t)(2 * BUDGET),
		       "vCPU 1 passed over only by the waits that looked (%llu)",
		       (unsigned long long)st.lock_zero_count);
		TAP_EQ(st.lock_refused, WAITS - st.lock_none,
		       "stats: rate limited waits counted refused");
	}
	vm_free(vm);
}

int main(void)
{
	int pvx;

	tap_init("lockhint_test: PVX_HC_LOCKHINT_SET, PVX_HC_LOCK_WAIT");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_LOCKHINT);

	test_refusals(pvx);
	test_boosts(pvx);
	test_budget(pvx);
	close(pvx);
	tap_finish();
}
