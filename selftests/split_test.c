// SPDX-License-Identifier: GPL-2.0
/*
 * Split-phase batches: the vCPU submits a copy of 170 pages, gets "in
 * progress" at once and keeps running guest code until its notification
 * interrupt arrives; it then collects the result.  The contents, the
 * completion record and the dirty log are checked from the VMM.  Then the
 * per-vCPU limit of outstanding requests, a split-phase prefault, and
 * detaching and destroying the VM with work in flight.  Last, who pays:
 * each VM's work runs in a thread of its own VMM (so its cgroup and
 * cpuset are the VMM's), one at a time, and a VM with a queue of long
 * requests cannot hold up another VM's one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_observe.h"
#include "pvx_irq.h"

#define PAGE		4096ULL
#define NCOPY		170	/* a page of entries */
#define SLOT_PAGES	256
#define SLOT_BYTES	(SLOT_PAGES * PAGE)
#define GPA_SRC		0x20000000ULL
#define GPA_DST		0x20400000ULL
#define GPA_PF		0x20800000ULL
#define GPA_NONE	0x30000000ULL
#define SLOT_DST	2
#define VEC		0xed
#define GPA_FAIR	0x40000000ULL
/*
 * One range of 512 pages (2 MiB) a request: what one split-phase prefault
 * does at most (pvx_host's prefault_max_pages), so that each request is
 * done whole.
 */
#define FAIR_RANGES	1
#define FAIR_REQ_BYTES	(FAIR_RANGES * PVX_RANGE_MAX_PAGES * PAGE)
/*
 * Fixed before measuring: of VM A's 8 queued requests, at most this many
 * finish while VM B's one (of the same size) runs.  Sharing the CPU with
 * A's one worker, B takes about two request-times: one of A's finishes.
 * One worker pool shared by all VMs runs A's 8 beside B's (or before it):
 * then all of A's finish meanwhile.
 */
#define FAIR_MAX_A	3
#define SEC		1000000000ULL

enum {
	STEP_ERRORS = 1,
	STEP_SPLIT,
	STEP_COLLECTED,
	STEP_LIMIT,
	STEP_PREFAULT,
	STEP_INFLIGHT,
	STEP_FAIR_SUBMITTED,
	STEP_FAIR_DONE,
};

static struct pvx_copy_entry list[NCOPY] __attribute__((aligned(4096)));
static struct pvx_gfn_range range __attribute__((aligned(64)));
static struct pvx_completion comp[PVX_SPLIT_MAX_OUTSTANDING + 1]
	__attribute__((aligned(64)));

static uint64_t copy_split(uint64_t count, uint64_t flags, uint64_t rec)
{
	return guest_hypercall(PVX_HC_COPY_PAGES, (uint64_t)list, count, flags,
			       rec);
}

static uint64_t collect(void)
{
	return guest_hypercall(PVX_HC_SPLIT_COLLECT, 0, 0, 0, 0);
}

static void fill_list(void)
{
	int i;

	for (i = 0; i < NCOPY; i++) {
		list[i].src_gfn = GPA_SRC / PAGE + i;
		list[i].dst_gfn = GPA_DST / PAGE + i;
		list[i].status = 0x7777;
		list[i].reserved = 0;
	}
}

/* Runs guest code, interrupts on, until @n interrupts or a timeout. */
static uint64_t spin_until_irqs(uint64_t n)
{
	uint64_t iterations = 0, end = guest_kvmclock_ns() + 30 * SEC;

	guest_sti();
	while (guest_irq_count < n && guest_kvmclock_ns() < end)
		iterations++;
	guest_cli();
	return iterations;
}

/* Collects, interrupts on, until something is delivered or time is up. */
static uint64_t collect_within(uint64_t ns)
{
	uint64_t n = 0, end = guest_kvmclock_ns() + ns;

	guest_sti();
	while (!n && guest_kvmclock_ns() < end)
		n = collect();
	guest_cli();
	return n;
}

static void guest_main(uint64_t arg)
{
	uint64_t r, state, iterations, n, i, busy;

	(void)arg;
	guest_x2apic_enable();
	guest_kvmclock_enable();
	GUEST_ASSERT_EQ(guest_hypercall(PVX_HC_SET_VECTOR, VEC, 0, 0, 0), 0);

	fill_list();
	/* A completion record without PVX_SPLIT is an argument error. */
	GUEST_ASSERT_EQ(copy_split(1, 0, (uint64_t)&comp[0]), PVX_ERR(PVX_EINVAL));
	GUEST_SYNC(STEP_ERRORS, copy_split(1, PVX_SPLIT, 0),
		   copy_split(1, PVX_SPLIT, (uint64_t)&comp[0] + 4),
		   copy_split(1, PVX_SPLIT, GPA_NONE));

	/* Submit, then keep running until the completion interrupt. */
	comp[0].state = 0;
	r = copy_split(NCOPY, PVX_SPLIT, (uint64_t)&comp[0]);
	state = comp[0].state;
	iterations = spin_until_irqs(1);
	GUEST_SYNC(STEP_SPLIT, r, state, iterations);
	n = collect();
	GUEST_SYNC(STEP_COLLECTED, n, comp[0].state, comp[0].result);

	/* Outstanding until collected: the ninth is refused. */
	for (i = 0, busy = 0; i < PVX_SPLIT_MAX_OUTSTANDING + 1; i++) {
		r = copy_split(1, PVX_SPLIT, (uint64_t)&comp[i]);
		if (r == PVX_ERR(PVX_EBUSY))
			busy = i + 1;
		else if (r != PVX_ERR(PVX_EINPROGRESS))
			busy = 100 + i;
	}
	for (n = 0; n < PVX_SPLIT_MAX_OUTSTANDING; n += r) {
		r = collect_within(30 * SEC);
		if (!r || r > PVX_SPLIT_MAX_OUTSTANDING)
			break;
	}
	GUEST_SYNC(STEP_LIMIT, busy, n, comp[PVX_SPLIT_MAX_OUTSTANDING - 1].state);

	/*
	 * Split-phase prefault of a fresh range.  The limit's completions may
	 * have left an interrupt pending: wait for the collection itself.
	 */
	range.gfn = GPA_PF / PAGE;
	range.npages = SLOT_PAGES;
	range.status = 0x7777;
	r = guest_hypercall(PVX_HC_PREFAULT_WRITE, (uint64_t)&range, 1,
			    PVX_SPLIT, (uint64_t)&comp[0]);
	n = collect_within(30 * SEC);
	GUEST_ASSERT_EQ(range.status, 0);
	GUEST_SYNC(STEP_PREFAULT, r, n, comp[0].result);

	/* Work in flight when the host detaches or destroys the VM. */
	r = copy_split(NCOPY, PVX_SPLIT, (uint64_t)&comp[1]);
	GUEST_SYNC(STEP_INFLIGHT, r);
	GUEST_DONE();
}

static struct pvx_gfn_range fair_ranges[PVX_SPLIT_MAX_OUTSTANDING][FAIR_RANGES]
	__aligned(4096);
static struct pvx_completion fair_comp[PVX_SPLIT_MAX_OUTSTANDING] __aligned(64);

/* @nreq split-phase prefaults of fresh memory, then collects them all. */
static void fair_guest(uint64_t nreq)
{
	uint64_t i, j, r, n = 0, ok = 0, calls;

	for (i = 0; i < nreq; i++) {
		for (j = 0; j < FAIR_RANGES; j++) {
			fair_ranges[i][j].gfn = GPA_FAIR / PAGE +
				(i * FAIR_RANGES + j) * PVX_RANGE_MAX_PAGES;
			fair_ranges[i][j].npages = PVX_RANGE_MAX_PAGES;
			fair_ranges[i][j].status = 0x7777;
		}
		r = guest_hypercall(PVX_HC_PREFAULT_WRITE,
				    (uint64_t)fair_ranges[i], FAIR_RANGES,
				    PVX_SPLIT, (uint64_t)&fair_comp[i]);
		GUEST_ASSERT_EQ(r, PVX_ERR(PVX_EINPROGRESS));
	}
	GUEST_SYNC(STEP_FAIR_SUBMITTED);
	for (calls = 0; n < nreq && calls < 100000000; calls++)
		n += collect();
	for (i = 0; i < nreq; i++)
		ok += fair_comp[i].state == PVX_COMPLETION_DONE &&
		      fair_comp[i].result == FAIR_RANGES;
	GUEST_SYNC(STEP_FAIR_DONE, n, ok);
	GUEST_DONE();
}

static uint8_t src_byte(int page)
{
	return (page + 1) & 0xff;
}

static int dirty_count(struct vm *vm, int first, int n)
{
	uint64_t bitmap[SLOT_PAGES / 64] = { 0 };
	int i, c = 0;

	vm_get_dirty_log(vm, SLOT_DST, bitmap);
	for (i = first; i < first + n; i++)
		c += !!(bitmap[i / 64] & (1ULL << (i % 64)));
	return c;
}

static struct vm *split_vm(int pvx, uint64_t *id, uint8_t **src, uint8_t **dst)
{
	struct vcpu *vcpu;
	struct vm *vm;
	int i;

	vm = vm_create();
	vm_enable_irqchip(vm);
	vcpu = vcpu_add(vm, guest_main, 0);
	vcpu_setup_idt(vcpu);
	*src = vm_add_anon_slot(vm, 1, GPA_SRC, SLOT_BYTES, 0, false);
	*dst = vm_add_anon_slot(vm, SLOT_DST, GPA_DST, SLOT_BYTES, KVM_MEM_LOG_DIRTY_PAGES, false);
	vm_add_anon_slot(vm, 3, GPA_PF, SLOT_BYTES, 0, false);
	/* Never 0 in a copied page: fresh destination memory reads 0. */
	for (i = 0; i < SLOT_PAGES; i++)
		memset(*src + i * PAGE, src_byte(i), PAGE);
	*id = pvx_attach(pvx, vm->fd, PVX_F_COPY_PAGES | PVX_F_PREFAULT |
			 PVX_F_SPLIT, 0);
	return vm;
}

/* Runs the guest to STEP_INFLIGHT, checking every step on the way. */
static bool run_to_inflight(int pvx, struct vm *vm, uint8_t *dst, bool check)
{
	struct pvx_copy_entry *l = guest_ptr(vm, (uint64_t)list);
	struct vcpu *vcpu = vm->vcpus[0];
	struct ucall uc;
	int i, bad;

	(void)pvx;
	if (!vcpu_expect_step(vcpu, STEP_ERRORS, &uc))
		return false;
	if (check) {
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL),
		       "split without a completion record refused");
		TAP_EQ(uc.args[2], PVX_ERR(PVX_EINVAL),
		       "misaligned completion record refused");
		TAP_EQ(uc.args[3], PVX_ERR(PVX_EFAULT),
		       "completion record outside guest RAM refused");
		TAP_EQ(dirty_count(vm, 0, SLOT_PAGES), 0,
		       "destination slot clean before the copy");
	}
	if (!vcpu_expect_step(vcpu, STEP_SPLIT, &uc))
		return false;
	if (check) {
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EINPROGRESS),
		       "split copy answered in progress");
		TAP_EQ(uc.args[2], PVX_COMPLETION_PENDING,
		       "record pending after submission");
		tap_ok(uc.args[3] > 0,
		       "vCPU ran guest code while the copy was in flight (%llu loop iterations)",
		       (unsigned long long)uc.args[3]);
		tap_ok(guest_global(vm, guest_irq_count) >= 1 &&
		       guest_global(vm, guest_irq_last_vector) == VEC,
		       "completion interrupt arrived on vector %#x", VEC);
	}
	if (!vcpu_expect_step(vcpu, STEP_COLLECTED, &uc))
		return false;
	if (check) {
		TAP_EQ(uc.args[1], 1, "one request collected");
		TAP_EQ(uc.args[2], PVX_COMPLETION_DONE, "record done");
		TAP_EQ(uc.args[3], NCOPY, "record holds the pages copied");
		for (i = 0, bad = 0; i < NCOPY; i++)
			bad += l[i].status != 0 ||
			       dst[i * PAGE] != src_byte(i) ||
			       dst[i * PAGE + PAGE - 1] != src_byte(i);
		TAP_EQ(bad, 0, "every page copied, every status 0");
		TAP_EQ(dirty_count(vm, 0, NCOPY), NCOPY,
		       "dirty log shows every destination after collection");
		TAP_EQ(dirty_count(vm, NCOPY, SLOT_PAGES - NCOPY), 0,
		       "and nothing else");
	}
	if (!vcpu_expect_step(vcpu, STEP_LIMIT, &uc))
		return false;
	if (check) {
		TAP_EQ(uc.args[1], PVX_SPLIT_MAX_OUTSTANDING + 1,
		       "request %d over the outstanding limit refused -EBUSY",
		       PVX_SPLIT_MAX_OUTSTANDING + 1);
		TAP_EQ(uc.args[2], PVX_SPLIT_MAX_OUTSTANDING,
		       "all %d outstanding requests collected",
		       PVX_SPLIT_MAX_OUTSTANDING);
		TAP_EQ(uc.args[3], PVX_COMPLETION_DONE, "last record done");
	}
	if (!vcpu_expect_step(vcpu, STEP_PREFAULT, &uc))
		return false;
	if (check) {
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EINPROGRESS),
		       "split prefault answered in progress");
		TAP_EQ(uc.args[2], 1, "split prefault collected");
		TAP_EQ(uc.args[3], 1, "split prefault completed its range");
	}
	if (!vcpu_expect_step(vcpu, STEP_INFLIGHT, &uc))
		return false;
	return TAP_EQ(uc.args[1], PVX_ERR(PVX_EINPROGRESS),
		      "copy in flight when the host lets go");
}

static uint64_t split_inflight(int pvx, uint64_t id)
{
	struct pvx_vm_stats st;

	if (pvx_find_vm(pvx, id, &st) != 1)
		tap_bail("stats: vm %" PRIu64 " not found", id);
	return st.split_inflight;
}

/* This process's (the VMM's) split-phase workers named @comm. */
static int vmm_threads_named(const char *comm)
{
	return obs_vm_workers(getpid(), comm);
}

static struct vm *fair_vm(int pvx, uint64_t nreq, uint64_t *id)
{
	struct vm *vm = vm_create();

	vcpu_add(vm, fair_guest, nreq);
	vm_add_anon_slot(vm, 1, GPA_FAIR, nreq * FAIR_REQ_BYTES, 0, true);
	*id = pvx_attach(pvx, vm->fd, PVX_F_PREFAULT | PVX_F_SPLIT, 0);
	return vm;
}

static void fair_done(struct vm *vm, uint64_t nreq, const char *who)
{
	struct ucall uc;

	if (!vcpu_expect_step(vm->vcpus[0], STEP_FAIR_DONE, &uc))
		return;
	TAP_EQ(uc.args[1], nreq, "VM %s: every request collected", who);
	TAP_EQ(uc.args[2], nreq, "VM %s: every request prefaulted all of its ranges",
	       who);
}

static void test_fair(int pvx)
{
	uint64_t id_a, id_b, a0, a1, b = 1;
	char comm_a[32], comm_b[32];
	struct vm *vm_a, *vm_b;
	struct ucall uc;
	int i;

	vm_a = fair_vm(pvx, PVX_SPLIT_MAX_OUTSTANDING, &id_a);
	vm_b = fair_vm(pvx, 1, &id_b);
	snprintf(comm_a, sizeof(comm_a), "pvx-%" PRIu64, id_a);
	snprintf(comm_b, sizeof(comm_b), "pvx-%" PRIu64, id_b);
	tap_ok(vm_a->fd != vm_b->fd && id_a != id_b,
	       "two VMs: fds %d and %d, pvx ids %" PRIu64 " and %" PRIu64,
	       vm_a->fd, vm_b->fd, id_a, id_b);

	if (!vcpu_expect_step(vm_a->vcpus[0], STEP_FAIR_SUBMITTED, &uc) ||
	    !vcpu_expect_step(vm_b->vcpus[0], STEP_FAIR_SUBMITTED, &uc))
		goto out;
	a0 = split_inflight(pvx, id_a);
	for (i = 0; i < 60000 && (b = split_inflight(pvx, id_b)); i++)
		usleep(1000);
	a1 = split_inflight(pvx, id_a);
	tap_ok(!b, "VM B's request finished (%" PRIu64 " in flight)", b);
	/*
	 * Nothing was measured unless more than FAIR_MAX_A of A's were left
	 * to run before B's (a shared pool would finish them all).  A's
	 * worker may have done one or two while B submitted (6.1's kthread
	 * worker did two once).
	 */
	tap_ok(a0 > FAIR_MAX_A,
	       "VM A: %" PRIu64 " of %d requests in flight when B's started (more than %d)",
	       a0, PVX_SPLIT_MAX_OUTSTANDING, FAIR_MAX_A);
	tap_ok(a1 <= a0 && a0 - a1 <= FAIR_MAX_A,
	       "VM A: %" PRId64 " requests finished while B's one ran (at most %d)",
	       (int64_t)(a0 - a1), FAIR_MAX_A);
	TAP_EQ(vmm_threads_named(comm_a), 1,
	       "VM A's work runs in its VMM's worker (%s)", comm_a);
	TAP_EQ(vmm_threads_named(comm_b), 1,
	       "VM B's work runs in its VMM's worker (%s)", comm_b);

	fair_done(vm_a, PVX_SPLIT_MAX_OUTSTANDING, "A");
	fair_done(vm_b, 1, "B");
out:
	vm_free(vm_a);
	vm_free(vm_b);
	for (i = 0; i < 500 && vmm_threads_named(comm_a) +
			       vmm_threads_named(comm_b); i++)
		usleep(10000);
	TAP_EQ(vmm_threads_named(comm_a) + vmm_threads_named(comm_b), 0,
	       "both workers gone with their VMs");
}

int main(void)
{
	uint64_t id, base;
	uint8_t *src, *dst;
	struct vm *vm;
	int pvx, r, i;

	tap_init("split_test: split-phase PVX_HC_COPY_PAGES, PVX_HC_PREFAULT_WRITE");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_SPLIT);
	base = pvx_live_vms(pvx);

	/* The whole protocol, then the VM destroyed under a copy. */
	vm = split_vm(pvx, &id, &src, &dst);
	if (run_to_inflight(pvx, vm, dst, true))
		vm_free(vm);
	for (i = 0; i < 1000 && pvx_live_vms(pvx) != base; i++)
		usleep(10000);
	TAP_EQ(pvx_live_vms(pvx), base,
	       "VM destroyed with a copy in flight: state freed");

	/* Detached under a copy: detach waits for the worker. */
	vm = split_vm(pvx, &id, &src, &dst);
	if (run_to_inflight(pvx, vm, dst, false)) {
		r = __pvx_detach_id(pvx, id);
		tap_ok(!r, "detach with a copy in flight: %s",
		       r ? strerror(-r) : "ok");
		TAP_EQ(pvx_live_vms(pvx), base, "detached VM's state freed");
	}
	vm_free(vm);

	test_fair(pvx);
	close(pvx);
	tap_finish();
}
