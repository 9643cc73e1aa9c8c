/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pvx: the guest ABI of pvx's paravirtual hypercall services for KVM
 * guests: hypercall numbers, argument conventions, results and the
 * structures a guest shares with the host by guest-physical address.  A
 * guest needs this header only.  The VMM's ioctls on /dev/pvx are in
 * <linux/pvx.h>, as KVM keeps <linux/kvm_para.h> apart from <linux/kvm.h>.
 *
 * Documentation/hypercalls.rst is the reference for every hypercall.
 */
#ifndef _UAPI_LINUX_PVX_PARA_H
#define _UAPI_LINUX_PVX_PARA_H

#include <linux/const.h>
#include <linux/types.h>

/*
 * Number in RAX, arguments in RBX, RCX, RDX, RSI, result in RAX, issued
 * with VMCALL (Intel) or VMMCALL (AMD) at CPL 0, exactly as KVM's own
 * hypercalls.  A 32-bit caller has its number, arguments and result
 * truncated to 32 bits, as KVM does.
 *
 * The numbers sit far from KVM's (which are small integers) and inside
 * 32 bits, so 32-bit callers can reach them.  A host without pvx, or a VM
 * that was not attached, answers -PVX_ENOSYS (the value of KVM_ENOSYS).
 */
#define PVX_HC_BASE		0x70767800U	/* "pvx" */
#define PVX_HC_COUNT		64

/* PVX_HC_PROBE's result in RAX: the bytes "pvx!" in little-endian order. */
#define PVX_SIGNATURE		0x21787670U
#define PVX_ABI_VERSION		1

/*
 * Errors are returned negated in RAX.  The values are Linux errno numbers
 * (as KVM's are), so a guest can hand them on as they are.
 */
#define PVX_EPERM		1
#define PVX_ENOENT		2
#define PVX_EIO			5
#define PVX_E2BIG		7
#define PVX_EAGAIN		11
#define PVX_EFAULT		14
#define PVX_EBUSY		16
#define PVX_EINVAL		22
#define PVX_ENOSPC		28
#define PVX_ERANGE		34
#define PVX_EOPNOTSUPP		95
#define PVX_EINPROGRESS		115
#define PVX_ECANCELED		125	/* guest side: the host withdrew the service */
#define PVX_ENOSYS		1000

/*
 * Feature bits: one per service.  PVX_HC_PROBE reports the bits enabled
 * for the calling VM; a hypercall of a service whose bit is clear answers
 * -PVX_EOPNOTSUPP.  Bits are added as services land, never reused.
 */
#define PVX_F_YIELD_TO		_BITULL(0)
#define PVX_F_TIMER		_BITULL(1)
#define PVX_F_MSR_BATCH		_BITULL(2)
#define PVX_F_PREFAULT		_BITULL(3)
#define PVX_F_COPY_PAGES	_BITULL(4)
#define PVX_F_SPLIT		_BITULL(5)
#define PVX_F_DOORBELL		_BITULL(6)
#define PVX_F_BALLOON		_BITULL(7)
#define PVX_F_IOMMU		_BITULL(8)
#define PVX_F_LOCKHINT		_BITULL(9)

/*
 * The hypercalls, one line each, in number order:
 *
 *   HC(NAME, name, nr, feature)
 *
 * PVX_HC_<NAME> is PVX_HC_BASE + @nr.  @name is the call's name wherever
 * one is shown (pvxctl, the pvx:pvx_hypercall tracepoint) and the host's
 * service for it (pvx_svc_<name>).  @feature is the PVX_F_* bit a VM needs
 * to make the call, or 0: any attached VM may.  Numbers are never reused.
 *
 * The numbers, PVX_FEATURES_ALL and the host's dispatch table, its
 * tracepoint's names and pvxctl's are all made from this one list: define
 * HC() to pick what a use needs, and expand PVX_HYPERCALLS(HC).  (A macro
 * rather than a header read once per use, as KVM's kvm-x86-ops.h is,
 * because some uses sit inside an expression.)
 */
#define PVX_HYPERCALLS(HC)							\
	HC(PROBE,		probe,			 0, 0)			\
	HC(YIELD_TO,		yield_to,		 1, PVX_F_YIELD_TO)	\
	HC(SET_VECTOR,		set_vector,		 2, 0)			\
	HC(TIMER_SET,		timer_set,		 3, PVX_F_TIMER)	\
	HC(MSR_BATCH,		msr_batch,		 4, PVX_F_MSR_BATCH)	\
	HC(PREFAULT_WRITE,	prefault_write,		 5, PVX_F_PREFAULT)	\
	HC(COPY_PAGES,		copy_pages,		 6, PVX_F_COPY_PAGES)	\
	HC(SPLIT_COLLECT,	split_collect,		 7, PVX_F_SPLIT)	\
	HC(DOORBELL,		doorbell,		 8, PVX_F_DOORBELL)	\
	HC(BALLOON_INFLATE,	balloon_inflate,	 9, PVX_F_BALLOON)	\
	HC(BALLOON_DEFLATE,	balloon_deflate,	10, PVX_F_BALLOON)	\
	HC(BALLOON_STATS,	balloon_stats,		11, PVX_F_BALLOON)	\
	HC(IOMMU_MAP,		iommu_map,		12, PVX_F_IOMMU)	\
	HC(IOMMU_UNMAP,		iommu_unmap,		13, PVX_F_IOMMU)	\
	HC(LOCKHINT_SET,	lockhint_set,		14, PVX_F_LOCKHINT)	\
	HC(LOCK_WAIT,		lock_wait,		15, PVX_F_LOCKHINT)

/* PVX_HC_PROBE, PVX_HC_YIELD_TO, ... */
#define __PVX_HC_NR(NAME, name, nr, ...) \
	PVX_HC_##NAME = PVX_HC_BASE + (nr),
enum {
	PVX_HYPERCALLS(__PVX_HC_NR)
};
#undef __PVX_HC_NR

/* Every feature some hypercall needs: every PVX_F_* bit. */
#define __PVX_HC_FEATURE(NAME, name, nr, feature)	| (feature)
#define PVX_FEATURES_ALL	(0 PVX_HYPERCALLS(__PVX_HC_FEATURE))

/*
 * Lists.  A batch hypercall takes the guest-physical address of an array
 * of fixed-size entries and an entry count.  The array must be 8-byte
 * aligned and lie within one 4 KiB page.  The host copies the whole list
 * before it looks at any entry, so a guest that rewrites the list during
 * the call changes nothing.  Batch calls follow the "rep" contract: the
 * host may stop early and returns the number of entries it completed
 * (>= 0); a negative result means no entry was completed.
 */
#define PVX_LIST_ALIGN		8
#define PVX_LIST_MAX_BYTES	4096

/*
 * PVX_HC_PROBE(info_gpa, info_size, 0, 0)
 *
 * Returns PVX_SIGNATURE.  When info_gpa is not zero the host writes
 * min(info_size, sizeof(struct pvx_probe_info)) bytes of this structure
 * there; info_size tells the guest's idea of the structure's size so
 * either side can grow it.
 *
 * @instance names this attach of the VM.  Host state (vectors, timers,
 * balloon records, split-phase work) belongs to one instance: a guest that
 * sees a different value, or -PVX_ENOSYS, has lost all of it and must set
 * up again what it wants to keep using.
 */
struct pvx_probe_info {
	__u32 signature;	/* PVX_SIGNATURE */
	__u32 abi_version;	/* PVX_ABI_VERSION */
	__u64 features;		/* PVX_F_* enabled for this VM */
	__u32 hc_base;		/* PVX_HC_BASE */
	__u32 hc_count;		/* PVX_HC_COUNT */
	__u32 max_list_entries;	/* cap on entries per batch call */
	__u32 info_size;	/* bytes of this structure the host knows */
	__u64 instance;		/* new at every attach and guest reset: random, never 0 */
	__u64 timer_flags;	/* PVX_TIMER_* flags TIMER_SET takes (0: older host) */
	__u64 reserved[2];	/* zero */
};

/*
 * PVX_HC_YIELD_TO(target_vcpu_id, flags, 0, 0)
 *
 * A waiter names the vCPU that holds the lock it waits for; if that vCPU
 * is preempted, the host gives it the caller's time.  Non-negative
 * results say what happened; the guest spins on in every case.
 */
#define PVX_YIELD_DONE		0	/* the target was boosted */
#define PVX_YIELD_NOT_PREEMPTED	1	/* target running or halted: no help needed */
#define PVX_YIELD_DECLINED	2	/* the host scheduler declined */
#define PVX_YIELD_RATE_LIMITED	3	/* this VM's yield budget is spent */
#define PVX_YIELD_NR_RESULTS	4

/*
 * Lock hints for the guest kernel's own spinlocks, whose lock word names
 * no holder (x86's qspinlock).
 *
 * PVX_HC_LOCKHINT_SET(count_gpa, 0, 0, 0): the guest-physical address of
 * the calling vCPU's preempt count, a 32-bit word the guest keeps
 * non-zero while the vCPU may hold a spinlock (bit 31 is ignored: x86
 * keeps an inverted NEED_RESCHED there).  4-byte aligned, in guest RAM
 * (-PVX_EINVAL, -PVX_EFAULT otherwise); 0 forgets it.  A guest reset
 * forgets it too.
 *
 * PVX_HC_LOCK_WAIT(0, 0, 0, 0): the calling vCPU is about to halt in a
 * spinlock's slow path.  The host looks, round robin, for another vCPU of
 * this VM that is preempted (runnable, not running) and whose registered
 * count reads non-zero now, and gives it the caller's time.  Each call
 * takes one of the VM's yield budget (as PVX_HC_YIELD_TO) before it looks,
 * since the looking is the host's work.  A heuristic: a non-zero count
 * says "not preemptible now", not "holds the lock this vCPU waits for".
 * The result's low byte is a PVX_LOCK_WAIT_* code, bits 8 and up the id
 * of the vCPU boosted or refused.  The guest halts as before in every
 * case.
 */
#define PVX_LOCK_WAIT_BOOSTED	0	/* a candidate was boosted */
#define PVX_LOCK_WAIT_NONE	1	/* no preempted vCPU with a non-zero count */
#define PVX_LOCK_WAIT_REFUSED	2	/* one found; the scheduler declined */
#define PVX_LOCK_WAIT_RATE_LIMITED 3	/* the VM's yield budget is spent: nothing looked at */
#define PVX_LOCK_WAIT_CODE(r)	((r) & 0xff)
#define PVX_LOCK_WAIT_VCPU(r)	((r) >> 8)
#define PVX_PREEMPT_COUNT_MASK	0x7fffffffU

/*
 * PVX_HC_SET_VECTOR(vector, 0, 0, 0): the calling vCPU's notification
 * vector (32-255; 0 turns notifications off), delivered as a fixed
 * interrupt to its own local APIC by the timer and by completions.
 *
 * PVX_HC_SET_VECTOR(vector, PVX_VECTOR_HOST_EVENTS, 0, 0): the VM's host
 * event vector, on the calling vCPU (replacing any vCPU's earlier one; 0
 * turns events off).  The host sends it when something the guest should
 * ask about changed: the balloon target (PVX_HC_BALLOON_STATS), and the
 * service itself (PVX_HC_PROBE): it is the last thing a VM gets before the
 * host stops serving it (detach, unload).  A vector of its own, so that a
 * timer tick never costs a question.
 *
 * When the host stops serving a VM it also sends the notification vector
 * of every vCPU whose timer is armed, early, so that no vCPU sleeps
 * waiting for an expiry that can no longer come.
 *
 * PVX_HC_TIMER_SET(delta_ns, flags, 0, 0): one-shot timer for the calling
 * vCPU, due delta_ns nanoseconds after the host handles the call (host
 * CLOCK_MONOTONIC, which kvmclock follows), never earlier.  Arming again
 * replaces the pending deadline.  With PVX_TIMER_CANCEL (delta_ns 0) the
 * pending timer is cancelled: returns 1 if one was pending, else 0.
 *
 * PVX_HC_TIMER_SET(tsc, PVX_TIMER_TSC_DEADLINE, 0, 0): the deadline is
 * absolute, the value the calling vCPU's TSC reads at the expiry (as
 * IA32_TSC_DEADLINE takes it): the time the call takes to reach the host
 * does not push the expiry later.  A deadline already passed expires at
 * once.  Hosts that take it say so in pvx_probe_info.timer_flags; older
 * ones refuse the flag (-PVX_EINVAL).
 */
#define PVX_VECTOR_HOST_EVENTS	_BITULL(0)
#define PVX_TIMER_CANCEL	_BITULL(0)
#define PVX_TIMER_TSC_DEADLINE	_BITULL(1)

/*
 * PVX_HC_MSR_BATCH(list_gpa, count, 0, 0): WRMSR of each entry in order,
 * through KVM's own MSR write path (the VMM's MSR filter applies).  Stops
 * at the first entry that fails; returns the number of entries written and
 * writes back the entries it processed with their status.
 */
struct pvx_msr_entry {
	__u32 index;		/* in: MSR */
	__s32 status;		/* out: 0, or -PVX_EPERM / -PVX_EINVAL */
	__u64 value;		/* in */
};

/*
 * A range of guest pages, for the services that take lists of them.  At
 * most PVX_RANGE_MAX_PAGES pages per entry.
 */
#define PVX_RANGE_MAX_PAGES	512

struct pvx_gfn_range {
	__u64 gfn;		/* in: first guest frame */
	__u32 npages;		/* in: 1..PVX_RANGE_MAX_PAGES */
	__s32 status;		/* out: 0 or -PVX_E* */
};

/*
 * PVX_HC_PREFAULT_WRITE(list_gpa, count, 0, 0): make every page of each
 * range present and writable now, breaking host copy-on-write (zero page,
 * KSM, fork), and map it writable in the VM's stage-2 tables where that
 * is safe.  Same list and stop-at-first-refusal contract as
 * PVX_HC_MSR_BATCH, with struct pvx_gfn_range entries.
 */

/*
 * PVX_HC_COPY_PAGES(list_gpa, count, 0, 0): copy each source page to its
 * destination page, in list order; destinations are marked dirty for the
 * VMM's dirty log.  Same list and stop-at-first-refusal contract.
 */
struct pvx_copy_entry {
	__u64 src_gfn;
	__u64 dst_gfn;
	__s32 status;		/* out: 0 or -PVX_E* */
	__u32 reserved;		/* zero */
};

/*
 * Split-phase.  PVX_HC_PREFAULT_WRITE and PVX_HC_COPY_PAGES accept
 * flags = PVX_SPLIT in RDX and the gpa of a struct pvx_completion in RSI.
 * The host checks and copies the list, sets the record to
 * PVX_COMPLETION_PENDING and returns -PVX_EINPROGRESS at once; a host
 * worker does the work; then the calling vCPU receives its notification
 * vector (PVX_HC_SET_VECTOR).  The guest then calls PVX_HC_SPLIT_COLLECT
 * on that vCPU, which writes back the list's statuses and each finished
 * request's record (PVX_COMPLETION_DONE, and the result the synchronous
 * call would have returned).  At most PVX_SPLIT_MAX_OUTSTANDING requests
 * per vCPU between submission and collection.
 */
#define PVX_SPLIT		_BITULL(0)
#define PVX_SPLIT_MAX_OUTSTANDING 8

#define PVX_COMPLETION_PENDING	1
#define PVX_COMPLETION_DONE	2

struct pvx_completion {
	__u32 state;		/* PVX_COMPLETION_* */
	__u32 reserved;
	__s64 result;
};

/*
 * PVX_HC_DOORBELL(list_gpa, count, 0, 0): each entry is delivered to KVM's
 * in-kernel I/O bus as if the guest had written @value to @addr, so the
 * VMM's ioeventfds (virtio notify registers, vhost kicks) fire without an
 * exit and an instruction decode per write.  An entry with no in-kernel
 * listener gets PVX_DOORBELL_NO_LISTENER: the guest then does the plain
 * write for it.  Returns the number of entries processed; stops only at an
 * invalid entry.
 */
#define PVX_DOORBELL_MMIO	0
#define PVX_DOORBELL_PIO	1

#define PVX_DOORBELL_DELIVERED	0
#define PVX_DOORBELL_NO_LISTENER 1

struct pvx_doorbell {
	__u64 addr;		/* guest-physical address, or port */
	__u64 value;		/* little-endian, @len bytes of it */
	__u8 space;		/* PVX_DOORBELL_MMIO or _PIO */
	__u8 len;		/* 1, 2, 4 or 8 (8: MMIO only) */
	__u16 reserved0;	/* zero */
	__s32 status;		/* out: PVX_DOORBELL_* or -PVX_EINVAL */
};

/*
 * Balloon.  PVX_HC_BALLOON_INFLATE(list_gpa, count, 0, 0) gives the host
 * the memory of each struct pvx_gfn_range (the host discards it and
 * records the range); PVX_HC_BALLOON_DEFLATE(list_gpa, count, 0, 0) takes
 * ranges back, reading as zero.  Both follow the stop-at-first-refusal
 * list contract.  PVX_HC_BALLOON_STATS(info_gpa, info_size, 0, 0) writes
 * min(info_size, sizeof) bytes of struct pvx_balloon_info.
 */
struct pvx_balloon_info {
	__u64 ballooned_pages;	/* recorded now */
	__u64 limit_pages;	/* at most; 0: no limit but guest RAM */
	__u64 inflated_pages;	/* since attach */
	__u64 deflated_pages;	/* since attach */
	__u64 target_pages;	/* the host asks the guest to hold this many */
};

/* pvx_balloon_info.target_pages until the host has asked for anything. */
#define PVX_BALLOON_NO_TARGET	(~0ULL)

/*
 * IOMMU mappings for the device a VMM passed through to the VM with VFIO.
 * PVX_HC_IOMMU_MAP(list_gpa, count, 0, 0) maps each entry's guest pages at
 * its IOVA for the device; PVX_HC_IOMMU_UNMAP(list_gpa, count, 0, 0) takes
 * mappings away again.  Both follow the stop-at-first-refusal list
 * contract; entries are 16 bytes, so one page holds 256.  An unmap entry
 * covers whole mappings (one or several map entries), as VFIO type1v2
 * requires.  The IOVA window, the permissions and the VFIO container come
 * from the VMM (PVX_IOC_IOMMU_SETUP).
 */
#define PVX_IOMMU_READ		0x1	/* the device may read the pages */
#define PVX_IOMMU_WRITE		0x2	/* the device may write them */

struct pvx_iommu_map {
	__u64 iova;		/* in: page aligned */
	__u32 gfn;		/* in: first guest frame (below 16 TiB) */
	__u16 npages;		/* in: 1..PVX_RANGE_MAX_PAGES */
	__u8 perms;		/* in: PVX_IOMMU_READ | PVX_IOMMU_WRITE */
	__s8 status;		/* out: 0 or -PVX_E* */
};

struct pvx_iommu_unmap {
	__u64 iova;		/* in: page aligned */
	__u32 npages;		/* in: at least 1 */
	__s32 status;		/* out: 0 or -PVX_E* */
};

#endif /* _UAPI_LINUX_PVX_PARA_H */
