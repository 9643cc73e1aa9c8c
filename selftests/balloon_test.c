// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_BALLOON_*: the guest inflates 64 MiB of anonymous RAM and 16 MiB
 * of memfd-backed RAM; the VMM's anonymous RSS and the memfd's blocks must
 * drop by at least 99% of it.  Then what the host refuses, what a guest
 * touching a ballooned page sees, the limit, a memslot deleted while
 * ballooned, partial deflate, and deflated pages reading zero and working.
 * A second VM inflates and deflates while another vCPU keeps using the
 * same memory.  A third takes host events: the VMM sets a balloon target
 * (PVX_IOC_SET_BALLOON_TARGET), the guest gets the interrupt on its event
 * vector and reads the target with PVX_HC_BALLOON_STATS.  A fourth
 * inflates what MADV_DONTNEED would not discard either (mlocked memory, a
 * VM_PFNMAP|VM_IO mapping of /dev/mem, a range registered with
 * userfaultfd) and what is pinned for DMA by a pin pvx did not make
 * (io_uring fixed buffers, long-term pins: anonymous memory, and a memfd
 * pinned through a second mapping only): refused, and nothing of the
 * range given back.  Last, with balloon_max_pages set low, calls that
 * stop inside a range and the guest resuming from what the host wrote
 * back: the record and the counters stay exact.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/io_uring.h>
#include <linux/userfaultfd.h>
#include <sys/uio.h>
#include "pvx_test.h"
#include "pvx_irq.h"

#define PAGE		4096ULL
#define MB		(1ULL << 20)
#define ANON_GPA	0x20000000ULL
#define ANON_SIZE	(64 * MB)
#define MEMFD_GPA	0x24000000ULL
#define MEMFD_SIZE	(16 * MB)
#define DEL_GPA		0x25000000ULL
#define DEL_SIZE	(2 * MB)
#define GPA_NONE	0x30000000ULL
#define RANGE_PAGES	PVX_RANGE_MAX_PAGES
#define RANGE_BYTES	(RANGE_PAGES * PAGE)
#define LIMIT_PARAM	"/sys/module/pvx_host/parameters/balloon_limit_mb"
#define MAX_PARAM	"/sys/module/pvx_host/parameters/balloon_max_pages"
#define BOUND_PAGES	100	/* per call, in the bound test */
#define BOUND_RANGES	2
#define BOUND_TOTAL	(BOUND_RANGES * RANGE_PAGES)
#define ROUNDS		4
#define USER_PAGES	64

enum {
	STEP_INFLATE_ANON = 1,
	STEP_STATS,
	STEP_REFUSED,
	STEP_TOUCH,
	STEP_INFLATE_MEMFD,
	STEP_SET_LIMIT,
	STEP_LIMITED,
	STEP_DEL_INFLATED,
	STEP_DEL_DEFLATED,
	STEP_PARTIAL,
	STEP_DEFLATED,
	STEP_EMPTY,
	STEP_ROUNDS,
	STEP_ROUNDS_STATS,
	STEP_EV_BAD,
	STEP_EV_SET,
	STEP_EV_GOT,
	STEP_EV_OFF,
	STEP_EV_QUIET,
	STEP_BOUND_FIRST,
	STEP_BOUND_INFLATED,
	STEP_BOUND_AGAIN,
	STEP_BOUND_DEFLATED,
	STEP_BOUND_STATS,
};

#define EV_VEC		0xe3
#define EV_TARGET	12345
#define EV_TARGET2	777

static struct pvx_gfn_range ranges[PVX_LIST_MAX_BYTES / sizeof(struct pvx_gfn_range)]
	__aligned(4096);
static struct pvx_balloon_info info __aligned(64);
static uint64_t stop_user, user_rounds, user_pages;

static uint64_t balloon(uint64_t nr, uint64_t count)
{
	return guest_hypercall(nr, (uint64_t)ranges, count, 0, 0);
}

/* Ranges of RANGE_PAGES covering [gpa, gpa + size). */
static uint64_t fill(uint64_t gpa, uint64_t size)
{
	uint64_t i, n = size / RANGE_BYTES;

	for (i = 0; i < n; i++) {
		ranges[i].gfn = gpa / PAGE + i * RANGE_PAGES;
		ranges[i].npages = RANGE_PAGES;
		ranges[i].status = 0x7777;
	}
	return n;
}

/*
 * Calls until every range is done, resuming from the entry (rewritten to
 * what is left of it) each call stopped in; *@calls: the calls made.
 */
static uint64_t balloon_all(uint64_t nr, uint64_t n, uint64_t *calls)
{
	uint64_t first = 0, r;

	for (*calls = 0; first < n && *calls <= 4 * n * RANGE_PAGES; ) {
		r = guest_hypercall(nr, (uint64_t)&ranges[first], n - first,
				    0, 0);
		(*calls)++;
		if ((int64_t)r < 0)
			break;
		first += r;
		if (first < n &&
		    (uint64_t)(int64_t)ranges[first].status != PVX_ERR(PVX_EAGAIN))
			break;
	}
	return first;
}

static uint64_t one(uint64_t gfn, uint32_t npages)
{
	ranges[0].gfn = gfn;
	ranges[0].npages = npages;
	ranges[0].status = 0x7777;
	return 1;
}

static uint64_t ballooned(void)
{
	GUEST_ASSERT_EQ(guest_hypercall(PVX_HC_BALLOON_STATS, (uint64_t)&info,
					sizeof(info), 0, 0), 0);
	return info.ballooned_pages;
}

static uint64_t bad_statuses(uint64_t n)
{
	uint64_t i, bad = 0;

	for (i = 0; i < n; i++)
		bad += ranges[i].status != 0;
	return bad;
}

/* A bad single-range call, reported for vcpu_expect_refusals(). */
static void refused(uint64_t nr, uint64_t gfn, uint32_t npages)
{
	uint64_t r;

	one(gfn, npages);
	/* Not in the batch of one: the host must not write it either. */
	ranges[1].status = 0x7777;
	r = balloon(nr, 1);
	GUEST_SYNC(STEP_REFUSED, r, (uint64_t)(int64_t)ranges[0].status,
		   ranges[1].status);
}

static void guest_main(uint64_t arg)
{
	uint8_t *anon = (uint8_t *)ANON_GPA;
	uint64_t n, r, i, v, zero_bad = 0, pattern_bad = 0;

	(void)arg;
	n = fill(ANON_GPA, ANON_SIZE);
	r = balloon(PVX_HC_BALLOON_INFLATE, n);
	GUEST_SYNC(STEP_INFLATE_ANON, r, bad_statuses(n));
	v = ballooned();
	GUEST_SYNC(STEP_STATS, v, info.inflated_pages);

	refused(PVX_HC_BALLOON_INFLATE, ANON_GPA / PAGE, 1);
	refused(PVX_HC_BALLOON_INFLATE, GPA_NONE / PAGE, 1);
	refused(PVX_HC_BALLOON_INFLATE, (DEL_GPA + DEL_SIZE) / PAGE - 1, 2);
	refused(PVX_HC_BALLOON_INFLATE, DEL_GPA / PAGE, 0);
	refused(PVX_HC_BALLOON_DEFLATE, DEL_GPA / PAGE, 1);

	/* Touching a ballooned page: zeros, and a write works. */
	v = READ_ONCE(anon[0]);
	WRITE_ONCE(anon[8], 0x55);
	GUEST_SYNC(STEP_TOUCH, v, READ_ONCE(anon[8]));

	n = fill(MEMFD_GPA, MEMFD_SIZE);
	r = balloon(PVX_HC_BALLOON_INFLATE, n);
	GUEST_SYNC(STEP_INFLATE_MEMFD, r, bad_statuses(n));

	GUEST_SYNC(STEP_SET_LIMIT);
	n = fill(DEL_GPA, DEL_SIZE);
	r = balloon(PVX_HC_BALLOON_INFLATE, n);
	GUEST_SYNC(STEP_LIMITED, r, (uint64_t)(int64_t)ranges[0].status);
	r = balloon(PVX_HC_BALLOON_INFLATE, fill(DEL_GPA, DEL_SIZE));
	GUEST_SYNC(STEP_DEL_INFLATED, r);
	r = balloon(PVX_HC_BALLOON_DEFLATE, fill(DEL_GPA, DEL_SIZE));
	v = ballooned();
	GUEST_SYNC(STEP_DEL_DEFLATED, r, ranges[0].status, v);

	/* A hole in the middle of the first range, then deflate around it. */
	r = balloon(PVX_HC_BALLOON_DEFLATE, one(ANON_GPA / PAGE + 100, 10));
	v = balloon(PVX_HC_BALLOON_DEFLATE, one(ANON_GPA / PAGE + 105, 1));
	GUEST_SYNC(STEP_PARTIAL, r, v, (uint64_t)(int64_t)ranges[0].status);

	n = fill(ANON_GPA, ANON_SIZE);
	ranges[n].gfn = ANON_GPA / PAGE + 110;
	ranges[n].npages = RANGE_PAGES - 110;
	ranges[0].npages = 100;
	r = balloon(PVX_HC_BALLOON_DEFLATE, n + 1);
	for (i = 0; i < ANON_SIZE; i += PAGE) {
		zero_bad += READ_ONCE(anon[i]) != 0 || READ_ONCE(anon[i + 8]) != 0;
		WRITE_ONCE(anon[i + 16], (uint8_t)(i / PAGE));
	}
	for (i = 0; i < ANON_SIZE; i += PAGE)
		pattern_bad += READ_ONCE(anon[i + 16]) != (uint8_t)(i / PAGE);
	GUEST_SYNC(STEP_DEFLATED, r, zero_bad, pattern_bad);

	r = balloon(PVX_HC_BALLOON_DEFLATE, fill(MEMFD_GPA, MEMFD_SIZE));
	v = ballooned();
	GUEST_SYNC(STEP_EMPTY, r, v, info.deflated_pages);
	GUEST_DONE();
}

/* Keeps using the memory the other vCPU balloons. */
static void guest_user(uint64_t arg)
{
	uint8_t *anon = (uint8_t *)ANON_GPA;
	uint64_t i;

	(void)arg;
	while (!READ_ONCE(stop_user)) {
		for (i = 0; i < ANON_SIZE && !READ_ONCE(stop_user); i += PAGE) {
			WRITE_ONCE(anon[i], READ_ONCE(anon[i + 1]) + 1);
			WRITE_ONCE(user_pages, user_pages + 1);
		}
		WRITE_ONCE(user_rounds, user_rounds + 1);
	}
	GUEST_DONE();
}

/*
 * Lets the other vCPU write USER_PAGES pages (bounded: it may be stuck),
 * so that it really uses the memory in each state; true if it did.
 */
static bool user_wrote_pages(void)
{
	uint64_t start = READ_ONCE(user_pages), i;

	for (i = 0; i < 100000000ULL; i++) {
		if (READ_ONCE(user_pages) - start >= USER_PAGES)
			return true;
		asm volatile("pause");
	}
	return false;
}

static void guest_ballooner(uint64_t arg)
{
	uint64_t round, r, n, inflated = 0, deflated = 0, used = 0, left;

	(void)arg;
	while (!READ_ONCE(user_rounds))
		asm volatile("pause");
	for (round = 0; round < ROUNDS; round++) {
		n = fill(ANON_GPA, ANON_SIZE);
		r = balloon(PVX_HC_BALLOON_INFLATE, n);
		/* An error is negative: it must not count as ranges done. */
		if (r <= n)
			inflated += r;
		used += user_wrote_pages();
		r = balloon(PVX_HC_BALLOON_DEFLATE, fill(ANON_GPA, ANON_SIZE));
		if (r <= n)
			deflated += r;
		used += user_wrote_pages();
	}
	WRITE_ONCE(stop_user, 1);
	left = ballooned();
	GUEST_SYNC(STEP_ROUNDS, inflated, deflated, left);
	GUEST_SYNC(STEP_ROUNDS_STATS, info.inflated_pages, info.deflated_pages,
		   used);
	GUEST_DONE();
}

static uint64_t rss_anon_kb(void)
{
	char line[256];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	TEST_ASSERT(f, "open /proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %llu kB", (unsigned long long *)&kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Anonymous memory mapped by transparent huge pages, in kB (0: none). */
static uint64_t thp_kb(void)
{
	char line[256];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %llu kB",
			   (unsigned long long *)&kb) == 1)
			break;
	fclose(f);
	return kb;
}

static uint64_t file_kb(int fd)
{
	struct stat st;

	TEST_ASSERT(!fstat(fd, &st), "fstat");
	return st.st_blocks / 2;
}

/*
 * Did a counter fall by at least @min?  Compared, not subtracted: a
 * counter that grew would wrap to a huge unsigned drop and pass.
 */
static bool dropped_by(uint64_t before, uint64_t after, uint64_t min)
{
	return after <= before && before - after >= min;
}

/* What the guest's five bad single-range calls get, in its order. */
static const struct refusal bad_ranges[5] = {
	{ "inflate of a ballooned page", PVX_EBUSY },
	{ "inflate outside guest RAM", PVX_EFAULT },
	{ "inflate past the end of a memslot", PVX_EFAULT },
	{ "inflate of an empty range", PVX_EINVAL },
	{ "deflate of a page not ballooned", PVX_ENOENT },
};

static void test_balloon(int pvx)
{
	uint64_t rss0, rss1, blk0, blk1, pages, want, thp0, thp1;
	uint8_t *anon, *shared;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int memfd, r;

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_main, 0);
	anon = vm_add_anon_slot(vm, 1, ANON_GPA, ANON_SIZE, 0, false);
	shared = vm_add_memfd_slot(vm, 2, MEMFD_GPA, MEMFD_SIZE, 0, &memfd);
	vm_add_anon_slot(vm, 3, DEL_GPA, DEL_SIZE, 0, false);
	memset(anon, 0xaa, ANON_SIZE);
	memset(shared, 0xbb, MEMFD_SIZE);
	pvx_attach(pvx, vm->fd, PVX_F_BALLOON, 0);

	rss0 = rss_anon_kb();
	thp0 = thp_kb();
	if (vcpu_expect_step(vcpu, STEP_INFLATE_ANON, &uc)) {
		TAP_EQ(uc.args[1], ANON_SIZE / RANGE_BYTES,
		       "64 MiB inflated in one call of %llu ranges",
		       ANON_SIZE / RANGE_BYTES);
		TAP_EQ(uc.args[2], 0, "every range status 0");
	}
	rss1 = rss_anon_kb();
	thp1 = thp_kb();
	tap_diag("VMM anonymous RSS: %llu kB before, %llu kB after inflating %llu kB",
		 (unsigned long long)rss0, (unsigned long long)rss1,
		 ANON_SIZE / 1024);
	tap_diag("of which in transparent huge pages: %llu kB before, %llu kB after",
		 (unsigned long long)thp0, (unsigned long long)thp1);
	/* Where the kernel has THP, the slot was backed by huge pages. */
	if (thp0)
		tap_ok(dropped_by(thp0, thp1, ANON_SIZE / 1024 * 99 / 100),
		       "THP-backed guest RAM given back (%lld kB of huge pages)",
		       (long long)(thp0 - thp1));
	tap_ok(dropped_by(rss0, rss1, ANON_SIZE / 1024 * 99 / 100),
	       "anonymous RSS dropped by >= 99%% of the inflated size (%lld kB)",
	       (long long)(rss0 - rss1));
	pages = ANON_SIZE / PAGE;
	if (vcpu_expect_step(vcpu, STEP_STATS, &uc)) {
		TAP_EQ(uc.args[1], pages, "stats: ballooned pages");
		TAP_EQ(uc.args[2], pages, "stats: inflated pages");
	}

	vcpu_expect_refusals(vcpu, STEP_REFUSED, "balloon", bad_ranges,
			     ARRAY_SIZE(bad_ranges), 0x7777);
	if (vcpu_expect_step(vcpu, STEP_TOUCH, &uc)) {
		TAP_EQ(uc.args[1], 0, "ballooned page reads zero");
		TAP_EQ(uc.args[2], 0x55, "ballooned page takes a write, no crash");
	}

	blk0 = file_kb(memfd);
	if (vcpu_expect_step(vcpu, STEP_INFLATE_MEMFD, &uc))
		TAP_EQ(uc.args[1], MEMFD_SIZE / RANGE_BYTES, "16 MiB memfd inflated");
	blk1 = file_kb(memfd);
	tap_diag("memfd blocks: %llu kB before, %llu kB after",
		 (unsigned long long)blk0, (unsigned long long)blk1);
	tap_ok(dropped_by(blk0, blk1, MEMFD_SIZE / 1024 * 99 / 100),
	       "memfd gave back >= 99%% of the inflated size (%lld kB)",
	       (long long)(blk0 - blk1));

	if (vcpu_expect_step(vcpu, STEP_SET_LIMIT, &uc)) {
		/* 64 + 16 MiB ballooned: one more range is over 80 MiB. */
		r = write_file(LIMIT_PARAM, "80");
		tap_ok(!r, "set balloon_limit_mb=80: %s", r ? strerror(-r) : "ok");
	}
	if (vcpu_expect_step(vcpu, STEP_LIMITED, &uc)) {
		TAP_EQ(uc.args[1], 0, "over the limit: nothing inflated");
		TAP_EQ(uc.args[2], PVX_ERR(PVX_ENOSPC), "over the limit: -ENOSPC");
	}
	write_file(LIMIT_PARAM, "0");
	if (vcpu_expect_step(vcpu, STEP_DEL_INFLATED, &uc))
		TAP_EQ(uc.args[1], 1, "limit lifted: range inflated");
	vm_delete_slot(vm, 3, DEL_GPA);
	if (vcpu_expect_step(vcpu, STEP_DEL_DEFLATED, &uc)) {
		TAP_EQ(uc.args[1], 1, "memslot deleted while ballooned: deflate succeeds");
		TAP_EQ(uc.args[2], 0, "and its status is 0");
		TAP_EQ(uc.args[3], pages + MEMFD_SIZE / PAGE,
		       "record dropped: ballooned pages back to 80 MiB");
	}
	if (vcpu_expect_step(vcpu, STEP_PARTIAL, &uc)) {
		TAP_EQ(uc.args[1], 1, "10 pages deflated from the middle of a range");
		TAP_EQ(uc.args[2], 0, "deflating one of them again: nothing done");
		TAP_EQ(uc.args[3], PVX_ERR(PVX_ENOENT), "and -ENOENT");
	}
	if (vcpu_expect_step(vcpu, STEP_DEFLATED, &uc)) {
		want = ANON_SIZE / RANGE_BYTES + 1;
		TAP_EQ(uc.args[1], want, "the rest of the 64 MiB deflated around the hole");
		TAP_EQ(uc.args[2], 0, "deflated pages read zero (even the one written while out)");
		TAP_EQ(uc.args[3], 0, "deflated pages hold what the guest writes");
	}
	if (vcpu_expect_step(vcpu, STEP_EMPTY, &uc)) {
		TAP_EQ(uc.args[1], MEMFD_SIZE / RANGE_BYTES, "memfd ranges deflated");
		TAP_EQ(uc.args[2], 0, "nothing ballooned at the end");
		TAP_EQ(uc.args[3], pages + MEMFD_SIZE / PAGE + DEL_SIZE / PAGE,
		       "stats: deflated pages");
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "guest done");
	vm_free(vm);
	close(memfd);
}

static uint64_t guest_target(void)
{
	info.target_pages = 0;
	if (guest_hypercall(PVX_HC_BALLOON_STATS, (uint64_t)&info,
			    sizeof(info), 0, 0))
		return 0;
	return info.target_pages;
}

static uint64_t events_vector(uint64_t vector, uint64_t flags)
{
	return guest_hypercall(PVX_HC_SET_VECTOR, vector, flags, 0, 0);
}

static void guest_events(uint64_t arg)
{
	uint64_t n, t0;

	(void)arg;
	guest_x2apic_enable();
	guest_kvmclock_enable();
	GUEST_SYNC(STEP_EV_BAD, events_vector(EV_VEC, 2), guest_target());
	GUEST_SYNC(STEP_EV_SET, events_vector(EV_VEC, PVX_VECTOR_HOST_EVENTS));
	/* The VMM set a target meanwhile: its event is pending. */
	while (!guest_irq_count)
		guest_safe_halt();
	guest_cli();
	GUEST_SYNC(STEP_EV_GOT, guest_irq_count, guest_irq_last_vector,
		   guest_target());
	GUEST_SYNC(STEP_EV_OFF, events_vector(0, PVX_VECTOR_HOST_EVENTS));
	/* Events off: a new target comes without an interrupt. */
	n = guest_irq_count;
	t0 = guest_kvmclock_ns();
	guest_sti();
	while (guest_kvmclock_ns() - t0 < 20000000ULL)
		asm volatile("pause");
	guest_cli();
	GUEST_SYNC(STEP_EV_QUIET, guest_irq_count - n, guest_target());
	GUEST_DONE();
}

static void test_host_target(int pvx)
{
	struct pvx_balloon_target req;
	struct pvx_vm_stats st;
	uint64_t id, id_nob;
	struct vcpu *vcpu;
	struct vm *vm, *vm_nob;
	struct ucall uc;
	int r;

	vm = vm_create();
	vm_enable_irqchip(vm);
	vcpu = vcpu_add(vm, guest_events, 0);
	vcpu_setup_idt(vcpu);
	id = pvx_attach(pvx, vm->fd, PVX_F_BALLOON, 0);

	if (vcpu_expect_step(vcpu, STEP_EV_BAD, &uc)) {
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL), "set_vector: unknown flag refused");
		TAP_EQ(uc.args[2], PVX_BALLOON_NO_TARGET, "no target before the host sets one");
	}
	if (vcpu_expect_step(vcpu, STEP_EV_SET, &uc))
		TAP_EQ(uc.args[1], 0, "event vector %#x registered", EV_VEC);

	req = (struct pvx_balloon_target){ .vm_id = id, .target_pages = 1,
					   .flags = 1 };
	TAP_EQ(__pvx_set_balloon_target(pvx, &req), -EINVAL, "set target: flags refused");
	req = (struct pvx_balloon_target){ .vm_id = id, .target_pages = 1,
					   .reserved[1] = 1 };
	TAP_EQ(__pvx_set_balloon_target(pvx, &req), -EINVAL, "set target: reserved refused");
	req = (struct pvx_balloon_target){ .vm_id = id + 1000 };
	TAP_EQ(__pvx_set_balloon_target(pvx, &req), -ENOENT, "set target: unknown vm refused");
	r = write_file(LIMIT_PARAM, "8");
	tap_ok(!r, "set balloon_limit_mb=8: %s", r ? strerror(-r) : "ok");
	req = (struct pvx_balloon_target){ .vm_id = id,
					   .target_pages = 8 * MB / PAGE + 1 };
	TAP_EQ(__pvx_set_balloon_target(pvx, &req), -ENOSPC, "set target: above the limit refused");
	write_file(LIMIT_PARAM, "0");
	req = (struct pvx_balloon_target){ .vm_id = id,
					   .target_pages = GUEST_MEM_SIZE / PAGE + 1 };
	TAP_EQ(__pvx_set_balloon_target(pvx, &req), -ENOSPC,
	       "set target: more than the VM's %llu RAM pages refused",
	       GUEST_MEM_SIZE / PAGE);

	vm_nob = vm_create();
	id_nob = pvx_attach(pvx, vm_nob->fd, PVX_F_TIMER, 0);
	req = (struct pvx_balloon_target){ .vm_id = id_nob, .target_pages = 1 };
	TAP_EQ(__pvx_set_balloon_target(pvx, &req), -EOPNOTSUPP,
	       "set target: VM without the balloon feature refused");
	vm_free(vm_nob);

	req = (struct pvx_balloon_target){ .vm_id = id, .target_pages = EV_TARGET };
	TAP_EQ(__pvx_set_balloon_target(pvx, &req), 0, "set target %d pages", EV_TARGET);
	TAP_EQ(req.notified, 1, "the guest was sent an event");
	if (pvx_find_vm(pvx, id, &st) == 1)
		TAP_EQ(st.balloon_target, EV_TARGET, "pvxctl stats shows the target");
	else
		tap_ok(false, "vm %llu in the stats", (unsigned long long)id);

	if (vcpu_expect_step(vcpu, STEP_EV_GOT, &uc)) {
		TAP_EQ(uc.args[1], 1, "one event interrupt");
		TAP_EQ(uc.args[2], EV_VEC, "on the event vector");
		TAP_EQ(uc.args[3], EV_TARGET, "the guest reads the new target");
	}
	if (vcpu_expect_step(vcpu, STEP_EV_OFF, &uc))
		TAP_EQ(uc.args[1], 0, "events turned off");
	req = (struct pvx_balloon_target){ .vm_id = id, .target_pages = EV_TARGET2 };
	TAP_EQ(__pvx_set_balloon_target(pvx, &req), 0, "set target %d pages", EV_TARGET2);
	TAP_EQ(req.notified, 0, "events off: the guest is not interrupted");
	if (vcpu_expect_step(vcpu, STEP_EV_QUIET, &uc)) {
		TAP_EQ(uc.args[1], 0, "no interrupt arrived");
		TAP_EQ(uc.args[2], EV_TARGET2, "the guest still reads the target");
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "guest done");

	req = (struct pvx_balloon_target){ .vm_id = id,
					   .target_pages = PVX_BALLOON_NO_TARGET };
	TAP_EQ(__pvx_set_balloon_target(pvx, &req), 0, "target withdrawn");
	if (pvx_find_vm(pvx, id, &st) == 1)
		TAP_EQ(st.balloon_target, PVX_BALLOON_NO_TARGET,
		       "stats: no target");
	vm_free(vm);
	req = (struct pvx_balloon_target){ .vm_id = id, .target_pages = 1 };
	TAP_EQ(__pvx_set_balloon_target(pvx, &req), -ENOENT, "set target: destroyed VM refused");
}

/* The first GUEST_SYNCs of a vCPU run to its end, and how many it sent. */
struct run_log {
	struct ucall sync[2];
	unsigned int nr_sync;
};

static void *run_to_done(struct vcpu *vcpu)
{
	struct run_log *log = vcpu->thread_arg;
	struct ucall uc;
	uint64_t cmd;

	while ((cmd = vcpu_get_ucall(vcpu, &uc)) == UCALL_SYNC) {
		if (log->nr_sync < ARRAY_SIZE(log->sync))
			log->sync[log->nr_sync] = uc;
		log->nr_sync++;
	}
	return (void *)(uintptr_t)cmd;
}

static void test_concurrent(int pvx)
{
	struct run_log user = { 0 }, ballooner = { 0 };
	uint64_t ranges_done = ROUNDS * (ANON_SIZE / RANGE_BYTES);
	uint64_t pages_done = ROUNDS * (ANON_SIZE / PAGE);
	struct ucall *uc = ballooner.sync;
	struct vm *vm;

	vm = vm_create();
	vcpu_add(vm, guest_ballooner, 0);
	vcpu_add(vm, guest_user, 0);
	vm_add_anon_slot(vm, 1, ANON_GPA, ANON_SIZE, 0, false);
	pvx_attach(pvx, vm->fd, PVX_F_BALLOON, 0);
	vcpu_thread_start(vm->vcpus[1], run_to_done, &user);
	vcpu_thread_start(vm->vcpus[0], run_to_done, &ballooner);
	tap_ok((uintptr_t)vcpu_thread_join(vm->vcpus[0]) == UCALL_DONE,
	       "ballooning vCPU finished %d inflate/deflate rounds", ROUNDS);
	tap_ok((uintptr_t)vcpu_thread_join(vm->vcpus[1]) == UCALL_DONE,
	       "vCPU using the memory meanwhile finished (%llu passes)",
	       (unsigned long long)guest_global(vm, user_rounds));
	if (tap_ok(ballooner.nr_sync == 2 && uc[0].args[0] == STEP_ROUNDS &&
		   uc[1].args[0] == STEP_ROUNDS_STATS,
		   "ballooning vCPU reported its rounds (%u messages)",
		   ballooner.nr_sync)) {
		TAP_EQ(uc[0].args[1], ranges_done, "every inflate did every range");
		TAP_EQ(uc[0].args[2], ranges_done, "every deflate did every range");
		TAP_EQ(uc[0].args[3], 0, "nothing ballooned after the rounds");
		TAP_EQ(uc[1].args[1], pages_done, "stats: inflated pages");
		TAP_EQ(uc[1].args[2], pages_done, "stats: deflated pages");
		TAP_EQ(uc[1].args[3], 2 * ROUNDS,
		       "the other vCPU wrote %d pages after each inflate and deflate",
		       USER_PAGES);
	}
	vm_free(vm);
}

/*
 * VM 4: memory MADV_DONTNEED refuses to discard.  The locked slot is
 * plain for its first half and mlocked for its second (two VMAs).
 */
#define LCK_GPA		0x28000000ULL
#define LCK_SIZE	(4 * MB)
#define PFN_GPA		0x28400000ULL
#define PFN_SIZE	(16 * PAGE)
#define PFN_DEVMEM	0xf0000		/* BIOS area: /dev/mem maps it */
#define UFFD_GPA	0x28600000ULL
#define UFFD_SIZE	(2 * MB)
#define PIN_GPA		0x28800000ULL	/* io_uring pins it */
#define PINF_GPA	0x28900000ULL	/* a memfd io_uring pins elsewhere */
#define PIN_SIZE	(16 * PAGE)
#define NR_VMA_REFUSED	6

static uint32_t vma_skip;	/* cases the host has no means for */

static void guest_vmas(uint64_t arg)
{
	static const struct pvx_gfn_range want[NR_VMA_REFUSED] = {
		{ (LCK_GPA + LCK_SIZE / 2) / PAGE, RANGE_PAGES, 0x7777 },
		{ (LCK_GPA + LCK_SIZE / 4) / PAGE, RANGE_PAGES, 0x7777 },
		{ PFN_GPA / PAGE, PFN_SIZE / PAGE, 0x7777 },
		{ UFFD_GPA / PAGE, RANGE_PAGES, 0x7777 },
		{ PIN_GPA / PAGE + 3, 1, 0x7777 },
		{ PINF_GPA / PAGE, PIN_SIZE / PAGE, 0x7777 },
	};
	uint64_t r, calls;
	int i;

	(void)arg;
	for (i = 0; i < NR_VMA_REFUSED; i++) {
		/* What the host could not set up is plain memory: left alone. */
		if (READ_ONCE(vma_skip) & (1u << i)) {
			GUEST_SYNC(1);
			continue;
		}
		ranges[0] = want[i];
		r = balloon(PVX_HC_BALLOON_INFLATE, 1);
		GUEST_SYNC(1, r, (uint64_t)(int64_t)ranges[0].status,
			   ballooned());
	}
	/* The VMM dropped its pins meanwhile. */
	one(LCK_GPA / PAGE, 256);
	ranges[1] = (struct pvx_gfn_range){ PIN_GPA / PAGE, PIN_SIZE / PAGE, 1 };
	ranges[2] = (struct pvx_gfn_range){ PINF_GPA / PAGE, PIN_SIZE / PAGE, 1 };
	/* A signal may stop it early (io_uring's task work counts too). */
	r = balloon_all(PVX_HC_BALLOON_INFLATE, 3, &calls);
	GUEST_SYNC(2, r, bad_statuses(3), ballooned());
	GUEST_DONE();
}

/* A "Vm...: N kB" line of /proc/self/status: VmLck, VmPin. */
static uint64_t vm_kb(const char *key)
{
	char line[256], fmt[64];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	TEST_ASSERT(f, "open /proc/self/status");
	snprintf(fmt, sizeof(fmt), "%s: %%llu kB", key);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, (unsigned long long *)&kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * An io_uring with @a and @b registered as fixed buffers: long-term pins
 * (FOLL_LONGTERM), in VmPin.  -1 if io_uring is not available.
 */
static int uring_pin(void *a, void *b, size_t len)
{
	struct io_uring_params p = { 0 };
	struct iovec iov[2] = { { a, len }, { b, len } };
	int fd = syscall(__NR_io_uring_setup, 1, &p);

	if (fd < 0)
		return -1;
	if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS, iov,
		    2)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A userfaultfd with @mem registered for missing pages; -1 if none. */
static int uffd_register(void *mem, uint64_t size)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uint64_t)mem, .len = size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool all_bytes(const uint8_t *p, uint8_t v, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_refused_vmas(int pvx)
{
	static const char *const what[NR_VMA_REFUSED] = {
		"mlocked memory (VM_LOCKED)",
		"a range half plain, half mlocked",
		"a /dev/mem mapping (VM_PFNMAP|VM_IO)",
		"a userfaultfd-registered range",
		"a page io_uring pinned",
		"memfd pages io_uring pinned through another mapping",
	};
	static const int err[NR_VMA_REFUSED] = {
		PVX_EOPNOTSUPP, PVX_EOPNOTSUPP, PVX_EOPNOTSUPP, PVX_EOPNOTSUPP,
		PVX_EBUSY, PVX_EBUSY,
	};
	uint64_t lck0, lck1, rss0, rss1, pin0, pin1;
	uint8_t *lck, *pfn, *uffd_mem, *pin, *pinf, *pinf2;
	int devmem, uffd, uring, pinfd, i;
	bool uffd_refused = false;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_vmas, 0);
	lck = vm_add_anon_slot(vm, 1, LCK_GPA, LCK_SIZE, 0, true);
	memset(lck, 0x3c, LCK_SIZE);
	lck0 = vm_kb("VmLck");
	TEST_ASSERT(!mlock(lck + LCK_SIZE / 2, LCK_SIZE / 2), "mlock");
	lck1 = vm_kb("VmLck");
	/* Private: a shared one would fail at the hole punch anyway. */
	devmem = open("/dev/mem", O_RDWR | O_CLOEXEC);
	pfn = devmem < 0 ? MAP_FAILED :
	      mmap(NULL, PFN_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, devmem,
		   PFN_DEVMEM);
	/* The guest's range then lies in no memslot: -PVX_EFAULT. */
	if (pfn != MAP_FAILED)
		vm_add_slot(vm, 2, PFN_GPA, PFN_SIZE, 0, pfn);
	uffd_mem = vm_add_anon_slot(vm, 3, UFFD_GPA, UFFD_SIZE, 0, true);
	memset(uffd_mem, 0x3d, UFFD_SIZE);
	uffd = uffd_register(uffd_mem, UFFD_SIZE);
	pin = vm_add_anon_slot(vm, 4, PIN_GPA, PIN_SIZE, 0, true);
	memset(pin, 0x3e, PIN_SIZE);
	pinf = vm_add_memfd_slot(vm, 5, PINF_GPA, PIN_SIZE, 0, &pinfd);
	memset(pinf, 0x3f, PIN_SIZE);
	pinf2 = mmap(NULL, PIN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, pinfd, 0);
	TEST_ASSERT(pinf2 != MAP_FAILED, "mmap memfd again");
	pin0 = vm_kb("VmPin");
	uring = uring_pin(pin, pinf2, PIN_SIZE);
	pin1 = vm_kb("VmPin");
	/* Only the page cache then holds the memfd's pinned pages. */
	madvise(pinf, PIN_SIZE, MADV_DONTNEED);
	vma_skip = (pfn == MAP_FAILED ? 1u << 2 : 0) | (uffd < 0 ? 1u << 3 : 0) |
		   (uring < 0 ? 3u << 4 : 0);
	sync_global_to_guest(vm, vma_skip);
	pvx_attach(pvx, vm->fd, PVX_F_BALLOON, 0);

	rss0 = rss_anon_kb();
	for (i = 0; i < NR_VMA_REFUSED; i++) {
		if (!vcpu_expect_step(vcpu, 1, &uc))
			break;
		if (vma_skip & (1u << i)) {
			tap_skip("%s: %s unavailable here", what[i],
				 i == 2 ? "/dev/mem" :
				 i == 3 ? "userfaultfd" : "io_uring");
			continue;
		}
		if (i == 3)
			uffd_refused = uc.args[2] == PVX_ERR(PVX_EOPNOTSUPP);
		TAP_EQ(uc.args[1], 0, "VM 4: inflate over %s: nothing done",
		       what[i]);
		TAP_EQ(uc.args[2], PVX_ERR(err[i]), "VM 4: inflate over %s: %s",
		       what[i], err[i] == PVX_EBUSY ? "-PVX_EBUSY" :
						      "-PVX_EOPNOTSUPP");
		TAP_EQ(uc.args[3], 0, "VM 4: inflate over %s: nothing ballooned",
		       what[i]);
	}
	rss1 = rss_anon_kb();
	tap_diag("VM 4: VMM anonymous RSS %llu kB before the refused inflates, %llu kB after; VmLck %llu kB (%llu kB mlocked here), VmPin %llu kB (%llu kB pinned here)",
		 (unsigned long long)rss0, (unsigned long long)rss1,
		 (unsigned long long)vm_kb("VmLck"),
		 (unsigned long long)(lck1 - lck0),
		 (unsigned long long)vm_kb("VmPin"),
		 (unsigned long long)(pin1 - pin0));
	tap_ok(all_bytes(lck, 0x3c, LCK_SIZE),
	       "VM 4: the refused ranges kept their data, the plain half too");
	/* Given back, its pages would wait on the userfaultfd for ever. */
	if (uffd < 0)
		tap_skip("the userfaultfd range: userfaultfd unavailable here");
	else if (uffd_refused)
		tap_ok(all_bytes(uffd_mem, 0x3d, UFFD_SIZE),
		       "VM 4: the userfaultfd range kept its data");
	else
		tap_ok(false, "VM 4: the userfaultfd range was given back");
	TAP_EQ(vm_kb("VmLck"), lck1, "VM 4: VmLck unchanged");
	if (uring >= 0) {
		TAP_EQ(pin1 - pin0, 2 * PIN_SIZE / 1024,
		       "VM 4: io_uring's pins in VmPin");
		TAP_EQ(vm_kb("VmPin"), pin1, "VM 4: VmPin unchanged");
		tap_ok(all_bytes(pin, 0x3e, PIN_SIZE) &&
		       all_bytes(pinf2, 0x3f, PIN_SIZE),
		       "VM 4: the pinned pages kept their data");
		/* Closing the ring would unpin later, from a worker. */
		TAP_EQ(syscall(__NR_io_uring_register, uring,
			       IORING_UNREGISTER_BUFFERS, NULL, 0), 0,
		       "VM 4: io_uring buffers unregistered");
		TAP_EQ(vm_kb("VmPin"), pin0, "VM 4: VmPin back: unpinned");
		close(uring);
	}
	if (vcpu_expect_step(vcpu, 2, &uc)) {
		TAP_EQ(uc.args[1], 3,
		       "VM 4: the plain half and the unpinned pages inflate");
		TAP_EQ(uc.args[2], 0, "VM 4: statuses 0");
		TAP_EQ(uc.args[3], 256 + 2 * PIN_SIZE / PAGE,
		       "VM 4: and their pages are ballooned");
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "VM 4: guest done");
	vm_free(vm);
	if (uffd >= 0)
		close(uffd);
	if (pfn != MAP_FAILED)
		munmap(pfn, PFN_SIZE);
	if (devmem >= 0)
		close(devmem);
	munmap(lck, LCK_SIZE);
	munmap(uffd_mem, UFFD_SIZE);
	munmap(pin, PIN_SIZE);
	munmap(pinf, PIN_SIZE);
	munmap(pinf2, PIN_SIZE);
	close(pinfd);
}

static void guest_bound(uint64_t arg)
{
	uint64_t r, n, calls;

	(void)arg;
	n = fill(ANON_GPA, BOUND_TOTAL * PAGE);
	r = balloon(PVX_HC_BALLOON_INFLATE, n);
	GUEST_SYNC(STEP_BOUND_FIRST, r, (uint64_t)(int64_t)ranges[0].status,
		   ((uint64_t)ranges[0].gfn << 32) | ranges[0].npages);
	r = balloon_all(PVX_HC_BALLOON_INFLATE, n, &calls);
	/* The calls with the first one. */
	GUEST_SYNC(STEP_BOUND_INFLATED, r, calls + 1, ballooned());
	/* The host's record, not the guest's list, says what is out. */
	r = balloon(PVX_HC_BALLOON_INFLATE, fill(ANON_GPA, BOUND_TOTAL * PAGE));
	GUEST_SYNC(STEP_BOUND_AGAIN, r, (uint64_t)(int64_t)ranges[0].status);
	r = balloon_all(PVX_HC_BALLOON_DEFLATE,
			fill(ANON_GPA, BOUND_TOTAL * PAGE), &calls);
	GUEST_SYNC(STEP_BOUND_DEFLATED, r, calls, ballooned());
	GUEST_SYNC(STEP_BOUND_STATS, info.inflated_pages, info.deflated_pages);
	GUEST_DONE();
}

/*
 * balloon_max_pages = BOUND_PAGES: a call over two ranges stops inside
 * the first, with -PVX_EAGAIN and the entry rewritten to what is left;
 * calls resumed from there get everything done, BOUND_PAGES at a time.
 */
static void test_bound(int pvx)
{
	uint64_t calls = (BOUND_TOTAL + BOUND_PAGES - 1) / BOUND_PAGES;
	char old[32] = "", buf[32];
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint8_t *anon;
	int r;

	if (read_file(MAX_PARAM, old, sizeof(old)) < 0)
		old[0] = 0;
	snprintf(buf, sizeof(buf), "%d", BOUND_PAGES);
	r = write_file(MAX_PARAM, buf);
	tap_ok(!r, "bound: balloon_max_pages=%d: %s", BOUND_PAGES,
	       r ? strerror(-r) : "ok");
	vm = vm_create();
	vcpu = vcpu_add(vm, guest_bound, 0);
	anon = vm_add_anon_slot(vm, 1, ANON_GPA, 2 * BOUND_TOTAL * PAGE, 0,
				false);
	memset(anon, 0xaa, 2 * BOUND_TOTAL * PAGE);
	pvx_attach(pvx, vm->fd, PVX_F_BALLOON, 0);

	if (vcpu_expect_step(vcpu, STEP_BOUND_FIRST, &uc)) {
		TAP_EQ(uc.args[1], 0, "bound: a call over %d pages completes no range",
		       BOUND_TOTAL);
		TAP_EQ(uc.args[2], PVX_ERR(PVX_EAGAIN),
		       "bound: it stops in the first with -EAGAIN");
		TAP_EQ(uc.args[3], ((ANON_GPA / PAGE + BOUND_PAGES) << 32) |
				   (RANGE_PAGES - BOUND_PAGES),
		       "bound: and writes back what is left of it");
	}
	if (vcpu_expect_step(vcpu, STEP_BOUND_INFLATED, &uc)) {
		TAP_EQ(uc.args[1], BOUND_RANGES, "bound: resumed, every range inflated");
		TAP_EQ(uc.args[2], calls, "bound: in calls of %d pages", BOUND_PAGES);
		TAP_EQ(uc.args[3], BOUND_TOTAL, "bound: ballooned pages exact");
	}
	if (vcpu_expect_step(vcpu, STEP_BOUND_AGAIN, &uc)) {
		TAP_EQ(uc.args[1], 0, "bound: inflating the same ranges again: nothing");
		TAP_EQ(uc.args[2], PVX_ERR(PVX_EBUSY), "bound: and -EBUSY");
	}
	if (vcpu_expect_step(vcpu, STEP_BOUND_DEFLATED, &uc)) {
		TAP_EQ(uc.args[1], BOUND_RANGES,
		       "bound: every range deflated, across the split records");
		TAP_EQ(uc.args[2], calls, "bound: deflated in calls of %d pages",
		       BOUND_PAGES);
		TAP_EQ(uc.args[3], 0, "bound: nothing ballooned at the end");
	}
	if (vcpu_expect_step(vcpu, STEP_BOUND_STATS, &uc)) {
		TAP_EQ(uc.args[1], BOUND_TOTAL, "bound: stats: inflated pages");
		TAP_EQ(uc.args[2], BOUND_TOTAL, "bound: stats: deflated pages");
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "bound: guest done");
	vm_free(vm);
	if (old[0])
		write_file(MAX_PARAM, old);
}

int main(void)
{
	int pvx;

	tap_init("balloon_test: PVX_HC_BALLOON_INFLATE, _DEFLATE, _STATS");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_BALLOON);
	test_balloon(pvx);
	test_concurrent(pvx);
	test_host_target(pvx);
	test_refused_vmas(pvx);
	test_bound(pvx);
	close(pvx);
	tap_finish();
}
