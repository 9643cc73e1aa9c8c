// SPDX-License-Identifier: GPL-2.0
/*
 * Balloon by hypercall: the guest hands back ranges of its RAM.
 *
 * virtio-balloon passes single 4 KiB page frame numbers through a virtqueue
 * and the VMM madvise()s each; here a list entry covers up to 512 pages
 * and the host gives the memory back itself: the VMM's anonymous pages are
 * discarded, shared memory (memfd, shmem) gets a hole punched, and KVM's
 * MMU notifier drops the stage-2 mappings.  The host records what is
 * ballooned (an interval tree per VM), refuses overlaps, enforces a limit,
 * and discards again on deflate so that returned pages read as zero.
 *
 * A guest that touches a ballooned page is not stopped: it reads zeros,
 * and a write brings a page back into use on the host.  The range stays
 * recorded as ballooned until deflated.
 */
#include <linux/interval_tree.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include "pvx_host.h"

static unsigned long balloon_limit_mb;
module_param(balloon_limit_mb, ulong, 0644);
MODULE_PARM_DESC(balloon_limit_mb,
		 "Ballooned memory per VM, at most, in MiB (0: all of its RAM)");

static u64 pvx_balloon_limit_pages(void)
{
	return (u64)READ_ONCE(balloon_limit_mb) << (20 - PAGE_SHIFT);
}

void pvx_balloon_vm_init(struct pvx_balloon *b)
{
	mutex_init(&b->lock);
	b->ranges = RB_ROOT_CACHED;
	b->target = PVX_BALLOON_NO_TARGET;
}

/* The VM is gone: no caller can hold the lock. */
void pvx_balloon_vm_free(struct pvx_balloon *b)
{
	struct interval_tree_node *n;

	while ((n = interval_tree_iter_first(&b->ranges, 0, ULONG_MAX))) {
		interval_tree_remove(n, &b->ranges);
		kfree(n);
	}
	mutex_destroy(&b->lock);
}

/*
 * The guest was reset: a new boot has nothing ballooned.  The memory
 * stays given back (a refault reads zeros); the host's target stands.
 */
void pvx_balloon_vm_reset(struct pvx_balloon *b)
{
	struct interval_tree_node *n;

	mutex_lock(&b->lock);
	while ((n = interval_tree_iter_first(&b->ranges, 0, ULONG_MAX))) {
		interval_tree_remove(n, &b->ranges);
		kfree(n);
	}
	WRITE_ONCE(b->pages, 0);
	b->inflated = 0;
	b->deflated = 0;
	mutex_unlock(&b->lock);
}

static s32 pvx_range_check(const struct pvx_gfn_range *r)
{
	if (!r->npages || r->gfn + r->npages <= r->gfn)
		return -PVX_EINVAL;
	if (r->npages > PVX_RANGE_MAX_PAGES)
		return -PVX_E2BIG;
	return 0;
}

static s32 pvx_inflate_one(struct pvx_batch *bt, struct pvx_balloon *b,
			   const struct pvx_gfn_range *r)
{
	u64 last = r->gfn + r->npages - 1, limit = pvx_balloon_limit_pages();
	struct interval_tree_node *n;
	s32 ret;

	ret = pvx_range_check(r);
	if (ret)
		return ret;
	if (interval_tree_iter_first(&b->ranges, r->gfn, last))
		return -PVX_EBUSY;
	if (limit && b->pages + r->npages > limit)
		return -PVX_ENOSPC;

	n = kzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return -PVX_EAGAIN;
	ret = pvx_compat_discard(bt->kvm, r->gfn, r->npages);
	if (ret) {
		kfree(n);
		return ret;
	}
	n->start = r->gfn;
	n->last = last;
	interval_tree_insert(n, &b->ranges);
	WRITE_ONCE(b->pages, b->pages + r->npages);
	b->inflated += r->npages;
	return 0;
}

/* Every page of [first, last] ballooned? */
static bool pvx_balloon_covers(struct pvx_balloon *b, u64 first, u64 last)
{
	struct interval_tree_node *n;
	u64 next = first;

	/* Recorded ranges never overlap, so they come in order. */
	for (n = interval_tree_iter_first(&b->ranges, first, last); n;
	     n = interval_tree_iter_next(n, first, last)) {
		if (n->start > next)
			return false;
		next = n->last + 1;
		if (next > last)
			return true;
	}
	return false;
}

static s32 pvx_deflate_one(struct pvx_batch *bt, struct pvx_balloon *b,
			   const struct pvx_gfn_range *r)
{
	u64 first = r->gfn, last = r->gfn + r->npages - 1;
	struct interval_tree_node *n, *left = NULL, *right = NULL;
	s32 ret;

	ret = pvx_range_check(r);
	if (ret)
		return ret;
	if (!pvx_balloon_covers(b, first, last))
		return -PVX_ENOENT;

	/* At most two remainders: before @first and after @last. */
	left = kzalloc(sizeof(*left), GFP_KERNEL_ACCOUNT);
	right = kzalloc(sizeof(*right), GFP_KERNEL_ACCOUNT);
	if (!left || !right) {
		kfree(left);
		kfree(right);
		return -PVX_EAGAIN;
	}

	while ((n = interval_tree_iter_first(&b->ranges, first, last))) {
		interval_tree_remove(n, &b->ranges);
		if (n->start < first) {
			left->start = n->start;
			left->last = first - 1;
			interval_tree_insert(left, &b->ranges);
			left = NULL;
		}
		if (n->last > last) {
			right->start = last + 1;
			right->last = n->last;
			interval_tree_insert(right, &b->ranges);
			right = NULL;
		}
		kfree(n);
	}
	kfree(left);
	kfree(right);
	WRITE_ONCE(b->pages, b->pages - r->npages);
	b->deflated += r->npages;

	/*
	 * Zero again whatever the guest wrote while the range was out.  A
	 * range whose memslot went away meanwhile has nothing to zero.
	 */
	pvx_compat_discard(bt->kvm, r->gfn, r->npages);
	return 0;
}

static void pvx_balloon_run(struct pvx_batch *bt, bool inflate)
{
	struct pvx_balloon *b = &bt->vm->balloon;
	struct pvx_gfn_range *list = bt->list;

	mutex_lock(&b->lock);
	for (bt->done = 0; bt->done < bt->count; bt->done++) {
		struct pvx_gfn_range *r = &list[bt->done];

		r->status = inflate ? pvx_inflate_one(bt, b, r) :
				      pvx_deflate_one(bt, b, r);
		if (r->status) {
			bt->processed = bt->done + 1;
			goto out;
		}
		cond_resched();
	}
	bt->processed = bt->done;
out:
	mutex_unlock(&b->lock);
}

static void pvx_inflate_run(struct pvx_batch *bt)
{
	pvx_balloon_run(bt, true);
}

static void pvx_deflate_run(struct pvx_batch *bt)
{
	pvx_balloon_run(bt, false);
}

static const struct pvx_split_ops pvx_inflate_ops = {
	.entry_size = sizeof(struct pvx_gfn_range),
	.run = pvx_inflate_run,
};

static const struct pvx_split_ops pvx_deflate_ops = {
	.entry_size = sizeof(struct pvx_gfn_range),
	.run = pvx_deflate_run,
};

static long pvx_balloon_stats(struct pvx_call *call)
{
	struct pvx_balloon *b = &call->vm->balloon;
	struct pvx_balloon_info info = {
		.limit_pages = pvx_balloon_limit_pages(),
	};
	size_t len = min_t(unsigned long, call->args[1], sizeof(info));

	if (!call->args[0] || call->args[2] || call->args[3])
		return -PVX_EINVAL;
	mutex_lock(&b->lock);
	info.ballooned_pages = b->pages;
	info.inflated_pages = b->inflated;
	info.deflated_pages = b->deflated;
	info.target_pages = b->target;
	mutex_unlock(&b->lock);
	if (len && pvx_guest_write(call, call->args[0], &info, len))
		return -PVX_EFAULT;
	return 0;
}

/*
 * PVX_IOC_SET_BALLOON_TARGET.  The host only asks: the guest's driver
 * does the ballooning, through the hypercalls above, and the limit still
 * holds whatever the guest does.  PVX_BALLOON_NO_TARGET withdraws the
 * request.  A target above the limit or above the VM's RAM (now: memory
 * added later is the VMM's business) is refused, not left for the guest
 * to chase.  The caller holds a reference on the VM's KVM.
 */
int pvx_balloon_set_target(struct pvx_vm *vm, u64 target, bool *notified)
{
	struct pvx_balloon *b = &vm->balloon;
	u64 limit = pvx_balloon_limit_pages();

	if (!(vm->features & PVX_F_BALLOON))
		return -EOPNOTSUPP;
	if (target != PVX_BALLOON_NO_TARGET &&
	    ((limit && target > limit) || target > pvx_compat_ram_pages(vm->kvm)))
		return -ENOSPC;
	mutex_lock(&b->lock);
	WRITE_ONCE(b->target, target);
	mutex_unlock(&b->lock);
	*notified = pvx_event_raise(vm);
	return 0;
}

const struct pvx_service_ops pvx_svc_balloon_inflate = {
	.batch = &pvx_inflate_ops,
};

const struct pvx_service_ops pvx_svc_balloon_deflate = {
	.batch = &pvx_deflate_ops,
};

const struct pvx_service_ops pvx_svc_balloon_stats = {
	.handler = pvx_balloon_stats,
};
