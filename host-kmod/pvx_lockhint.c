// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_LOCKHINT_SET, PVX_HC_LOCK_WAIT: directed yield for the guest
 * kernel's own spinlocks.
 *
 * x86's qspinlock names no holder, so a waiter cannot say whom to boost
 * as PVX_HC_YIELD_TO's callers do.  What the host can learn is which
 * vCPUs sit preempted inside a non-preemptible section: every spinlock
 * holder runs with a non-zero preempt count, and the guest tells the host
 * where each vCPU keeps its count.  When a waiter is about to halt in the
 * pv-spinlock slow path, the host boosts the next such vCPU, round robin
 * as kvm_vcpu_on_spin() does.  A heuristic: waiters spinning in the slow
 * path have a non-zero count too, and the count may change between the
 * read and the boost.  The address is the guest's word only; a lie costs
 * the liar (a boost of its own vCPU that helps nobody, or none).
 */
#include "pvx_host.h"

static long pvx_lockhint_set(struct pvx_call *call)
{
	u64 gpa = call->args[0];
	struct pvx_vcpu *pv;
	unsigned long hva;
	long ret;

	if (call->args[1] || call->args[2] || call->args[3])
		return -EINVAL;
	if (gpa & 3)
		return -EINVAL;
	if (gpa) {
		ret = pvx_compat_gfn_range_to_hva(pvx_compat_vcpu_kvm(call->vcpu),
						  gpa >> PAGE_SHIFT, 1, false,
						  &hva);
		if (ret)
			return ret;
	}
	pv = pvx_vcpu_get(call, gpa != 0);
	if (!pv)
		return gpa ? -ENOSPC : 0;
	WRITE_ONCE(pv->lockhint_gpa, gpa);
	return 0;
}

const struct pvx_service_ops pvx_svc_lockhint_set = {
	.handler = pvx_lockhint_set,
};

/*
 * Is @pv's vCPU worth the caller's time: preempted while runnable, and
 * its count, read now, non-zero?  The read goes through the caller's
 * view of guest memory (same VM, same memslots).
 */
static bool pvx_lockhint_candidate(struct pvx_call *call, struct pvx_vcpu *pv)
{
	struct pvx_lockhint_state *lh = &call->vm->lockhint;
	u64 gpa = READ_ONCE(pv->lockhint_gpa);
	u32 count;

	if (!gpa || pv->vcpu == call->vcpu ||
	    !pvx_compat_vcpu_preempted(pv->vcpu))
		return false;
	if (pvx_guest_read(call, gpa, &count, sizeof(count))) {
		atomic64_inc(&lh->unreadable);
		return false;
	}
	if (!(count & PVX_PREEMPT_COUNT_MASK)) {
		atomic64_inc(&lh->zero_count);
		return false;
	}
	return true;
}

static struct pvx_vcpu *pvx_lockhint_pick(struct pvx_call *call)
{
	struct xarray *xa = &call->vm->vcpus;
	unsigned long start = READ_ONCE(call->vm->lockhint.last) + 1;
	unsigned long idx;
	struct pvx_vcpu *pv;

	xa_for_each_start(xa, idx, pv, start)
		if (pvx_lockhint_candidate(call, pv))
			goto found;
	xa_for_each_range(xa, idx, pv, 0, start - 1)
		if (pvx_lockhint_candidate(call, pv))
			goto found;
	return NULL;
found:
	WRITE_ONCE(call->vm->lockhint.last, idx);
	return pv;
}

static long pvx_lock_wait(struct pvx_call *call)
{
	struct pvx_lockhint_state *lh = &call->vm->lockhint;
	struct pvx_vcpu *pv;
	long id;

	if (call->args[0] || call->args[1] || call->args[2] || call->args[3])
		return -EINVAL;
	atomic64_inc(&lh->waits);

	/*
	 * The budget first: a look reads every other vCPU's count, and a
	 * guest can call as fast as it can exit.  A look that finds nobody
	 * costs as much as one that boosts.
	 */
	if (!pvx_rate_take(&call->vm->yield.rate, pvx_yield_rate_hz())) {
		atomic64_inc(&lh->refused);
		return PVX_LOCK_WAIT_RATE_LIMITED;
	}
	pv = pvx_lockhint_pick(call);
	if (!pv) {
		atomic64_inc(&lh->none);
		return PVX_LOCK_WAIT_NONE;
	}
	id = (long)pvx_compat_vcpu_id(pv->vcpu) << 8;
	if (pvx_compat_yield_to(pv->vcpu) <= 0) {
		atomic64_inc(&lh->refused);
		return id | PVX_LOCK_WAIT_REFUSED;
	}
	atomic64_inc(&lh->boosts);
	return id | PVX_LOCK_WAIT_BOOSTED;
}

const struct pvx_service_ops pvx_svc_lock_wait = {
	.handler = pvx_lock_wait,
};
