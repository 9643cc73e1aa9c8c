/* SPDX-License-Identifier: GPL-2.0 */
/* The C API of pvx_guest for the other guest modules. */
#ifndef PVX_GUEST_H
#define PVX_GUEST_H

#include <linux/types.h>

struct notifier_block;

long pvx_hypercall(unsigned int nr, unsigned long a0, unsigned long a1,
		   unsigned long a2, unsigned long a3);
u64 pvx_features(void);

/* Called in hard interrupt context on the notified CPU. */
int pvx_register_notifier(struct notifier_block *nb);
int pvx_unregister_notifier(struct notifier_block *nb);

/*
 * Host events (today: a new balloon target), in hard interrupt context;
 * the notifier asks the host what changed.
 */
int pvx_register_event_notifier(struct notifier_block *nb);
int pvx_unregister_event_notifier(struct notifier_block *nb);

/* The calling CPU's one-shot timer (PVX_F_TIMER). */
long pvx_timer_arm(u64 delta_ns);
long pvx_timer_cancel(void);

struct pvx_msr_entry;
struct pvx_gfn_range;
struct pvx_copy_entry;
struct pvx_doorbell;

/*
 * Batch calls.  @list must be physically contiguous, 8-byte aligned and
 * within one page (kmalloc'ed memory of at most a page is); they return
 * what the hypercall returns: entries completed, or -PVX_E*.
 */
long pvx_msr_batch(struct pvx_msr_entry *list, unsigned int n);
long pvx_prefault_write(struct pvx_gfn_range *list, unsigned int n);
long pvx_copy_pages(struct pvx_copy_entry *list, unsigned int n);
long pvx_doorbell(struct pvx_doorbell *list, unsigned int n);

struct pvx_iommu_map;
struct pvx_iommu_unmap;
struct pvx_completion;

/* The IOMMU of the device the VMM passed through (PVX_F_IOMMU). */
long pvx_iommu_map(struct pvx_iommu_map *list, unsigned int n);
long pvx_iommu_unmap(struct pvx_iommu_unmap *list, unsigned int n);

/*
 * Split-phase (PVX_F_SPLIT): PVX_HC_COPY_PAGES, _PREFAULT_WRITE or
 * _BALLOON_* of @list, done by the host while this vCPU runs on.
 * pvx_split_submit() returns -PVX_EINPROGRESS, or an error as the
 * synchronous call would; @list and @c (same rules as @list) must stay
 * until pvx_split_wait(), which sleeps until the host has finished and
 * returns what the synchronous call would have (statuses are written back
 * in @list).  The calling CPU's notification collects the result.
 */
long pvx_split_submit(unsigned int nr, void *list, unsigned int n,
		      struct pvx_completion *c);
long pvx_split_wait(struct pvx_completion *c);

/* Give this vCPU's time to @cpu's vCPU if the host preempted it. */
long pvx_yield_to_cpu(unsigned int cpu);

#endif /* PVX_GUEST_H */
