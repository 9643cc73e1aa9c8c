// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_SET_VECTOR and PVX_HC_TIMER_SET: "interrupt me at this deadline".
 *
 * A guest clockevent needs one thing from its host: an interrupt, no
 * earlier than asked.  Programming the emulated LAPIC timer for it costs
 * an exit per register write plus the emulation; here one hypercall arms
 * a host hrtimer, whose expiry sends the vCPU's registered vector to its
 * own in-kernel LAPIC (waking it if it halted).
 *
 * The deadline is relative, delta_ns after the host handles the call on
 * CLOCK_MONOTONIC (the guest computed the delta before it exited, so the
 * interrupt can only come late, never early), or absolute on the vCPU's
 * TSC (PVX_TIMER_TSC_DEADLINE), converted as KVM converts the LAPIC's
 * TSC deadline: the exit's own cost then does not push the expiry late.
 *
 * Expiries of one vCPU are due timer_min_interval_us apart at least: a
 * deadline closer to the last expiry is moved to that distance, never
 * refused, since a refused arm would stop the guest's tick.  The hrtimer
 * is a hard interrupt that the host scheduler cannot throttle; KVM caps
 * its LAPIC timer's periodic mode the same way (min_timer_period_us).
 * One-shot deadlines need one exit each, which bounds them already, but
 * only as far as the host's exits are slow: the interval does not depend
 * on that.
 *
 * The expiry sends the vector from the hrtimer itself, as a self-IPI of
 * the vCPU (KVM's IRR set and kick, the same path KVM's irqfd takes from
 * hard interrupt context and its own LAPIC timer takes when it posts the
 * interrupt).  A hop through a work item, as this code once had, made
 * every expiry wait for a kworker to be scheduled: make bench's timer row
 * measured it as lateness that the LAPIC timer does not have.  No VM
 * reference is needed: the vCPU outlives the callback, since KVM's
 * destruction (pvx_vm_destroyed(), before KVM frees a vCPU), detach,
 * reset and unload all cancel the hrtimer, which waits for a running
 * callback.
 *
 * A VM that pvx stops serving (detach, unload) gets every armed timer
 * fired at once: early is allowed, while an expiry that never comes would
 * leave a guest CPU asleep with its tick on a device that is gone.  The
 * guest's next TIMER_SET then fails and its clock driver falls back.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <pvx_kcompat.h>
#include "pvx_host.h"

#define PVX_FIRST_VECTOR	32	/* 0-31 are exceptions */

/* A tenth of a 1000 Hz tick, a quarter of KVM's periodic LAPIC minimum. */
static unsigned int timer_min_interval_us = 50;
module_param(timer_min_interval_us, uint, 0644);
MODULE_PARM_DESC(timer_min_interval_us,
		 "PVX_HC_TIMER_SET expiries of a vCPU this far apart at least (us)");

static enum hrtimer_restart pvx_timer_fire(struct hrtimer *timer)
{
	struct pvx_vcpu *pv = container_of(timer, struct pvx_vcpu, timer);
	u8 vector = READ_ONCE(pv->vector);

	if (vector) {
		pvx_compat_inject_vector(pv->vcpu, vector);
		atomic64_inc(&pv->vm->timers_fired);
	}
	return HRTIMER_NORESTART;
}

void pvx_timer_vcpu_init(struct pvx_vcpu *pv)
{
	pvx_hrtimer_setup(&pv->timer, pvx_timer_fire, CLOCK_MONOTONIC,
			  HRTIMER_MODE_ABS_HARD);
}

/*
 * @destroying: KVM is destroying the VM (atomic context): the timer only
 * has to be stopped.  Otherwise pvx stops serving the VM, and an armed
 * expiry is delivered now instead; one already running has delivered.
 */
void pvx_timer_vcpu_stop(struct pvx_vcpu *pv, bool destroying)
{
	bool owed = hrtimer_cancel(&pv->timer);
	u8 vector = READ_ONCE(pv->vector);

	if (!destroying && owed && vector) {
		pvx_compat_inject_vector(pv->vcpu, vector);
		atomic64_inc(&pv->vm->timers_fired);
	}
}

/*
 * The guest was reset (atomic context): nothing it armed may reach the
 * next boot, which registered no vector.
 */
void pvx_timer_vcpu_reset(struct pvx_vcpu *pv)
{
	WRITE_ONCE(pv->vector, 0);
	hrtimer_cancel(&pv->timer);
	pv->timer_armed = 0;
	pv->timer_last = 0;
}

/*
 * The VMM reads the vCPU's local APIC (atomic context; the vCPU is not
 * running, so no TIMER_SET of it runs either): QEMU does for every vCPU
 * when it saves the VM, which a live migration's switch-over does with
 * the VM stopped.  An expiry after the read would reach only this host's
 * APIC, which the migration leaves behind, and a guest whose tick waits
 * on it would sleep on the destination until some other interrupt came.
 * So an armed expiry is delivered now, early (which the guest allows),
 * and goes with the state.  An expiry running now has sent its vector
 * when hrtimer_cancel() returns.
 */
void pvx_timer_vcpu_flush(struct pvx_vcpu *pv)
{
	bool owed = hrtimer_cancel(&pv->timer);
	u8 vector = READ_ONCE(pv->vector);

	if (owed && vector) {
		/* It expired now: the next deadline's floor counts from now. */
		pv->timer_armed = ktime_get();
		pvx_compat_inject_vector(pv->vcpu, vector);
		atomic64_inc(&pv->vm->timers_fired);
	}
}

static long pvx_set_vector(struct pvx_call *call)
{
	unsigned long vector = call->args[0], flags = call->args[1];
	struct pvx_vcpu *pv;

	if (flags & ~PVX_VECTOR_HOST_EVENTS || call->args[2] || call->args[3])
		return -EINVAL;
	if (vector && (vector < PVX_FIRST_VECTOR || vector > 255))
		return -EINVAL;
	if (!pvx_compat_has_lapic(call->vcpu))
		return -EOPNOTSUPP;
	if (flags & PVX_VECTOR_HOST_EVENTS)
		return pvx_event_set_vector(call, vector);

	pv = pvx_vcpu_get(call, vector != 0);
	if (!pv)
		return vector ? -ENOSPC : 0;

	WRITE_ONCE(pv->vector, vector);
	/* An expiry running now may still send the old vector. */
	if (!vector && hrtimer_cancel(&pv->timer))
		pv->timer_armed = pv->timer_last;
	return 0;
}

/* delta_ns, or with PVX_TIMER_TSC_DEADLINE the guest TSC value. */
static long pvx_timer_set(struct pvx_call *call)
{
	u64 when = call->args[0];
	unsigned long flags = call->args[1];
	struct pvx_vcpu *pv;
	ktime_t expires, earliest;
	int ret;

	if (flags & ~PVX_TIMER_FLAGS || call->args[2] || call->args[3])
		return -EINVAL;
	if ((flags & PVX_TIMER_CANCEL) && (flags & PVX_TIMER_TSC_DEADLINE))
		return -EINVAL;

	pv = pvx_vcpu_get(call, false);
	if (!pv || !pv->vector)
		return -ENOENT;

	if (flags & PVX_TIMER_CANCEL) {
		if (when)
			return -EINVAL;
		/* -1: the expiry is running: the interrupt is on its way. */
		ret = hrtimer_try_to_cancel(&pv->timer);
		if (ret == 1)
			pv->timer_armed = pv->timer_last;
		return ret == 1;
	}

	if (flags & PVX_TIMER_TSC_DEADLINE) {
		ret = pvx_compat_tsc_deadline(call->vcpu, when, &expires);
		if (ret)
			return ret;
	} else {
		expires = ktime_add_safe(ktime_get(),
					 ns_to_ktime(min_t(u64, when, KTIME_MAX)));
	}

	/*
	 * Only this vCPU's exits arm or cancel it, one at a time, so the
	 * timer's state says whether the deadline armed last expired (or is
	 * expiring now): then it is the last expiry.  One replaced or
	 * cancelled never expired, and is forgotten.
	 */
	if (hrtimer_try_to_cancel(&pv->timer) != 1)
		pv->timer_last = pv->timer_armed;
	earliest = ktime_add_us(pv->timer_last,
				READ_ONCE(timer_min_interval_us));
	pv->timer_armed = ktime_after(expires, earliest) ? expires : earliest;
	hrtimer_start(&pv->timer, pv->timer_armed, HRTIMER_MODE_ABS_HARD);
	return 0;
}

const struct pvx_service_ops pvx_svc_set_vector = {
	.handler = pvx_set_vector,
};

const struct pvx_service_ops pvx_svc_timer_set = {
	.handler = pvx_timer_set,
};
