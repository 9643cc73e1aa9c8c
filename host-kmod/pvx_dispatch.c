// SPDX-License-Identifier: GPL-2.0
/*
 * The hypercall dispatch table: one slot per pvx number, filled by the
 * services at load.  Like kvmtool's spapr_hcall table it refuses a second
 * registration of a number; like KVM's __kvm_emulate_hypercall it gates
 * every call on the VM's features in one place.  A batch hypercall's
 * service gives only its list ops, and dispatch calls pvx_batch_call()
 * for it: every list is checked, copied in and written back the same way.
 */
#include <linux/bitops.h>
#include <linux/errno.h>
#include "pvx_host.h"

bool pvx_nr_in_range(unsigned long nr)
{
	return nr >= PVX_HC_BASE && nr - PVX_HC_BASE < PVX_HC_COUNT;
}

int pvx_table_register(struct pvx_table *table, const struct pvx_service *svc)
{
	unsigned int slot;

	/* A handler or a batch's ops: one of them, not both. */
	if (!svc->ops || !svc->ops->handler == !svc->ops->batch)
		return -EINVAL;
	if (!pvx_nr_in_range(svc->nr))
		return -EINVAL;
	if (hweight64(svc->feature) > 1)
		return -EINVAL;

	slot = svc->nr - PVX_HC_BASE;
	if (table->svc[slot])
		return -EEXIST;

	table->svc[slot] = svc;
	table->features |= svc->feature;
	return 0;
}

void pvx_table_unregister(struct pvx_table *table,
			  const struct pvx_service *svc)
{
	unsigned int slot, i;

	if (!pvx_nr_in_range(svc->nr))
		return;
	slot = svc->nr - PVX_HC_BASE;
	if (table->svc[slot] != svc)
		return;
	table->svc[slot] = NULL;

	/* Several services may share a feature bit (inflate and deflate). */
	table->features = 0;
	for (i = 0; i < PVX_HC_COUNT; i++)
		if (table->svc[i])
			table->features |= table->svc[i]->feature;
}

long pvx_table_dispatch(const struct pvx_table *table, struct pvx_call *call,
			u64 vm_features)
{
	const struct pvx_service *svc;

	if (!pvx_nr_in_range(call->nr))
		return -PVX_ENOSYS;

	svc = table->svc[call->nr - PVX_HC_BASE];
	if (!svc)
		return -PVX_ENOSYS;
	if (svc->feature && !(svc->feature & vm_features))
		return -PVX_EOPNOTSUPP;

	if (svc->ops->batch)
		return pvx_batch_call(call, svc->ops->batch);
	return svc->ops->handler(call);
}
