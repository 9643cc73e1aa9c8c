/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvxctl's view of the /dev/pvx ioctls.  pvxdev.c is the only file that
 * knows the layout of their argument structures: the rest of pvxctl works
 * on the structures below, so a change of the ioctl ABI (new fields, record
 * sizes, authorization) is a change of pvxdev.c alone.
 *
 * Every function returns 0 or a negative errno.
 */
#ifndef PVXCTL_PVXDEV_H
#define PVXCTL_PVXDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/pvx.h>

#define PVXDEV_NAME_SIZE	64

struct pvxdev_hc {
	uint64_t calls;
	uint64_t errors;
};

/* One attached VM, as PVX_IOC_STATS reported it. */
struct pvxdev_vm {
	uint64_t vm_id;
	uint64_t features;
	char kvm_name[PVXDEV_NAME_SIZE];	/* KVM's "kvm-<pid>", terminated */
	uint32_t max_list_entries;
	struct pvxdev_hc hc[PVX_HC_COUNT];	/* by nr - PVX_HC_BASE */
	uint64_t yield[PVX_YIELD_NR_RESULTS];	/* by PVX_YIELD_* */
	uint64_t timers_fired;
	uint64_t balloon_pages;
	bool has_balloon_target;
	uint64_t balloon_target;
	uint64_t iommu_pages;
	uint64_t guest_resets;
	uint64_t split_inflight;
	uint64_t prefault_limited;	/* PREFAULT_WRITE calls over the budget */
	/* LOCK_WAIT calls: all, boosted, refused, no candidate; candidates
	 * passed over: count zero, count unreadable.
	 */
	uint64_t lock_waits, lock_boosts, lock_refused, lock_none;
	uint64_t lock_zero_count, lock_unreadable;
};

struct pvxdev_stats {
	unsigned int nr_vms;
	uint64_t live_vms;
	/*
	 * The sizes of the header and of one VM record: as pvx_host reported
	 * them (sizes_from_module), else the ones this pvxctl was built with.
	 */
	size_t header_size;
	size_t record_size;
	bool sizes_from_module;
	struct pvxdev_vm *vms;		/* nr_vms of them, malloc()ed */
};

/* The sizes this pvxctl was built with, for --version and JSON. */
size_t pvxdev_stats_header_size(void);
size_t pvxdev_stats_record_size(void);

int pvxdev_get_features(int dev, uint64_t *features);
int pvxdev_attach(int dev, int vm_fd, uint64_t features,
		  uint32_t max_list_entries, uint64_t *vm_id);
int pvxdev_detach_fd(int dev, int vm_fd);
int pvxdev_detach_id(int dev, uint64_t vm_id);
int pvxdev_read_stats(int dev, struct pvxdev_stats *st);
void pvxdev_free_stats(struct pvxdev_stats *st);
int pvxdev_set_balloon_target(int dev, uint64_t vm_id, uint64_t target_pages,
			      bool *notified);

#endif
