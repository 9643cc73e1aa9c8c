/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pvx: paravirtual hypercall services for KVM guests.
 *
 * Two ABIs live here:
 *  - the guest ABI: hypercall numbers, argument conventions, results and
 *    the structures a guest shares with the host by guest-physical address;
 *  - the VMM ABI: ioctls on /dev/pvx that attach a KVM VM to pvx.
 *
 * Documentation/hypercalls.rst is the reference for every hypercall.
 */
#ifndef _UAPI_LINUX_PVX_H
#define _UAPI_LINUX_PVX_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Guest ABI.
 *
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
#define PVX_HC_PROBE		(PVX_HC_BASE + 0)
#define PVX_HC_YIELD_TO		(PVX_HC_BASE + 1)
#define PVX_HC_SET_VECTOR	(PVX_HC_BASE + 2)
#define PVX_HC_TIMER_SET	(PVX_HC_BASE + 3)
#define PVX_HC_MSR_BATCH	(PVX_HC_BASE + 4)
#define PVX_HC_PREFAULT_WRITE	(PVX_HC_BASE + 5)
#define PVX_HC_COPY_PAGES	(PVX_HC_BASE + 6)
#define PVX_HC_SPLIT_COLLECT	(PVX_HC_BASE + 7)
#define PVX_HC_DOORBELL		(PVX_HC_BASE + 8)
#define PVX_HC_BALLOON_INFLATE	(PVX_HC_BASE + 9)
#define PVX_HC_BALLOON_DEFLATE	(PVX_HC_BASE + 10)
#define PVX_HC_BALLOON_STATS	(PVX_HC_BASE + 11)
#define PVX_HC_IOMMU_MAP	(PVX_HC_BASE + 12)
#define PVX_HC_IOMMU_UNMAP	(PVX_HC_BASE + 13)

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
#define PVX_FEATURES_ALL	(PVX_F_YIELD_TO | PVX_F_TIMER | \
				 PVX_F_MSR_BATCH | PVX_F_PREFAULT | \
				 PVX_F_COPY_PAGES | PVX_F_SPLIT | \
				 PVX_F_DOORBELL | PVX_F_BALLOON | \
				 PVX_F_IOMMU)

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
	__u64 reserved[3];	/* zero */
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
 */
#define PVX_VECTOR_HOST_EVENTS	_BITULL(0)
#define PVX_TIMER_CANCEL	_BITULL(0)

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
 * VMM ABI: ioctls on /dev/pvx.
 */
#define PVX_IOCTL_TYPE		0xB9

/* Attach a KVM VM, given by a VM file descriptor, to pvx. */
struct pvx_attach {
	__s32 vm_fd;		/* in: an open KVM VM fd (KVM_CREATE_VM) */
	__u32 flags;		/* in: zero */
	__u64 features;		/* in: PVX_F_* to enable */
	__u32 max_list_entries;	/* in: 0 = default; at most a page's worth */
	__u32 reserved0;	/* in: zero */
	__u64 vm_id;		/* out: pvx's id for this VM */
	__u64 reserved[6];	/* in: zero */
};

#define PVX_DETACH_BY_ID	_BITULL(0)

/* Detach by VM fd, or by vm_id with PVX_DETACH_BY_ID. */
struct pvx_detach {
	__s32 vm_fd;
	__u32 reserved0;	/* zero */
	__u64 flags;		/* PVX_DETACH_* */
	__u64 vm_id;
	__u64 reserved[2];	/* zero */
};

/* Counters of one hypercall number, indexed by nr - PVX_HC_BASE. */
struct pvx_hc_counters {
	__u64 calls;		/* calls handled by pvx */
	__u64 errors;		/* of those, calls that returned an error */
};

#define PVX_STATS_NAME_SIZE	48

struct pvx_vm_stats {
	__u64 vm_id;
	__u64 features;
	char kvm_stats_id[PVX_STATS_NAME_SIZE];	/* KVM's name, "kvm-<pid>" */
	__u32 max_list_entries;
	__u32 iommu_max_mappings;	/* PVX_IOC_IOMMU_SETUP's cap */
	__u64 guest_resets;	/* resets of the guest seen (KVM_SET_LAPIC of its boot vCPU) */
	__u64 iommu_mappings;	/* map entries in force now */
	__u64 prefault_limited;	/* PVX_HC_PREFAULT_WRITE calls refused: prefault_rate_hz */
	struct pvx_hc_counters hc[PVX_HC_COUNT];
	/* PVX_HC_YIELD_TO calls by result, indexed by PVX_YIELD_*. */
	__u64 yield[PVX_YIELD_NR_RESULTS];
	__u64 timers_fired;	/* PVX_HC_TIMER_SET interrupts delivered */
	__u64 balloon_pages;	/* ballooned now */
	__u64 balloon_target;	/* PVX_IOC_SET_BALLOON_TARGET, or PVX_BALLOON_NO_TARGET */
	__u64 iommu_pages;	/* mapped for the VM's device now (PVX_HC_IOMMU_MAP) */
};

/*
 * Read the attached VMs' counters.  The host fills up to nr_vms records at
 * buf and sets nr_vms to the number of attached VMs, which may be more.
 */
struct pvx_stats {
	__u64 buf;		/* in: user address of struct pvx_vm_stats[] */
	__u32 nr_vms;		/* in: room at buf; out: attached VMs */
	__u32 flags;		/* in: zero */
	__u64 live_vms;		/* out: VM states alive, attached or not yet freed */
	__u64 reserved[5];	/* zero */
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
 * The host's balloon target for an attached VM: recorded, readable by the
 * guest with PVX_HC_BALLOON_STATS, and announced on the VM's host event
 * vector (PVX_VECTOR_HOST_EVENTS) when the guest registered one.  The
 * guest's balloon driver then inflates or deflates to it.
 */
struct pvx_balloon_target {
	__u64 vm_id;		/* in: from PVX_IOC_ATTACH */
	__u64 target_pages;	/* in: at most the limit and the VM's RAM */
	__u32 flags;		/* in: zero */
	__u32 notified;		/* out: 1 if the guest was sent an event */
	__u64 reserved[2];	/* in: zero */
};

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

/*
 * The VMM gives pvx its VFIO container (VFIO_TYPE1v2_IOMMU set, the
 * device's group in it) and the IOVA window and permissions the guest may
 * use.  pvx maps and unmaps through the container, as the VMM would: VFIO
 * pins, accounts (locked_vm) and flushes.  Issued by the VMM itself (the
 * process whose memory backs the VM), once per attach.  The window is
 * pvx's: the VMM must not map into it itself.
 *
 * The guest's share of the container and of the VMM's locked_vm is capped:
 * at most @max_mappings map entries and @max_pages pages in force at once
 * (a map entry past either gets -PVX_ENOSPC).  0 takes the default:
 * PVX_IOMMU_DEFAULT_MAPPINGS, and the VM's writable RAM at the time of
 * each call (so that a guest may map each of its pages once).
 */
#define PVX_IOMMU_DEFAULT_MAPPINGS	4096

struct pvx_iommu_setup {
	__u64 vm_id;		/* in: from PVX_IOC_ATTACH */
	__s32 container_fd;	/* in: /dev/vfio/vfio, IOMMU set */
	__u32 perms;		/* in: PVX_IOMMU_* the guest may ask for */
	__u64 iova_base;	/* in: page aligned */
	__u64 iova_size;	/* in: page multiple, not zero */
	__u32 flags;		/* in: zero */
	__u32 max_mappings;	/* in: 0 = default */
	__u64 max_pages;	/* in: 0 = default */
	__u64 reserved[3];	/* in: zero */
};

/*
 * Which MSRs a VM may write with PVX_HC_MSR_BATCH: up to
 * PVX_MSR_RANGES_MAX ranges, replacing the default list set at attach.
 */
#define PVX_MSR_RANGES_MAX	16

struct pvx_msr_range {
	__u32 base;
	__u32 count;		/* at least 1 */
};

struct pvx_msr_allowlist {
	__u64 vm_id;		/* from PVX_IOC_ATTACH */
	__u32 nr_ranges;	/* 0 allows nothing */
	__u32 flags;		/* zero */
	__u64 reserved[2];	/* zero */
	struct pvx_msr_range ranges[PVX_MSR_RANGES_MAX];
};

/* The PVX_F_* features this host offers. */
#define PVX_IOC_GET_FEATURES	_IOR(PVX_IOCTL_TYPE, 0x00, __u64)
#define PVX_IOC_ATTACH		_IOWR(PVX_IOCTL_TYPE, 0x01, struct pvx_attach)
#define PVX_IOC_DETACH		_IOW(PVX_IOCTL_TYPE, 0x02, struct pvx_detach)
#define PVX_IOC_STATS		_IOWR(PVX_IOCTL_TYPE, 0x03, struct pvx_stats)
#define PVX_IOC_SET_MSR_ALLOWLIST \
	_IOW(PVX_IOCTL_TYPE, 0x04, struct pvx_msr_allowlist)
#define PVX_IOC_SET_BALLOON_TARGET \
	_IOWR(PVX_IOCTL_TYPE, 0x05, struct pvx_balloon_target)
#define PVX_IOC_IOMMU_SETUP	_IOW(PVX_IOCTL_TYPE, 0x06, struct pvx_iommu_setup)

#endif /* _UAPI_LINUX_PVX_H */
