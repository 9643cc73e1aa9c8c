// SPDX-License-Identifier: GPL-2.0
/*
 * Host events: the host tells a guest that something it should ask about
 * has changed (today: the balloon target), as virtio does with a config
 * change interrupt.
 *
 * The event is an interrupt on a vector the guest registered for events
 * alone (PVX_HC_SET_VECTOR with PVX_VECTOR_HOST_EVENTS), on one vCPU of its
 * choice.  Sharing the timer's vector would make the guest ask the host
 * "was that an event?" on every tick; with a vector of its own an event
 * costs one question when, and only when, there is something to ask.
 *
 * The event carries no data, so the host never writes guest memory from
 * outside a vCPU (which KVM's dirty ring forbids); the guest reads the new
 * state with an ordinary hypercall.
 */
#include <linux/mutex.h>
#include "pvx_host.h"

void pvx_event_vm_init(struct pvx_event *ev)
{
	mutex_init(&ev->lock);
}

/* From PVX_HC_SET_VECTOR: @vector is checked, 0 turns events off. */
long pvx_event_set_vector(struct pvx_call *call, u8 vector)
{
	struct pvx_event *ev = &call->vm->event;

	mutex_lock(&ev->lock);
	ev->vcpu = vector ? call->vcpu : NULL;
	ev->vector = vector;
	mutex_unlock(&ev->lock);
	return 0;
}

/* The guest was reset: its next boot asked for no events. */
void pvx_event_vm_reset(struct pvx_event *ev)
{
	mutex_lock(&ev->lock);
	ev->vcpu = NULL;
	ev->vector = 0;
	mutex_unlock(&ev->lock);
}

/*
 * Process context; the caller holds a reference on the VM, so the vCPU
 * cannot go.  Under the lock, so that once the guest has turned events
 * off, no event is sent any more.  Returns whether the guest was told.
 */
bool pvx_event_raise(struct pvx_vm *vm)
{
	struct pvx_event *ev = &vm->event;
	bool sent = false;

	mutex_lock(&ev->lock);
	if (ev->vector) {
		pvx_compat_inject_vector(ev->vcpu, ev->vector);
		sent = true;
	}
	mutex_unlock(&ev->lock);
	return sent;
}
