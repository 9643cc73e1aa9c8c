// SPDX-License-Identifier: GPL-2.0
/*
 * The hypercall dispatch table: one slot per pvx number, filled by the
 * services at load.  Like kvmtool's spapr_hcall table it refuses a second
 * registration of a number; like KVM's __kvm_emulate_hypercall it gates
 * every call on the VM's features in one place.  A batch hypercall's
 * service gives only its list ops, and dispatch calls pvx_batch_call()
 * for it: every list is checked, copied in and written back the same way.
 *
 * It is also where a result becomes the guest's: pvx_guest_err() is the
 * one place that turns pvx_host's Linux errnos into the guest ABI's
 * PVX_E* values, for RAX here and for what pvx writes into guest memory
 * (list statuses, completion records).  KVM picks a -KVM_E* value at each
 * of its returns; one table instead keeps an errno a service picks up
 * from the kernel (-ENOMEM, -EINTR, ...) from ever reaching a guest.
 */
#include <linux/bitops.h>
#include <linux/errno.h>
#define PVX_GUEST_ERRORS
#include "pvx_host.h"

/*
 * The errnos a guest may see, as Documentation/hypercalls.rst lists
 * them: the same numbers but ENOSYS, which is KVM's (KVM_ENOSYS).  Not
 * PVX_ECANCELED: a guest driver's own value for "the host withdrew the
 * service", which a host answer must not be mistaken for.
 */
static const u16 pvx_guest_errs[] = {
	[EPERM]		= PVX_EPERM,
	[ENOENT]	= PVX_ENOENT,
	[EIO]		= PVX_EIO,
	[E2BIG]		= PVX_E2BIG,
	[EAGAIN]	= PVX_EAGAIN,
	[EFAULT]	= PVX_EFAULT,
	[EBUSY]		= PVX_EBUSY,
	[EINVAL]	= PVX_EINVAL,
	[ENOSPC]	= PVX_ENOSPC,
	[ERANGE]	= PVX_ERANGE,
	[ENOSYS]	= PVX_ENOSYS,
	[EOPNOTSUPP]	= PVX_EOPNOTSUPP,
	[EINPROGRESS]	= PVX_EINPROGRESS,
};

/*
 * A result for the guest: values >= 0 (counts, PVX_SIGNATURE, statuses
 * such as PVX_DOORBELL_NO_LISTENER) as they are, an errno of the ABI as
 * its PVX_E* value, and any other negative value as -PVX_EIO: the host
 * failed for a reason of its own.  Not -PVX_EAGAIN, which a guest
 * retries at once (an -ENOMEM that lasts would make it spin), nor
 * -PVX_EINVAL or -PVX_EFAULT, which would blame its arguments.  Guests
 * can provoke such an errno (a VMM limit, a signal), so it is not worth
 * a warning.
 */
long pvx_guest_err(long ret)
{
	if (ret >= 0)
		return ret;
	if (ret > -(long)ARRAY_SIZE(pvx_guest_errs) && pvx_guest_errs[-ret])
		return -(long)pvx_guest_errs[-ret];
	return -PVX_EIO;
}

bool pvx_nr_in_range(unsigned long nr)
{
	return nr >= PVX_HC_BASE && nr - PVX_HC_BASE < PVX_HC_COUNT;
}

int pvx_table_register(struct pvx_table *table, const struct pvx_service *svc)
{
	const struct pvx_split_ops *batch;
	unsigned int slot;

	/* A handler or a batch's ops: one of them, not both. */
	if (!svc->ops || !svc->ops->handler == !svc->ops->batch)
		return -EINVAL;
	/* Every list entry has a status, converted at its write-back. */
	batch = svc->ops->batch;
	if (batch && ((batch->status_size != sizeof(s8) &&
		       batch->status_size != sizeof(s32)) ||
		      batch->status_offset + batch->status_size >
		      batch->entry_size))
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

static long pvx_table_call(const struct pvx_table *table,
			   struct pvx_call *call, u64 vm_features)
{
	const struct pvx_service *svc;

	/* Same answer KVM gives its own hypercalls from user mode. */
	if (call->cpl)
		return -EPERM;
	if (!pvx_nr_in_range(call->nr))
		return -ENOSYS;

	svc = table->svc[call->nr - PVX_HC_BASE];
	if (!svc)
		return -ENOSYS;
	if (svc->feature && !(svc->feature & vm_features))
		return -EOPNOTSUPP;

	if (svc->ops->batch)
		return pvx_batch_call(call, svc->ops->batch);
	return svc->ops->handler(call);
}

/* The call's result for RAX, in the guest's ABI. */
long pvx_table_dispatch(const struct pvx_table *table, struct pvx_call *call,
			u64 vm_features)
{
	return pvx_guest_err(pvx_table_call(table, call, vm_features));
}
