// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_balloon: give guest memory back to the host by page ranges.
 *
 * The target (in pages) is set by the host (pvxctl balloon: the host
 * records it and sends a host event; the driver reads it with
 * PVX_HC_BALLOON_STATS) or in /sys/kernel/pvx_balloon/target_pages,
 * whichever spoke last.  A worker takes pages from the page allocator, 2 MiB blocks when it can,
 * and hands them to the host with PVX_HC_BALLOON_INFLATE, up to 256
 * ranges a call; deflating hands them back and prefaults them writable
 * (PVX_HC_PREFAULT_WRITE) before they return to the allocator, so their
 * next use costs no exit.  Under memory pressure the OOM notifier deflates
 * first.
 *
 * A host that stops serving (detach, pvx_host unloaded) forgets what was
 * ballooned: every ballooned page goes back to the guest's allocator at
 * once, with no hypercall (it reads as zero, which the allocator does not
 * mind), and a later attach starts from an empty balloon.  Another
 * instance that serves at once (the new host of a live migration, or an
 * attach the guest saw before it saw the detach) is given the pages
 * again instead, so that the balloon stays as big as it was.  A deflate the
 * host answers -PVX_ENOENT for (it has no record of the range) gives the
 * range back to the guest too: it is the guest's either way.
 *
 * The host bounds one call's pages: a call may stop inside a range, which
 * the next call resumes from (pvx_balloon_batch()).  A range left done
 * in part when the host refuses the rest has its block cut into single
 * pages, so that the balloon holds exactly the pages the host holds.
 *
 * Ballooned pages are PageOffline, as virtio_balloon's are: kdump's
 * makedumpfile, hibernation and /proc/kcore leave them alone, the host
 * having taken their contents.  Single pages are movable, through the
 * kernel's balloon compaction (as virtio_balloon's): compaction moves one
 * by asking the host to take the new page and give back the old one, so
 * that scattered ballooned pages do not pin the guest's memory in pieces.
 * 2 MiB blocks are whole pageblocks already and stay where they are.
 */
#define pr_fmt(fmt) "pvx_balloon: " fmt

#include <linux/balloon_compaction.h>
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/oom.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>
#include <uapi/linux/pvx_para.h>
#include "pvx_guest.h"
#include "pvx_version.h"

#define PVX_BLOCK_ORDER		9	/* 2 MiB: one range of 512 pages */
#define PVX_OOM_PAGES		256	/* deflated per OOM notification */
#define PVX_RANGES_PER_CALL	(PVX_LIST_MAX_BYTES / sizeof(struct pvx_gfn_range))

struct pvx_balloon {
	struct mutex lock;		/* for one call, or one resend */
	struct list_head blocks;	/* 2 MiB blocks given away */
	struct balloon_dev_info dev;	/* single pages given away: movable */
	unsigned long pages;		/* given away now */
	unsigned long target;
	unsigned long inflated, deflated, oom_deflated;
	unsigned long migrated, host_forgot;
	struct pvx_gfn_range *ranges;	/* one page: the hypercall list */
	struct page *batch[PVX_RANGES_PER_CALL];	/* ranges[i]'s block */
	unsigned int orders[PVX_RANGES_PER_CALL];
	struct work_struct work;
	struct work_struct host_work;	/* reads the host's target */
	struct pvx_balloon_info *info;	/* PVX_HC_BALLOON_STATS buffer */
	u64 host_target;		/* last read, or PVX_BALLOON_NO_TARGET */
	bool resend;			/* the pages are unknown to the host */
	struct kobject *kobj;
};

static struct pvx_balloon pvx_balloon;

/*
 * Every page in the balloon is PageOffline, and no page out of it is: the
 * page type shares _mapcount, which the allocator checks when a page is
 * freed ("Bad page"), so it comes off before a page leaves.  Out of the
 * balloon, in the driver's hands, a page's private field holds its order.
 */
static void pvx_balloon_add(struct pvx_balloon *b, struct page *page,
			    unsigned int order)
{
	unsigned long i;

	if (!order) {
		/* Locks the page, sets PageOffline and makes it movable. */
		balloon_page_enqueue(&b->dev, page);
		return;
	}
	for (i = 0; i < 1UL << order; i++)
		__SetPageOffline(page + i);
	set_page_private(page, order);
	list_add(&page->lru, &b->blocks);
}

/*
 * Takes an entry out of the balloon, single pages first (they fragment
 * the guest's memory, blocks do not); returns its order, or -1 when the
 * balloon has none to give now (compaction may hold a few singles).
 */
static int pvx_balloon_pop(struct pvx_balloon *b, struct page **pagep)
{
	unsigned int order;
	struct page *page;
	unsigned long i;
	LIST_HEAD(one);

	if (balloon_page_list_dequeue(&b->dev, &one, 1)) {
		page = list_first_entry(&one, struct page, lru);
		list_del(&page->lru);
		set_page_private(page, 0);
		*pagep = page;
		return 0;
	}
	page = list_first_entry_or_null(&b->blocks, struct page, lru);
	if (!page)
		return -1;
	list_del(&page->lru);
	order = page_private(page);
	for (i = 0; i < 1UL << order; i++)
		__ClearPageOffline(page + i);
	*pagep = page;
	return order;
}

/*
 * Singles that compaction has isolated are off the list until it gives
 * up on them: it cannot take the lock we hold, so it does, soon.
 */
static bool pvx_balloon_isolated(struct pvx_balloon *b)
{
	unsigned long flags, n;

	spin_lock_irqsave(&b->dev.pages_lock, flags);
	n = b->dev.isolated_pages;
	spin_unlock_irqrestore(&b->dev.pages_lock, flags);
	return n;
}

/* Takes the whole balloon out onto @list (orders in private). */
static void pvx_balloon_take_all(struct pvx_balloon *b,
				 struct list_head *list)
{
	struct page *page;
	int order;

	for (;;) {
		order = pvx_balloon_pop(b, &page);
		if (order >= 0) {
			set_page_private(page, order);
			list_add_tail(&page->lru, list);
			continue;
		}
		if (!pvx_balloon_isolated(b))
			break;
		usleep_range(500, 1000);
	}
}

/* A page out of the balloon back to the allocator. */
static void pvx_balloon_free(struct page *page, unsigned int order)
{
	set_page_private(page, 0);
	__free_pages(page, order);
}

/*
 * Range @i of a call was done in part: its block is cut into single
 * pages, the first @head of which went the host's way.  @to_host: those
 * were inflated (they join the balloon, the rest go back to the
 * allocator); else deflated (they go back, the rest stay ballooned).
 * The block is out of the balloon.  Returns @head.
 */
static unsigned long pvx_balloon_split(struct pvx_balloon *b, unsigned int i,
				       unsigned long head, bool to_host)
{
	struct page *page = b->batch[i];
	unsigned long j, n = 1UL << b->orders[i];

	set_page_private(page, 0);
	split_page(page, b->orders[i]);
	for (j = 0; j < n; j++) {
		if ((j < head) == to_host)
			pvx_balloon_add(b, page + j, 0);
		else
			__free_page(page + j);
	}
	return head;
}

/* A 2 MiB block if @left pages take one and there is one, else a page. */
static struct page *pvx_balloon_grab(unsigned long left, unsigned int *order)
{
	struct page *page;

	if (left >= 1UL << PVX_BLOCK_ORDER) {
		*order = PVX_BLOCK_ORDER;
		page = alloc_pages(GFP_HIGHUSER | __GFP_NORETRY | __GFP_NOWARN |
				   __GFP_NOMEMALLOC, *order);
		if (page)
			return page;
	}
	/* Movable, from the movable pageblocks, as compaction wants. */
	*order = 0;
	return balloon_page_alloc();
}

/* Ranges per call: a page of them, or fewer if the host says so. */
static unsigned int pvx_balloon_per_call(void)
{
	unsigned int max = pvx_max_list_entries();

	return max ? min_t(unsigned int, max, PVX_RANGES_PER_CALL) : 1;
}

/*
 * Hands ranges [0, @n) of the batch to the host.  What it took (the first
 * ranges, maybe part of the next) joins the balloon, the rest goes back to
 * the allocator.  Returns the pages the host took.
 */
static unsigned long pvx_balloon_give(struct pvx_balloon *b, unsigned int n)
{
	struct page **pages = b->batch;
	unsigned int *orders = b->orders;
	unsigned long got = 0, head;
	unsigned int i, ret;

	ret = max(pvx_balloon_batch(true, b->ranges, n), 0L);
	head = ret < n ? b->ranges[ret].gfn - page_to_pfn(pages[ret]) : 0;
	for (i = 0; i < n; i++) {
		if (i < ret) {
			pvx_balloon_add(b, pages[i], orders[i]);
			got += 1UL << orders[i];
		} else if (i == ret && head) {
			got += pvx_balloon_split(b, i, head, true);
		} else {
			pvx_balloon_free(pages[i], orders[i]);
		}
	}
	if (ret < n)
		pr_warn_ratelimited("host took %u of %u ranges (status %d)\n",
				    ret, n, b->ranges[ret].status);
	return got;
}

/* One call's worth: up to 256 blocks, within @want pages. */
static unsigned long pvx_balloon_inflate_some(struct pvx_balloon *b,
					      unsigned long want)
{
	struct page **pages = b->batch;
	unsigned int *orders = b->orders;
	unsigned int n = 0, per_call = pvx_balloon_per_call();
	unsigned long got = 0;

	while (n < per_call && got < want) {
		pages[n] = pvx_balloon_grab(want - got, &orders[n]);
		if (!pages[n])
			break;
		b->ranges[n].gfn = page_to_pfn(pages[n]);
		b->ranges[n].npages = 1U << orders[n];
		b->ranges[n].status = 0;
		got += 1UL << orders[n];
		n++;
	}
	if (!n)
		return 0;

	got = pvx_balloon_give(b, n);
	b->pages += got;
	b->inflated += got;
	return got;
}

/*
 * Another instance serves at once (a new attach, or the new host after a
 * live migration): it has no record of the balloon, whose pages the old
 * host gave back and a migration did not copy (they read as zero).  They
 * are given to the new host again, which returns them once more and
 * records them; those it refuses are the guest's again.
 */
static void pvx_balloon_resend(struct pvx_balloon *b)
{
	unsigned int n, per_call = pvx_balloon_per_call();
	unsigned long sent, kept, resent = 0, back = 0;
	struct page *page;
	LIST_HEAD(old);

	pvx_balloon_take_all(b, &old);
	while (!list_empty(&old)) {
		for (n = 0, sent = 0; n < per_call && !list_empty(&old); n++) {
			page = list_first_entry(&old, struct page, lru);
			list_del(&page->lru);
			b->batch[n] = page;
			b->orders[n] = page_private(page);
			b->ranges[n].gfn = page_to_pfn(page);
			b->ranges[n].npages = 1U << b->orders[n];
			b->ranges[n].status = 0;
			sent += 1UL << b->orders[n];
		}
		kept = pvx_balloon_give(b, n);
		resent += kept;
		back += sent - kept;
		cond_resched();
	}
	b->pages -= back;
	b->deflated += back;
	pr_info("new host: %lu ballooned pages given to it again, %lu back to the guest\n",
		resent, back);
}

/* Hands back up to @want pages; returns how many came back. */
static unsigned long pvx_balloon_deflate_some(struct pvx_balloon *b,
					      unsigned long want)
{
	unsigned int n = 0, i, ret, per_call = pvx_balloon_per_call();
	struct page **pages = b->batch;
	unsigned long got = 0, head;
	long forgot;
	int order;

	while (n < per_call && got < want &&
	       (order = pvx_balloon_pop(b, &pages[n])) >= 0) {
		b->orders[n] = order;
		b->ranges[n].gfn = page_to_pfn(pages[n]);
		b->ranges[n].npages = 1U << b->orders[n];
		b->ranges[n].status = 0;
		got += b->ranges[n].npages;
		n++;
	}
	if (!n)
		return 0;

	ret = max(pvx_balloon_batch(false, b->ranges, n), 0L);
	/* The first refused range, if the host had no record of it. */
	forgot = ret < n && b->ranges[ret].status == -PVX_ENOENT ? (long)ret : -1;
	if (forgot >= 0)
		b->host_forgot += b->ranges[ret].npages;
	/* Pages of range @ret deflated before the host stopped. */
	head = ret < n ? b->ranges[ret].gfn - page_to_pfn(pages[ret]) : 0;
	/* Writable before the allocator hands them out again. */
	if (ret && pvx_features() & PVX_F_PREFAULT) {
		/* A call that stopped inside a range rewrote it. */
		for (i = 0; i < ret; i++) {
			b->ranges[i].gfn = page_to_pfn(pages[i]);
			b->ranges[i].npages = 1U << b->orders[i];
		}
		pvx_prefault_write(b->ranges, ret);
	}

	got = 0;
	for (i = 0; i < n; i++) {
		unsigned int order = b->orders[i];

		if (i < ret || i == forgot) {
			pvx_balloon_free(pages[i], order);
			got += 1UL << order;
		} else if (i == ret && head) {
			got += pvx_balloon_split(b, i, head, false);
		} else {
			/* The host kept it: it stays in the balloon. */
			pvx_balloon_add(b, pages[i], order);
		}
	}
	b->pages -= got;
	b->deflated += got;
	return got;
}

/* One page to the host (@inflate) or back: true if the call did it. */
static bool pvx_balloon_one(struct pvx_balloon *b, struct page *page,
			    bool inflate)
{
	b->ranges[0].gfn = page_to_pfn(page);
	b->ranges[0].npages = 1;
	b->ranges[0].status = 0;
	return pvx_balloon_batch(inflate, b->ranges, 1) == 1;
}

#ifdef CONFIG_BALLOON_COMPACTION
/*
 * Compaction moves a ballooned page: the host takes @newpage, then gives
 * @page back, so the balloon never shrinks on the way.  -EAGAIN (the
 * migration is tried again later, or @page goes back to the balloon)
 * while the worker is in a call, or when the host refuses; a refused
 * give-back gives @newpage back too.
 */
static int pvx_balloon_migrate(struct balloon_dev_info *dev,
			       struct page *newpage, struct page *page,
			       enum migrate_mode mode)
{
	struct pvx_balloon *b = container_of(dev, struct pvx_balloon, dev);
	unsigned long flags;

	/* The worker's own allocations may compact: never wait for it. */
	if (!mutex_trylock(&b->lock))
		return -EAGAIN;
	if (!pvx_balloon_one(b, newpage, true)) {
		mutex_unlock(&b->lock);
		return -EAGAIN;
	}
	if (!pvx_balloon_one(b, page, false)) {
		if (!pvx_balloon_one(b, newpage, false))
			pr_warn_ratelimited("migration: host holds pfn %#lx it was given for a move that failed\n",
					    page_to_pfn(newpage));
		mutex_unlock(&b->lock);
		return -EAGAIN;
	}
	get_page(newpage);	/* the balloon's reference */
	spin_lock_irqsave(&dev->pages_lock, flags);
	balloon_page_insert(dev, newpage);
	dev->isolated_pages--;
	__count_vm_event(BALLOON_MIGRATE);
	spin_unlock_irqrestore(&dev->pages_lock, flags);
	b->migrated++;
	mutex_unlock(&b->lock);

	balloon_page_finalize(page);
	put_page(page);		/* the balloon's reference */
	return MIGRATEPAGE_SUCCESS;
}
#endif

static void pvx_balloon_work(struct work_struct *work)
{
	struct pvx_balloon *b = container_of(work, struct pvx_balloon, work);
	unsigned long moved;

	mutex_lock(&b->lock);
	if (b->resend) {
		b->resend = false;
		pvx_balloon_resend(b);
	}
	mutex_unlock(&b->lock);
	/*
	 * The lock is dropped between calls: the OOM notifier waits for it,
	 * and must get it within one call, not after the whole inflation.
	 */
	do {
		mutex_lock(&b->lock);
		if (b->pages < b->target)
			moved = pvx_balloon_inflate_some(b, b->target - b->pages);
		else if (b->pages > b->target)
			moved = pvx_balloon_deflate_some(b, b->pages - b->target);
		else
			moved = 0;
		mutex_unlock(&b->lock);
		cond_resched();
	} while (moved);
}

/*
 * The host asked for a target (or the driver just loaded).  A target the
 * guest cannot reach is followed as far as the allocator allows.
 */
static void pvx_balloon_host_work(struct work_struct *work)
{
	struct pvx_balloon *b = container_of(work, struct pvx_balloon,
					     host_work);
	long ret;

	ret = pvx_hypercall(PVX_HC_BALLOON_STATS, virt_to_phys(b->info),
			    sizeof(*b->info), 0, 0);
	/* -PVX_ENOSYS: the host stopped serving; pvx_guest tells us. */
	if (ret) {
		if (ret != -PVX_ENOSYS)
			pr_warn_ratelimited("balloon stats: %ld\n", ret);
		return;
	}
	WRITE_ONCE(b->host_target, b->info->target_pages);
	if (b->info->target_pages == PVX_BALLOON_NO_TARGET)
		return;
	WRITE_ONCE(b->target, min_t(u64, b->info->target_pages, ULONG_MAX));
	queue_work(system_unbound_wq, &b->work);
}

static int pvx_balloon_event(struct notifier_block *nb, unsigned long unused,
			     void *unused2)
{
	queue_work(system_unbound_wq, &pvx_balloon.host_work);
	return NOTIFY_OK;
}

static struct notifier_block pvx_balloon_event_nb = {
	.notifier_call = pvx_balloon_event,
};

static int pvx_balloon_oom(struct notifier_block *nb, unsigned long unused,
			   void *freed)
{
	struct pvx_balloon *b = &pvx_balloon;
	unsigned long got;

	/*
	 * The worker holds the lock for one call at most, and its
	 * allocations never enter the OOM path (__GFP_NORETRY): waiting is
	 * safe, and an OOM while the balloon inflates must deflate too.
	 */
	mutex_lock(&b->lock);
	got = pvx_balloon_deflate_some(b, PVX_OOM_PAGES);
	b->oom_deflated += got;
	if (b->target > b->pages)
		b->target = b->pages;
	mutex_unlock(&b->lock);
	*(unsigned long *)freed += got;
	return NOTIFY_OK;
}

static struct notifier_block pvx_balloon_oom_nb = {
	.notifier_call = pvx_balloon_oom,
};

/* The host forgot the balloon: every page is the guest's again. */
static unsigned long pvx_balloon_release_all(struct pvx_balloon *b)
{
	unsigned long got = 0;
	struct page *page, *tmp;
	unsigned int order;
	LIST_HEAD(all);

	pvx_balloon_take_all(b, &all);
	list_for_each_entry_safe(page, tmp, &all, lru) {
		list_del(&page->lru);
		order = page_private(page);
		pvx_balloon_free(page, order);
		got += 1UL << order;
	}
	b->pages -= got;
	b->deflated += got;
	return got;
}

static int pvx_balloon_service(struct notifier_block *nb,
			       unsigned long action, void *data)
{
	struct pvx_balloon *b = &pvx_balloon;
	unsigned long got;

	if (action == PVX_SERVICE_UP) {
		if (*(u64 *)data & PVX_F_BALLOON) {
			queue_work(system_unbound_wq, &b->work);
			queue_work(system_unbound_wq, &b->host_work);
			return NOTIFY_OK;
		}
		data = NULL;	/* a new host without the balloon */
	}
	mutex_lock(&b->lock);
	if (data) {
		/* UP follows: the pages wait for the new host. */
		b->resend = b->pages != 0;
		WRITE_ONCE(b->host_target, PVX_BALLOON_NO_TARGET);
		mutex_unlock(&b->lock);
		return NOTIFY_OK;
	}
	b->resend = false;
	got = pvx_balloon_release_all(b);
	WRITE_ONCE(b->target, 0);
	WRITE_ONCE(b->host_target, PVX_BALLOON_NO_TARGET);
	mutex_unlock(&b->lock);
	pr_info("host stopped serving: %lu ballooned pages back to the guest\n",
		got);
	return NOTIFY_OK;
}

static struct notifier_block pvx_balloon_service_nb = {
	.notifier_call = pvx_balloon_service,
};

#define PVX_BALLOON_SHOW(field)						\
static ssize_t field##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lu\n", READ_ONCE(pvx_balloon.field));	\
}

PVX_BALLOON_SHOW(pages)
PVX_BALLOON_SHOW(inflated)
PVX_BALLOON_SHOW(deflated)
PVX_BALLOON_SHOW(oom_deflated)
PVX_BALLOON_SHOW(migrated)
PVX_BALLOON_SHOW(host_forgot)

static ssize_t target_pages_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(pvx_balloon.target));
}

/* Blocks until the balloon has reached the target (or cannot). */
static ssize_t target_pages_store(struct kobject *kobj,
				  struct kobj_attribute *attr, const char *buf,
				  size_t count)
{
	unsigned long target;
	int ret;

	ret = kstrtoul(buf, 0, &target);
	if (ret)
		return ret;
	if (!(pvx_features() & PVX_F_BALLOON))
		return -ENODEV;
	if (target > totalram_pages() + pvx_balloon.pages)
		return -EINVAL;
	WRITE_ONCE(pvx_balloon.target, target);
	queue_work(system_unbound_wq, &pvx_balloon.work);
	flush_work(&pvx_balloon.work);
	return count;
}

static ssize_t host_target_pages_show(struct kobject *kobj,
				      struct kobj_attribute *attr, char *buf)
{
	u64 target = READ_ONCE(pvx_balloon.host_target);

	if (target == PVX_BALLOON_NO_TARGET)
		return sysfs_emit(buf, "none\n");
	return sysfs_emit(buf, "%llu\n", target);
}

/* What the host holds now, asked now: a test compares it with pages. */
static ssize_t host_pages_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	struct pvx_balloon_info *info = kzalloc(sizeof(*info), GFP_KERNEL);
	ssize_t ret;
	long err;

	if (!info)
		return -ENOMEM;
	err = pvx_hypercall(PVX_HC_BALLOON_STATS, virt_to_phys(info),
			    sizeof(*info), 0, 0);
	ret = err ? -EIO : sysfs_emit(buf, "%llu\n", info->ballooned_pages);
	kfree(info);
	return ret;
}

static struct kobj_attribute pvx_attr_target = __ATTR_RW(target_pages);
static struct kobj_attribute pvx_attr_host_pages = __ATTR_RO(host_pages);
static struct kobj_attribute pvx_attr_host_target = __ATTR_RO(host_target_pages);
static struct kobj_attribute pvx_attr_pages = __ATTR_RO(pages);
static struct kobj_attribute pvx_attr_inflated = __ATTR_RO(inflated);
static struct kobj_attribute pvx_attr_deflated = __ATTR_RO(deflated);
static struct kobj_attribute pvx_attr_oom = __ATTR_RO(oom_deflated);
static struct kobj_attribute pvx_attr_migrated = __ATTR_RO(migrated);
static struct kobj_attribute pvx_attr_host_forgot = __ATTR_RO(host_forgot);

static struct attribute *pvx_balloon_attrs[] = {
	&pvx_attr_target.attr,
	&pvx_attr_host_target.attr,
	&pvx_attr_host_pages.attr,
	&pvx_attr_pages.attr,
	&pvx_attr_inflated.attr,
	&pvx_attr_deflated.attr,
	&pvx_attr_oom.attr,
	&pvx_attr_migrated.attr,
	&pvx_attr_host_forgot.attr,
	NULL,
};

static const struct attribute_group pvx_balloon_group = {
	.attrs = pvx_balloon_attrs,
};

static int __init pvx_balloon_init(void)
{
	struct pvx_balloon *b = &pvx_balloon;
	int ret;

	if (!(pvx_features() & PVX_F_BALLOON)) {
		pr_info("host offers no pvx balloon to this VM: not loaded\n");
		return -ENODEV;
	}
	mutex_init(&b->lock);
	INIT_LIST_HEAD(&b->blocks);
	balloon_devinfo_init(&b->dev);
#ifdef CONFIG_BALLOON_COMPACTION
	b->dev.migratepage = pvx_balloon_migrate;
#endif
	INIT_WORK(&b->work, pvx_balloon_work);
	INIT_WORK(&b->host_work, pvx_balloon_host_work);
	b->host_target = PVX_BALLOON_NO_TARGET;
	b->ranges = (void *)get_zeroed_page(GFP_KERNEL);
	if (!b->ranges)
		return -ENOMEM;
	b->info = kzalloc(sizeof(*b->info), GFP_KERNEL);
	if (!b->info) {
		ret = -ENOMEM;
		goto err_info;
	}

	ret = register_oom_notifier(&pvx_balloon_oom_nb);
	if (ret)
		goto err_oom;
	ret = pvx_register_event_notifier(&pvx_balloon_event_nb);
	if (ret)
		goto err_event;
	ret = pvx_register_service_notifier(&pvx_balloon_service_nb);
	if (ret)
		goto err_service;
	b->kobj = kobject_create_and_add("pvx_balloon", kernel_kobj);
	if (!b->kobj) {
		ret = -ENOMEM;
		goto err_kobj;
	}
	ret = sysfs_create_group(b->kobj, &pvx_balloon_group);
	if (ret)
		goto err_sysfs;
	/* The host may have asked before the driver was there. */
	queue_work(system_unbound_wq, &b->host_work);
	pr_info("ready: /sys/kernel/pvx_balloon/target_pages, host targets\n");
	return 0;

err_sysfs:
	kobject_put(b->kobj);
err_kobj:
	pvx_unregister_service_notifier(&pvx_balloon_service_nb);
err_service:
	pvx_unregister_event_notifier(&pvx_balloon_event_nb);
err_event:
	unregister_oom_notifier(&pvx_balloon_oom_nb);
err_oom:
	kfree(b->info);
err_info:
	free_page((unsigned long)b->ranges);
	return ret;
}

static void __exit pvx_balloon_exit(void)
{
	struct pvx_balloon *b = &pvx_balloon;
	struct page *page, *tmp;
	unsigned long i;
	LIST_HEAD(lost);

	sysfs_remove_group(b->kobj, &pvx_balloon_group);
	kobject_put(b->kobj);
	pvx_unregister_service_notifier(&pvx_balloon_service_nb);
	pvx_unregister_event_notifier(&pvx_balloon_event_nb);
	cancel_work_sync(&b->host_work);
	unregister_oom_notifier(&pvx_balloon_oom_nb);
	cancel_work_sync(&b->work);
	/*
	 * Everything back before the module's memory goes: a movable page
	 * points at b->dev, and compaction would call into this module.
	 */
	mutex_lock(&b->lock);
	for (;;) {
		if (pvx_balloon_deflate_some(b, ULONG_MAX))
			continue;
		if (!pvx_balloon_isolated(b))
			break;
		usleep_range(500, 1000);
	}
	/* A host that serves nothing now keeps no record of them. */
	if (!(pvx_features() & PVX_F_BALLOON))
		pvx_balloon_release_all(b);
	if (b->pages) {
		pvx_balloon_take_all(b, &lost);
		/* Given away for good: offline, and no longer movable. */
		list_for_each_entry_safe(page, tmp, &lost, lru) {
			list_del_init(&page->lru);
			for (i = 0; i < 1UL << page_private(page); i++)
				__SetPageOffline(page + i);
		}
		pr_warn("%lu pages the host did not give back are lost\n",
			b->pages);
	}
	mutex_unlock(&b->lock);
	kfree(b->info);
	free_page((unsigned long)b->ranges);
}

module_init(pvx_balloon_init);
module_exit(pvx_balloon_exit);

MODULE_DESCRIPTION("pvx: memory balloon by page ranges");
MODULE_LICENSE("GPL");
MODULE_VERSION(PVX_VERSION);
