/* SPDX-License-Identifier: GPL-2.0 */
/* The C API of pvx_guest for the other guest modules. */
#ifndef PVX_GUEST_H
#define PVX_GUEST_H

#include <linux/types.h>
#include <uapi/linux/pvx_para.h>

struct notifier_block;

long pvx_hypercall(unsigned int nr, unsigned long a0, unsigned long a1,
		   unsigned long a2, unsigned long a3);
/* What the host serves now: 0 while it serves nothing (see below). */
u64 pvx_features(void);
/* Whether host notifications reach this guest (the load-time check). */
bool pvx_notifications_work(void);
/* The most entries the host takes in one batch call now. */
unsigned int pvx_max_list_entries(void);

/*
 * The service can go (detach, host module unload, a host without pvx)
 * and come back (a new attach): pvx_guest re-probes when the host says
 * so, when a call of any pvx driver answers -PVX_ENOSYS, when a driver
 * asks with pvx_service_check() (any context), and on a slow timer while
 * nothing is served.  Drivers hear of each change on this chain, in
 * process context: PVX_SERVICE_DOWN (features are 0 now; every host
 * state is gone) and PVX_SERVICE_UP (data: the u64 features now served;
 * the notification vectors are registered again).  DOWN's data is NULL,
 * or, when another instance serves at once (a new attach; the new host
 * after a live migration), non-NULL: UP follows at once, and what the
 * driver had given the old instance may be kept and given to the new one
 * then (pvx_balloon's pages).
 */
#define PVX_SERVICE_DOWN	1
#define PVX_SERVICE_UP		2
int pvx_register_service_notifier(struct notifier_block *nb);
int pvx_unregister_service_notifier(struct notifier_block *nb);
void pvx_service_check(void);

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
 * pvx_prefault_write(), pvx_copy_pages() and pvx_balloon_batch() call
 * again from an entry the host stopped in (-PVX_EAGAIN: its dirty ring
 * filled up, or the bound on one exit's work was reached), which they
 * leave rewritten to what was left of it: an entry they finally stop in
 * may be done in part.  pvx_prefault_write() may return early, the entry
 * it stopped at holding -PVX_EBUSY, when the VM's prefault budget is
 * spent: the pages then fault in as they are touched.
 */
long pvx_msr_batch(struct pvx_msr_entry *list, unsigned int n);
long pvx_prefault_write(struct pvx_gfn_range *list, unsigned int n);
long pvx_copy_pages(struct pvx_copy_entry *list, unsigned int n);
long pvx_balloon_batch(bool inflate, struct pvx_gfn_range *list,
		       unsigned int n);
long pvx_doorbell(struct pvx_doorbell *list, unsigned int n);

struct pvx_iommu_map;
struct pvx_iommu_unmap;

/* The IOMMU of the device the VMM passed through (PVX_F_IOMMU). */
long pvx_iommu_map(struct pvx_iommu_map *list, unsigned int n);
long pvx_iommu_unmap(struct pvx_iommu_unmap *list, unsigned int n);

/*
 * Split-phase (PVX_F_SPLIT): PVX_HC_COPY_PAGES, _PREFAULT_WRITE or
 * _BALLOON_* of @list, done by the host while this vCPU runs on.
 * pvx_split_submit() returns -PVX_EINPROGRESS, or an error as the
 * synchronous call would; @list and @s (same rules as @list) must stay
 * until pvx_split_wait(), which sleeps until the host has finished and
 * returns what the synchronous call would have (statuses are written back
 * in @list), or -PVX_ECANCELED when the host stopped serving the guest
 * meanwhile (the work may or may not have been done).  The calling CPU's
 * notification collects the result.
 */
struct pvx_split {
	struct pvx_completion c;	/* written by the host */
	unsigned int epoch;		/* pvx_guest's */
};

long pvx_split_submit(unsigned int nr, void *list, unsigned int n,
		      struct pvx_split *s);
long pvx_split_wait(struct pvx_split *s);

/* Give this vCPU's time to @cpu's vCPU if the host preempted it. */
long pvx_yield_to_cpu(unsigned int cpu);

#endif /* PVX_GUEST_H */
