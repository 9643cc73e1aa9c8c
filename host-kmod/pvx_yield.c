// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_YIELD_TO: directed yield to a named lock holder.
 *
 * A spinning waiter whose lock holder was preempted wastes its whole time
 * slice (lock-holder preemption).  KVM's pause-loop exits guess who to
 * boost; here the guest knows the holder and names it.  The host boosts
 * the holder only when that helps: it is another vCPU of the same VM, and
 * it was preempted while runnable.  Otherwise it answers at once, and the
 * guest spins on.
 *
 * A per-VM budget (yield_rate_hz, like s390's diag9c_forwarding_hz) keeps
 * a guest from turning the call into a scheduler storm.
 */
#include <linux/moduleparam.h>
#include "pvx_host.h"

static unsigned int yield_rate_hz = 5000;
module_param(yield_rate_hz, uint, 0644);
MODULE_PARM_DESC(yield_rate_hz,
		 "Directed yields per second and VM, at most (0: no limit)");

unsigned int pvx_yield_rate_hz(void)
{
	return READ_ONCE(yield_rate_hz);
}

/* inflight_test: a yield still asleep in the host at rmmod or SIGKILL. */
PVX_TEST_HOLD_KNOB(test_yield_hold, "hold directed yields asleep");

static long pvx_yield_result(struct pvx_vm *vm, long result)
{
	atomic64_inc(&vm->yield.results[result]);
	return result;
}

static long pvx_yield_to(struct pvx_call *call)
{
	unsigned long target_id = call->args[0];
	struct kvm_vcpu *target;

	if (call->args[1] || call->args[2] || call->args[3])
		return -EINVAL;
	if (target_id > INT_MAX)
		return -ENOENT;

	/* Only this VM's vCPUs can be named: ids are per VM. */
	target = pvx_compat_vcpu_by_id(call->vcpu, target_id);
	if (!target)
		return -ENOENT;
	if (target == call->vcpu)
		return -EINVAL;
	test_yield_hold_wait();

	if (!pvx_compat_vcpu_preempted(target))
		return pvx_yield_result(call->vm, PVX_YIELD_NOT_PREEMPTED);
	if (!pvx_rate_take(&call->vm->yield.rate, pvx_yield_rate_hz()))
		return pvx_yield_result(call->vm, PVX_YIELD_RATE_LIMITED);
	if (pvx_compat_yield_to(target) <= 0)
		return pvx_yield_result(call->vm, PVX_YIELD_DECLINED);
	return pvx_yield_result(call->vm, PVX_YIELD_DONE);
}

const struct pvx_service_ops pvx_svc_yield_to = {
	.handler = pvx_yield_to,
};
