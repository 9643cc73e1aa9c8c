// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_virtio: a virtio-pci (modern) transport whose queue notifications
 * are PVX_HC_DOORBELL hypercalls, batched across queues.
 *
 * It is built on the kernel's virtio_pci_modern_dev helpers and on
 * vring_create_virtqueue(), so the standard virtio drivers (virtio_blk,
 * virtio_net, ...) run on top of it unchanged.  It has no PCI id table:
 * a device is given to it through driver_override (see README.md).
 *
 * Batching.  A kick is recorded in this CPU's batch, a list the host
 * reads in one PVX_HC_DOORBELL call (one exit for all of them):
 *
 * - from task context the batch is flushed at once: the caller may wait
 *   for the device right after the kick, so nothing may be held back;
 * - from a softirq with interrupts on (a NAPI poll refilling its receive
 *   queue and sending an ACK on its transmit queue) the flush is left to
 *   this CPU's work item on the BH workqueue.  It runs when the current
 *   softirq pass reaches it, so every kick made in that pass goes to the
 *   host in one call, and without any extra exit to schedule it (a
 *   softirq is a bit in a per-CPU word, not an interrupt);
 * - from a hard interrupt, or with interrupts off, the batch is flushed at
 *   once: a driver may spin right after its kick for the device's answer
 *   (virtio_console's put_chars() does, under a spinlock), and the work
 *   item could not run on this CPU until it stopped;
 * - a queue with notification data (4-byte notifications) is never held
 *   back: a later kick of it from another CPU would overtake the older
 *   value, and the device would see its available index go backwards.
 *
 * The batch is a per-CPU structure, touched with interrupts off.  A full
 * batch is flushed on the spot.  The same queue kicked twice in one
 * batch is one entry.
 *
 * Fallback.  The host answers PVX_DOORBELL_NO_LISTENER for a write that
 * no in-kernel device (an ioeventfd) takes.  That entry is then written
 * to the queue's notify register as usual, and the queue uses the plain
 * write from then on.  A doorbell call that fails as a whole (the VM was
 * detached from pvx, say) turns every queue to the plain write, and so
 * does pvx_guest's word that the host stopped serving; only -PVX_EAGAIN is
 * taken as passing.  When the host serves the doorbell again, the queues
 * go back to it (but those without a listener).
 *
 * Interrupts: MSI-X, a vector for configuration changes and one per
 * queue, spread over the CPUs as the driver asks (virtio_blk's queues
 * complete on the CPUs that submit to them); if the device has too few
 * vectors, one for configuration changes and one shared by the queues.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci_modern.h>
#include <linux/virtio_ring.h>
#include <linux/workqueue.h>
#include <uapi/linux/pvx_para.h>
#include "pvx_guest.h"
#include "pvx_version.h"

#define PVX_VIRTIO_CONFIG_VECTOR	0
#define PVX_VIRTIO_SHARED_VQ_VECTOR	1	/* without per-queue vectors */

/* Entries in one CPU's batch: more than the queues one CPU kicks at once. */
#define PVX_VIRTIO_BATCH		32

struct pvx_virtio_dev {
	struct virtio_device vdev;
	struct virtio_pci_modern_device mdev;
	bool have_vqs;
	bool per_vq_vectors;
	unsigned int nvectors;		/* allocated by find_vqs */
	char config_irq_name[32];
	char vqs_irq_name[32];
};

/* One queue's notification: where it goes and how. */
struct pvx_virtio_vq {
	struct virtqueue *vq;
	void __iomem *notify;
	u64 notify_gpa;
	u8 space;		/* PVX_DOORBELL_MMIO or _PIO */
	u8 len;			/* 2: the queue index; 4: notification data */
	bool plain;		/* the host has no listener: write it */
	u16 vector;		/* MSI-X, or VIRTIO_MSI_NO_VECTOR */
	char irq_name[32];	/* with a vector of its own */
};

struct pvx_virtio_batch {
	struct work_struct work;
	struct pvx_doorbell *list;	/* kmalloc'ed: one page at most */
	struct pvx_virtio_vq *vqs[PVX_VIRTIO_BATCH];
	unsigned int n;
	u64 kicks;			/* notify calls */
	u64 calls;			/* doorbell hypercalls */
	u64 delivered;			/* kicks the host delivered */
	u64 plain;			/* notify register writes */
};

static struct pvx_virtio_batch __percpu *pvx_virtio_batches;
static unsigned int pvx_virtio_batch_max;
static bool pvx_virtio_no_doorbell;	/* the host refused a whole call */

static struct pvx_virtio_dev *to_pvx_virtio(struct virtio_device *vdev)
{
	return container_of(vdev, struct pvx_virtio_dev, vdev);
}

static void pvx_virtio_write_notify(struct pvx_virtio_vq *pq, u32 value)
{
	if (pq->len == 4)
		iowrite32(value, pq->notify);
	else
		iowrite16(value, pq->notify);
}

/* With interrupts off, on the batch's CPU (or its CPU is dead). */
static void pvx_virtio_flush(struct pvx_virtio_batch *b)
{
	struct pvx_virtio_vq *pq;
	unsigned int i;
	long ret;

	if (!b->n)
		return;
	ret = pvx_doorbell(b->list, b->n);
	b->calls++;
	if (ret < 0 && ret != -PVX_EAGAIN) {
		WRITE_ONCE(pvx_virtio_no_doorbell, true);
		pr_warn_once("doorbell call failed (%ld): notify register writes from now on\n",
			     ret);
	}
	for (i = 0; i < b->n; i++) {
		pq = b->vqs[i];
		if ((long)i < ret &&
		    b->list[i].status == PVX_DOORBELL_DELIVERED) {
			b->delivered++;
			continue;
		}
		if ((long)i < ret &&
		    b->list[i].status == PVX_DOORBELL_NO_LISTENER &&
		    !pq->plain) {
			WRITE_ONCE(pq->plain, true);
			dev_info(pq->vq->vdev->dev.parent,
				 "queue %u: no doorbell listener in the host, writing its notify register\n",
				 pq->vq->index);
		}
		pvx_virtio_write_notify(pq, b->list[i].value);
		b->plain++;
	}
	b->n = 0;
}

static void pvx_virtio_flush_work(struct work_struct *work)
{
	struct pvx_virtio_batch *b =
		container_of(work, struct pvx_virtio_batch, work);
	unsigned long flags;

	local_irq_save(flags);
	pvx_virtio_flush(b);
	local_irq_restore(flags);
}

static bool pvx_virtio_notify(struct virtqueue *vq)
{
	struct pvx_virtio_vq *pq = vq->priv;
	struct pvx_virtio_batch *b;
	unsigned long flags;
	struct pvx_doorbell *e;
	unsigned int i;
	u32 value;

	value = pq->len == 4 ? vring_notification_data(vq) : vq->index;
	if (READ_ONCE(pq->plain) || READ_ONCE(pvx_virtio_no_doorbell)) {
		pvx_virtio_write_notify(pq, value);
		this_cpu_inc(pvx_virtio_batches->kicks);
		this_cpu_inc(pvx_virtio_batches->plain);
		return true;
	}

	local_irq_save(flags);
	b = this_cpu_ptr(pvx_virtio_batches);
	b->kicks++;
	for (i = 0; i < b->n && b->vqs[i] != pq; i++)
		;
	e = &b->list[i];
	if (i == b->n) {
		b->vqs[b->n++] = pq;
		e->addr = pq->notify_gpa;
		e->space = pq->space;
		e->len = pq->len;
		e->reserved0 = 0;
	}
	e->value = value;
	/* not PVX_DOORBELL_DELIVERED until the host says so */
	e->status = -PVX_EINVAL;
	if (b->n >= READ_ONCE(pvx_virtio_batch_max) || pq->len == 4 ||
	    !in_serving_softirq() || in_hardirq() || irqs_disabled_flags(flags))
		pvx_virtio_flush(b);
	else
		queue_work_on(smp_processor_id(), system_bh_wq, &b->work);
	local_irq_restore(flags);
	return true;
}

/* Wait for every kick recorded so far to reach the host. */
static void pvx_virtio_drain(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		flush_work(&per_cpu_ptr(pvx_virtio_batches, cpu)->work);
}

/* The device config space at @offset, if @len bytes fit there. */
static void __iomem *pvx_virtio_config(struct virtio_device *vdev,
				       unsigned int offset, unsigned int len)
{
	struct virtio_pci_modern_device *mdev = &to_pvx_virtio(vdev)->mdev;

	if (!mdev->device || offset + len > mdev->device_len) {
		dev_err_ratelimited(&vdev->dev, "config access of %u bytes at %u: out of range\n",
				    len, offset);
		return NULL;
	}
	return mdev->device + offset;
}

static void pvx_virtio_get(struct virtio_device *vdev, unsigned int offset,
			   void *buf, unsigned int len)
{
	void __iomem *addr = pvx_virtio_config(vdev, offset, len);
	__le16 w;
	__le32 l;
	unsigned int i;

	if (!addr) {
		memset(buf, 0, len);
		return;
	}
	switch (len) {
	case 2:
		w = cpu_to_le16(ioread16(addr));
		memcpy(buf, &w, sizeof(w));
		break;
	case 4:
		l = cpu_to_le32(ioread32(addr));
		memcpy(buf, &l, sizeof(l));
		break;
	case 8:
		l = cpu_to_le32(ioread32(addr));
		memcpy(buf, &l, sizeof(l));
		l = cpu_to_le32(ioread32(addr + 4));
		memcpy(buf + 4, &l, sizeof(l));
		break;
	default:
		for (i = 0; i < len; i++)
			((u8 *)buf)[i] = ioread8(addr + i);
	}
}

static void pvx_virtio_set(struct virtio_device *vdev, unsigned int offset,
			   const void *buf, unsigned int len)
{
	void __iomem *addr = pvx_virtio_config(vdev, offset, len);
	__le16 w;
	__le32 l;
	unsigned int i;

	if (!addr)
		return;
	switch (len) {
	case 2:
		memcpy(&w, buf, sizeof(w));
		iowrite16(le16_to_cpu(w), addr);
		break;
	case 4:
		memcpy(&l, buf, sizeof(l));
		iowrite32(le32_to_cpu(l), addr);
		break;
	case 8:
		memcpy(&l, buf, sizeof(l));
		iowrite32(le32_to_cpu(l), addr);
		memcpy(&l, buf + 4, sizeof(l));
		iowrite32(le32_to_cpu(l), addr + 4);
		break;
	default:
		for (i = 0; i < len; i++)
			iowrite8(((const u8 *)buf)[i], addr + i);
	}
}

static u32 pvx_virtio_generation(struct virtio_device *vdev)
{
	return vp_modern_generation(&to_pvx_virtio(vdev)->mdev);
}

static u8 pvx_virtio_get_status(struct virtio_device *vdev)
{
	return vp_modern_get_status(&to_pvx_virtio(vdev)->mdev);
}

static void pvx_virtio_set_status(struct virtio_device *vdev, u8 status)
{
	/* 0 is a reset: that is pvx_virtio_reset() */
	WARN_ON(!status);
	vp_modern_set_status(&to_pvx_virtio(vdev)->mdev, status);
}

static void pvx_virtio_synchronize_cbs(struct virtio_device *vdev)
{
	struct pvx_virtio_dev *vp = to_pvx_virtio(vdev);
	unsigned int v;

	for (v = 0; v < vp->nvectors; v++)
		synchronize_irq(pci_irq_vector(vp->mdev.pci_dev, v));
}

static void pvx_virtio_reset(struct virtio_device *vdev)
{
	struct virtio_pci_modern_device *mdev = &to_pvx_virtio(vdev)->mdev;

	vp_modern_set_status(mdev, 0);
	/* the reset is done when the device reads back 0 */
	while (vp_modern_get_status(mdev))
		usleep_range(1000, 2000);
	/* and no callback of the old device state may still be running */
	pvx_virtio_synchronize_cbs(vdev);
}

static u64 pvx_virtio_get_features(struct virtio_device *vdev)
{
	return vp_modern_get_features(&to_pvx_virtio(vdev)->mdev);
}

static int pvx_virtio_finalize_features(struct virtio_device *vdev)
{
	vring_transport_features(vdev);
	if (!__virtio_test_bit(vdev, VIRTIO_F_VERSION_1)) {
		dev_err(&vdev->dev, "the device does not offer VIRTIO_F_VERSION_1\n");
		return -EINVAL;
	}
	vp_modern_set_features(&to_pvx_virtio(vdev)->mdev, vdev->features);
	return 0;
}

static const char *pvx_virtio_bus_name(struct virtio_device *vdev)
{
	return pci_name(to_pvx_virtio(vdev)->mdev.pci_dev);
}

static irqreturn_t pvx_virtio_config_interrupt(int irq, void *data)
{
	struct pvx_virtio_dev *vp = data;

	virtio_config_changed(&vp->vdev);
	return IRQ_HANDLED;
}

/*
 * The shared queue vector is requested after the queues exist and freed
 * before they go, so the list of queues is stable while it can fire.
 */
static irqreturn_t pvx_virtio_vqs_interrupt(int irq, void *data)
{
	struct pvx_virtio_dev *vp = data;
	irqreturn_t ret = IRQ_NONE;
	struct virtqueue *vq;

	list_for_each_entry(vq, &vp->vdev.vqs, list)
		if (vring_interrupt(irq, vq) == IRQ_HANDLED)
			ret = IRQ_HANDLED;
	return ret;
}

/* The doorbell's address space: a port if the notify BAR is an I/O BAR. */
static u8 pvx_virtio_space(struct pci_dev *pdev, u64 addr)
{
	int bar;

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		if (!pci_resource_len(pdev, bar) ||
		    addr < pci_resource_start(pdev, bar) ||
		    addr > pci_resource_end(pdev, bar))
			continue;
		if (pci_resource_flags(pdev, bar) & IORESOURCE_IO)
			return PVX_DOORBELL_PIO;
		break;
	}
	return PVX_DOORBELL_MMIO;
}

static struct virtqueue *pvx_virtio_setup_vq(struct pvx_virtio_dev *vp,
					     unsigned int index,
					     struct virtqueue_info *info,
					     u16 vector)
{
	struct virtio_pci_modern_device *mdev = &vp->mdev;
	struct pvx_virtio_vq *pq;
	struct virtqueue *vq;
	resource_size_t pa;
	int err;
	u16 num;

	if (index >= vp_modern_get_num_queues(mdev))
		return ERR_PTR(-ENOENT);
	num = vp_modern_get_queue_size(mdev, index);
	if (!num || vp_modern_get_queue_enable(mdev, index))
		return ERR_PTR(-ENOENT);

	pq = kzalloc(sizeof(*pq), GFP_KERNEL);
	if (!pq)
		return ERR_PTR(-ENOMEM);
	pq->len = __virtio_test_bit(&vp->vdev, VIRTIO_F_NOTIFICATION_DATA) ? 4 : 2;
	pq->vector = vector;

	vq = vring_create_virtqueue(index, num, SMP_CACHE_BYTES, &vp->vdev,
				    true, true, info->ctx, pvx_virtio_notify,
				    info->callback, info->name);
	if (!vq) {
		err = -ENOMEM;
		goto err_free;
	}
	vq->num_max = num;
	vq->priv = pq;
	pq->vq = vq;

	vp_modern_set_queue_size(mdev, index, virtqueue_get_vring_size(vq));
	vp_modern_queue_address(mdev, index, virtqueue_get_desc_addr(vq),
				virtqueue_get_avail_addr(vq),
				virtqueue_get_used_addr(vq));

	pq->notify = vp_modern_map_vq_notify(mdev, index, &pa);
	if (!pq->notify) {
		err = -ENOMEM;
		goto err_del_vq;
	}
	pq->notify_gpa = pa;
	pq->space = pvx_virtio_space(mdev->pci_dev, pa);

	if (vector == VIRTIO_MSI_NO_VECTOR)
		return vq;
	if (vp->per_vq_vectors) {
		snprintf(pq->irq_name, sizeof(pq->irq_name), "%s-%s",
			 dev_name(&vp->vdev.dev), info->name);
		err = request_irq(pci_irq_vector(mdev->pci_dev, vector),
				  vring_interrupt, 0, pq->irq_name, vq);
		if (err)
			goto err_unmap_notify;
	}
	if (vp_modern_queue_vector(mdev, index, vector) == VIRTIO_MSI_NO_VECTOR) {
		err = -EBUSY;
		goto err_free_irq;
	}
	return vq;

err_free_irq:
	if (vp->per_vq_vectors)
		free_irq(pci_irq_vector(mdev->pci_dev, vector), vq);
err_unmap_notify:
	if (!mdev->notify_base)
		pci_iounmap(mdev->pci_dev, pq->notify);
err_del_vq:
	vring_del_virtqueue(vq);
err_free:
	kfree(pq);
	return ERR_PTR(err);
}

static void pvx_virtio_del_vq_irq(struct pvx_virtio_dev *vp,
				  struct virtqueue *vq)
{
	struct virtio_pci_modern_device *mdev = &vp->mdev;
	struct pvx_virtio_vq *pq = vq->priv;

	if (pq->vector != VIRTIO_MSI_NO_VECTOR) {
		vp_modern_queue_vector(mdev, vq->index, VIRTIO_MSI_NO_VECTOR);
		if (vp->per_vq_vectors)
			free_irq(pci_irq_vector(mdev->pci_dev, pq->vector), vq);
	}
}

static void pvx_virtio_del_vq(struct pvx_virtio_dev *vp, struct virtqueue *vq)
{
	struct virtio_pci_modern_device *mdev = &vp->mdev;
	struct pvx_virtio_vq *pq = vq->priv;

	if (!mdev->notify_base)
		pci_iounmap(mdev->pci_dev, pq->notify);
	vring_del_virtqueue(vq);
	kfree(pq);
}

static void pvx_virtio_del_all_vqs(struct pvx_virtio_dev *vp)
{
	struct virtqueue *vq, *n;

	/* No callback may kick after the drain: interrupts go first. */
	list_for_each_entry(vq, &vp->vdev.vqs, list)
		pvx_virtio_del_vq_irq(vp, vq);
	/* no CPU's batch may still point at these queues */
	pvx_virtio_drain();
	list_for_each_entry_safe(vq, n, &vp->vdev.vqs, list)
		pvx_virtio_del_vq(vp, vq);
}

/*
 * A vector for configuration changes and one for each of the @ncb queues
 * with a callback, spread over the CPUs as @desc asks; else two vectors.
 */
static int pvx_virtio_alloc_vectors(struct pvx_virtio_dev *vp,
				    unsigned int ncb, struct irq_affinity *desc)
{
	struct pci_dev *pdev = vp->mdev.pci_dev;
	struct irq_affinity affd = {};
	unsigned int flags = PCI_IRQ_MSIX;
	int ret;

	if (desc) {
		/* the configuration vector is not spread */
		affd = *desc;
		affd.pre_vectors++;
		flags |= PCI_IRQ_AFFINITY;
	}
	ret = pci_alloc_irq_vectors_affinity(pdev, ncb + 1, ncb + 1, flags,
					     desc ? &affd : NULL);
	vp->per_vq_vectors = ret > 0;
	if (ret < 0)
		ret = pci_alloc_irq_vectors(pdev, 2, 2, PCI_IRQ_MSIX);
	if (ret < 0) {
		dev_err(&vp->vdev.dev, "no MSI-X vectors: %d\n", ret);
		return ret;
	}
	vp->nvectors = ret;
	return 0;
}

static void pvx_virtio_free_vectors(struct pvx_virtio_dev *vp)
{
	vp->nvectors = 0;
	pci_free_irq_vectors(vp->mdev.pci_dev);
}

static int pvx_virtio_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
			       struct virtqueue *vqs[],
			       struct virtqueue_info vqs_info[],
			       struct irq_affinity *desc)
{
	struct pvx_virtio_dev *vp = to_pvx_virtio(vdev);
	struct virtio_pci_modern_device *mdev = &vp->mdev;
	struct pci_dev *pdev = mdev->pci_dev;
	unsigned int i, index = 0, ncb = 0;
	u16 vector, next = PVX_VIRTIO_CONFIG_VECTOR + 1;
	struct virtqueue *vq;
	int err;

	for (i = 0; i < nvqs; i++)
		if (vqs_info[i].name && vqs_info[i].callback)
			ncb++;
	err = pvx_virtio_alloc_vectors(vp, ncb, desc);
	if (err)
		return err;

	err = request_irq(pci_irq_vector(pdev, PVX_VIRTIO_CONFIG_VECTOR),
			  pvx_virtio_config_interrupt, 0, vp->config_irq_name, vp);
	if (err)
		goto err_free_vectors;
	if (vp_modern_config_vector(mdev, PVX_VIRTIO_CONFIG_VECTOR) ==
	    VIRTIO_MSI_NO_VECTOR) {
		err = -EBUSY;
		goto err_free_config_irq;
	}

	/* Unnamed entries are unused: they take no queue of the device. */
	for (i = 0; i < nvqs; i++) {
		if (!vqs_info[i].name) {
			vqs[i] = NULL;
			continue;
		}
		if (!vqs_info[i].callback)
			vector = VIRTIO_MSI_NO_VECTOR;
		else if (vp->per_vq_vectors)
			vector = next++;
		else
			vector = PVX_VIRTIO_SHARED_VQ_VECTOR;
		vqs[i] = pvx_virtio_setup_vq(vp, index++, &vqs_info[i], vector);
		if (IS_ERR(vqs[i])) {
			err = PTR_ERR(vqs[i]);
			goto err_del_vqs;
		}
	}

	if (!vp->per_vq_vectors) {
		err = request_irq(pci_irq_vector(pdev, PVX_VIRTIO_SHARED_VQ_VECTOR),
				  pvx_virtio_vqs_interrupt, 0, vp->vqs_irq_name, vp);
		if (err)
			goto err_del_vqs;
	}

	list_for_each_entry(vq, &vdev->vqs, list)
		vp_modern_set_queue_enable(mdev, vq->index, true);
	vp->have_vqs = true;
	return 0;

err_del_vqs:
	pvx_virtio_del_all_vqs(vp);
	vp_modern_config_vector(mdev, VIRTIO_MSI_NO_VECTOR);
err_free_config_irq:
	free_irq(pci_irq_vector(pdev, PVX_VIRTIO_CONFIG_VECTOR), vp);
err_free_vectors:
	pvx_virtio_free_vectors(vp);
	return err;
}

static void pvx_virtio_del_vqs(struct virtio_device *vdev)
{
	struct pvx_virtio_dev *vp = to_pvx_virtio(vdev);
	struct pci_dev *pdev = vp->mdev.pci_dev;

	if (!vp->have_vqs)
		return;
	vp->have_vqs = false;
	if (!vp->per_vq_vectors)
		free_irq(pci_irq_vector(pdev, PVX_VIRTIO_SHARED_VQ_VECTOR), vp);
	pvx_virtio_del_all_vqs(vp);
	vp_modern_config_vector(&vp->mdev, VIRTIO_MSI_NO_VECTOR);
	free_irq(pci_irq_vector(pdev, PVX_VIRTIO_CONFIG_VECTOR), vp);
	pvx_virtio_free_vectors(vp);
}

static const struct cpumask *
pvx_virtio_get_vq_affinity(struct virtio_device *vdev, int index)
{
	struct pvx_virtio_dev *vp = to_pvx_virtio(vdev);
	struct pvx_virtio_vq *pq;
	struct virtqueue *vq;

	if (!vp->per_vq_vectors)
		return NULL;
	list_for_each_entry(vq, &vdev->vqs, list) {
		pq = vq->priv;
		if (vq->index == index && pq->vector != VIRTIO_MSI_NO_VECTOR)
			return pci_irq_get_affinity(vp->mdev.pci_dev, pq->vector);
	}
	return NULL;
}

static const struct virtio_config_ops pvx_virtio_config_ops = {
	.get			= pvx_virtio_get,
	.set			= pvx_virtio_set,
	.generation		= pvx_virtio_generation,
	.get_status		= pvx_virtio_get_status,
	.set_status		= pvx_virtio_set_status,
	.reset			= pvx_virtio_reset,
	.find_vqs		= pvx_virtio_find_vqs,
	.del_vqs		= pvx_virtio_del_vqs,
	.synchronize_cbs	= pvx_virtio_synchronize_cbs,
	.get_features		= pvx_virtio_get_features,
	.finalize_features	= pvx_virtio_finalize_features,
	.bus_name		= pvx_virtio_bus_name,
	.get_vq_affinity	= pvx_virtio_get_vq_affinity,
};

/* The last reference on the virtio device frees the whole structure. */
static void pvx_virtio_release(struct device *dev)
{
	struct virtio_device *vdev = dev_to_virtio(dev);

	kfree(to_pvx_virtio(vdev));
}

static int pvx_virtio_probe(struct pci_dev *pdev,
			    const struct pci_device_id *id)
{
	struct pvx_virtio_dev *vp;
	bool registered = false;
	int err;

	vp = kzalloc(sizeof(*vp), GFP_KERNEL);
	if (!vp)
		return -ENOMEM;
	vp->vdev.dev.parent = &pdev->dev;
	vp->vdev.dev.release = pvx_virtio_release;
	vp->vdev.config = &pvx_virtio_config_ops;
	vp->mdev.pci_dev = pdev;
	snprintf(vp->config_irq_name, sizeof(vp->config_irq_name),
		 "pvx_virtio-config@%s", pci_name(pdev));
	snprintf(vp->vqs_irq_name, sizeof(vp->vqs_irq_name),
		 "pvx_virtio-vqs@%s", pci_name(pdev));
	pci_set_drvdata(pdev, vp);

	err = pci_enable_device(pdev);
	if (err)
		goto err_free;

	err = vp_modern_probe(&vp->mdev);
	if (err)
		goto err_disable_device;
	vp->vdev.id = vp->mdev.id;
	pci_set_master(pdev);

	err = register_virtio_device(&vp->vdev);
	if (err) {
		/* it initialised vdev.dev: the last put frees vp */
		registered = true;
		goto err_clear_master;
	}
	dev_info(&pdev->dev, "virtio device %u as %s, notified by pvx doorbell\n",
		 vp->vdev.id.device, dev_name(&vp->vdev.dev));
	return 0;

err_clear_master:
	pci_clear_master(pdev);
	vp_modern_remove(&vp->mdev);
err_disable_device:
	pci_disable_device(pdev);
err_free:
	if (registered)
		put_device(&vp->vdev.dev);
	else
		kfree(vp);
	return err;
}

static void pvx_virtio_remove(struct pci_dev *pdev)
{
	struct pvx_virtio_dev *vp = pci_get_drvdata(pdev);
	/* vp lives until the end of this function, whoever holds vdev.dev */
	struct device *dev = get_device(&vp->vdev.dev);

	/* Gone already (surprise removal): no driver may wait on it. */
	if (!pci_device_is_present(pdev))
		virtio_break_device(&vp->vdev);
	unregister_virtio_device(&vp->vdev);
	pci_clear_master(pdev);
	vp_modern_remove(&vp->mdev);
	pci_disable_device(pdev);
	put_device(dev);
}

#ifdef CONFIG_PM_SLEEP
/*
 * Suspend and hibernation, as virtio_pci does them: the device loses its
 * queues (QEMU resets every device when it wakes a VM from S3), so the
 * virtio core stops the driver and sets the device up anew on the way
 * back, through this transport's ops.
 */
static int pvx_virtio_freeze(struct device *dev)
{
	struct pci_dev *pdev = to_pci_dev(dev);
	struct pvx_virtio_dev *vp = pci_get_drvdata(pdev);
	int ret;

	ret = virtio_device_freeze(&vp->vdev);
	if (!ret)
		pci_disable_device(pdev);
	return ret;
}

static int pvx_virtio_restore(struct device *dev)
{
	struct pci_dev *pdev = to_pci_dev(dev);
	struct pvx_virtio_dev *vp = pci_get_drvdata(pdev);
	int ret;

	ret = pci_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	return virtio_device_restore(&vp->vdev);
}

static const struct dev_pm_ops pvx_virtio_pm_ops = {
	SET_SYSTEM_SLEEP_PM_OPS(pvx_virtio_freeze, pvx_virtio_restore)
};
#define PVX_VIRTIO_PM_OPS	(&pvx_virtio_pm_ops)
#else
#define PVX_VIRTIO_PM_OPS	NULL
#endif

static ssize_t stats_show(struct device_driver *drv, char *buf)
{
	u64 kicks = 0, calls = 0, delivered = 0, plain = 0;
	struct pvx_virtio_batch *b;
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		b = per_cpu_ptr(pvx_virtio_batches, cpu);
		kicks += READ_ONCE(b->kicks);
		calls += READ_ONCE(b->calls);
		delivered += READ_ONCE(b->delivered);
		plain += READ_ONCE(b->plain);
	}
	return sysfs_emit(buf, "kicks %llu hypercalls %llu delivered %llu plain %llu\n",
			  kicks, calls, delivered, plain);
}
static DRIVER_ATTR_RO(stats);

static struct attribute *pvx_virtio_drv_attrs[] = {
	&driver_attr_stats.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pvx_virtio_drv);

/* No id table: devices come to it only through driver_override. */
static struct pci_driver pvx_virtio_driver = {
	.name		= KBUILD_MODNAME,
	.probe		= pvx_virtio_probe,
	.remove		= pvx_virtio_remove,
	.groups		= pvx_virtio_drv_groups,
	.driver.pm	= PVX_VIRTIO_PM_OPS,
};

/* Doorbells per call: the host's cap on list entries, and ours. */
static unsigned int pvx_virtio_cap(void)
{
	return min3(pvx_max_list_entries(), (unsigned int)PVX_VIRTIO_BATCH,
		    (unsigned int)(PVX_LIST_MAX_BYTES /
				   sizeof(struct pvx_doorbell)));
}

/* pvx_guest saw the service go or come back. */
static int pvx_virtio_service(struct notifier_block *nb, unsigned long action,
			      void *data)
{
	if (action == PVX_SERVICE_DOWN) {
		WRITE_ONCE(pvx_virtio_no_doorbell, true);
	} else if (*(u64 *)data & PVX_F_DOORBELL && pvx_virtio_cap()) {
		WRITE_ONCE(pvx_virtio_batch_max, pvx_virtio_cap());
		if (READ_ONCE(pvx_virtio_no_doorbell))
			pr_info("the host serves the doorbell again: kicks by hypercall\n");
		WRITE_ONCE(pvx_virtio_no_doorbell, false);
	}
	return NOTIFY_OK;
}

static struct notifier_block pvx_virtio_service_nb = {
	.notifier_call = pvx_virtio_service,
};

static void pvx_virtio_free_batches(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		kfree(per_cpu_ptr(pvx_virtio_batches, cpu)->list);
	free_percpu(pvx_virtio_batches);
}

static int __init pvx_virtio_init(void)
{
	struct pvx_virtio_batch *b;
	unsigned int cpu;
	int err;

	if (!(pvx_features() & PVX_F_DOORBELL)) {
		pr_err("the pvx host offers no doorbell (PVX_F_DOORBELL): not loading\n");
		return -ENODEV;
	}
	pvx_virtio_batch_max = pvx_virtio_cap();
	if (!pvx_virtio_batch_max) {
		pr_err("the pvx host takes no list entries: not loading\n");
		return -ENODEV;
	}

	pvx_virtio_batches = alloc_percpu(struct pvx_virtio_batch);
	if (!pvx_virtio_batches)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		b = per_cpu_ptr(pvx_virtio_batches, cpu);
		INIT_WORK(&b->work, pvx_virtio_flush_work);
		b->list = kcalloc_node(PVX_VIRTIO_BATCH, sizeof(*b->list),
				       GFP_KERNEL, cpu_to_node(cpu));
		if (!b->list) {
			err = -ENOMEM;
			goto err_free_batches;
		}
	}

	err = pvx_register_service_notifier(&pvx_virtio_service_nb);
	if (err)
		goto err_free_batches;
	err = pci_register_driver(&pvx_virtio_driver);
	if (err)
		goto err_service;
	pr_info("ready: %u doorbells per call; bind devices through driver_override\n",
		pvx_virtio_batch_max);
	return 0;

err_service:
	pvx_unregister_service_notifier(&pvx_virtio_service_nb);
err_free_batches:
	pvx_virtio_free_batches();
	return err;
}
module_init(pvx_virtio_init);

static void __exit pvx_virtio_exit(void)
{
	pci_unregister_driver(&pvx_virtio_driver);
	pvx_unregister_service_notifier(&pvx_virtio_service_nb);
	/* a work item may be queued for a batch already flushed inline */
	pvx_virtio_drain();
	pvx_virtio_free_batches();
}
module_exit(pvx_virtio_exit);

MODULE_DESCRIPTION("pvx: virtio-pci transport notified by doorbell hypercalls");
MODULE_LICENSE("GPL");
MODULE_VERSION(PVX_VERSION);
