// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_kick_test: proves PVX_HC_DOORBELL against a real VMM's virtio
 * device.  It binds to a virtio-rng device, posts one buffer and kicks the
 * queue with a doorbell hypercall at the queue's notify address (parsed
 * from the device's virtio-pci notify capability) instead of the MMIO
 * write.  If the VMM's ioeventfd took it, the device fills the buffer and
 * interrupts; the result is logged.  With no in-kernel listener it falls
 * back to the plain notify write, as pvx_virtio will.
 */
#define pr_fmt(fmt) "pvx_kick_test: " fmt

#include <linux/completion.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <uapi/linux/pvx_para.h>
#include "pvx_guest.h"

struct pvx_kick {
	struct virtqueue *vq;
	struct completion done;
	u8 *buf;
};

static void pvx_kick_done(struct virtqueue *vq)
{
	struct pvx_kick *k = vq->vdev->priv;

	complete(&k->done);
}

/* The guest-physical address the device listens on for @queue's kicks. */
static int pvx_kick_notify_addr(struct pci_dev *pdev, u16 queue, u64 *addr)
{
	u32 mult = 0, common_off = 0, off;
	int common_bar = -1;
	void __iomem *common;
	u64 notify = 0;
	u8 pos, type, bar;
	u16 noff;

	for (pos = pci_find_capability(pdev, PCI_CAP_ID_VNDR); pos;
	     pos = pci_find_next_capability(pdev, pos, PCI_CAP_ID_VNDR)) {
		pci_read_config_byte(pdev, pos +
				     offsetof(struct virtio_pci_cap, cfg_type), &type);
		pci_read_config_byte(pdev, pos +
				     offsetof(struct virtio_pci_cap, bar), &bar);
		pci_read_config_dword(pdev, pos +
				      offsetof(struct virtio_pci_cap, offset), &off);
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !notify) {
			pci_read_config_dword(pdev, pos +
				offsetof(struct virtio_pci_notify_cap,
					 notify_off_multiplier), &mult);
			notify = pci_resource_start(pdev, bar) + off;
		} else if (type == VIRTIO_PCI_CAP_COMMON_CFG && common_bar < 0) {
			common_bar = bar;
			common_off = off;
		}
	}
	if (!notify || common_bar < 0)
		return -ENODEV;

	common = pci_iomap_range(pdev, common_bar, common_off,
				 sizeof(struct virtio_pci_common_cfg));
	if (!common)
		return -ENOMEM;
	iowrite16(queue, common + VIRTIO_PCI_COMMON_Q_SELECT);
	noff = ioread16(common + VIRTIO_PCI_COMMON_Q_NOFF);
	pci_iounmap(pdev, common);
	*addr = notify + (u64)noff * mult;
	return 0;
}

static int pvx_kick_probe(struct virtio_device *vdev)
{
	struct pvx_doorbell *bell;
	struct scatterlist sg;
	struct pvx_kick *k;
	unsigned int len = 0;
	u64 addr;
	long ret;
	int err;

	/* on pvx_virtio the transport's own kicks are doorbells already */
	if (!(pvx_features() & PVX_F_DOORBELL) || !dev_is_pci(vdev->dev.parent) ||
	    strcmp(dev_driver_string(vdev->dev.parent), "virtio-pci"))
		return -ENODEV;
	k = devm_kzalloc(&vdev->dev, sizeof(*k), GFP_KERNEL);
	bell = devm_kzalloc(&vdev->dev, sizeof(*bell), GFP_KERNEL);
	if (!k || !bell)
		return -ENOMEM;
	k->buf = devm_kzalloc(&vdev->dev, 64, GFP_KERNEL);
	if (!k->buf)
		return -ENOMEM;
	init_completion(&k->done);
	vdev->priv = k;

	k->vq = virtio_find_single_vq(vdev, pvx_kick_done, "input");
	if (IS_ERR(k->vq))
		return PTR_ERR(k->vq);
	virtio_device_ready(vdev);

	err = pvx_kick_notify_addr(to_pci_dev(vdev->dev.parent),
				   k->vq->index, &addr);
	if (err)
		goto err_reset;

	sg_init_one(&sg, k->buf, 64);
	err = virtqueue_add_inbuf(k->vq, &sg, 1, k->buf, GFP_KERNEL);
	if (err)
		goto err_reset;

	bell->addr = addr;
	bell->value = k->vq->index;
	bell->space = PVX_DOORBELL_MMIO;
	bell->len = 2;
	if (virtqueue_kick_prepare(k->vq)) {
		ret = pvx_hypercall(PVX_HC_DOORBELL, virt_to_phys(bell), 1, 0, 0);
		if (ret != 1 || bell->status != PVX_DOORBELL_DELIVERED) {
			pr_info("doorbell at %#llx: result %ld, status %d: falling back to the notify write\n",
				addr, ret, bell->status);
			virtqueue_notify(k->vq);
		}
	}
	if (!wait_for_completion_timeout(&k->done, 10 * HZ) ||
	    !virtqueue_get_buf(k->vq, &len)) {
		pr_warn("queue %u kicked at %#llx: the device did not answer\n",
			k->vq->index, addr);
		err = -ETIMEDOUT;
		goto err_reset;
	}
	pr_info("virtio-rng queue %u kicked by pvx doorbell at %#llx: status %d, device returned %u bytes\n",
		k->vq->index, addr, bell->status, len);
	return 0;

err_reset:
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
	return err;
}

static void pvx_kick_remove(struct virtio_device *vdev)
{
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
}

static const struct virtio_device_id pvx_kick_ids[] = {
	{ VIRTIO_ID_RNG, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static struct virtio_driver pvx_kick_driver = {
	.driver.name = KBUILD_MODNAME,
	.id_table = pvx_kick_ids,
	.probe = pvx_kick_probe,
	.remove = pvx_kick_remove,
};

module_virtio_driver(pvx_kick_driver);

MODULE_DESCRIPTION("pvx: doorbell test against a VMM's virtio device");
MODULE_LICENSE("GPL");
