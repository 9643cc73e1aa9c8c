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
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include "pvx_host.h"

static s32 pvx_prefault_range(struct pvx_batch *b, struct pvx_gfn_range *r)
{
	u32 i, n;
	long ret;

	if (!r->npages || r->gfn + r->npages <= r->gfn)
		return -PVX_EINVAL;
	if (r->npages > PVX_RANGE_MAX_PAGES)
		return -PVX_E2BIG;

	/* Counted as marked even when the page was writable already. */
	n = pvx_dirty_take(&b->dirty_budget, r->npages);
	for (i = 0; i < n; i++) {
		ret = pvx_compat_prefault_write(b->kvm, b->vcpu, r->gfn + i);
		if (ret)
			return ret;
		cond_resched();
	}
	if (n < r->npages) {
		/* The entry goes back as what is left of it. */
		r->gfn += n;
		r->npages -= n;
		return -PVX_EAGAIN;
	}
	return 0;
}

static void pvx_prefault_run(struct pvx_batch *b)
{
	struct pvx_gfn_range *list = b->list;

	for (b->done = 0; b->done < b->count; b->done++) {
		/* A dying VMM stops here; the guest resubmits the rest. */
		if (fatal_signal_pending(current))
			break;
		list[b->done].status = pvx_prefault_range(b, &list[b->done]);
		if (list[b->done].status) {
			b->processed = b->done + 1;
			return;
		}
	}
	b->processed = b->done;
}

/* Nothing to mark dirty: breaking a sharing does not change the data. */
static const struct pvx_split_ops pvx_prefault_ops = {
	.entry_size = sizeof(struct pvx_gfn_range),
	.run = pvx_prefault_run,
};

const struct pvx_service_ops pvx_svc_prefault_write = {
	.batch = &pvx_prefault_ops,
};
