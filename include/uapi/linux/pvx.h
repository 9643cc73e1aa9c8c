/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pvx: the VMM ABI of pvx's paravirtual hypercall services for KVM
 * guests: ioctls on /dev/pvx that attach a KVM VM to pvx, set up its
 * services and read its counters.  The guest ABI, which these speak of
 * (features, hypercall numbers), is <linux/pvx_para.h>.
 *
 * Documentation/hypercalls.rst is the reference for every hypercall.
 */
#ifndef _UAPI_LINUX_PVX_H
#define _UAPI_LINUX_PVX_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/pvx_para.h>

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
	__u64 split_inflight;	/* split-phase requests in a host worker now */
	struct pvx_hc_counters hc[PVX_HC_COUNT];
	/* PVX_HC_YIELD_TO calls by result, indexed by PVX_YIELD_*. */
	__u64 yield[PVX_YIELD_NR_RESULTS];
	__u64 timers_fired;	/* PVX_HC_TIMER_SET interrupts delivered */
	__u64 balloon_pages;	/* ballooned now */
	__u64 balloon_target;	/* PVX_IOC_SET_BALLOON_TARGET, or PVX_BALLOON_NO_TARGET */
	__u64 iommu_pages;	/* mapped for the VM's device now (PVX_HC_IOMMU_MAP) */
	/* Revision 2 (struct pvx_stats.record_size): */
	__u64 prefault_limited;	/* PVX_HC_PREFAULT_WRITE calls refused: prefault_rate_hz */
	/* Revision 3: PVX_HC_LOCK_WAIT. */
	__u64 lock_waits;	/* calls */
	__u64 lock_boosts;	/* ... that boosted a vCPU */
	__u64 lock_refused;	/* ... rate limited, or that found one declined */
	__u64 lock_none;	/* ... that found no candidate */
	__u64 lock_zero_count;	/* preempted vCPUs passed over: count zero */
	__u64 lock_unreadable;	/* preempted vCPUs passed over: count unreadable */
};

/* struct pvx_vm_stats up to iommu_pages: what record_size 0 asks for. */
#define PVX_VM_STATS_SIZE_V1	1184

/*
 * Read the attached VMs' counters.  The host fills up to nr_vms records at
 * buf and sets nr_vms to the number of attached VMs, which may be more.
 * Records are record_size bytes apart, as the caller says; the host writes
 * as much of each as both know and zeroes the rest, so that struct
 * pvx_vm_stats can grow at its end (as KVM's binary stats carry their
 * sizes) and old and new callers and hosts each get what they expect.
 */
struct pvx_stats {
	__u64 buf;		/* in: user address of struct pvx_vm_stats[] */
	__u32 nr_vms;		/* in: room at buf; out: attached VMs */
	__u32 flags;		/* in: zero */
	__u64 live_vms;		/* out: VM states alive, attached or not yet freed */
	__u32 record_size;	/* in: bytes per record at buf, a multiple of 8,
				 * at least PVX_VM_STATS_SIZE_V1 (0: that);
				 * out: the host's sizeof(struct pvx_vm_stats)
				 */
	__u32 reserved32;	/* zero */
	__u64 reserved[4];	/* zero */
};

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
