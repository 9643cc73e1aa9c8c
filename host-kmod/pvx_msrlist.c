// SPDX-License-Identifier: GPL-2.0
/*
 * The MSR allowlist of PVX_HC_MSR_BATCH: a few ranges per VM, checked
 * before KVM's own WRMSR path and the VMM's MSR filter.  Pure logic, so
 * that KUnit can check the range arithmetic (pvx_msrlist_test.c).
 */
#include <linux/slab.h>
#include <linux/string.h>
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
