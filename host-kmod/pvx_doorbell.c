// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_DOORBELL: many virtio notifications for one exit.
 *
 * A virtio driver kicks a queue by writing its notify register: on a
 * modern virtio-pci device that is an MMIO write, i.e. an exit, an
 * instruction fetch and decode, and a dispatch to the ioeventfd that the
 * VMM (QEMU, vhost) registered there.  A guest kicking several queues pays
 * that for each.  Here it lists the writes; the host hands each one to
 * KVM's in-kernel I/O bus, so the same ioeventfds fire, with unmodified
 * VMMs.  A write that no in-kernel device takes is reported, not passed to
 * the VMM: the guest falls back to the plain write for that queue.
 */
#include "pvx_host.h"

static s32 pvx_doorbell_one(struct kvm_vcpu *vcpu, const struct pvx_doorbell *d)
{
	bool pio;

	if (d->reserved0 || d->space > PVX_DOORBELL_PIO)
		return -EINVAL;
	pio = d->space == PVX_DOORBELL_PIO;
	switch (d->len) {
	case 1:
	case 2:
	case 4:
		break;
	case 8:
		if (pio)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (pio && d->addr > 0xffff)
		return -EINVAL;

	/* x86 is little-endian: the first @len bytes are the value. */
	if (pvx_compat_io_bus_write(vcpu, pio, d->addr, d->len,
				    &d->value))
		return PVX_DOORBELL_DELIVERED;
	return PVX_DOORBELL_NO_LISTENER;
}

/* Entries without a listener do not stop the batch; invalid ones do. */
static void pvx_doorbell_run(struct pvx_batch *b)
{
	struct pvx_doorbell *list = b->list;

	for (b->done = 0; b->done < b->count; b->done++) {
		list[b->done].status = pvx_doorbell_one(b->vcpu, &list[b->done]);
		if (list[b->done].status < 0) {
			b->processed = b->done + 1;
			return;
		}
	}
	b->processed = b->done;
}

static const struct pvx_split_ops pvx_doorbell_ops = {
	PVX_LIST_ENTRY(struct pvx_doorbell, status),
	.vcpu_only = true,
	.run = pvx_doorbell_run,
};

const struct pvx_service_ops pvx_svc_doorbell = {
	.batch = &pvx_doorbell_ops,
};
