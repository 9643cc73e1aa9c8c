// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging of the pages pvx changes, with KVM's dirty ring at its
 * smallest (4 KiB: 256 entries, of which KVM keeps some spare above its
 * soft limit) and with the plain bitmap.
 *
 * The logged pages are first made resident and mapped in stage 2 by the
 * guest, then harvested: KVM write-protects them again, so nothing of
 * what follows shows in the log unless pvx marks it.  Then, each in as
 * few calls as the host allows (the guest resubmits from where the host
 * stopped, as the list contract says):
 *  - PVX_HC_PREFAULT_WRITE of two 512-page ranges: the pages become
 *    writable in stage 2, so the guest's writes that follow never exit;
 *  - PVX_HC_COPY_PAGES of 300 pages, in two back-to-back calls of 150
 *    (a page holds 170 entries): the first leaves the ring below its
 *    soft limit, so no exit comes between them;
 *  - the same 300 pages split-phase: once the workers are done and
 *    before any collection, no destination may hold new data that is
 *    not in the log; after the collection, all of them are logged;
 *  - PVX_HC_BALLOON_INFLATE of 512 of the written pages: they read as
 *    zero now, so they must be logged too (the copy a migration sent
 *    earlier holds the old data).
 * Each time every page pvx wrote or made writable must be in the log.
 * A ring overrun would also WARN in the host (kernel taint W).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "pvx_test.h"

#define PAGE		4096ULL
#define RING_BYTES	4096
#define LOG_PAGES	2048
#define GPA_LOG		0x20000000ULL
#define GPA_SRC		0x20800000ULL
#define SRC_PAGES	512
#define SLOT_LOG	1
#define SLOT_SRC	2
#define NRANGE		2
#define PF_PAGES	(NRANGE * PVX_RANGE_MAX_PAGES)
#define NCOPY		150		/* per call */
#define COPY_PAGES	(2 * NCOPY)
#define COPY_DST	PF_PAGES	/* first destination page in the slot */
#define SPLIT_DST	(COPY_DST + COPY_PAGES)
#define BALLOON_FIRST	0		/* prefaulted, written, logged */
#define BALLOON_PAGES	(NRANGE * PVX_RANGE_MAX_PAGES / 2)
#define WORKER_WAIT_MS	30000
#define MAX_CALLS	4096
#define ENGINE_PARAM	"/sys/module/pvx_host/parameters/copy_engine"
#define TAINT_WARN	(1ULL << 9)

enum {
	STEP_TOUCHED = 1,
	STEP_PREFAULTED,
	STEP_COPIED,
	STEP_SUBMITTED,
	STEP_SPLIT,
	STEP_BALLOON,
};

static struct pvx_gfn_range ranges[NRANGE] __aligned(64);
/* A list lies within one page. */
static struct {
	struct pvx_copy_entry e[NCOPY];
} __aligned(4096) lists[2];

static struct pvx_completion comp[2] __aligned(64);

/*
 * The guest's side of the list contract: an entry the host stopped in
 * (or before) comes back with -PVX_EAGAIN and describes what is left;
 * the call is made again from there.  Returns the entries done; the
 * number of calls made goes to *calls.
 */
static uint64_t guest_batch(uint32_t nr, void *entries, size_t size,
			    uint32_t count, size_t status_off,
			    uint64_t *calls)
{
	uint32_t done = 0;
	uint64_t r;

	for (*calls = 0; done < count && *calls < MAX_CALLS; ) {
		char *e = (char *)entries + done * size;

		r = guest_hypercall(nr, (uint64_t)e, count - done, 0, 0);
		(*calls)++;
		if ((int64_t)r < 0)
			break;
		done += r;
		if (done < count &&
		    *(int32_t *)((char *)entries + done * size + status_off) !=
		    -PVX_EAGAIN)
			break;
	}
	return done;
}

static void guest_main(uint64_t arg)
{
	uint8_t *log = (uint8_t *)GPA_LOG;
	uint64_t i, c, calls, r;

	(void)arg;
	for (i = 0; i < LOG_PAGES; i++)
		WRITE_ONCE(log[i * PAGE], 1);
	GUEST_SYNC(STEP_TOUCHED);

	for (i = 0; i < NRANGE; i++) {
		ranges[i].gfn = GPA_LOG / PAGE + i * PVX_RANGE_MAX_PAGES;
		ranges[i].npages = PVX_RANGE_MAX_PAGES;
		ranges[i].status = 0x7777;
	}
	r = guest_batch(PVX_HC_PREFAULT_WRITE, ranges, sizeof(ranges[0]),
			NRANGE, offsetof(struct pvx_gfn_range, status), &calls);
	/* Writable now: these should not exit, so only pvx can log them. */
	for (i = 0; i < PF_PAGES; i++)
		WRITE_ONCE(log[i * PAGE], 2);
	GUEST_SYNC(STEP_PREFAULTED, r, calls);

	for (c = 0; c < 2; c++)
		for (i = 0; i < NCOPY; i++) {
			lists[c].e[i].src_gfn = GPA_SRC / PAGE + c * NCOPY + i;
			lists[c].e[i].dst_gfn = GPA_LOG / PAGE + COPY_DST +
					     c * NCOPY + i;
			lists[c].e[i].status = 0x7777;
			lists[c].e[i].reserved = 0;
		}
	r = 0;
	calls = 0;
	for (c = 0; c < 2; c++) {
		uint64_t n;

		r += guest_batch(PVX_HC_COPY_PAGES, lists[c].e, sizeof(lists[c].e[0]),
				 NCOPY, offsetof(struct pvx_copy_entry, status),
				 &n);
		calls += n;
	}
	GUEST_SYNC(STEP_COPIED, r, calls);

	for (c = 0; c < 2; c++)
		for (i = 0; i < NCOPY; i++) {
			lists[c].e[i].dst_gfn += COPY_PAGES;
			lists[c].e[i].status = 0x7777;
		}
	for (c = 0; c < 2; c++) {
		r = guest_hypercall(PVX_HC_COPY_PAGES, (uint64_t)lists[c].e, NCOPY,
				    PVX_SPLIT, (uint64_t)&comp[c]);
		GUEST_ASSERT_EQ(r, PVX_ERR(PVX_EINPROGRESS));
	}
	/* The VMM waits for the workers and looks at the memory. */
	GUEST_SYNC(STEP_SUBMITTED);
	for (calls = 0; calls < MAX_CALLS &&
	     (READ_ONCE(comp[0].state) != PVX_COMPLETION_DONE ||
	      READ_ONCE(comp[1].state) != PVX_COMPLETION_DONE); calls++)
		guest_hypercall(PVX_HC_SPLIT_COLLECT, 0, 0, 0, 0);
	GUEST_SYNC(STEP_SPLIT, comp[0].result, comp[1].result, calls);

	/* Written, logged and harvested by the VMM: now given away. */
	for (i = 0; i < NRANGE; i++) {
		ranges[i].gfn = GPA_LOG / PAGE + BALLOON_FIRST +
				i * PVX_RANGE_MAX_PAGES / 2;
		ranges[i].npages = PVX_RANGE_MAX_PAGES / 2;
		ranges[i].status = 0x7777;
	}
	/* A worker could not mark the discarded pages: no split-phase. */
	c = guest_hypercall(PVX_HC_BALLOON_INFLATE, (uint64_t)ranges, NRANGE,
			    PVX_SPLIT, (uint64_t)&comp[0]);
	r = guest_batch(PVX_HC_BALLOON_INFLATE, ranges, sizeof(ranges[0]),
			NRANGE, offsetof(struct pvx_gfn_range, status), &calls);
	GUEST_SYNC(STEP_BALLOON, r, calls, c);
	GUEST_DONE();
}

static uint8_t seen[LOG_PAGES];
static uint64_t seen_other;

static void note_dirty(uint32_t slot, uint64_t offset, void *arg)
{
	(void)arg;
	if (slot == SLOT_LOG && offset < LOG_PAGES)
		seen[offset] = 1;
	else
		seen_other++;
}

static uint64_t harvested;

static void harvest(struct vcpu *vcpu)
{
	harvested += vcpu_harvest_dirty_ring(vcpu, note_dirty, NULL);
	vm_reset_dirty_rings(vcpu->vm);
}

/*
 * KVM_EXIT_DIRTY_RING_FULL: the ring holds its soft limit's worth of
 * published entries, unless something pushed past its end and wrapped
 * over them; then there is nothing to harvest and KVM exits again at
 * once, forever.
 */
static void ring_full(struct vcpu *vcpu)
{
	uint64_t before = harvested;

	harvest(vcpu);
	if (harvested == before)
		tap_bail("dirty ring full but nothing to harvest: it was overrun (entries lost)");
}

/* Ring mode: harvest; bitmap mode: KVM_GET_DIRTY_LOG (which clears it). */
static void collect_log(struct vcpu *vcpu)
{
	uint64_t bitmap[LOG_PAGES / 64];
	int i;

	if (vcpu->vm->dirty_ring_bytes) {
		harvest(vcpu);
		return;
	}
	memset(bitmap, 0, sizeof(bitmap));
	vm_get_dirty_log(vcpu->vm, SLOT_LOG, bitmap);
	for (i = 0; i < LOG_PAGES; i++)
		if (bitmap[i / 64] & (1ULL << (i % 64)))
			seen[i] = 1;
}

/* Every page in [first, first + n) logged since the last reset of seen. */
static void check_seen(const char *mode, const char *what, int first, int n)
{
	int i, missing = 0, first_missing = -1;

	for (i = first; i < first + n; i++)
		if (!seen[i]) {
			if (first_missing < 0)
				first_missing = i;
			missing++;
		}
	tap_ok(!missing, "%s: %s: all %d pages in the dirty log (%d missing, first %d)",
	       mode, what, n, missing, first_missing);
	memset(seen, 0, sizeof(seen));
}

/*
 * The workers of the split-phase copy have finished (the host says so)
 * and nothing was collected yet.  A destination the guest could read
 * with its new data must already be in the log: a final dirty sync of a
 * migration at this moment would otherwise leave it behind.  The
 * destinations held the guest's first touch (1 in byte 0) and were
 * harvested since, so only pvx can have changed them.
 */
static void check_unlogged_split(struct vcpu *vcpu, int pvx, uint64_t id,
				 const uint8_t *logmem, const char *mode)
{
	struct pvx_vm_stats st;
	int i, waited, changed = 0, unlogged = 0;

	for (waited = 0; waited < WORKER_WAIT_MS; waited += 10) {
		if (pvx_find_vm(pvx, id, &st) != 1)
			tap_bail("stats: VM %llu not found", (unsigned long long)id);
		if (!st.split_inflight)
			break;
		usleep(10000);
	}
	tap_ok(!st.split_inflight, "%s: split-phase: the workers finished (%llu running)",
	       mode, (unsigned long long)st.split_inflight);
	collect_log(vcpu);
	for (i = SPLIT_DST; i < SPLIT_DST + COPY_PAGES; i++) {
		const uint8_t *p = logmem + i * PAGE;

		if (p[0] == 1 && p[PAGE - 1] == 0)
			continue;
		changed++;
		unlogged += !seen[i];
	}
	tap_diag("%s: split-phase: %d destinations changed before collection",
		 mode, changed);
	TAP_EQ(unlogged, 0,
	       "%s: split-phase: no destination changed before it was logged",
	       mode);
	memset(seen, 0, sizeof(seen));
}

static uint64_t taint(void)
{
	return read_u64("/proc/sys/kernel/tainted");
}

static void test_dirty(int pvx, bool ring)
{
	const char *mode = ring ? "ring" : "bitmap";
	uint64_t id, taint0 = taint();
	uint8_t *logmem, *src;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int i, bad;

	vm = vm_create();
	if (ring) {
		vm_enable_dirty_ring(vm, RING_BYTES);
		tap_diag("ring: %u bytes, %s", vm->dirty_ring_bytes,
			 vm->dirty_ring_cap == KVM_CAP_DIRTY_LOG_RING_ACQ_REL ?
			 "KVM_CAP_DIRTY_LOG_RING_ACQ_REL" :
			 "KVM_CAP_DIRTY_LOG_RING");
	}
	vcpu = vcpu_add(vm, guest_main, 0);
	if (ring)
		vcpu->dirty_ring_full = ring_full;
	logmem = vm_add_anon_slot(vm, SLOT_LOG, GPA_LOG, LOG_PAGES * PAGE,
				  KVM_MEM_LOG_DIRTY_PAGES, true);
	src = vm_add_anon_slot(vm, SLOT_SRC, GPA_SRC, SRC_PAGES * PAGE, 0,
			       true);
	/* Resident in the VMM before the guest maps any of it. */
	memset(logmem, 0, LOG_PAGES * PAGE);
	for (i = 0; i < SRC_PAGES; i++)
		memset(src + i * PAGE, 0x10 + i % 0xe0, PAGE);
	id = pvx_attach(pvx, vm->fd, PVX_F_PREFAULT | PVX_F_COPY_PAGES |
			PVX_F_SPLIT | PVX_F_BALLOON, 0);

	if (!vcpu_expect_step(vcpu, STEP_TOUCHED, &uc))
		goto out;
	/* Mapped in stage 2 now; the harvest write-protects it again. */
	collect_log(vcpu);
	check_seen(mode, "the guest's own writes", 0, LOG_PAGES);

	if (!vcpu_expect_step(vcpu, STEP_PREFAULTED, &uc))
		goto out;
	TAP_EQ(uc.args[1], NRANGE, "%s: prefault: both ranges done", mode);
	tap_diag("%s: prefault of %d pages took %llu calls", mode, PF_PAGES,
		 (unsigned long long)uc.args[2]);
	collect_log(vcpu);
	check_seen(mode, "prefault", 0, PF_PAGES);

	if (!vcpu_expect_step(vcpu, STEP_COPIED, &uc))
		goto out;
	TAP_EQ(uc.args[1], COPY_PAGES, "%s: copy: every page copied", mode);
	tap_diag("%s: copy of %d pages took %llu calls", mode, COPY_PAGES,
		 (unsigned long long)uc.args[2]);
	collect_log(vcpu);
	check_seen(mode, "copy", COPY_DST, COPY_PAGES);
	for (i = 0, bad = 0; i < COPY_PAGES; i++)
		bad += memcmp(logmem + (COPY_DST + i) * PAGE, src + i * PAGE,
			      PAGE) != 0;
	TAP_EQ(bad, 0, "%s: copy: every destination holds its source", mode);

	if (!vcpu_expect_step(vcpu, STEP_SUBMITTED, &uc))
		goto out;
	check_unlogged_split(vcpu, pvx, id, logmem, mode);

	if (!vcpu_expect_step(vcpu, STEP_SPLIT, &uc))
		goto out;
	TAP_EQ(uc.args[1], NCOPY, "%s: split-phase: first request's result", mode);
	TAP_EQ(uc.args[2], NCOPY, "%s: split-phase: second request's result", mode);
	tap_diag("%s: split-phase: %llu collections", mode,
		 (unsigned long long)uc.args[3]);
	collect_log(vcpu);
	check_seen(mode, "split-phase copy", SPLIT_DST, COPY_PAGES);
	for (i = 0, bad = 0; i < COPY_PAGES; i++)
		bad += memcmp(logmem + (SPLIT_DST + i) * PAGE, src + i * PAGE,
			      PAGE) != 0;
	TAP_EQ(bad, 0, "%s: split-phase: every destination holds its source", mode);

	if (!vcpu_expect_step(vcpu, STEP_BALLOON, &uc))
		goto out;
	TAP_EQ(uc.args[3], PVX_ERR(PVX_EINVAL),
	       "%s: balloon: split-phase inflate refused", mode);
	TAP_EQ(uc.args[1], NRANGE, "%s: balloon: both ranges inflated", mode);
	tap_diag("%s: inflate of %d pages took %llu calls", mode,
		 BALLOON_PAGES, (unsigned long long)uc.args[2]);
	collect_log(vcpu);
	check_seen(mode, "balloon discard", BALLOON_FIRST, BALLOON_PAGES);
	for (i = 0, bad = 0; i < BALLOON_PAGES; i++)
		bad += logmem[(BALLOON_FIRST + i) * PAGE] != 0;
	TAP_EQ(bad, 0, "%s: balloon: every discarded page reads as zero", mode);

	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "%s: guest done", mode);
out:
	if (ring)
		tap_diag("ring: %llu entries harvested, %llu outside the logged slot",
			 (unsigned long long)harvested,
			 (unsigned long long)seen_other);
	if (taint0 & TAINT_WARN)
		tap_skip("%s: kernel already tainted by a WARN", mode);
	else
		tap_ok(!(taint() & TAINT_WARN), "%s: no kernel WARN", mode);
	vm_free(vm);
}

int main(void)
{
	int pvx, r;

	tap_init("dirty_test: dirty logging of the pages pvx changes");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_PREFAULT | PVX_F_COPY_PAGES |
				PVX_F_SPLIT | PVX_F_BALLOON);
	/* The CPU copy: KVM marks each destination as it writes it. */
	r = write_file(ENGINE_PARAM, "cpu");
	tap_ok(!r, "copy_engine=cpu: %s", r ? strerror(-r) : "ok");

	test_dirty(pvx, false);
	{
		struct vm *vm = vm_create();

		r = __vm_enable_dirty_ring(vm, RING_BYTES);
		vm_free(vm);
	}
	if (r == -ENOTSUP)
		tap_skip("KVM has no dirty ring of %d bytes", RING_BYTES);
	else
		test_dirty(pvx, true);
	close(pvx);
	tap_finish();
}
