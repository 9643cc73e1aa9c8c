// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_batch_test: shows pvx_virtio's cross-queue batching on real devices.
 * It drives virtio-rng devices that sit on the pvx_virtio transport, and
 * each write to its "kick" parameter is one round: a buffer posted on
 * every device's queue, then every queue kicked from one BH work item,
 * i.e. from one softirq pass, the way a NAPI poll kicks its receive and
 * transmit queues.  pvx_virtio should hand all those kicks to the host in
 * one PVX_HC_DOORBELL; every device filling its buffer shows that each
 * kick reached the VMM.  The test script reads pvx_virtio's counters and
 * the host's around a round.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/workqueue.h>

#define PVX_BATCH_MAX_DEVS	8
#define PVX_BATCH_BUF_LEN	64
#define PVX_BATCH_TIMEOUT	(10 * HZ)

struct pvx_batch_dev {
	struct virtqueue *vq;
	struct completion done;
	u8 *buf;
};

/* Guards the device table and runs one round at a time. */
static DEFINE_MUTEX(pvx_batch_lock);
static struct pvx_batch_dev *pvx_batch_devs[PVX_BATCH_MAX_DEVS];
static unsigned int pvx_batch_ndevs;
static unsigned int pvx_batch_notified;

static void pvx_batch_done(struct virtqueue *vq)
{
	struct pvx_batch_dev *d = vq->vdev->priv;

	complete(&d->done);
}

/* In softirq context: the kicks pvx_virtio may hold back and batch. */
static void pvx_batch_kick_all(struct work_struct *work)
{
	struct virtqueue *vq;
	unsigned int i;

	pvx_batch_notified = 0;
	for (i = 0; i < pvx_batch_ndevs; i++) {
		vq = pvx_batch_devs[i]->vq;
		if (virtqueue_kick_prepare(vq) && virtqueue_notify(vq))
			pvx_batch_notified++;
	}
}

static DECLARE_WORK(pvx_batch_work, pvx_batch_kick_all);

static int pvx_batch_round(void)
{
	unsigned int i, len, answered = 0;
	struct pvx_batch_dev *d;
	struct scatterlist sg;
	int err;

	mutex_lock(&pvx_batch_lock);
	err = -ENODEV;
	if (!pvx_batch_ndevs)
		goto out;
	for (i = 0; i < pvx_batch_ndevs; i++) {
		d = pvx_batch_devs[i];
		reinit_completion(&d->done);
		sg_init_one(&sg, d->buf, PVX_BATCH_BUF_LEN);
		err = virtqueue_add_inbuf(d->vq, &sg, 1, d->buf, GFP_KERNEL);
		if (err)
			goto out;
	}
	queue_work(system_bh_wq, &pvx_batch_work);
	flush_work(&pvx_batch_work);
	for (i = 0; i < pvx_batch_ndevs; i++) {
		d = pvx_batch_devs[i];
		if (wait_for_completion_timeout(&d->done, PVX_BATCH_TIMEOUT) &&
		    virtqueue_get_buf(d->vq, &len))
			answered++;
	}
	pr_info("round: %u queues, %u notifications from one softirq pass, %u devices answered\n",
		pvx_batch_ndevs, pvx_batch_notified, answered);
	err = answered == pvx_batch_ndevs ? 0 : -ETIMEDOUT;
out:
	mutex_unlock(&pvx_batch_lock);
	return err;
}

static int pvx_batch_kick_set(const char *val, const struct kernel_param *kp)
{
	return pvx_batch_round();
}

static const struct kernel_param_ops pvx_batch_kick_ops = {
	.set = pvx_batch_kick_set,
};
module_param_cb(kick, &pvx_batch_kick_ops, NULL, 0200);
MODULE_PARM_DESC(kick, "write anything: one round over every device");

static int pvx_batch_probe(struct virtio_device *vdev)
{
	struct pvx_batch_dev *d;
	int err;

	/* The batching under test is pvx_virtio's; other transports kick at once. */
	if (strcmp(dev_driver_string(vdev->dev.parent), "pvx_virtio"))
		return -ENODEV;
	d = devm_kzalloc(&vdev->dev, sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	d->buf = devm_kzalloc(&vdev->dev, PVX_BATCH_BUF_LEN, GFP_KERNEL);
	if (!d->buf)
		return -ENOMEM;
	init_completion(&d->done);
	vdev->priv = d;

	mutex_lock(&pvx_batch_lock);
	err = -ENOSPC;
	if (pvx_batch_ndevs == PVX_BATCH_MAX_DEVS)
		goto err_unlock;
	d->vq = virtio_find_single_vq(vdev, pvx_batch_done, "input");
	if (IS_ERR(d->vq)) {
		err = PTR_ERR(d->vq);
		goto err_unlock;
	}
	virtio_device_ready(vdev);
	pvx_batch_devs[pvx_batch_ndevs++] = d;
	mutex_unlock(&pvx_batch_lock);
	return 0;

err_unlock:
	mutex_unlock(&pvx_batch_lock);
	return err;
}

static void pvx_batch_remove(struct virtio_device *vdev)
{
	struct pvx_batch_dev *d = vdev->priv;
	unsigned int i;

	mutex_lock(&pvx_batch_lock);
	for (i = 0; i < pvx_batch_ndevs && pvx_batch_devs[i] != d; i++)
		;
	if (!WARN_ON_ONCE(i == pvx_batch_ndevs))
		pvx_batch_devs[i] = pvx_batch_devs[--pvx_batch_ndevs];
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
	mutex_unlock(&pvx_batch_lock);
}

static const struct virtio_device_id pvx_batch_ids[] = {
	{ VIRTIO_ID_RNG, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static struct virtio_driver pvx_batch_driver = {
	.driver.name = KBUILD_MODNAME,
	.id_table = pvx_batch_ids,
	.probe = pvx_batch_probe,
	.remove = pvx_batch_remove,
};

module_virtio_driver(pvx_batch_driver);

MODULE_DESCRIPTION("pvx: cross-queue doorbell batching test on virtio-rng devices");
MODULE_LICENSE("GPL");
