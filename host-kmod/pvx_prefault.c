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
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include "pvx_host.h"

static s32 pvx_prefault_range(struct pvx_call *call,
			      const struct pvx_gfn_range *r)
{
	u64 gfn;
	long ret;

	if (!r->npages || r->gfn + r->npages <= r->gfn)
		return -PVX_EINVAL;
	if (r->npages > PVX_RANGE_MAX_PAGES)
		return -PVX_E2BIG;

	for (gfn = r->gfn; gfn < r->gfn + r->npages; gfn++) {
		ret = pvx_compat_prefault_write(call->vcpu, gfn);
		if (ret)
			return ret;
		cond_resched();
	}
	return 0;
}

static long pvx_prefault_write(struct pvx_call *call)
{
	u64 gpa = call->args[0];
	u32 count = call->args[1], done;
	struct pvx_gfn_range *list;
	long ret;

	if (call->args[1] > U32_MAX || call->args[2] || call->args[3])
		return -PVX_EINVAL;

	list = kmalloc(PVX_LIST_MAX_BYTES, GFP_KERNEL_ACCOUNT);
	if (!list)
		return -PVX_EAGAIN;
	ret = pvx_list_copy_in(pvx_guest_list_read, call, gpa, count,
			       sizeof(*list), call->vm->max_list_entries, list);
	if (ret)
		goto out;

	for (done = 0; done < count; done++) {
		/* A dying VMM stops here; the guest resubmits the rest. */
		if (fatal_signal_pending(current))
			break;
		list[done].status = pvx_prefault_range(call, &list[done]);
		if (list[done].status)
			break;
	}

	ret = done;
	if (done < count && list[done].status)
		done++;
	if (done && pvx_guest_write(call, gpa, list, done * sizeof(*list)))
		ret = -PVX_EFAULT;
out:
	kfree(list);
	return ret;
}

const struct pvx_service pvx_svc_prefault_write = {
	.name = "prefault_write",
	.nr = PVX_HC_PREFAULT_WRITE,
	.feature = PVX_F_PREFAULT,
	.handler = pvx_prefault_write,
};
