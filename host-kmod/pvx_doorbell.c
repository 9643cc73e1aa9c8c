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
#include <linux/slab.h>
#include "pvx_host.h"

static s32 pvx_doorbell_one(struct pvx_call *call, const struct pvx_doorbell *d)
{
	bool pio;

	if (d->reserved0 || d->space > PVX_DOORBELL_PIO)
		return -PVX_EINVAL;
	pio = d->space == PVX_DOORBELL_PIO;
	switch (d->len) {
	case 1:
	case 2:
	case 4:
		break;
	case 8:
		if (pio)
			return -PVX_EINVAL;
		break;
	default:
		return -PVX_EINVAL;
	}
	if (pio && d->addr > 0xffff)
		return -PVX_EINVAL;

	/* x86 is little-endian: the first @len bytes are the value. */
	if (pvx_compat_io_bus_write(call->vcpu, pio, d->addr, d->len,
				    &d->value))
		return PVX_DOORBELL_DELIVERED;
	return PVX_DOORBELL_NO_LISTENER;
}

static long pvx_doorbell(struct pvx_call *call)
{
	u64 gpa = call->args[0];
	u32 count = call->args[1], done;
	struct pvx_doorbell *list;
	long ret;

	if (call->args[1] > U32_MAX || call->args[2] || call->args[3])
		return -PVX_EINVAL;
	list = kmalloc(PVX_LIST_MAX_BYTES, GFP_KERNEL_ACCOUNT);
	if (!list)
		return -PVX_EAGAIN;
	ret = pvx_list_copy_in(pvx_guest_list_read, call, gpa, count,
			       sizeof(list[0]), call->vm->max_list_entries,
			       list);
	if (ret)
		goto out;

	for (done = 0; done < count; done++) {
		list[done].status = pvx_doorbell_one(call, &list[done]);
		if (list[done].status < 0)
			break;
	}

	ret = done;
	if (done < count)
		done++;
	if (pvx_guest_write(call, gpa, list, done * sizeof(list[0])))
		ret = -PVX_EFAULT;
out:
	kfree(list);
	return ret;
}

const struct pvx_service pvx_svc_doorbell = {
	.name = "doorbell",
	.nr = PVX_HC_DOORBELL,
	.feature = PVX_F_DOORBELL,
	.handler = pvx_doorbell,
};
