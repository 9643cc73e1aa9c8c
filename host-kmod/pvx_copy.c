// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_COPY_PAGES: bulk page copy, e.g. for fork in the guest.
 *
 * Copying N pages inside the guest touches 2N pages through its own page
 * tables, and every destination page not yet writable in stage 2 costs an
 * exit.  The host copies guest-physical to guest-physical for one exit per
 * batch (or none, split-phase), and the destinations are marked dirty as a
 * guest write would mark them.
 *
 * The copy runs on the CPU.  No DMA_MEMCPY engine is used yet: the testbed
 * has none to prove that path on.
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include "pvx_host.h"

static void pvx_copy_run(struct pvx_batch *b)
{
	struct pvx_copy_entry *list = b->list;

	for (b->done = 0; b->done < b->count; b->done++) {
		struct pvx_copy_entry *e = &list[b->done];

		/* A dying VMM stops here; the guest resubmits the rest. */
		if (fatal_signal_pending(current))
			break;
		if (e->reserved)
			e->status = -PVX_EINVAL;
		else
			e->status = pvx_compat_copy_page(b->kvm, b->vcpu,
							 e->src_gfn, e->dst_gfn,
							 b->scratch);
		if (e->status) {
			b->processed = b->done + 1;
			return;
		}
		cond_resched();
	}
	b->processed = b->done;
}

static void pvx_copy_mark_dirty(struct kvm_vcpu *vcpu, const void *list,
				u32 done)
{
	const struct pvx_copy_entry *e = list;
	u32 i;

	for (i = 0; i < done; i++)
		pvx_compat_mark_dirty(vcpu, e[i].dst_gfn);
}

static const struct pvx_split_ops pvx_copy_ops = {
	.entry_size = sizeof(struct pvx_copy_entry),
	.run = pvx_copy_run,
	.mark_dirty = pvx_copy_mark_dirty,
};

static long pvx_copy_pages(struct pvx_call *call)
{
	return pvx_batch_call(call, &pvx_copy_ops);
}

const struct pvx_service pvx_svc_copy_pages = {
	.name = "copy_pages",
	.nr = PVX_HC_COPY_PAGES,
	.feature = PVX_F_COPY_PAGES,
	.handler = pvx_copy_pages,
};
