// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_PREFAULT_WRITE: one-shot copy-on-write.
 *
 * A guest page that is first read and then written costs two exits when
 * its host page is not yet private and writable (the zero page, a KSM
 * page, a page shared with a forked VMM): one to map it read-only, one to
 * break the sharing.  A guest that knows it is about to write a range
 * (zeroing, fork in the guest, a copy target) asks for all of it at once:
 * the host breaks the sharing and maps the pages writable now.
 * Split-phase, only the sharing is broken: stage 2 is a vCPU's business.
 *
 * A page mapped writable in stage 2 in a dirty-logged memslot is marked
 * dirty then (the guest's writes to it no longer fault): one entry of the
 * vCPU's dirty ring each, so a call stops when the ring is nearly full,
 * inside a range if need be.
 *
 * One exit is bounded, since it holds kvm->srcu (which memslot updates
 * wait for) and keeps the VMM from its signals: at most
 * prefault_max_pages pages, and less when a signal is pending for the
 * vCPU thread.  A call stops the same way as at a full dirty ring, and
 * the guest resumes from there.  Each call does at least one page (when
 * the ring has room), so that resuming always gets on; the signal is
 * then KVM's, between the exit and the next entry.  The CPU is given up
 * between pages when another task wants it, as before: the bound keeps
 * that short, and stopping for it would make the call's length depend
 * on the host's load.  The calls of a VM are budgeted too (prefault_rate_hz), as
 * its yields are; a call past the budget is dropped, which costs the
 * guest nothing but the faults the hint would have saved.
 */
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include "pvx_host.h"

static unsigned int prefault_max_pages = PVX_RANGE_MAX_PAGES;
module_param(prefault_max_pages, uint, 0644);
MODULE_PARM_DESC(prefault_max_pages,
		 "Pages one PREFAULT_WRITE call prefaults, at most (0: 1)");

static unsigned int prefault_rate_hz = 1000;
module_param(prefault_rate_hz, uint, 0644);
MODULE_PARM_DESC(prefault_rate_hz,
		 "PREFAULT_WRITE calls per second and VM, at most (0: no limit)");

/* Whether a call stops before its next page, other than at a bound. */
static bool pvx_prefault_stop(struct pvx_batch *b)
{
	cond_resched();
	/* A worker takes no signals: only a vCPU's exit stops for them. */
	return b->vcpu && signal_pending(current);
}

/*
 * Prefaults what @pages (the call's budget left) and the dirty ring allow
 * of @r; -EAGAIN leaves @r rewritten to what is left of it.  @first:
 * the call's first entry, whose first page is always done.
 */
static s32 pvx_prefault_range(struct pvx_batch *b, struct pvx_gfn_range *r,
			      u32 *pages, bool first)
{
	u32 i, n;
	long ret;

	if (!r->npages || r->gfn + r->npages <= r->gfn)
		return -EINVAL;
	if (r->npages > PVX_RANGE_MAX_PAGES)
		return -E2BIG;

	/* Counted as marked even when the page was writable already. */
	n = pvx_dirty_take(&b->dirty_budget, min(r->npages, *pages));
	for (i = 0; i < n; i++) {
		if ((i || !first) && pvx_prefault_stop(b))
			break;
		ret = pvx_compat_prefault_write(b->kvm, b->vcpu, r->gfn + i);
		if (ret)
			return ret;
		(*pages)--;
	}
	if (i < r->npages) {
		/* The entry goes back as what is left of it. */
		r->gfn += i;
		r->npages -= i;
		return -EAGAIN;
	}
	return 0;
}

static void pvx_prefault_run(struct pvx_batch *b)
{
	u32 pages = max(READ_ONCE(prefault_max_pages), 1U);
	struct pvx_gfn_range *list = b->list;

	b->done = 0;
	if (b->count && !pvx_rate_take(&b->vm->prefault_rate,
				       READ_ONCE(prefault_rate_hz))) {
		atomic64_inc(&b->vm->prefault_limited);
		list[0].status = -EBUSY;
		b->processed = 1;
		return;
	}
	for (; b->done < b->count; b->done++) {
		/* A dying VMM stops here; the guest resubmits the rest. */
		if (fatal_signal_pending(current))
			break;
		list[b->done].status = pvx_prefault_range(b, &list[b->done],
							  &pages, !b->done);
		if (list[b->done].status) {
			b->processed = b->done + 1;
			return;
		}
	}
	b->processed = b->done;
}

/* Nothing to mark dirty: breaking a sharing does not change the data. */
static const struct pvx_split_ops pvx_prefault_ops = {
	PVX_LIST_ENTRY(struct pvx_gfn_range, status),
	.run = pvx_prefault_run,
};

const struct pvx_service_ops pvx_svc_prefault_write = {
	.batch = &pvx_prefault_ops,
};
