// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_PROBE: lets a guest tell pvx from "no pvx" (-KVM_ENOSYS) and from
 * a host that gives the number another meaning (no signature), and learn
 * what this VM may use.
 */
#include <linux/minmax.h>
#include "pvx_host.h"

static long pvx_probe(struct pvx_call *call)
{
	struct pvx_probe_info info = {
		.signature = PVX_SIGNATURE,
		.abi_version = PVX_ABI_VERSION,
		.features = call->vm->features,
		.hc_base = PVX_HC_BASE,
		.hc_count = PVX_HC_COUNT,
		.max_list_entries = call->vm->max_list_entries,
		.info_size = sizeof(info),
		.instance = READ_ONCE(call->vm->instance),
		.timer_flags = call->vm->features & PVX_F_TIMER ?
			       PVX_TIMER_FLAGS : 0,
	};
	u64 gpa = call->args[0];
	size_t len = min_t(unsigned long, call->args[1], sizeof(info));

	if (call->args[2] || call->args[3])
		return -EINVAL;
	/* Without an address the size means nothing, so it must be 0. */
	if (!gpa && call->args[1])
		return -EINVAL;

	if (gpa && len && pvx_guest_write(call, gpa, &info, len))
		return -EFAULT;

	return PVX_SIGNATURE;
}

const struct pvx_service_ops pvx_svc_probe = {
	.handler = pvx_probe,
};
