// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercall fuzzer.  Guest code issues random hypercalls, pvx's numbers,
 * the numbers around them and KVM's own, with random arguments and lists
 * (random, overlapping, misaligned, page-crossing, huge-count and
 * out-of-slot entries), from two 64-bit vCPUs at CPL 0 (one of which also
 * rewrites the lists the other hands the host), one at CPL 3 and one in
 * 32-bit protected mode (driven from the host, garbage in the high
 * halves).  Meanwhile the VMM thread detaches and attaches the VM again
 * with every feature mask in turn, moves, deletes, re-creates a memslot
 * (read-only, dirty-logged) the guest names, sets balloon targets and MSR
 * allowlists; and a second VM, attached, runs probes of its own.
 *
 * What must hold: every answer is one the ABI allows for that call (CPL 3:
 * -KVM_EPERM always; unassigned pvx numbers: -PVX_ENOSYS; KVM's numbers:
 * KVM's answer; 32-bit callers: a 32-bit result), no guest ever faults,
 * the second VM's memory is unchanged (checksummed), KVM's own hypercalls
 * answer afterwards as in a VM that was never attached, and the kernel has
 * nothing to say (console splats; kmemleak when the kernel has it).
 * And what it covers must not shrink unseen: each kind of gfn, list and
 * number the generator makes (counted, printed) must come at a share of
 * the calls, each number class and service too, SET_VECTOR must have been
 * given every vector 0-255, and the VMM must have made each kind of
 * memslot change.
 *
 * The guest's memory is laid out so that nothing a correct host may write
 * (probe and balloon info, completion records, list statuses, copy
 * destinations, ballooned pages) can hit the guest's code, stacks, page
 * tables or the lists it is about to hand over: such addresses go to the
 * "fuzz area", a memslot of their own, an alias of the fuzz area, or
 * nowhere (unbacked or out of any slot).  Everything else is random.
 *
 * usage: fuzz_test [-s SEED] [-n CALLS] [-t SECONDS] [-T SECONDS]
 *   It runs until it has made CALLS calls (PVX_FUZZ_CALLS, default 10^6),
 *   attached with every feature mask, and run for -t SECONDS
 *   (PVX_FUZZ_SECONDS, default 0); -T (PVX_FUZZ_MAX_SECONDS) stops it
 *   anyway, and then "at least CALLS calls" fails.  The seed
 *   (PVX_FUZZ_SEED, -s; random by default) is printed: the same seed gives
 *   every vCPU the same call sequence again (the interleaving with the
 *   other threads differs).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "pvx_irq.h"
#include "pvx_test.h"

#define MIB			(1ULL << 20)
#define PG			4096ULL

/* Guest layout (slot 0 is GUEST_MEM_SIZE, 64 MiB). */
#define FZ_LISTS_GPA		(36 * MIB)	/* after four vCPU stacks */
/*
 * Few pages: each one a vCPU touches costs it a nested page walk after
 * every exit (QEMU's TLB does not survive the world switch), and a fault
 * after every memslot change.
 */
#define FZ_VCPU_PAGES		192		/* per vCPU: lists, then split */
#define FZ_PRIV_PAGES		18
/*
 * The first FZ_PHASE_PAGES private pages each hold entries of one kind
 * (page % K_KINDS) at multiples of its size only, so that a call that
 * reads other entries of that page than the ones just written (another
 * count or offset) still reads entries of the right kind; lists at other
 * offsets go to the pages after them, and are never varied.
 */
#define FZ_PHASE_PAGES		14
#define FZ_SPLIT_PAGES		8		/* per kind: ranges, copies */
#define FZ_SHARED_PAGE0		768
#define FZ_SHARED_PAGES		28
#define FZ_AREA_GPA		(40 * MIB)	/* the host may write here */
#define FZ_AREA_SIZE		(GUEST_MEM_SIZE - FZ_AREA_GPA)
#define FZ_SLOT1		1
#define FZ_SLOT1_GPA		(64 * MIB)	/* or FZ_SLOT1_ALT, or absent */
#define FZ_SLOT1_ALT		(72 * MIB)
#define FZ_SLOT1_SIZE		(8 * MIB)
#define FZ_SLOT2		2		/* aliases the fuzz area's start */
#define FZ_ALIAS_GPA		(96 * MIB)
#define FZ_ALIAS_SIZE		(8 * MIB)
#define FZ_IOEVENT_PORT		0x3000
#define FZ_IOEVENT_MMIO		0xe0000000ULL

#define FZ_ROUND		256	/* calls between messages to the host */
#define FZ_CANARY		0x5aU
#define FZ_MASKS		(PVX_FEATURES_ALL + 1)
/* The features are bits 0 to FZ_FEATURE_BITS - 1, none above. */
#define FZ_FEATURE_BITS		(64 - __builtin_clzll(PVX_FEATURES_ALL))

enum { V_A, V_B, V_USER, V_COMPAT, FZ_VCPUS };

/* List kinds: entry layouts. */
enum {
	K_NONE, K_MSR, K_RANGE, K_COPY, K_DOORBELL, K_IOMAP, K_IOUNMAP, K_KINDS
};

static const uint8_t kind_size[K_KINDS] = {
	[K_MSR] = sizeof(struct pvx_msr_entry),
	[K_RANGE] = sizeof(struct pvx_gfn_range),
	[K_COPY] = sizeof(struct pvx_copy_entry),
	[K_DOORBELL] = sizeof(struct pvx_doorbell),
	[K_IOMAP] = sizeof(struct pvx_iommu_map),
	[K_IOUNMAP] = sizeof(struct pvx_iommu_unmap),
};

#define NR_PVX_SVC		16
#define SVC_UNASSIGNED		NR_PVX_SVC	/* pvx range, no service */
#define SVC_KVM			(NR_PVX_SVC + 1)	/* 0..15 */
#define SVC_OTHER		(NR_PVX_SVC + 2)	/* anything else */
#define NR_SVC			(NR_PVX_SVC + 3)

static const char *const svc_name[NR_SVC] = {
	"PROBE", "YIELD_TO", "SET_VECTOR", "TIMER_SET", "MSR_BATCH",
	"PREFAULT_WRITE", "COPY_PAGES", "SPLIT_COLLECT", "DOORBELL",
	"BALLOON_INFLATE", "BALLOON_DEFLATE", "BALLOON_STATS", "IOMMU_MAP",
	"IOMMU_UNMAP", "LOCKHINT_SET", "LOCK_WAIT", "pvx-unassigned",
	"kvm-0..15", "other-numbers",
};

static const uint8_t svc_kind[NR_PVX_SVC] = {
	[4] = K_MSR, [5] = K_RANGE, [6] = K_COPY, [8] = K_DOORBELL,
	[9] = K_RANGE, [10] = K_RANGE, [12] = K_IOMAP, [13] = K_IOUNMAP,
};

/* Outcomes: 0 is success, then these errors, then "other". */
static const uint16_t out_errno[] = {
	PVX_EPERM, PVX_ENOENT, PVX_EIO, PVX_E2BIG, PVX_EAGAIN, PVX_EFAULT,
	PVX_EBUSY, PVX_EINVAL, PVX_ENOSPC, PVX_ERANGE, PVX_EOPNOTSUPP,
	PVX_EINPROGRESS, PVX_ECANCELED, PVX_ENOSYS,
};
static const char *const out_name[] = {
	"ok", "EPERM", "ENOENT", "EIO", "E2BIG", "EAGAIN", "EFAULT", "EBUSY",
	"EINVAL", "ENOSPC", "ERANGE", "EOPNOTSUPP", "EINPROGRESS",
	"ECANCELED", "ENOSYS", "other",
};
#define NR_OUT			(ARRAY_SIZE(out_errno) + 2)
#define OUT_EPERM		1
#define OUT_ENOSYS		ARRAY_SIZE(out_errno)

#define KVM_HC_VAPIC_POLL_IRQ	1
#define KVM_HC_KICK_CPU		5
#define KVM_HC_CLOCK_PAIRING	9
#define KVM_HC_SEND_IPI		10
#define KVM_HC_SCHED_YIELD	11

struct fz_call {
	uint64_t nr;
	uint64_t a[4];
	uint64_t fixed;		/* FZ_FIXED_*: what fz_mutate() must keep */
};

#define FZ_FIXED_LIST		1	/* a0, a1: entries of another phase */
#define FZ_FIXED_ARGS		2	/* every argument */

/*
 * What the generator made, counted so that a change that makes one kind
 * rare, or gone, fails the run instead of going unseen.
 */
enum {
	CV_GFN_HUGE, CV_GFN_SLOT1, CV_GFN_ALIAS, CV_GFN_UNBACKED,
	CV_GFN_SLOT_END, CV_GFN_OVERLAP, CV_LIST_MISALIGNED, CV_LIST_CROSSING,
	CV_LIST_HUGE, CV_LIST_NOWHERE, CV_LIST_SHARED, CV_LIST_SPLIT,
	CV_SCRIBBLE, CV_NR_HIGH, NR_CV
};

static const char *const cv_name[NR_CV] = {
	"gfn beyond any slot", "gfn in the moving slot", "gfn in the alias",
	"gfn unbacked", "gfn at slot 0's end", "gfns overlapping",
	"list misaligned", "list past its page", "list count huge",
	"list unbacked/elsewhere", "list another vCPU rewrites",
	"list split-phase", "shared entries rewritten", "number, high bits",
};

/* One vCPU's fuzzing state, in guest memory (shared with the host). */
struct fz_state {
	uint64_t rng;			/* first: see fz_cover() */
	uint64_t calls;
	uint64_t stop;			/* set by the host */
	uint64_t bad;			/* answers the ABI does not allow */
	uint64_t bad_index;		/* the first of them */
	struct fz_call bad_call;
	uint64_t bad_ret;
	uint64_t canary_broken;
	uint32_t next_split[2];
	uint32_t next_vector;
	uint64_t vectors[4];		/* SET_VECTOR's vectors 0-255 seen */
	uint32_t cover[NR_CV];
	uint32_t counts[NR_SVC][NR_OUT];
};

/* The generator is handed &st->rng only: the first member of its state. */
static inline void fz_cover(uint64_t *r, int kind)
{
	((struct fz_state *)r)->cover[kind]++;
}

static struct fz_state fz_state[FZ_VCPUS];
static uint8_t user_stack[16384] __aligned(16);

/* The host's picture of a memory region the generator writes lists to. */
struct fz_ctx {
	struct fz_state *st;
	uint64_t base;		/* host or guest address of GPA 0 */
	int vcpu;
	bool is32;
	bool cpl3;
};

/* ------------------------------------------------ shared by both sides */

static inline uint64_t rng_next(uint64_t *s)
{
	/* splitmix64: tiny, and good enough to pick cases */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

/* Guest addresses the host may write to (or fail to). */
static uint64_t fz_wgpa(uint64_t *r, bool is32, bool backed_only)
{
	switch (rng_below(r, backed_only ? 3 : 12)) {
	case 0:
		return FZ_ALIAS_GPA + rng_below(r, FZ_ALIAS_SIZE + PG);
	case 1:
		/* the last bytes of slot 0, crossing its end */
		return GUEST_MEM_SIZE - 1 - rng_below(r, 64);
	case 3:
		return GUEST_UNBACKED_GPA + rng_below(r, 64 * MIB);
	case 4:
		return FZ_SLOT1_GPA + rng_below(r, 2 * FZ_SLOT1_SIZE + PG);
	case 5:
		if (!is32)
			return (1ULL << (32 + rng_below(r, 32))) -
			       rng_below(r, 2 * PG);
		return 0xffffffffULL - rng_below(r, 2 * PG);
	case 6:
		return 0;
	default:
		return FZ_AREA_GPA + rng_below(r, FZ_AREA_SIZE);
	}
}

/* A write gpa, aligned as the ABI wants it most of the time. */
static uint64_t fz_wgpa_aligned(uint64_t *r, bool is32)
{
	uint64_t g = fz_wgpa(r, is32, false);

	return rng_below(r, 8) ? g & ~7ULL : g;
}

/* Frames the host may write or discard: never the guest's own. */
static uint64_t fz_gfn(uint64_t *r, uint64_t window)
{
	switch (rng_below(r, 16)) {
	case 0:
		fz_cover(r, CV_GFN_HUGE);
		return ~0ULL - rng_below(r, 4);
	case 1:
		fz_cover(r, CV_GFN_HUGE);
		return 1ULL << (20 + rng_below(r, 44));
	case 2:
		fz_cover(r, CV_GFN_SLOT1);
		return (FZ_SLOT1_GPA >> 12) + rng_below(r, 2 * (FZ_SLOT1_SIZE >> 12));
	case 3:
		fz_cover(r, CV_GFN_ALIAS);
		return (FZ_ALIAS_GPA >> 12) + rng_below(r, FZ_ALIAS_SIZE >> 12);
	case 4:
		fz_cover(r, CV_GFN_UNBACKED);
		return (GUEST_UNBACKED_GPA >> 12) + rng_below(r, 1024);
	case 5:
		/* up to and across the end of slot 0 */
		fz_cover(r, CV_GFN_SLOT_END);
		return (GUEST_MEM_SIZE >> 12) - 1 - rng_below(r, 8);
	case 6: case 7: case 8: case 9:
		/* a small window: ranges that overlap */
		fz_cover(r, CV_GFN_OVERLAP);
		return window + rng_below(r, 32);
	default:
		return (FZ_AREA_GPA >> 12) + rng_below(r, FZ_AREA_SIZE >> 12);
	}
}

static uint32_t fz_npages(uint64_t *r, uint32_t *budget)
{
	uint32_t n;

	switch (rng_below(r, 20)) {
	case 0:
		return 0;
	case 1:
		return PVX_RANGE_MAX_PAGES + 1;
	case 2:
		return (uint32_t)rng_next(r);
	case 3:
		n = PVX_RANGE_MAX_PAGES;
		break;
	case 4: case 5: case 6:
		n = 5 + rng_below(r, 60);
		break;
	default:
		n = 1 + rng_below(r, 4);
	}
	/* prefaulting thousands of pages per call would starve the run */
	if (n > *budget)
		n = 1;
	*budget -= n;
	return n;
}

static const uint32_t fz_msr_idx[] = {
	0xc0, 0xc1, 0xc8, 0xc9, 0x185, 0x186, 0x18d, 0x18e, 0x276, 0x277,
	0x278, 0x308, 0x309, 0x30b, 0x30c, 0x38c, 0x38d, 0x390, 0x391, 0x7ff,
	0x800, 0x808, 0x80b, 0x80f, 0x830, 0x8ff, 0x900, 0x4b564cff,
	0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04,
	0x4b564d05, 0x4b564d06, 0x4b564d07, 0x4b564dff, 0x4b564e00,
	0xc0000080, 0xc0000081, 0xc0000082, 0xc0000084, 0xc0000085,
	0xc00000ff, 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103,
	0xc0000104, 0xc000ffff, 0xc0010000, 0xc0010007, 0xc0010008,
	0xc00101ff, 0xc0010200, 0xc001020b, 0xc001020c, 0x1b, 0x10, 0x3a,
};

static void fz_msr_entry(uint64_t *r, struct pvx_msr_entry *e)
{
	uint32_t idx = rng_below(r, 8) ? fz_msr_idx[rng_below(r, ARRAY_SIZE(fz_msr_idx))] :
		       (uint32_t)rng_next(r);
	uint64_t v;

	switch (rng_below(r, 4)) {
	case 0:
		v = 0;
		break;
	case 1:
		v = rng_below(r, 0x100);
		break;
	default:
		v = rng_next(r);
	}
	/*
	 * KVM's paravirtual MSRs take guest addresses KVM writes to, or
	 * turn on async page faults: only off, or the fuzz area for the
	 * two clocks.  Anything else an allowlisted MSR takes leaves this
	 * guest's code (no syscalls, no TLS, no PMIs with IF clear) alone.
	 */
	if ((idx & ~0xffU) == 0x4b564d00)
		v = (idx <= 0x4b564d01 && (v & 1)) ?
		    ((FZ_AREA_GPA + rng_below(r, FZ_AREA_SIZE - 64)) & ~63ULL) | 1 : 0;
	e->index = idx;
	e->status = (int32_t)rng_next(r);
	e->value = v;
}

static void fz_entry(uint64_t *r, int kind, void *p, uint64_t window,
		     uint32_t *budget)
{
	switch (kind) {
	case K_MSR:
		fz_msr_entry(r, p);
		break;
	case K_RANGE: {
		struct pvx_gfn_range *e = p;

		e->gfn = fz_gfn(r, window);
		e->npages = fz_npages(r, budget);
		e->status = (int32_t)rng_next(r);
		break;
	}
	case K_COPY: {
		struct pvx_copy_entry *e = p;

		/* any source, even the guest's code: reading is harmless */
		e->src_gfn = rng_below(r, 4) ? fz_gfn(r, window) :
			     rng_below(r, GUEST_MEM_SIZE >> 12);
		e->dst_gfn = rng_below(r, 8) ? fz_gfn(r, window) : e->src_gfn;
		if (e->dst_gfn < (FZ_AREA_GPA >> 12))
			e->dst_gfn = window;
		e->status = (int32_t)rng_next(r);
		e->reserved = rng_below(r, 16) ? 0 : (uint32_t)rng_next(r);
		break;
	}
	case K_DOORBELL: {
		struct pvx_doorbell *e = p;

		e->space = rng_below(r, 8) ? rng_below(r, 2) : (uint8_t)rng_next(r);
		switch (rng_below(r, 4)) {
		case 0:
			e->addr = e->space == PVX_DOORBELL_PIO ?
				  FZ_IOEVENT_PORT : FZ_IOEVENT_MMIO;
			break;
		case 1:
			e->addr = rng_next(r);
			break;
		default:
			/* clear of the in-kernel PIC's and IOAPIC's ports */
			e->addr = 0x1000 + rng_below(r, 0xe000);
		}
		e->value = rng_next(r);
		e->len = rng_below(r, 4) ? 1U << rng_below(r, 4) : rng_below(r, 256);
		e->reserved0 = rng_below(r, 16) ? 0 : (uint16_t)rng_next(r);
		e->status = (int32_t)rng_next(r);
		break;
	}
	case K_IOMAP: {
		struct pvx_iommu_map *e = p;

		e->iova = rng_below(r, 4) ? rng_next(r) & ~0xfffULL : rng_next(r);
		e->gfn = (uint32_t)fz_gfn(r, window);
		e->npages = rng_below(r, 600);
		e->perms = rng_below(r, 8);
		e->status = (int8_t)rng_next(r);
		break;
	}
	case K_IOUNMAP: {
		struct pvx_iommu_unmap *e = p;

		e->iova = rng_below(r, 4) ? rng_next(r) & ~0xfffULL : rng_next(r);
		e->npages = rng_below(r, 4) ? rng_below(r, 600) : (uint32_t)rng_next(r);
		e->status = (int32_t)rng_next(r);
		break;
	}
	}
}

/* Fill @n entries of @kind at @gpa (within one page). */
static void fz_fill(uint64_t *r, struct fz_ctx *c, int kind, uint64_t gpa,
		    uint64_t n)
{
	uint32_t budget = rng_below(r, 32) ? 64 : 1024;
	uint64_t window = (FZ_AREA_GPA >> 12) + rng_below(r, FZ_AREA_SIZE >> 12);
	uint8_t *p = (uint8_t *)(uintptr_t)(c->base + gpa);
	uint64_t i;

	for (i = 0; i < n; i++)
		fz_entry(r, kind, p + i * kind_size[kind], window, &budget);
}

/*
 * Long lists are rare: a full page of copies costs the debug kernel tens
 * of milliseconds, and a run is meant to be mostly calls.
 */
static uint64_t fz_count(uint64_t *r, uint64_t fit, bool is32)
{
	switch (rng_below(r, 64)) {
	case 0: case 1: case 2:
		return 0;
	case 3:
		return fit;
	case 4: case 5:
		return fit + 1;
	case 6: case 7: case 8:
		return 1ULL << rng_below(r, 14);
	case 9: case 10:
		return (uint32_t)rng_next(r);
	case 11: case 12:
		return is32 ? 0xffffffffULL : rng_next(r);
	case 13:
		return 9 + rng_below(r, fit > 9 ? fit - 8 : 1);
	case 14 ... 35:
		return 2 + rng_below(r, 7);
	default:
		return 1;
	}
}

static uint64_t fz_region(struct fz_ctx *c)
{
	return FZ_LISTS_GPA + (uint64_t)c->vcpu * FZ_VCPU_PAGES * PG;
}

/*
 * The list arguments of a list service: a0 = list gpa, a1 = count,
 * a2 = flags, a3 = completion; the entries written where the list is.
 */
static void fz_list_args(uint64_t *r, struct fz_ctx *c, int svc,
			 struct fz_call *call)
{
	int kind = svc_kind[svc], esz = kind_size[kind];
	bool harmless = kind == K_DOORBELL || kind == K_IOMAP ||
			kind == K_IOUNMAP || svc == 5;
	bool splittable = kind == K_RANGE || kind == K_COPY;
	uint64_t page, off = 0, fit, n, gpa;
	uint64_t how = rng_below(r, 16);

	call->a[2] = 0;
	call->a[3] = 0;
	if (how == 13 && splittable && !c->cpl3) {
		/*
		 * Split-phase: the host writes the statuses back at collection,
		 * maybe over a newer list: only ever the same kind at offset 0
		 * in these pages, so statuses land on statuses.
		 */
		uint32_t *ns = &c->st->next_split[kind == K_COPY];

		page = fz_region(c) + (FZ_PRIV_PAGES +
				       (kind == K_COPY) * FZ_SPLIT_PAGES +
				       (*ns)++ % FZ_SPLIT_PAGES) * PG;
		n = 1 + rng_below(r, rng_below(r, 4) ? 4 : PG / esz);
		fz_fill(r, c, kind, page, n);
		fz_cover(r, CV_LIST_SPLIT);
		call->a[0] = page;
		call->a[1] = n;
		call->a[2] = PVX_SPLIT;
		call->a[3] = rng_below(r, 16) ? fz_wgpa_aligned(r, c->is32) :
			     rng_next(r) & (c->is32 ? 0xffffffffULL : ~0ULL);
		/* a random completion may only point where the host may write */
		if (call->a[3] && call->a[3] < FZ_AREA_GPA)
			call->a[3] = FZ_AREA_GPA;
		return;
	}
	if (how >= 10 && how <= 12 && !c->cpl3) {
		/* a page another vCPU rewrites meanwhile: entries of its kind */
		page = FZ_SHARED_PAGE0 + kind + K_KINDS *
		       rng_below(r, FZ_SHARED_PAGES / K_KINDS - 1);
		page = FZ_LISTS_GPA + page * PG;
		fit = PG / esz;
		off = esz * rng_below(r, fit);
		fit -= off / esz;
		call->a[0] = page + off;
		call->a[1] = fz_count(r, fit, c->is32);
		fz_cover(r, CV_LIST_SHARED);
		if (rng_below(r, 2))
			fz_fill(r, c, kind, page + off,
				call->a[1] < fit ? call->a[1] : fit);
	} else if (how == 14 || (how == 15 && harmless)) {
		/* nowhere, or (content harmless) wherever the host writes */
		gpa = fz_wgpa(r, c->is32, false);
		if (!harmless && gpa < GUEST_UNBACKED_GPA)
			gpa = GUEST_UNBACKED_GPA + (gpa & 0xfff);
		call->a[0] = gpa;
		call->a[1] = fz_count(r, PG / esz, c->is32);
		fz_cover(r, CV_LIST_NOWHERE);
	} else {
		page = kind + K_KINDS * rng_below(r, FZ_PHASE_PAGES / K_KINDS);
		switch (rng_below(r, 10)) {
		case 0:
			off = 8 * rng_below(r, PG / 8);
			break;
		case 1:
			off = rng_below(r, PG);
			break;
		case 2:
			/* so that a few entries more cross the page's end */
			off = PG - esz * (1 + rng_below(r, 4));
			break;
		default:
			off = esz * rng_below(r, rng_below(r, 4) ? 4 : PG / esz);
		}
		if (off % esz) {
			fz_cover(r, CV_LIST_MISALIGNED);
			page = FZ_PHASE_PAGES +
			       rng_below(r, FZ_PRIV_PAGES - FZ_PHASE_PAGES);
			call->fixed = FZ_FIXED_LIST;
		}
		page = fz_region(c) + page * PG;
		fit = (PG - off) / esz;
		call->a[0] = page + off;
		call->a[1] = fz_count(r, fit, c->is32);
		if (call->a[1] > fit)
			fz_cover(r, call->a[1] > 0xffff ? CV_LIST_HUGE :
				    CV_LIST_CROSSING);
		if (!c->cpl3)
			fz_fill(r, c, kind, page + off,
				call->a[1] < fit ? call->a[1] : fit);
	}
	switch (rng_below(r, 24)) {
	case 0:
		call->a[2] = rng_next(r) & ~PVX_SPLIT;
		break;
	case 1:
		call->a[3] = rng_next(r);
		break;
	case 2:
		/* split-phase of a list that is not in a split page */
		if (c->cpl3 || (harmless && kind != K_RANGE && kind != K_COPY)) {
			call->a[2] = PVX_SPLIT;
			call->a[3] = fz_wgpa_aligned(r, c->is32);
		}
		break;
	}
}

static uint64_t fz_small_or_random(uint64_t *r)
{
	return rng_below(r, 8) ? 0 : rng_next(r);
}

static uint64_t fz_nr(uint64_t *r, bool is32)
{
	uint64_t hi = is32 ? rng_next(r) << 32 : 0;

	switch (rng_below(r, 32)) {
	case 0: case 1: case 2:
		return rng_below(r, 16) | hi;
	case 3:
		return PVX_HC_BASE + NR_PVX_SVC + rng_below(r, PVX_HC_COUNT - NR_PVX_SVC);
	case 4:
		return PVX_HC_BASE - 1 - rng_below(r, 8);
	case 5:
		return PVX_HC_BASE + PVX_HC_COUNT + rng_below(r, 8);
	case 6:
		/* a 64-bit caller's pvx number with high bits is not pvx's */
		fz_cover(r, CV_NR_HIGH);
		return (PVX_HC_BASE + rng_below(r, PVX_HC_COUNT)) |
		       (rng_next(r) << 32);
	case 7:
		return rng_below(r, 2) ? rng_next(r) : (uint32_t)rng_next(r);
	default:
		return (PVX_HC_BASE + rng_below(r, NR_PVX_SVC)) | hi;
	}
}

/* One random call; lists are written at c->mem. */
static void fz_gen(struct fz_ctx *c, struct fz_call *call)
{
	uint64_t *r = &c->st->rng;
	uint64_t nr = fz_nr(r, c->is32), n32 = c->is32 ? (uint32_t)nr : nr;
	int i;

	call->nr = nr;
	call->fixed = 0;
	for (i = 0; i < 4; i++)
		call->a[i] = fz_small_or_random(r);
	if (n32 - PVX_HC_BASE < NR_PVX_SVC) {
		int svc = n32 - PVX_HC_BASE;

		if (svc_kind[svc]) {
			fz_list_args(r, c, svc, call);
			return;
		}
		switch (svc) {
		case 0:	/* PROBE */
		case 11:	/* BALLOON_STATS */
			call->a[0] = fz_wgpa(r, c->is32, false);
			call->a[1] = rng_below(r, 4) ? rng_below(r, 80) : rng_next(r);
			break;
		case 1:
			call->a[0] = rng_below(r, 8) ? rng_below(r, 6) : rng_next(r);
			break;
		case 2:
			call->a[0] = rng_below(r, 8) ? rng_below(r, 256) :
				     rng_below(r, 2) ? rng_below(r, 1024) : rng_next(r);
			call->a[1] = rng_below(r, 4) ? 0 : rng_below(r, 2) ?
				     PVX_VECTOR_HOST_EVENTS : rng_next(r);
			break;
		case 3:
			call->a[0] = rng_below(r, 2) ? rng_below(r, 2000000) :
				     rng_next(r) >> rng_below(r, 64);
			/* a TSC deadline: any value, passed or 2^64 ticks off */
			call->a[1] = rng_below(r, 4) ? 0 : rng_below(r, 2) ?
				     PVX_TIMER_CANCEL : rng_below(r, 2) ?
				     PVX_TIMER_TSC_DEADLINE : rng_next(r);
			break;
		case 14:	/* LOCKHINT_SET: a count the host only reads */
		case 15:	/* LOCK_WAIT: no address */
			call->a[0] = svc == 15 ? 0 : fz_wgpa(r, c->is32, false);
			if (rng_below(r, 4))
				call->a[0] &= ~3ULL;
			for (i = 1; i < 4; i++)
				if (rng_below(r, 4))
					call->a[i] = 0;
			break;
		}
		/* at CPL 3, pointed where a write would be seen */
		if (c->cpl3 && (svc == 0 || svc == 11))
			call->a[0] = fz_region(c) +
				     rng_below(r, FZ_PRIV_PAGES * PG - 64);
		return;
	}
	/* KVM's own: only what cannot harm this guest (see fz_wgpa). */
	if (n32 == KVM_HC_CLOCK_PAIRING)
		call->a[0] = fz_wgpa(r, c->is32, false);
	if (n32 == KVM_HC_SEND_IPI)
		call->a[3] = rng_below(r, 256);	/* fixed delivery only */
	if (n32 == KVM_HC_CLOCK_PAIRING || n32 == KVM_HC_SEND_IPI)
		call->fixed = FZ_FIXED_ARGS;
	if (n32 == KVM_HC_KICK_CPU)
		call->a[1] = rng_below(r, 8);
}

static int fz_svc(uint64_t nr);

/* Numbers that look at no argument as an address. */
static uint64_t fz_inert_nr(uint64_t *r, bool is32)
{
	static const uint8_t kvm[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13,
				       14, 15 };
	uint64_t x = rng_next(r);

	switch (x & 3) {
	case 0:
		return kvm[(x >> 8) % sizeof(kvm)];
	case 1:
		return PVX_HC_BASE + NR_PVX_SVC +
		       (x >> 8) % (PVX_HC_COUNT - NR_PVX_SVC + 8);
	case 2:
		if (!is32)
			return (PVX_HC_BASE + (x >> 8) % PVX_HC_COUNT) |
			       (x & ~0xffffffffULL) | (1ULL << 32);
		/* fall through */
	default:
		return PVX_HC_BASE - 1 - (x >> 8) % 8;
	}
}

/*
 * A cheap variation of the last call: most calls are these, so that a run
 * is mostly hypercalls rather than generation (slow in a nested TCG
 * guest).  A number changes only to one that reads the same kind of list,
 * or one that takes no address; a list moves only by whole entries.
 */
static void fz_mutate(struct fz_ctx *c, struct fz_call *call)
{
	static const uint8_t same[NR_PVX_SVC] = {
		[0] = 11, [11] = 0, [1] = 2, [2] = 3, [3] = 7, [7] = 1,
		[5] = 9, [9] = 10, [10] = 5, [4] = 4, [6] = 6, [8] = 8,
		[12] = 12, [13] = 13, [14] = 14, [15] = 15,
	};
	uint64_t *r = &c->st->rng;
	uint64_t x = rng_next(r), y = x >> 8;
	int svc = fz_svc(call->nr);
	bool list = svc < NR_PVX_SVC && svc_kind[svc];
	uint64_t esz, off;

	if (c->cpl3) {
		/* nothing is served: anything goes */
		call->a[x & 3] = rng_next(r);
		if (!(y & 7))
			call->nr = fz_nr(r, false);
		return;
	}
	if (call->fixed & FZ_FIXED_ARGS)
		return;
	switch (x & 7) {
	case 0:
		if (svc < NR_PVX_SVC)
			call->nr = PVX_HC_BASE + same[svc];
		break;
	case 1:
		call->nr = fz_inert_nr(r, c->is32);
		call->fixed |= FZ_FIXED_ARGS;	/* not back to a pvx number */
		break;
	case 2:
		if (!list) {
			call->a[0] = svc == 0 || svc == 11 ?
				     fz_wgpa(r, c->is32, false) : y % 300;
		} else if (!(call->fixed & FZ_FIXED_LIST) &&
			   !(call->a[2] & PVX_SPLIT)) {
			esz = kind_size[svc_kind[svc]];
			off = call->a[0] & (PG - 1);
			off = off % esz + esz * (y % ((PG - off % esz) / esz));
			call->a[0] = (call->a[0] & ~(PG - 1)) | off;
		}
		break;
	case 3:
		if (!(call->fixed & FZ_FIXED_LIST))
			call->a[1] = y & 15 ? y % 12 : y % 600;
		break;
	case 4:
		if (!list || !(call->a[2] & PVX_SPLIT))
			call->a[2 + (y & 1)] = y & 2 ? 0 :
					       rng_next(r) & ~PVX_SPLIT;
		break;
	default:
		/*
		 * The same call again; but SET_VECTOR's repeats walk the
		 * vectors, so that each of 0-255 is set in every run.
		 */
		if (svc == 2)
			call->a[0] = c->st->next_vector++ % 256;
		break;
	}
}

static int fz_svc(uint64_t nr)
{
	if (nr - PVX_HC_BASE < NR_PVX_SVC)
		return nr - PVX_HC_BASE;
	if (nr - PVX_HC_BASE < PVX_HC_COUNT)
		return SVC_UNASSIGNED;
	if (nr < 16)
		return SVC_KVM;
	return SVC_OTHER;
}

static unsigned int fz_outcome(int64_t r)
{
	unsigned int i;

	if (r >= 0)
		return 0;
	for (i = 0; i < ARRAY_SIZE(out_errno); i++)
		if (r == -(int64_t)out_errno[i])
			return i + 1;
	return NR_OUT - 1;
}

/*
 * Is @ret an answer the ABI allows?  @call holds what the host saw (32-bit
 * callers: truncated) and @r the result as a signed value.
 */
static bool fz_allowed(const struct fz_call *call, int64_t r, bool cpl3)
{
	int svc = fz_svc(call->nr);
	uint64_t ret = (uint64_t)r;

	if (cpl3)
		return r == -1;		/* -KVM_EPERM, whatever the number */
	if (svc == SVC_UNASSIGNED)
		return r == -PVX_ENOSYS;
	if (svc < NR_PVX_SVC) {
		if (r < 0)
			return fz_outcome(r) != NR_OUT - 1;
		switch (svc) {
		case 0:
			return ret == PVX_SIGNATURE;
		case 1:
			return ret < PVX_YIELD_NR_RESULTS;
		case 2: case 11:
			return ret == 0;
		case 3:
			return ret <= 1;
		case 7:
			return ret <= 64;
		case 14:
			return ret == 0;
		case 15:
			return PVX_LOCK_WAIT_CODE(ret) <= PVX_LOCK_WAIT_REFUSED &&
			       PVX_LOCK_WAIT_VCPU(ret) < 1024;
		default:
			/* list calls: entries completed, at most the count */
			return call->a[1] <= 0xffffffffULL && ret <= call->a[1];
		}
	}
	switch (call->nr) {
	case KVM_HC_VAPIC_POLL_IRQ:
	case KVM_HC_KICK_CPU:
	case KVM_HC_SCHED_YIELD:
		return r == 0;
	case KVM_HC_CLOCK_PAIRING:
		return r == 0 || r == -95 || r == -14;
	case KVM_HC_SEND_IPI:
		return r >= 0 || r == -22 || r == -95;
	}
	return r == -1000;	/* -KVM_ENOSYS */
}

/* Record one answer in the vCPU's counts; remember the first bad one. */
static void fz_record(struct fz_state *st, const struct fz_call *seen,
		      const struct fz_call *issued, int64_t r, uint64_t raw,
		      bool cpl3)
{
	int svc = fz_svc(seen->nr);

	st->counts[svc][fz_outcome(r)]++;
	if (svc == 2 && seen->a[0] < 256)
		st->vectors[seen->a[0] / 64] |= 1ULL << (seen->a[0] % 64);
	if (!fz_allowed(seen, r, cpl3)) {
		if (!st->bad++) {
			st->bad_index = st->calls;
			st->bad_call = *issued;
			st->bad_ret = raw;
		}
	}
	st->calls++;
}

/* ----------------------------------------------------------- guest side */

static void guest_scribble(struct fz_ctx *c)
{
	uint64_t *r = &c->st->rng;
	uint64_t p = rng_below(r, FZ_SHARED_PAGES);
	int kind = p % K_KINDS;
	uint64_t gpa;

	if (kind == K_NONE)
		return;
	gpa = FZ_LISTS_GPA + (FZ_SHARED_PAGE0 + p) * PG +
	      kind_size[kind] * rng_below(r, PG / kind_size[kind]);
	fz_fill(r, c, kind, gpa, 1 + rng_below(r, 3));
	fz_cover(r, CV_SCRIBBLE);
}

static void guest_fuzz(struct fz_ctx *c)
{
	struct fz_state *st = c->st;
	struct fz_call call;
	uint64_t ret;
	int i;

	while (!READ_ONCE(st->stop)) {
		for (i = 0; i < FZ_ROUND; i++) {
			if (!i || !(rng_next(&st->rng) & 15))
				fz_gen(c, &call);
			else
				fz_mutate(c, &call);
			/*
			 * Rewrites of the shared pages, between calls: they
			 * meet another vCPU's call in the host when that one
			 * sleeps or is preempted there (one L1 CPU), however
			 * many there are.  Two a call cost this vCPU a tenth
			 * of its calls; one in four keeps thousands a run.
			 */
			if (c->vcpu == V_B && !(rng_next(&st->rng) & 3))
				guest_scribble(c);
			ret = guest_hypercall(call.nr, call.a[0], call.a[1],
					      call.a[2], call.a[3]);
			fz_record(st, &call, &call, ret, ret, c->cpl3);
		}
		if (c->cpl3) {
			/* the host must not have written anything of ours */
			const uint8_t *p = (const uint8_t *)(uintptr_t)fz_region(c);
			uint64_t j;

			for (j = 0; j < FZ_PRIV_PAGES * PG; j += 61)
				if (p[j] != FZ_CANARY)
					st->canary_broken++;
		}
		GUEST_SYNC(1, st->calls);
	}
}

static void guest_main_cpl0(uint64_t vcpu)
{
	struct fz_ctx c = { .st = &fz_state[vcpu], .vcpu = vcpu };

	guest_fuzz(&c);
	GUEST_DONE();
}

static void guest_user(void)
{
	struct fz_ctx c = { .st = &fz_state[V_USER],
			    .vcpu = V_USER, .cpl3 = true };

	guest_fuzz(&c);
	GUEST_DONE();
}

static void guest_main_user(uint64_t arg)
{
	(void)arg;
	guest_enter_user(guest_user,
			 (uint64_t)user_stack + sizeof(user_stack) - 8);
}

/* The calls whose answers must not depend on pvx. */
static const struct fz_call kvm_own[] = {
	{ .nr = KVM_HC_SCHED_YIELD, .a = { 0, 0, 0, 0 } },
	{ .nr = KVM_HC_SCHED_YIELD, .a = { 99, 0, 0, 0 } },
	{ .nr = KVM_HC_KICK_CPU, .a = { 0, 0, 0, 0 } },
	{ .nr = KVM_HC_KICK_CPU, .a = { 0, 7, 0, 0 } },
	{ .nr = KVM_HC_VAPIC_POLL_IRQ, .a = { 0, 0, 0, 0 } },
	{ .nr = 0, .a = { 0, 0, 0, 0 } },
	{ .nr = 2, .a = { 0, 0, 0, 0 } },
	{ .nr = 3, .a = { 0, 0, 0, 0 } },
	{ .nr = 13, .a = { 0, 0, 0, 0 } },
	{ .nr = 0x1000, .a = { 1, 2, 3, 4 } },
	{ .nr = PVX_HC_BASE - 1, .a = { 0, 0, 0, 0 } },
	{ .nr = PVX_HC_BASE + PVX_HC_COUNT, .a = { 0, 0, 0, 0 } },
	{ .nr = PVX_HC_PROBE | (1ULL << 32), .a = { 0, 0, 0, 0 } },
	{ .nr = ~0ULL, .a = { 0, 0, 0, 0 } },
};
static uint64_t kvm_own_ret[ARRAY_SIZE(kvm_own)];
static uint64_t probe_ret;

static void guest_kvm_own(uint64_t arg)
{
	unsigned int i;

	(void)arg;
	for (i = 0; i < ARRAY_SIZE(kvm_own); i++)
		kvm_own_ret[i] = guest_hypercall(kvm_own[i].nr, kvm_own[i].a[0],
						 kvm_own[i].a[1], kvm_own[i].a[2],
						 kvm_own[i].a[3]);
	probe_ret = guest_hypercall(PVX_HC_PROBE, 0, 0, 0, 0);
	GUEST_DONE();
}

/* The other VM: probes, nothing written to its own memory but its stack. */
static void guest_other(uint64_t arg)
{
	uint64_t n = 0, ok = 0;
	int i;

	(void)arg;
	for (;;) {
		for (i = 0; i < 32; i++, n++)
			ok += guest_hypercall(PVX_HC_PROBE, 0, 0, 0, 0) ==
			      PVX_SIGNATURE;
		GUEST_SYNC(1, n, ok);
	}
}

/* 32-bit protected mode: hypercall, report through a bare OUT, repeat. */
asm(".pushsection .text\n"
	".code32\n"
	"fuzz32_vmmcall:\n"
	"1:	vmmcall\n"
	"	outb %al, $0xe9\n"	/* RAW_PORT */
	"	jmp 1b\n"
	"fuzz32_vmcall:\n"
	"1:	vmcall\n"
	"	outb %al, $0xe9\n"
	"	jmp 1b\n"
	".code64\n"
	".popsection\n");

extern char fuzz32_vmmcall[], fuzz32_vmcall[];

/* ------------------------------------------------------------ host side */

static atomic_bool stop_all;
static atomic_int failures;
static struct vm *vm_a;
static int pvx_fd;
static uint64_t seed;
static uint64_t compat_hi_bad;	/* 32-bit results with high bits set */
static struct fz_state compat_st;	/* the 32-bit vCPU's, host side */

static void fail(const char *what)
{
	tap_diag("%s", what);
	atomic_fetch_add(&failures, 1);
	atomic_store(&stop_all, true);
}

static void *run_cpl0(struct vcpu *vcpu)
{
	struct ucall uc;

	for (;;) {
		uint64_t cmd = vcpu_get_ucall(vcpu, &uc);

		if (cmd == UCALL_DONE)
			return NULL;
		if (cmd != UCALL_SYNC) {
			tap_diag("vCPU %d: stopped (cmd %llu) after %llu calls",
				 vcpu->id, (unsigned long long)cmd,
				 (unsigned long long)guest_global(vm_a,
					fz_state[vcpu->id].calls));
			fail("a fuzzing vCPU did not come back");
			return NULL;
		}
		if (atomic_load(&stop_all))
			guest_global(vm_a, fz_state[vcpu->id].stop) = 1;
	}
}

static void sleep_us(uint64_t us);

static void *run_compat(struct vcpu *vcpu)
{
	struct fz_ctx c = { .st = &compat_st, .base = (uintptr_t)vm_a->mem,
			    .vcpu = V_COMPAT, .is32 = true };
	struct kvm_regs regs;
	struct fz_call call, seen;
	struct ucall uc;
	uint64_t cmd, hi;
	int i;

	vcpu_set_protected_mode(vcpu);
	while (!atomic_load(&stop_all)) {
		fz_gen(&c, &call);
		memset(&regs, 0, sizeof(regs));
		regs.rip = (uint64_t)(guest_use_vmmcall ? fuzz32_vmmcall :
				      fuzz32_vmcall);
		regs.rflags = 0x2;
		hi = rng_next(&compat_st.rng) & 0xffffffff00000000ULL;
		regs.rax = call.nr | hi;
		regs.rbx = call.a[0] | (hi >> 1);
		regs.rcx = call.a[1] | (hi >> 2);
		regs.rdx = call.a[2] | (hi >> 3);
		regs.rsi = call.a[3] | (hi >> 4);
		vcpu_set_regs(vcpu, &regs);
		cmd = vcpu_get_ucall(vcpu, &uc);
		if (cmd != UCALL_RAW) {
			fail("the 32-bit vCPU did not come back");
			return NULL;
		}
		vcpu_get_regs(vcpu, &regs);
		seen.nr = (uint32_t)call.nr;
		for (i = 0; i < 4; i++)
			seen.a[i] = (uint32_t)call.a[i];
		if (regs.rax >> 32)
			compat_hi_bad++;
		fz_record(&compat_st, &seen, &call, (int32_t)regs.rax,
			  regs.rax, false);
		/* a few exits and ioctls a call: a share of the run, not most */
		if (!(compat_st.calls % 8))
			sleep_us(100000);
	}
	return NULL;
}

/* ---- the VMM thread: attach masks, memslots, targets, allowlists */

static uint64_t masks_done, attach_calls, attach_refused, slot_changes;
static const char *const slot_op_name[] = {
	"delete", "read-only", "re-create", "dirty logging", "get dirty log",
	"madvise",
};
static uint64_t slot_ops[ARRAY_SIZE(slot_op_name)];
static uint8_t mask_seen[FZ_MASKS];
static uint8_t *slot1_mem;

static void slot1_set(uint64_t gpa, uint64_t size, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = FZ_SLOT1, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uint64_t)slot1_mem,
	};

	/* EINVAL/EEXIST for a move or a flag change KVM refuses: fine */
	if (!ioctl(vm_a->fd, KVM_SET_USER_MEMORY_REGION, &r))
		slot_changes++;
}

static void vmm_memslot(uint64_t *r)
{
	static const uint64_t where[] = { FZ_SLOT1_GPA, FZ_SLOT1_ALT };
	uint64_t gpa = where[rng_below(r, 2)];
	unsigned int op = rng_below(r, ARRAY_SIZE(slot_ops));

	slot_ops[op]++;
	switch (op) {
	case 0:
		slot1_set(0, 0, 0);	/* delete */
		break;
	case 1:
		slot1_set(0, 0, 0);
		slot1_set(gpa, FZ_SLOT1_SIZE, KVM_MEM_READONLY);
		break;
	case 2:
		slot1_set(0, 0, 0);
		slot1_set(gpa, FZ_SLOT1_SIZE, 0);
		break;
	case 3:
		/* flags of a live slot: dirty logging on or off */
		slot1_set(FZ_SLOT1_GPA, FZ_SLOT1_SIZE,
			  rng_below(r, 2) ? KVM_MEM_LOG_DIRTY_PAGES : 0);
		break;
	case 4: {
		static uint64_t bitmap[FZ_SLOT1_SIZE / PG / 64];
		struct kvm_dirty_log log = { .slot = FZ_SLOT1,
					     .dirty_bitmap = bitmap };

		ioctl(vm_a->fd, KVM_GET_DIRTY_LOG, &log);
		break;
	}
	case 5:
		/* give the pages back to the kernel under the guest's feet */
		madvise(slot1_mem, FZ_SLOT1_SIZE, MADV_DONTNEED);
		break;
	}
}

static void vmm_extras(uint64_t *r, uint64_t vm_id)
{
	struct pvx_balloon_target t = { .vm_id = vm_id };
	struct pvx_msr_allowlist a = { .vm_id = vm_id };
	/* subsets of the default list, minus what this guest cannot take */
	static const struct pvx_msr_range safe[] = {
		{ 0xc1, 8 }, { 0x186, 8 }, { 0x277, 1 }, { 0x800, 256 },
		{ 0x4b564d00, 256 }, { 0xc0000081, 4 }, { 0xc0000100, 4 },
		{ 0xc0010000, 8 },
	};
	unsigned int i;

	switch (rng_below(r, 8)) {
	case 0:
		t.target_pages = rng_below(r, 2) ? rng_below(r, 20000) :
				 PVX_BALLOON_NO_TARGET;
		pvx_ioctl_raw(pvx_fd, PVX_IOC_SET_BALLOON_TARGET, &t);
		break;
	case 1:
		a.nr_ranges = rng_below(r, ARRAY_SIZE(safe) + 1);
		for (i = 0; i < a.nr_ranges; i++)
			a.ranges[i] = safe[rng_below(r, ARRAY_SIZE(safe))];
		pvx_ioctl_raw(pvx_fd, PVX_IOC_SET_MSR_ALLOWLIST, &a);
		break;
	}
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = { .tv_sec = us / 1000000,
			       .tv_nsec = (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/*
 * The VMM's changes at a fixed pace, not as fast as it can: each costs the
 * debug kernel about 20 ms of the only CPU, and every vCPU faults its pages
 * in again after a memslot change.  Back to back (about 8 attaches and 3.5
 * memslot changes a second) they took a third of the run's calls; attached
 * for 100-300 ms each, 512 masks took about three minutes (0.35 s a mask,
 * 0.15 s of it the changes), with some hundred calls each.  With 1024
 * masks (ten features) a mask stays 50-150 ms: about 4.5 minutes, inside
 * the 360 s box, some fifty calls each.
 */
#define FZ_HOLD_US		100000	/* attached for 50-150 ms */

static void *run_vmm(void *arg)
{
	uint64_t r = seed ^ 0x766d6d;	/* "vmm" */
	uint64_t mask = 0, vm_id;
	int ret;

	(void)arg;
	while (!atomic_load(&stop_all)) {
		struct pvx_attach a = { .vm_fd = vm_a->fd };
		static const uint32_t max_entries[] = { 0, 1, 2, 7, 16, 255,
							256, 511, 512, 513 };

		/* every mask in turn, now and then one the host lacks */
		a.features = mask;
		if (!rng_below(&r, 32))
			a.features |= 1ULL << (FZ_FEATURE_BITS +
					       rng_below(&r, 64 - FZ_FEATURE_BITS));
		a.max_list_entries = max_entries[rng_below(&r, ARRAY_SIZE(max_entries))];
		ret = pvx_ioctl_raw(pvx_fd, PVX_IOC_ATTACH, &a);
		attach_calls++;
		if (!ret) {
			vm_id = a.vm_id;
			if (!mask_seen[mask]) {
				mask_seen[mask] = 1;
				masks_done++;
			}
			mask = (mask + 1) % FZ_MASKS;
			vmm_extras(&r, vm_id);
			sleep_us(FZ_HOLD_US / 2 + rng_below(&r, FZ_HOLD_US));
			vmm_extras(&r, vm_id);
			ret = rng_below(&r, 2) ? __pvx_detach_fd(pvx_fd, vm_a->fd) :
			      __pvx_detach_id(pvx_fd, vm_id);
			if (ret) {
				tap_diag("detach: %s", strerror(-ret));
				fail("the VMM could not detach its VM");
			}
		} else {
			attach_refused++;
			if (!(a.features & ~PVX_FEATURES_ALL) &&
			    a.max_list_entries <= PVX_DEFAULT_LIST_ENTRIES) {
				tap_diag("attach features %#llx max %u: %s",
					 (unsigned long long)a.features,
					 a.max_list_entries, strerror(-ret));
				fail("a valid attach was refused");
			}
		}
		/* each change makes every vCPU fault its pages in again */
		if (rng_below(&r, 2))
			vmm_memslot(&r);
		sleep_us(rng_below(&r, 3000));
	}
	return NULL;
}

/* ---- the other VM */

static uint64_t other_calls, other_ok;

static void *run_other(struct vcpu *vcpu)
{
	struct ucall uc;

	while (!atomic_load(&stop_all)) {
		if (vcpu_get_ucall(vcpu, &uc) != UCALL_SYNC) {
			fail("the other VM's vCPU did not come back");
			return NULL;
		}
		other_calls = uc.args[1];
		other_ok = uc.args[2];
		/* a bystander: 32 probes a second, a small share of the CPU */
		sleep_us(1000000);
	}
	return NULL;
}

/* Its stack, and what its CPU writes itself (accessed and dirty bits). */
static bool other_skip(uint64_t gpa)
{
	return gpa < GUEST_TSS_GPA + PG ||
	       (gpa >= GUEST_BIN_LIMIT && gpa < GUEST_BIN_LIMIT + 2 * GUEST_STACK_SIZE);
}

/* FNV-1a over the other VM's memory but its vCPU's stack. */
static uint64_t other_checksum(struct vm *vm)
{
	uint64_t h = 0xcbf29ce484222325ULL, i;
	const uint64_t *p = (const uint64_t *)vm->mem;

	for (i = 0; i < vm->mem_size / 8; i++) {
		if (other_skip(i * 8))
			continue;
		h = (h ^ p[i]) * 0x100000001b3ULL;
	}
	return h;
}

/* Which pages changed, against a copy taken before the run. */
static void other_diff(struct vm *vm, const uint8_t *before)
{
	uint64_t pg, n = 0, off;

	for (pg = 0; pg < vm->mem_size; pg += PG) {
		if (other_skip(pg) || !memcmp(vm->mem + pg, before + pg, PG))
			continue;
		for (off = 0; off < PG - 8; off += 8)
			if (memcmp(vm->mem + pg + off, before + pg + off, 8))
				break;
		if (n++ < 16)
			tap_diag("  other VM gpa %#llx changed: at +%#llx %#llx, was %#llx",
				 (unsigned long long)pg, (unsigned long long)off,
				 (unsigned long long)*(uint64_t *)(vm->mem + pg + off),
				 (unsigned long long)*(uint64_t *)(before + pg + off));
	}
	tap_diag("  %llu pages of the other VM changed", (unsigned long long)n);
}

static void run_kvm_own(struct vm *vm, uint64_t *out, uint64_t *probe)
{
	struct vcpu *vcpu = vm->vcpus[0];
	struct ucall uc;

	vcpu_set_entry(vcpu, guest_kvm_own, 0);
	if (vcpu_get_ucall(vcpu, &uc) != UCALL_DONE)
		tap_bail("KVM's own hypercalls: the guest did not finish");
	memcpy(out, guest_ptr(vm, (uint64_t)kvm_own_ret), sizeof(kvm_own_ret));
	*probe = guest_global(vm, probe_ret);
}

static void idle(uint64_t arg)
{
	(void)arg;
	GUEST_DONE();
}

/* The kernel's leak detector, when it has one (CONFIG_DEBUG_KMEMLEAK). */
#define KMEMLEAK		"/sys/kernel/debug/kmemleak"

/* Not write_file(): no O_TRUNC on a debugfs file that is no file. */
static int kmemleak_cmd(const char *cmd)
{
	int fd = open(KMEMLEAK, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, cmd, strlen(cmd));
	close(fd);
	return n == (ssize_t)strlen(cmd) ? 0 : -EIO;
}

/*
 * Forget what was there before the run: boot-time reports are not ours.
 * Its scan thread is stopped: a scan takes the only CPU for 25-45 s,
 * and a leak made during the run is still there for the scans at the end.
 */
static void kmemleak_clear(void)
{
	if (!access(KMEMLEAK, W_OK)) {
		kmemleak_cmd("clear");
		kmemleak_cmd("scan=off");
	}
}

static void kmemleak_check(void)
{
	char buf[4096];
	int i, r;

	if (access(KMEMLEAK, W_OK)) {
		tap_skip("kmemleak: %s not there (CONFIG_DEBUG_KMEMLEAK off)",
			 KMEMLEAK);
		return;
	}
	/*
	 * An object is reported when a scan finds it unreferenced, older than
	 * 5 s and unchanged since the scan before: two scans, the second
	 * starting long after the objects of the run were made (a scan takes
	 * 25-45 s here).
	 */
	r = kmemleak_cmd("scan");
	if (!r)
		r = kmemleak_cmd("scan");
	/* started again, the thread would scan at once: 35 s more here */
	tap_diag("kmemleak's scan thread left off (echo scan=on > %s)", KMEMLEAK);
	memset(buf, 0, sizeof(buf));
	if (r || read_file(KMEMLEAK, buf, sizeof(buf) - 1) < 0) {
		tap_ok(false, "kmemleak: scan failed");
		return;
	}
	if (buf[0]) {
		char *line = strtok(buf, "\n");

		for (i = 0; line && i < 24; i++, line = strtok(NULL, "\n"))
			tap_diag("kmemleak: %s", line);
	}
	tap_ok(!buf[0], "kmemleak: no unreferenced object after the run");
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

static void print_counts(uint64_t total[NR_SVC][NR_OUT])
{
	char line[512];
	unsigned int s, o;
	int n;

	for (s = 0; s < NR_SVC; s++) {
		uint64_t sum = 0;

		for (o = 0; o < NR_OUT; o++)
			sum += total[s][o];
		n = snprintf(line, sizeof(line), "%-16s %8llu:", svc_name[s],
			     (unsigned long long)sum);
		for (o = 0; o < NR_OUT; o++)
			if (total[s][o] && n < (int)sizeof(line))
				n += snprintf(line + n, sizeof(line) - n,
					      " %s %llu", out_name[o],
					      (unsigned long long)total[s][o]);
		tap_diag("%s", line);
	}
}

/*
 * Each kind the generator makes, and each number class, at a quarter or
 * less of its share in the runs measured (per call made), so that only a
 * change to the generator (or a run a few thousand calls short) fails it.
 */
static const uint16_t cv_per[NR_CV] = {	/* at least one per this many calls */
	[CV_GFN_HUGE] = 200, [CV_GFN_SLOT1] = 200, [CV_GFN_ALIAS] = 200,
	[CV_GFN_UNBACKED] = 200, [CV_GFN_SLOT_END] = 200,
	[CV_GFN_OVERLAP] = 200, [CV_LIST_MISALIGNED] = 1000,
	[CV_LIST_CROSSING] = 2000, [CV_LIST_HUGE] = 2000,
	[CV_LIST_NOWHERE] = 1000, [CV_LIST_SHARED] = 1000,
	[CV_LIST_SPLIT] = 8000, [CV_SCRIBBLE] = 100, [CV_NR_HIGH] = 1000,
};

static void check_coverage(const struct fz_state *st,
			   uint64_t total[NR_SVC][NR_OUT], uint64_t calls)
{
	uint64_t cv[NR_CV] = { 0 }, vec = 0, short_of = 0;
	unsigned int i, s;

	for (i = 0; i < FZ_VCPUS; i++)
		for (s = 0; s < NR_CV; s++)
			cv[s] += st[i].cover[s];
	for (s = 0; s < NR_CV; s++) {
		tap_diag("%-28s %8llu (at least %llu)", cv_name[s],
			 (unsigned long long)cv[s],
			 (unsigned long long)(calls / cv_per[s]));
		short_of += cv[s] < calls / cv_per[s] || !cv[s];
	}
	TAP_EQ(short_of, 0, "every kind of list and number was made (kinds short)");
	short_of = 0;
	for (s = 0; s < NR_SVC; s++) {
		uint64_t n = 0, reached;

		for (i = 0; i < NR_OUT; i++)
			n += total[s][i];
		/* past the gates (attached, feature granted, CPL 0) */
		reached = n - total[s][OUT_EPERM] - total[s][OUT_ENOSYS];
		if (n < calls / 100 || (s < NR_PVX_SVC && reached < calls / 1000)) {
			tap_diag("%s: %llu calls, %llu past the gates",
				 svc_name[s], (unsigned long long)n,
				 (unsigned long long)reached);
			short_of++;
		}
	}
	TAP_EQ(short_of, 0, "each number class has 1%% of the calls, each service 0.1%% past its gates (classes short)");
	for (s = 0; s < 4; s++)
		vec += __builtin_popcountll(st[V_A].vectors[s] | st[V_B].vectors[s] |
					    st[V_COMPAT].vectors[s]);
	TAP_EQ(vec, 256, "SET_VECTOR was given each vector 0-255 (vectors)");
	tap_ok(st[V_USER].calls >= calls / 10 && st[V_COMPAT].calls >= calls / 1000,
	       "CPL 3 and 32-bit callers made their share (%llu and %llu of %llu calls)",
	       (unsigned long long)st[V_USER].calls,
	       (unsigned long long)st[V_COMPAT].calls, (unsigned long long)calls);
	short_of = 0;
	for (s = 0; s < ARRAY_SIZE(slot_ops); s++) {
		tap_diag("memslot %-14s %6llu", slot_op_name[s],
			 (unsigned long long)slot_ops[s]);
		short_of += slot_ops[s] < 10;
	}
	TAP_EQ(short_of, 0, "the VMM made each memslot change 10 times (kinds short)");
}

static void report_bad(const char *who, const struct fz_state *st)
{
	if (!st->bad)
		return;
	tap_diag("%s: %llu answers not allowed; first at call %llu (seed %#llx): nr %#llx args %#llx %#llx %#llx %#llx -> %#llx",
		 who, (unsigned long long)st->bad,
		 (unsigned long long)st->bad_index, (unsigned long long)seed,
		 (unsigned long long)st->bad_call.nr,
		 (unsigned long long)st->bad_call.a[0],
		 (unsigned long long)st->bad_call.a[1],
		 (unsigned long long)st->bad_call.a[2],
		 (unsigned long long)st->bad_call.a[3],
		 (unsigned long long)st->bad_ret);
}

int main(int argc, char **argv)
{
	static const char *const who[FZ_VCPUS] = {
		"vCPU 0 (CPL 0)", "vCPU 1 (CPL 0, rewrites lists)",
		"vCPU 2 (CPL 3)", "vCPU 3 (32-bit)",
	};
	static uint64_t total[NR_SVC][NR_OUT];
	uint64_t ref[ARRAY_SIZE(kvm_own)], got[ARRAY_SIZE(kvm_own)];
	uint64_t target, seconds, max_seconds, calls = 0, ref_probe, probe, sum0, sum1;
	uint64_t other_id, t0, last_diag, bad = 0;
	struct fz_state st[FZ_VCPUS];
	struct vm *ref_vm, *vm_b;
	uint8_t *b_before;
	struct vcpu *vb;
	pthread_t vmm;
	unsigned int i, s, o;
	bool have_seed = false;
	int opt, r, efd;

	seed = env_u64("PVX_FUZZ_SEED", 0);
	have_seed = getenv("PVX_FUZZ_SEED") != NULL;
	target = env_u64("PVX_FUZZ_CALLS", 1000000);
	seconds = env_u64("PVX_FUZZ_SECONDS", 0);
	max_seconds = env_u64("PVX_FUZZ_MAX_SECONDS", 0);
	while ((opt = getopt(argc, argv, "s:n:t:T:")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			have_seed = true;
			break;
		case 'n':
			target = strtoull(optarg, NULL, 0);
			break;
		case 't':
			seconds = strtoull(optarg, NULL, 0);
			break;
		case 'T':
			max_seconds = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-s seed] [-n calls] [-t seconds] [-T max-seconds]\n",
				argv[0]);
			return KSFT_FAIL;
		}
	}
	if (!have_seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = now_ns();

	tap_init("fuzz_test: random hypercalls against pvx and KVM");
	/* tap_init's watchdog is for ordinary tests: this one is told how long */
	alarm(max_seconds ? max_seconds + 300 : seconds ? seconds + 900 : 3600);
	tap_diag("seed %#llx (replay: PVX_FUZZ_SEED=%#llx or -s %#llx), target %llu calls",
		 (unsigned long long)seed, (unsigned long long)seed,
		 (unsigned long long)seed, (unsigned long long)target);
	if (seconds || max_seconds)
		tap_diag("runs at least %llu s, at most %llu s (0: no limit)",
			 (unsigned long long)seconds,
			 (unsigned long long)max_seconds);
	kvm_fd_or_skip();
	pvx_fd = pvx_open_features(PVX_FEATURES_ALL);
	kmemleak_clear();

	/* KVM's answers in a VM pvx never saw. */
	ref_vm = vm_create();
	vm_enable_irqchip(ref_vm);
	vcpu_add(ref_vm, idle, 0);
	run_kvm_own(ref_vm, ref, &ref_probe);
	vm_free(ref_vm);
	TAP_EQ(ref_probe, KVM_ENOSYS_RET, "never attached: probe answers -KVM_ENOSYS");

	/* The bystander: attached, its memory filled and checksummed. */
	vm_b = vm_create();
	vb = vcpu_add(vm_b, guest_other, 0);
	{
		uint64_t rr = seed ^ 0xb, *p = (uint64_t *)(vm_b->mem + FZ_LISTS_GPA);

		for (i = 0; i < (GUEST_MEM_SIZE - FZ_LISTS_GPA) / 8; i++)
			p[i] = rng_next(&rr);
	}
	sum0 = other_checksum(vm_b);
	b_before = malloc(vm_b->mem_size);
	TEST_ASSERT(b_before, "malloc");
	memcpy(b_before, vm_b->mem, vm_b->mem_size);
	r = __pvx_attach(pvx_fd, vm_b->fd, PVX_FEATURES_ALL, 0, &other_id);
	if (!tap_ok(!r, "attach the other VM: %s", r ? strerror(-r) : "ok"))
		tap_finish();

	/* The fuzzed VM. */
	for (i = 0; i < FZ_VCPUS; i++) {
		uint64_t sr = seed + i;

		memset(&fz_state[i], 0, sizeof(fz_state[i]));
		fz_state[i].rng = rng_next(&sr);
	}
	compat_st = fz_state[V_COMPAT];
	vm_a = vm_create();
	vm_enable_irqchip(vm_a);
	vcpu_add(vm_a, guest_main_cpl0, V_A);
	vcpu_add(vm_a, guest_main_cpl0, V_B);
	vcpu_add(vm_a, guest_main_user, V_USER);
	vcpu_add(vm_a, idle, 0);	/* V_COMPAT, driven from here */
	/* with an in-kernel LAPIC, APs wait for a SIPI: not these */
	for (i = 1; i < FZ_VCPUS; i++) {
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

		TEST_ASSERT(!ioctl(vm_a->vcpus[i]->fd, KVM_SET_MP_STATE, &mp),
				 "KVM_SET_MP_STATE");
	}
	memcpy(guest_ptr(vm_a, (uint64_t)fz_state), fz_state, sizeof(fz_state));
	memset(guest_ptr(vm_a, fz_region(&(struct fz_ctx){ .vcpu = V_USER })),
	       FZ_CANARY, FZ_PRIV_PAGES * PG);
	slot1_mem = mmap(NULL, FZ_SLOT1_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(slot1_mem != MAP_FAILED, "mmap");
	slot1_set(FZ_SLOT1_GPA, FZ_SLOT1_SIZE, 0);
	vm_add_slot(vm_a, FZ_SLOT2, FZ_ALIAS_GPA, FZ_ALIAS_SIZE, 0,
		    vm_a->mem + FZ_AREA_GPA);
	/* listeners, so that doorbells are delivered too */
	efd = eventfd(0, EFD_NONBLOCK);
	TEST_ASSERT(efd >= 0, "eventfd");
	{
		struct kvm_ioeventfd io = { .addr = FZ_IOEVENT_PORT, .len = 0,
					    .fd = efd, .flags = KVM_IOEVENTFD_FLAG_PIO };

		TEST_ASSERT(!ioctl(vm_a->fd, KVM_IOEVENTFD, &io), "KVM_IOEVENTFD pio");
		io.addr = FZ_IOEVENT_MMIO;
		io.flags = 0;
		io.len = 4;
		TEST_ASSERT(!ioctl(vm_a->fd, KVM_IOEVENTFD, &io), "KVM_IOEVENTFD mmio");
	}

	t0 = now_ns();
	last_diag = t0;
	vcpu_thread_start(vb, run_other, NULL);
	for (i = 0; i < V_COMPAT; i++)
		vcpu_thread_start(vm_a->vcpus[i], run_cpl0, NULL);
	vcpu_thread_start(vm_a->vcpus[V_COMPAT], run_compat, NULL);
	if (pthread_create(&vmm, NULL, run_vmm, NULL))
		tap_bail("pthread_create");

	while (!atomic_load(&stop_all)) {
		uint64_t now;

		sleep_us(500000);
		now = now_ns();
		calls = compat_st.calls;
		for (i = 0; i < V_COMPAT; i++)
			calls += guest_global(vm_a, fz_state[i].calls);
		if (now - last_diag >= 20000000000ULL) {
			tap_diag("%llu calls after %llu s, %llu of %llu feature masks attached",
				 (unsigned long long)calls,
				 (unsigned long long)((now - t0) / 1000000000ULL),
				 (unsigned long long)masks_done,
				 (unsigned long long)FZ_MASKS);
			last_diag = now;
		}
		if (calls >= target && masks_done >= FZ_MASKS &&
		    now - t0 >= seconds * 1000000000ULL)
			atomic_store(&stop_all, true);
		if (max_seconds && now - t0 >= max_seconds * 1000000000ULL) {
			tap_diag("time box of %llu s reached",
				 (unsigned long long)max_seconds);
			atomic_store(&stop_all, true);
		}
	}
	tap_diag("stopping after %llu s",
		 (unsigned long long)((now_ns() - t0) / 1000000000ULL));
	pthread_join(vmm, NULL);
	for (i = 0; i < V_COMPAT; i++)
		guest_global(vm_a, fz_state[i].stop) = 1;
	for (i = 0; i < FZ_VCPUS; i++) {
		vcpu_thread_join(vm_a->vcpus[i]);
		tap_diag("%s stopped", who[i]);
	}
	vcpu_thread_join(vb);
	tap_diag("ran %llu s", (unsigned long long)((now_ns() - t0) / 1000000000ULL));

	/* What the vCPUs saw. */
	memcpy(st, guest_ptr(vm_a, (uint64_t)fz_state), sizeof(st));
	st[V_COMPAT] = compat_st;
	calls = 0;
	for (i = 0; i < FZ_VCPUS; i++) {
		calls += st[i].calls;
		bad += st[i].bad;
		for (s = 0; s < NR_SVC; s++)
			for (o = 0; o < NR_OUT; o++)
				total[s][o] += st[i].counts[s][o];
		tap_diag("%s: %llu calls", who[i], (unsigned long long)st[i].calls);
		report_bad(who[i], &st[i]);
	}
	printf("# %llu calls\n", (unsigned long long)calls);
	print_counts(total);
	check_coverage(st, total, calls);
	tap_ok(!atomic_load(&failures), "every vCPU and the VMM thread ran to the end");
	tap_ok(calls >= target, "at least %llu calls (%llu)",
	       (unsigned long long)target, (unsigned long long)calls);
	TAP_EQ(bad, 0, "every answer is one the ABI allows (seed %#llx)",
	       (unsigned long long)seed);
	TAP_EQ(st[V_USER].canary_broken, 0, "CPL 3 calls wrote nothing");
	TAP_EQ(compat_hi_bad, 0, "32-bit callers got 32-bit results");
	tap_ok(masks_done == FZ_MASKS,
	       "attached with every feature mask (%llu of %llu; %llu attaches, %llu refused), %llu memslot changes",
	       (unsigned long long)masks_done, (unsigned long long)FZ_MASKS,
	       (unsigned long long)attach_calls,
	       (unsigned long long)attach_refused,
	       (unsigned long long)slot_changes);
	tap_ok(other_calls >= 1000 && other_ok == other_calls,
	       "the other VM was served meanwhile (%llu of %llu probes)",
	       (unsigned long long)other_ok, (unsigned long long)other_calls);
	sum1 = other_checksum(vm_b);
	if (!tap_ok(sum0 == sum1, "the other VM's memory is untouched (%#llx, was %#llx)",
		    (unsigned long long)sum1, (unsigned long long)sum0))
		other_diff(vm_b, b_before);
	free(b_before);
	r = pvx_find_vm(pvx_fd, other_id, &(struct pvx_vm_stats){ 0 });
	TAP_EQ(r, 1, "the other VM is still attached");

	/* KVM's own hypercalls, in the fuzzed VM attached with everything. */
	__pvx_detach_fd(pvx_fd, vm_a->fd);
	r = __pvx_attach(pvx_fd, vm_a->fd, PVX_FEATURES_ALL, 0, NULL);
	TAP_EQ(r, 0, "attach the fuzzed VM once more");
	run_kvm_own(vm_a, got, &probe);
	TAP_EQ(probe, PVX_SIGNATURE, "the fuzzed VM is served after the run");
	for (i = 0; i < ARRAY_SIZE(kvm_own); i++)
		tap_ok(got[i] == ref[i],
		       "KVM's nr %#llx(%#llx, %#llx) answers %#llx as without pvx (%#llx)",
		       (unsigned long long)kvm_own[i].nr,
		       (unsigned long long)kvm_own[i].a[0],
		       (unsigned long long)kvm_own[i].a[1],
		       (unsigned long long)got[i], (unsigned long long)ref[i]);

	__pvx_detach_fd(pvx_fd, vm_a->fd);
	__pvx_detach_id(pvx_fd, other_id);
	close(efd);
	vm_free(vm_a);
	vm_free(vm_b);
	munmap(slot1_mem, FZ_SLOT1_SIZE);
	/* the last references go in RCU callbacks and work items */
	for (i = 0; i < 100 && pvx_live_vms(pvx_fd); i++)
		sleep_us(100000);
	TAP_EQ(pvx_live_vms(pvx_fd), 0, "no pvx VM state left");
	close(pvx_fd);
	kmemleak_check();
	tap_finish();
}
