// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_softdma: a DMA_MEMCPY dmaengine provider whose "hardware" is a
 * kernel worker, for the testbed only (built with PVX_TEST_MODULES=y).
 *
 * QEMU emulates no memcpy engine (no IOAT, no PTDMA), so without this the
 * dmaengine path of PVX_HC_COPY_PAGES could never run in the testbed.  It
 * goes through the real dmaengine API end to end: channel request,
 * descriptors, cookies, completion callbacks, DMA mapping against its
 * device.  Its parameters count what it copied and can fail a chosen
 * descriptor, so a test can see that copies went through the engine and
 * that an engine error reaches the guest as a per-entry status.
 *
 * Run in order, it cannot show a client that wrongly lets two dependent
 * copies be in flight at once: a real engine may run the descriptors of
 * one issue in parallel, on several internal queues.  mode=reverse makes
 * that visible: each batch of issued descriptors runs last first.
 *
 * stall=1 holds every descriptor issued from then on, as an engine stuck
 * on one would, until stall=0: a test can time a client out with its
 * descriptors still queued, and see what becomes of them.
 *
 * delay_us makes each descriptor take that long, as a busy or slow
 * engine would; pending counts the descriptors submitted and neither run
 * nor dropped yet, so that a test can see whether a client returned with
 * some of its descriptors still to run.
 */
#define pr_fmt(fmt) "pvx_softdma: " fmt

#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <pvx_kcompat.h>

static unsigned long copies;
module_param(copies, ulong, 0444);
MODULE_PARM_DESC(copies, "Descriptors completed without error");

static unsigned long fail_next;
module_param(fail_next, ulong, 0644);
MODULE_PARM_DESC(fail_next,
		 "Fail the Nth descriptor from now (1: the next one; 0: none)");

static unsigned int delay_us;
module_param(delay_us, uint, 0644);
MODULE_PARM_DESC(delay_us, "Microseconds each descriptor takes (0: none)");

static atomic_long_t pending = ATOMIC_LONG_INIT(0);

static int softdma_pending_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&pending));
}

static const struct kernel_param_ops softdma_pending_ops = {
	.get = softdma_pending_get,
};
module_param_cb(pending, &softdma_pending_ops, NULL, 0444);
MODULE_PARM_DESC(pending, "Descriptors submitted, not yet run or dropped");

enum softdma_mode { SOFTDMA_FIFO, SOFTDMA_REVERSE };

static const char * const softdma_modes[] = {
	[SOFTDMA_FIFO] = "fifo",
	[SOFTDMA_REVERSE] = "reverse",
};

static int softdma_mode = SOFTDMA_FIFO;

static int softdma_mode_set(const char *val, const struct kernel_param *kp)
{
	int mode = sysfs_match_string(softdma_modes, val);

	if (mode < 0)
		return mode;
	WRITE_ONCE(softdma_mode, mode);
	return 0;
}

static int softdma_mode_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", softdma_modes[READ_ONCE(softdma_mode)]);
}

static const struct kernel_param_ops softdma_mode_ops = {
	.set = softdma_mode_set,
	.get = softdma_mode_get,
};
module_param_cb(mode, &softdma_mode_ops, NULL, 0644);
MODULE_PARM_DESC(mode,
		 "fifo: descriptors run in submission order; reverse: each issued batch runs last first");

struct softdma_desc {
	struct dma_async_tx_descriptor tx;
	struct list_head node;
	dma_addr_t src, dst;
	size_t len;
};

struct softdma {
	struct dma_device dd;
	struct dma_chan chan;
	spinlock_t lock;		/* the lists and the cookies */
	struct list_head submitted;
	struct list_head issued;
	struct work_struct work;
};

static struct softdma *softdma;

static bool stall;

static int softdma_stall_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	/* What was held runs now; a stall set mid-batch stops the next. */
	if (!ret && !READ_ONCE(stall) && softdma)
		queue_work(system_unbound_wq, &softdma->work);
	return ret;
}

static const struct kernel_param_ops softdma_stall_ops = {
	.set = softdma_stall_set,
	.get = param_get_bool,
};
module_param_cb(stall, &softdma_stall_ops, &stall, 0644);
MODULE_PARM_DESC(stall, "Hold every issued descriptor until set back to 0");

static struct softdma_desc *to_desc(struct dma_async_tx_descriptor *tx)
{
	return container_of(tx, struct softdma_desc, tx);
}

static dma_cookie_t softdma_tx_submit(struct dma_async_tx_descriptor *tx)
{
	struct dma_chan *chan = tx->chan;
	unsigned long flags;
	dma_cookie_t cookie;

	spin_lock_irqsave(&softdma->lock, flags);
	cookie = chan->cookie + 1;
	if (cookie < DMA_MIN_COOKIE)
		cookie = DMA_MIN_COOKIE;
	chan->cookie = cookie;
	tx->cookie = cookie;
	list_add_tail(&to_desc(tx)->node, &softdma->submitted);
	atomic_long_inc(&pending);
	spin_unlock_irqrestore(&softdma->lock, flags);
	return cookie;
}

static struct dma_async_tx_descriptor *
softdma_prep_memcpy(struct dma_chan *chan, dma_addr_t dst, dma_addr_t src,
		    size_t len, unsigned long flags)
{
	struct softdma_desc *d;

	/* Descriptor reuse is not offered (no DMA_CTRL_REUSE support). */
	d = kzalloc(sizeof(*d), GFP_NOWAIT);
	if (!d)
		return NULL;
	dma_async_tx_descriptor_init(&d->tx, chan);
	d->tx.tx_submit = softdma_tx_submit;
	d->tx.flags = flags;
	d->src = src;
	d->dst = dst;
	d->len = len;
	return &d->tx;
}

static void softdma_issue_pending(struct dma_chan *chan)
{
	unsigned long flags;

	spin_lock_irqsave(&softdma->lock, flags);
	list_splice_tail_init(&softdma->submitted, &softdma->issued);
	spin_unlock_irqrestore(&softdma->lock, flags);
	queue_work(system_unbound_wq, &softdma->work);
}

static enum dma_status softdma_tx_status(struct dma_chan *chan,
					 dma_cookie_t cookie,
					 struct dma_tx_state *state)
{
	dma_cookie_t last, used;
	unsigned long flags;

	spin_lock_irqsave(&softdma->lock, flags);
	last = chan->completed_cookie;
	used = chan->cookie;
	spin_unlock_irqrestore(&softdma->lock, flags);
	dma_set_tx_state(state, last, used, 0);
	return dma_async_is_complete(cookie, last, used);
}

/*
 * Cookies complete in order, as the dmaengine API assumes: in reverse
 * mode tx_status reports a descriptor run early complete only once its
 * whole batch has run, before the batch's last callback.
 */
static void softdma_run(struct softdma_desc *d, dma_cookie_t complete)
{
	struct dmaengine_result res = { .result = DMA_TRANS_NOERROR };
	unsigned long flags;
	unsigned int us = READ_ONCE(delay_us);

	if (us)
		fsleep(us);
	if (READ_ONCE(fail_next) && !--fail_next) {
		res.result = DMA_TRANS_WRITE_FAILED;
	} else {
		/* Its DMA addresses are physical: it sits behind no IOMMU. */
		memcpy(phys_to_virt(d->dst), phys_to_virt(d->src), d->len);
		copies++;
	}
	/* Before the callback: the client it wakes may look at once. */
	atomic_long_dec(&pending);
	if (complete) {
		spin_lock_irqsave(&softdma->lock, flags);
		d->tx.chan->completed_cookie = complete;
		spin_unlock_irqrestore(&softdma->lock, flags);
	}
	if (d->tx.callback_result)
		d->tx.callback_result(d->tx.callback_param, &res);
	else if (d->tx.callback)
		d->tx.callback(d->tx.callback_param);
}

static void softdma_work(struct work_struct *work)
{
	struct softdma_desc *d, *tmp, *first;
	unsigned long flags;
	dma_cookie_t last;
	LIST_HEAD(batch);

	for (;;) {
		if (READ_ONCE(stall))
			return;
		spin_lock_irqsave(&softdma->lock, flags);
		if (READ_ONCE(softdma_mode) == SOFTDMA_REVERSE) {
			list_splice_init(&softdma->issued, &batch);
		} else {
			d = list_first_entry_or_null(&softdma->issued,
						     struct softdma_desc, node);
			if (d)
				list_move_tail(&d->node, &batch);
		}
		spin_unlock_irqrestore(&softdma->lock, flags);
		if (list_empty(&batch))
			return;

		first = list_first_entry(&batch, struct softdma_desc, node);
		last = list_last_entry(&batch, struct softdma_desc,
				       node)->tx.cookie;
		list_for_each_entry_reverse(d, &batch, node)
			softdma_run(d, d == first ? last : 0);
		list_for_each_entry_safe(d, tmp, &batch, node) {
			list_del(&d->node);
			kfree(d);
		}
	}
}

/* Drops whatever was not run yet: no callback for those, as hardware. */
static int softdma_terminate_all(struct dma_chan *chan)
{
	struct softdma_desc *d, *tmp;
	unsigned long flags;
	LIST_HEAD(dropped);

	spin_lock_irqsave(&softdma->lock, flags);
	list_splice_init(&softdma->submitted, &dropped);
	list_splice_init(&softdma->issued, &dropped);
	spin_unlock_irqrestore(&softdma->lock, flags);
	list_for_each_entry_safe(d, tmp, &dropped, node) {
		atomic_long_dec(&pending);
		kfree(d);
	}
	return 0;
}

static void softdma_synchronize(struct dma_chan *chan)
{
	flush_work(&softdma->work);
}

static int softdma_probe(struct platform_device *pdev)
{
	struct softdma *sd;
	struct dma_device *dd;
	int ret;

	sd = devm_kzalloc(&pdev->dev, sizeof(*sd), GFP_KERNEL);
	if (!sd)
		return -ENOMEM;
	spin_lock_init(&sd->lock);
	INIT_LIST_HEAD(&sd->submitted);
	INIT_LIST_HEAD(&sd->issued);
	INIT_WORK(&sd->work, softdma_work);
	ret = dma_coerce_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;

	dd = &sd->dd;
	dd->dev = &pdev->dev;
	dma_cap_set(DMA_MEMCPY, dd->cap_mask);
	dd->device_prep_dma_memcpy = softdma_prep_memcpy;
	dd->device_issue_pending = softdma_issue_pending;
	dd->device_tx_status = softdma_tx_status;
	dd->device_terminate_all = softdma_terminate_all;
	dd->device_synchronize = softdma_synchronize;
	INIT_LIST_HEAD(&dd->channels);
	sd->chan.device = dd;
	list_add_tail(&sd->chan.device_node, &dd->channels);
	/* The callbacks find it here; no channel exists before register. */
	softdma = sd;
	ret = dma_async_device_register(dd);
	if (ret) {
		softdma = NULL;
		return ret;
	}
	pr_info("DMA_MEMCPY channel %s (a CPU worker, for tests)\n",
		dma_chan_name(&sd->chan));
	return 0;
}

static void softdma_remove(struct platform_device *pdev)
{
	dma_async_device_unregister(&softdma->dd);
	flush_work(&softdma->work);
	softdma = NULL;
}

static struct platform_driver softdma_driver = {
	.probe = softdma_probe,
	PVX_PLATFORM_REMOVE(softdma_remove),
	.driver.name = "pvx_softdma",
};

static struct platform_device *softdma_pdev;

static int __init softdma_init(void)
{
	int ret;

	ret = platform_driver_register(&softdma_driver);
	if (ret)
		return ret;
	softdma_pdev = platform_device_register_simple("pvx_softdma", -1,
						       NULL, 0);
	if (IS_ERR(softdma_pdev)) {
		ret = PTR_ERR(softdma_pdev);
		goto err_pdev;
	}
	if (!softdma) {
		ret = -ENODEV;	/* probe failed: its error is in the log */
		goto err_probe;
	}
	return 0;

err_probe:
	platform_device_unregister(softdma_pdev);
err_pdev:
	platform_driver_unregister(&softdma_driver);
	return ret;
}

static void __exit softdma_exit(void)
{
	platform_device_unregister(softdma_pdev);
	platform_driver_unregister(&softdma_driver);
}

module_init(softdma_init);
module_exit(softdma_exit);

MODULE_DESCRIPTION("pvx testbed: a software DMA_MEMCPY engine");
MODULE_LICENSE("GPL");
