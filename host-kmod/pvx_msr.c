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
#include "pvx_host.h"

static void pvx_msr_run(struct pvx_batch *b)
{
	const struct pvx_msr_allow *allow = pvx_vm_msr_allow(b->vm);
	struct pvx_msr_entry *list = b->list;

	for (b->done = 0; b->done < b->count; b->done++) {
		struct pvx_msr_entry *e = &list[b->done];

		if (!pvx_msr_allowed(allow, e->index))
			e->status = -EPERM;
		else
			e->status = pvx_compat_set_msr(b->vcpu, e->index,
						       e->value);
		if (e->status) {
			b->processed = b->done + 1;
			return;
		}
	}
	b->processed = b->done;
}

static const struct pvx_split_ops pvx_msr_ops = {
	PVX_LIST_ENTRY(struct pvx_msr_entry, status),
	.vcpu_only = true,
	.run = pvx_msr_run,
};

const struct pvx_service_ops pvx_svc_msr_batch = {
	.batch = &pvx_msr_ops,
};
