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

/* Default allowlist: MSRs that guests rewrite in bursts. */
static const struct pvx_msr_range pvx_msr_defaults[] = {
	{ 0x000000c1, 8 },	/* IA32_PMCx */
	{ 0x00000186, 8 },	/* IA32_PERFEVTSELx */
	{ 0x00000277, 1 },	/* IA32_PAT */
	{ 0x00000309, 3 },	/* IA32_FIXED_CTRx */
	{ 0x0000038d, 4 },	/* IA32_FIXED_CTR_CTRL, PERF_GLOBAL_* */
	{ 0x00000800, 256 },	/* x2APIC */
	{ 0x4b564d00, 256 },	/* KVM paravirt */
	{ 0xc0000081, 4 },	/* STAR, LSTAR, CSTAR, SFMASK */
	{ 0xc0000100, 4 },	/* FS_BASE, GS_BASE, KERNEL_GS_BASE, TSC_AUX */
	{ 0xc0010000, 8 },	/* AMD PERF_CTL/PERF_CTR 0-3 */
	{ 0xc0010200, 12 },	/* AMD PERF_CTL/PERF_CTR 0-5 (core ext.) */
};

struct pvx_msr_allow *pvx_msr_allow_default(void)
{
	struct pvx_msr_allow *allow;

	BUILD_BUG_ON(ARRAY_SIZE(pvx_msr_defaults) > PVX_MSR_RANGES_MAX);
	allow = kzalloc(sizeof(*allow), GFP_KERNEL_ACCOUNT);
	if (!allow)
		return NULL;
	allow->nr_ranges = ARRAY_SIZE(pvx_msr_defaults);
	memcpy(allow->ranges, pvx_msr_defaults, sizeof(pvx_msr_defaults));
	return allow;
}

bool pvx_msr_allowed(const struct pvx_msr_allow *allow, u32 index)
{
	unsigned int i;

	for (i = 0; i < allow->nr_ranges; i++)
		if (index - allow->ranges[i].base < allow->ranges[i].count)
			return true;
	return false;
}

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
