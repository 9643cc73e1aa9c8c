// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_MSR_BATCH: many WRMSRs for one exit.
 *
 * A guest reprogramming a set of MSRs (PMU counters at a context switch,
 * x2APIC registers) pays an exit per intercepted WRMSR.  Here it passes a
 * list; each entry goes through KVM's own guest WRMSR path, the VMM's MSR
 * filter included, so nothing is allowed that a WRMSR would not be.  On top
 * of that the VM may only touch the MSRs on its allowlist.
 */
#include <linux/slab.h>
#include "pvx_host.h"

static long pvx_msr_batch(struct pvx_call *call)
{
	const struct pvx_msr_allow *allow = pvx_vm_msr_allow(call->vm);
	u64 gpa = call->args[0];
	u32 count = call->args[1], done;
	struct pvx_msr_entry *list;
	size_t processed;
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
		struct pvx_msr_entry *e = &list[done];

		if (!pvx_msr_allowed(allow, e->index))
			e->status = -PVX_EPERM;
		else
			e->status = pvx_compat_set_msr(call->vcpu, e->index,
						       e->value);
		if (e->status)
			break;
	}

	/* The written entries and the one that stopped the batch. */
	processed = min(done + 1, count) * sizeof(*list);
	ret = pvx_guest_write(call, gpa, list, processed) ? -PVX_EFAULT : done;
out:
	kfree(list);
	return ret;
}

const struct pvx_service pvx_svc_msr_batch = {
	.name = "msr_batch",
	.nr = PVX_HC_MSR_BATCH,
	.feature = PVX_F_MSR_BATCH,
	.handler = pvx_msr_batch,
};
