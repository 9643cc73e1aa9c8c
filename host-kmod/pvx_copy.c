// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_COPY_PAGES: bulk page copy, e.g. for fork in the guest.
 *
 * Copying N pages inside the guest touches 2N pages through its own page
 * tables, and every destination page not yet writable in stage 2 costs an
 * exit.  The host copies guest-physical to guest-physical for one exit per
 * batch, and marks the destinations dirty as a guest write would.
 *
 * The copy runs on the CPU, in the vCPU's context, where KVM lets guest
 * writes be marked dirty.  No DMA_MEMCPY engine is used yet: the testbed
 * has none to prove that path on.
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include "pvx_host.h"

static long pvx_copy_pages(struct pvx_call *call)
{
	u64 gpa = call->args[0];
	u32 count = call->args[1], done;
	struct pvx_copy_entry *list;
	void *bounce;
	long ret;

	if (call->args[1] > U32_MAX || call->args[2] || call->args[3])
		return -PVX_EINVAL;

	list = kmalloc(PVX_LIST_MAX_BYTES, GFP_KERNEL_ACCOUNT);
	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (!list || !bounce) {
		ret = -PVX_EAGAIN;
		goto out;
	}
	ret = pvx_list_copy_in(pvx_guest_list_read, call, gpa, count,
			       sizeof(*list), call->vm->max_list_entries, list);
	if (ret)
		goto out;

	for (done = 0; done < count; done++) {
		struct pvx_copy_entry *e = &list[done];

		if (fatal_signal_pending(current))
			break;
		if (e->reserved)
			e->status = -PVX_EINVAL;
		else
			e->status = pvx_compat_copy_page(call->vcpu, e->src_gfn,
							 e->dst_gfn, bounce);
		if (e->status)
			break;
		cond_resched();
	}

	ret = done;
	if (done < count && list[done].status)
		done++;
	if (done && pvx_guest_write(call, gpa, list, done * sizeof(*list)))
		ret = -PVX_EFAULT;
out:
	kfree(bounce);
	kfree(list);
	return ret;
}

const struct pvx_service pvx_svc_copy_pages = {
	.name = "copy_pages",
	.nr = PVX_HC_COPY_PAGES,
	.feature = PVX_F_COPY_PAGES,
	.handler = pvx_copy_pages,
};
