// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_COPY_PAGES: bulk page copy, e.g. for fork in the guest.
 *
 * Copying N pages inside the guest touches 2N pages through its own page
 * tables, and every destination page not yet writable in stage 2 costs an
 * exit.  The host copies guest-physical to guest-physical for one exit per
 * batch, and the destinations are marked dirty as a guest write would mark
 * them.  Split-phase, a worker takes the faults and the collecting vCPU
 * copies (pvx_copy_prepare()).
 *
 * The copy engine: a DMA_MEMCPY dmaengine channel when the host has one
 * (taken at load, or on "echo dma > .../parameters/copy_engine"), the CPU
 * otherwise ("echo cpu" gives the channel back).  With an engine, up to
 * PVX_DMA_INFLIGHT pages are pinned, mapped for the channel's device and
 * in flight at once; the CPU only waits.  A page the engine fails gets
 * -EIO and ends the batch there, as any refused entry does.
 *
 * One exit is bounded, as KVM's own are: a list is one page (170
 * entries at most), a pending signal ends the call before its next
 * entry (CPU) or chunk (engine), and the exit's waits for the engine
 * last PVX_DMA_TIMEOUT in all.  The chunk in flight when a signal comes
 * is waited for, not left behind: dmaengine cannot take one client's
 * descriptors off a shared channel without stopping every VM's, and a
 * descriptor left running would write the guest's pages after the call
 * has told the guest they were not written.  Only an engine that misses
 * the timeout (or a VMM killed meanwhile) leaves a chunk running; its
 * pages stay pinned until the engine is done with them, and the VM is
 * stopped for good (pvx_compat_vm_dead()), since its guest could no
 * longer be told which of its pages are still to change.
 */
#define pr_fmt(fmt) "pvx: " fmt

#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include "pvx_host.h"

#define PVX_DMA_INFLIGHT	64
/* An engine that keeps one exit waiting this long, in all, is broken. */
#define PVX_DMA_TIMEOUT		(5 * HZ)

struct pvx_dma_op {
	struct pvx_dma_chunk *chunk;
	dma_addr_t src_dma, dst_dma;
	enum dmaengine_tx_result result;
};

/*
 * Pages in flight at once.  Allocated per batch, not in its scratch page:
 * one the engine does not finish in time outlives its batch, pinned and
 * mapped until the engine is done with it (see pvx_dma_finish()).
 */
struct pvx_dma_chunk {
	struct list_head node;	/* on pvx_dma_abandoned */
	struct device *dev;
	atomic_t pending;
	u32 n;			/* mapped pages, for the reaper */
	bool finished;		/* under pvx_dma_lock: the last callback ran */
	bool abandoned;		/* under pvx_dma_lock: its batch left it */
	struct completion done;
	struct pvx_copy_pages pages[PVX_DMA_INFLIGHT];
	struct pvx_dma_op op[PVX_DMA_INFLIGHT];
};

/* The chunks' hand-over between the batch, the callbacks and the reaper. */
static DEFINE_SPINLOCK(pvx_dma_lock);
static LIST_HEAD(pvx_dma_abandoned);
static void pvx_dma_reap_fn(struct work_struct *work);
static DECLARE_WORK(pvx_dma_reap_work, pvx_dma_reap_fn);
static void pvx_dma_reap(bool all);

/* Readers: batches using the channel; writer: the parameter. */
static DECLARE_RWSEM(pvx_copy_engine_lock);
static struct dma_chan *pvx_copy_chan;
static bool pvx_copy_engine_chosen;

static int pvx_copy_engine_take(void)
{
	struct dma_chan *chan;
	dma_cap_mask_t mask;

	dma_cap_zero(mask);
	dma_cap_set(DMA_MEMCPY, mask);
	chan = dma_request_chan_by_mask(&mask);
	if (IS_ERR(chan))
		return PTR_ERR(chan);
	pvx_copy_chan = chan;
	pr_info("COPY_PAGES: DMA channel %s\n", dma_chan_name(chan));
	return 0;
}

static void pvx_copy_engine_drop(void)
{
	if (!pvx_copy_chan)
		return;
	/*
	 * No batch runs now: all the channel still holds is from abandoned
	 * chunks, whose pages can be given back once it is stopped.
	 */
	dmaengine_terminate_sync(pvx_copy_chan);
	cancel_work_sync(&pvx_dma_reap_work);
	pvx_dma_reap(true);
	dma_release_channel(pvx_copy_chan);
	pvx_copy_chan = NULL;
}

static int pvx_copy_engine_set(const char *val, const struct kernel_param *kp)
{
	int ret = 0;

	down_write(&pvx_copy_engine_lock);
	if (sysfs_streq(val, "cpu")) {
		pvx_copy_engine_drop();
	} else if (sysfs_streq(val, "dma")) {
		if (!pvx_copy_chan)
			ret = pvx_copy_engine_take();
	} else {
		ret = -EINVAL;
	}
	if (!ret)
		pvx_copy_engine_chosen = true;
	up_write(&pvx_copy_engine_lock);
	return ret;
}

static int pvx_copy_engine_get(char *buf, const struct kernel_param *kp)
{
	int n;

	down_read(&pvx_copy_engine_lock);
	if (pvx_copy_chan)
		n = sysfs_emit(buf, "dma %s\n", dma_chan_name(pvx_copy_chan));
	else
		n = sysfs_emit(buf, "cpu\n");
	up_read(&pvx_copy_engine_lock);
	return n;
}

static const struct kernel_param_ops pvx_copy_engine_ops = {
	.set = pvx_copy_engine_set,
	.get = pvx_copy_engine_get,
};
module_param_cb(copy_engine, &pvx_copy_engine_ops, NULL, 0644);
MODULE_PARM_DESC(copy_engine,
		 "COPY_PAGES engine: dma (a DMA_MEMCPY channel) or cpu; default: dma if the host has one");

/* At load: an engine if there is one, unless the parameter chose. */
void pvx_copy_engine_init(void)
{
	down_write(&pvx_copy_engine_lock);
	if (!pvx_copy_engine_chosen && pvx_copy_engine_take())
		pr_info("COPY_PAGES: no DMA_MEMCPY channel, CPU copy\n");
	up_write(&pvx_copy_engine_lock);
}

void pvx_copy_engine_exit(void)
{
	down_write(&pvx_copy_engine_lock);
	pvx_copy_engine_drop();
	up_write(&pvx_copy_engine_lock);
}

static void pvx_copy_run_cpu(struct pvx_batch *b)
{
	struct pvx_copy_entry *list = b->list;

	for (b->done = 0; b->done < b->count; b->done++) {
		struct pvx_copy_entry *e = &list[b->done];

		/* A dying VMM stops here; the guest resubmits the rest. */
		if (fatal_signal_pending(current))
			break;
		/*
		 * After the first entry any signal too: KVM delivers it
		 * before the guest runs again, and the guest resumes here.
		 */
		if (b->done && signal_pending(current))
			e->status = -EAGAIN;
		else if (e->reserved)
			e->status = -EINVAL;
		else if (!pvx_dirty_take(&b->dirty_budget, 1))
			e->status = -EAGAIN;	/* the ring is full */
		else
			e->status = pvx_compat_copy_page(b->kvm, b->vcpu,
							 e->src_gfn, e->dst_gfn,
							 b->scratch);
		if (e->status) {
			b->processed = b->done + 1;
			return;
		}
		cond_resched();
	}
	b->processed = b->done;
}

static void pvx_dma_done(void *arg, const struct dmaengine_result *res)
{
	struct pvx_dma_op *op = arg;
	struct pvx_dma_chunk *c = op->chunk;
	unsigned long flags;

	WRITE_ONCE(op->result, res ? res->result : DMA_TRANS_NOERROR);
	if (!atomic_dec_and_test(&c->pending))
		return;
	spin_lock_irqsave(&pvx_dma_lock, flags);
	c->finished = true;
	if (c->abandoned)
		queue_work(system_unbound_wq, &pvx_dma_reap_work);
	else
		complete(&c->done);
	spin_unlock_irqrestore(&pvx_dma_lock, flags);
}

static void pvx_dma_unpin(struct pvx_copy_pages *pg)
{
	unpin_user_page(pg->src);
	unpin_user_pages_dirty_lock(&pg->dst, 1, true);
}

static void pvx_dma_release(struct pvx_dma_chunk *c, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		struct pvx_dma_op *op = &c->op[i];

		dma_unmap_page(c->dev, op->dst_dma, PAGE_SIZE, DMA_FROM_DEVICE);
		dma_unmap_page(c->dev, op->src_dma, PAGE_SIZE, DMA_TO_DEVICE);
		pvx_dma_unpin(&c->pages[i]);
	}
}

/* @all: the channel is stopped, no callback can come any more. */
static void pvx_dma_reap(bool all)
{
	struct pvx_dma_chunk *c, *tmp;
	LIST_HEAD(reap);

	spin_lock_irq(&pvx_dma_lock);
	list_for_each_entry_safe(c, tmp, &pvx_dma_abandoned, node)
		if (all || c->finished)
			list_move_tail(&c->node, &reap);
	spin_unlock_irq(&pvx_dma_lock);

	list_for_each_entry_safe(c, tmp, &reap, node) {
		pvx_dma_release(c, c->n);
		kfree(c);
	}
}

static void pvx_dma_reap_fn(struct work_struct *work)
{
	pvx_dma_reap(false);
}

/* Pins the entry's pages: the pages, not the gfns, say what it touches. */
static s32 pvx_dma_pin(struct pvx_batch *b, struct pvx_copy_pages *pg,
		       const struct pvx_copy_entry *e)
{
	s32 ret;

	if (e->reserved)
		return -EINVAL;
	ret = pvx_compat_pin_guest_page(b->kvm, e->src_gfn, false, &pg->src);
	if (ret)
		return ret;
	ret = pvx_compat_pin_guest_page(b->kvm, e->dst_gfn, true, &pg->dst);
	if (ret)
		unpin_user_page(pg->src);
	return ret;
}

/* Maps and submits pinned page @i; undoes the mapping on failure. */
static s32 pvx_dma_submit(struct dma_chan *chan, struct pvx_dma_chunk *c,
			  u32 i)
{
	struct pvx_copy_pages *pg = &c->pages[i];
	struct pvx_dma_op *op = &c->op[i];
	struct dma_async_tx_descriptor *tx;

	op->chunk = c;
	op->src_dma = dma_map_page(c->dev, pg->src, 0, PAGE_SIZE,
				   DMA_TO_DEVICE);
	if (dma_mapping_error(c->dev, op->src_dma))
		return -EAGAIN;
	op->dst_dma = dma_map_page(c->dev, pg->dst, 0, PAGE_SIZE,
				   DMA_FROM_DEVICE);
	if (dma_mapping_error(c->dev, op->dst_dma))
		goto err_map_dst;
	tx = dmaengine_prep_dma_memcpy(chan, op->dst_dma, op->src_dma,
				       PAGE_SIZE, DMA_PREP_INTERRUPT);
	if (!tx)
		goto err_prep;
	op->result = DMA_TRANS_ABORTED;	/* until the engine says otherwise */
	tx->callback_result = pvx_dma_done;
	tx->callback_param = op;
	atomic_inc(&c->pending);
	if (dma_submit_error(dmaengine_submit(tx))) {
		atomic_dec(&c->pending);
		goto err_prep;
	}
	return 0;

err_prep:
	dma_unmap_page(c->dev, op->dst_dma, PAGE_SIZE, DMA_FROM_DEVICE);
err_map_dst:
	dma_unmap_page(c->dev, op->src_dma, PAGE_SIZE, DMA_TO_DEVICE);
	return -EAGAIN;
}

/*
 * Waits for the chunk's @n pages, for what is left of @budget (jiffies:
 * the exit's waits together) at most, and sets their entries' status.
 * Returns 0 when the engine finished them all: they are unmapped and
 * unpinned.
 *
 * Otherwise (-ETIMEDOUT, or -EINTR for a fatal signal) the chunk is left
 * to the engine.  The channel is shared by every VM's batches and
 * dmaengine can only stop all of a channel's descriptors, never one
 * batch's, so it is not stopped; the pages stay pinned and mapped, since
 * the engine may still write them, and the chunk's last callback hands
 * it to the reaper.  Giving the channel up stops it and reaps the rest.
 */
static int pvx_dma_finish(struct dma_chan *chan, struct pvx_dma_chunk *c,
			  struct pvx_copy_entry *e, u32 n, long *budget)
{
	long left = 1;
	int ret = 0;
	u32 i;

	dma_async_issue_pending(chan);
	/* The chunk's own count: no completion before all are submitted. */
	if (!atomic_dec_and_test(&c->pending)) {
		left = wait_for_completion_killable_timeout(&c->done, *budget);
		if (left > 0)
			*budget = left;
	}
	spin_lock_irq(&pvx_dma_lock);
	if (left <= 0 && !c->finished) {
		c->n = n;
		c->abandoned = true;
		list_add_tail(&c->node, &pvx_dma_abandoned);
		ret = left ? -EINTR : -ETIMEDOUT;
	}
	/* Under the lock: an abandoned chunk is freed once it finishes. */
	for (i = 0; i < n; i++)
		e[i].status = READ_ONCE(c->op[i].result) == DMA_TRANS_NOERROR ?
			      0 : -EIO;
	spin_unlock_irq(&pvx_dma_lock);

	if (ret == -ETIMEDOUT)
		pr_err_ratelimited("COPY_PAGES: DMA channel %s timed out, VM stopped\n",
				   dma_chan_name(chan));
	if (!ret)
		pvx_dma_release(c, n);
	return ret;
}

/*
 * Entries are copied in list order.  A channel may run its descriptors
 * concurrently and in any order, so an entry that touches a host page an
 * earlier one in flight writes, or writes one it reads, waits for the
 * next chunk.  It is pinned first: two gfns (aliasing memslots) may be
 * one page.
 */
static void pvx_copy_run_dma(struct pvx_batch *b, struct dma_chan *chan)
{
	struct pvx_copy_entry *list = b->list;
	long budget = PVX_DMA_TIMEOUT;	/* waits only: pinning may fault */
	struct pvx_copy_pages next;
	struct pvx_dma_chunk *c;
	bool carry = false;	/* @next is pinned, waiting for a chunk */
	u32 base = 0, room, n, i;
	s32 refused = 0;
	int ret = 0;

	c = kmalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c) {
		/* Same result, only slower: not worth failing the batch. */
		pvx_copy_run_cpu(b);
		return;
	}
	c->dev = chan->device->dev;
	b->done = 0;
	while (base < b->count && !refused && !fatal_signal_pending(current)) {
		/* Signals as in pvx_copy_run_cpu(), a chunk for an entry. */
		if (base && signal_pending(current)) {
			list[base].status = -EAGAIN;
			b->processed = base + 1;
			goto out;
		}
		/* A chunk's destinations are marked dirty: the ring's room. */
		room = pvx_dirty_take(&b->dirty_budget,
				      min_t(u32, b->count - base,
					    PVX_DMA_INFLIGHT));
		if (!room) {
			list[base].status = -EAGAIN;
			b->processed = base + 1;
			goto out;
		}
		atomic_set(&c->pending, 1);
		c->finished = false;
		c->abandoned = false;
		init_completion(&c->done);
		for (n = 0; n < room; n++) {
			if (carry) {
				c->pages[n] = next;
				carry = false;
			} else {
				refused = pvx_dma_pin(b, &c->pages[n],
						      &list[base + n]);
				if (refused)
					break;
			}
			if (pvx_copy_depends(c->pages, n, &c->pages[n])) {
				next = c->pages[n];
				carry = true;
				break;
			}
			refused = pvx_dma_submit(chan, c, n);
			if (refused) {
				pvx_dma_unpin(&c->pages[n]);
				break;
			}
		}
		ret = pvx_dma_finish(chan, c, &list[base], n, &budget);
		if (ret)
			pvx_compat_vm_dead(b->kvm);

		/* In list order: the first failure ends the batch. */
		for (i = 0; i < n && b->done == base + i; i++)
			if (!list[base + i].status)
				b->done++;
		if (ret || b->done < base + n) {
			/* The engine may have written past the failure. */
			b->written = base + n;
			/* Killed, or all done after all: no status to give. */
			b->processed = b->done;
			if (ret != -EINTR && b->done < base + n)
				b->processed++;
			goto out;
		}
		if (refused) {
			list[base + n].status = refused;
			b->processed = base + n + 1;
			goto out;
		}
		base += n;
		cond_resched();
	}
	b->processed = b->done;
out:
	if (carry)
		pvx_dma_unpin(&next);
	if (!ret)
		kfree(c);
}

static void pvx_copy_mark_dirty(struct kvm_vcpu *vcpu, const void *list,
				u32 done)
{
	const struct pvx_copy_entry *e = list;
	u32 i;

	for (i = 0; i < done; i++)
		pvx_compat_mark_dirty(vcpu, e[i].dst_gfn);
}

static void pvx_copy_run(struct pvx_batch *b)
{
	down_read(&pvx_copy_engine_lock);
	if (!pvx_copy_chan) {
		pvx_copy_run_cpu(b);
		up_read(&pvx_copy_engine_lock);
		return;
	}
	pvx_copy_run_dma(b, pvx_copy_chan);
	up_read(&pvx_copy_engine_lock);

	/* The engine wrote behind KVM's back: the calling vCPU marks it. */
	pvx_copy_mark_dirty(b->vcpu, b->list, max(b->done, b->written));
}

/*
 * Split-phase, the worker takes the slow part off the vCPU: the faults
 * that bring each source in and make each destination private and
 * writable (swap-in, copy-on-write, the zero page).  The copy itself
 * waits for the collecting vCPU, so the guest never reads a destination
 * whose new data the dirty log has not seen.  Errors are the copy's to
 * report.
 */
static void pvx_copy_prepare(struct pvx_batch *b)
{
	const struct pvx_copy_entry *list = b->list;
	u32 i;

	for (i = 0; i < b->count && !fatal_signal_pending(current); i++) {
		pvx_compat_fault_in(b->kvm, list[i].src_gfn, false);
		pvx_compat_fault_in(b->kvm, list[i].dst_gfn, true);
		cond_resched();
	}
}

static const struct pvx_split_ops pvx_copy_ops = {
	PVX_LIST_ENTRY(struct pvx_copy_entry, status),
	.run = pvx_copy_run,
	.prepare = pvx_copy_prepare,
};

const struct pvx_service_ops pvx_svc_copy_pages = {
	.batch = &pvx_copy_ops,
};
