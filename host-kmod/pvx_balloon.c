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
 *
 * Memory that discarding would not give back is refused, all of a range
 * or none of it: pages pinned for DMA (an IOMMU mapping, pvx's or the
 * VMM's own) stay allocated and in use by the device however many times
 * they are zapped, and what MADV_DONTNEED refuses (mlocked memory,
 * VM_PFNMAP, ranges a userfaultfd watches) pvx refuses too.
 *
 * A discard changes what the guest reads (zeros now), so each discarded
 * page is marked dirty, after the discard and by the calling vCPU: a
 * migration that sent the old data must send the page again.  That is
 * why neither call is split-phase (a worker cannot mark), and why an entry
 * may stop part-way when the vCPU's dirty ring is nearly full.
 *
 * One exit is bounded, since it holds kvm->srcu and the balloon lock and
 * keeps the VMM from its signals: at most balloon_max_pages pages are
 * discarded (inflate) or given back (deflate) per call, whatever the
 * dirty log (a bitmap, or none, takes any number of marks), and a
 * pending signal ends the call before its next entry (-EAGAIN).  A call stops at
 * the bound as at a full ring, inside an entry if need be, and the guest
 * resumes from there; each call does at least one page when the ring
 * has room, so that resuming always gets on.
 */
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/hugetlb.h>
#include <linux/interval_tree.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/userfaultfd_k.h>
#include <pvx_kcompat.h>
#include "pvx_host.h"

static unsigned long balloon_limit_mb;
module_param(balloon_limit_mb, ulong, 0644);
MODULE_PARM_DESC(balloon_limit_mb,
		 "Ballooned memory per VM, at most, in MiB (0: all of its RAM)");

/*
 * 64 MiB, 32 ranges of 2 MiB, against 340 MiB for a full list without
 * a bound: above prefault_max_pages, since a page discarded costs less
 * than a page faulted in.
 */
static unsigned int balloon_max_pages = 32 * PVX_RANGE_MAX_PAGES;
module_param(balloon_max_pages, uint, 0644);
MODULE_PARM_DESC(balloon_max_pages,
		 "Pages one BALLOON_INFLATE or _DEFLATE call does, at most (0: 1)");

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
		return -EINVAL;
	if (r->npages > PVX_RANGE_MAX_PAGES)
		return -E2BIG;
	return 0;
}

/* After the discard: the VMM's next dirty sync sees the zeros. */
static void pvx_balloon_mark(struct pvx_batch *bt, u64 gfn, u32 npages)
{
	u32 i;

	for (i = 0; i < npages; i++)
		pvx_compat_mark_dirty(bt->vcpu, gfn + i);
}

/*
 * As madvise(MADV_DONTNEED) and MADV_REMOVE would not discard, or as a
 * discard would not give back.  hugetlbfs pages are the VMM's whole
 * reservation; an mlocked range is the VMM's promise to keep it;
 * VM_PFNMAP and VM_IO map no pages of the VMM's, only device memory or
 * kernel pages; a userfaultfd that watches the range (postcopy migration,
 * say) would see its pages go with no UFFD_EVENT_REMOVE (userfaultfd's
 * remove notification is not exported to modules), and a later fault
 * would wait on it for pages it believes are there.
 */
static bool pvx_vma_discardable(struct vm_area_struct *vma)
{
	return !is_vm_hugetlb_page(vma) &&
	       !(vma->vm_flags & (VM_LOCKED | VM_PFNMAP | VM_IO)) &&
	       !userfaultfd_armed(vma);
}

/* Pages a GUP-fast look takes at once, on the stack. */
#define PVX_PIN_BATCH	16

/*
 * Any page mapped in [start, end) (private memory) pinned for DMA?  The
 * look does not fault anything in: a page not present is not pinned.
 * GUP-fast walks current->mm, which is the VMM's here (the calling vCPU's
 * thread: the balloon's calls are never split-phase).
 */
static bool pvx_anon_pinned(unsigned long start, unsigned long end)
{
	struct page *pages[PVX_PIN_BATCH];
	bool pinned = false;
	int i, nr, got;

	while (start < end && !pinned) {
		nr = min_t(unsigned long, (end - start) >> PAGE_SHIFT,
			   PVX_PIN_BATCH);
		got = max(get_user_pages_fast_only(start, nr, 0, pages), 0);
		for (i = 0; i < got; i++) {
			pinned |= !is_zero_page(pages[i]) &&
				  folio_maybe_dma_pinned(page_folio(pages[i]));
			put_page(pages[i]);
		}
		/* Page @got is not present (or not for GUP-fast): skip it. */
		if (got < nr)
			got++;
		start += (unsigned long)got << PAGE_SHIFT;
	}
	return pinned;
}

/*
 * The same for a shared file's pages, from its page cache: a pin taken
 * through another mapping (another process's) counts too.
 */
static bool pvx_file_pinned(struct address_space *mapping, pgoff_t first,
			    pgoff_t last)
{
	struct folio_batch fbatch;
	bool pinned = false;
	unsigned int i;

	folio_batch_init(&fbatch);
	while (!pinned && filemap_get_folios(mapping, &first, last, &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch); i++)
			pinned |= folio_maybe_dma_pinned(fbatch.folios[i]);
		folio_batch_release(&fbatch);
		cond_resched();
	}
	return pinned;
}

static bool pvx_vma_shared_file(struct vm_area_struct *vma)
{
	return vma->vm_file && vma->vm_flags & VM_SHARED;
}

static loff_t pvx_vma_file_off(struct vm_area_struct *vma, unsigned long addr)
{
	return ((loff_t)vma->vm_pgoff << PAGE_SHIFT) + (addr - vma->vm_start);
}

/*
 * Whether all of [start, end) in @mm can be discarded: 0, -EFAULT (a
 * hole in the VMM's address space), -EOPNOTSUPP (see
 * pvx_vma_discardable()) or -EBUSY (a page pinned for DMA).  Under
 * the mmap_lock.
 *
 * folio_maybe_dma_pinned() is a hint, and a snapshot: a small folio with
 * a thousand plain references reads as pinned (that inflate is refused,
 * harmlessly), and a pin taken after the look is not seen.  pvx's own
 * pins cannot come in between: IOMMU_MAP and inflate take the balloon
 * lock and each refuses the other's records.  Any other pin is the
 * VMM's (or a process's it shares the memory with), through its own
 * mapping; one it takes while the guest's inflate runs gets that page
 * zapped under the pin, as MADV_DONTNEED would (which does not look at
 * pins at all): the page stays charged to the pinner (VFIO counts it in
 * locked_vm, io_uring in pinned_vm), and only the pinner's view of the
 * guest's page goes stale.  Closing that window needs GUP's
 * own recheck protocol (as fork() uses with folio_try_share_anon_rmap()),
 * which a module cannot take part in.
 */
static long pvx_discard_check(struct mm_struct *mm, unsigned long start,
			      unsigned long end)
{
	bool pinned;

	while (start < end) {
		struct vm_area_struct *vma = find_vma(mm, start);
		unsigned long stop;

		if (!vma || vma->vm_start > start)
			return -EFAULT;
		if (!pvx_vma_discardable(vma))
			return -EOPNOTSUPP;
		stop = min(end, vma->vm_end);
		if (pvx_vma_shared_file(vma))
			pinned = pvx_file_pinned(vma->vm_file->f_mapping,
				pvx_vma_file_off(vma, start) >> PAGE_SHIFT,
				(pvx_vma_file_off(vma, stop) >> PAGE_SHIFT) - 1);
		else
			pinned = pvx_anon_pinned(start, stop);
		if (pinned)
			return -EBUSY;
		start = stop;
	}
	return 0;
}

/*
 * Gives back the VMM's memory behind a range of guest RAM, as
 * madvise(MADV_DONTNEED) does for private anonymous memory and
 * MADV_REMOVE (a punched hole) for shared memory such as a memfd; KVM's
 * MMU notifier drops the stage-2 mappings with it.  The range must lie in
 * one plain writable memslot.  All of it is checked first, so that a
 * refusal gives back nothing; the VMM remapping its memory while a hole
 * is punched (without the mmap_lock) can still stop a range midway,
 * -EFAULT or -EOPNOTSUPP.  Under kvm->srcu, in the VMM's mm;
 * sleeps.
 */
static long pvx_balloon_discard(struct kvm *kvm, u64 gfn, u64 npages)
{
	struct mm_struct *mm = pvx_compat_kvm_mm(kvm);
	unsigned long start, end;
	long ret;

	ret = pvx_compat_gfn_range_to_hva(kvm, gfn, npages, true, &start);
	if (ret)
		return ret;
	end = start + (npages << PAGE_SHIFT);
	if (WARN_ON_ONCE(current->mm != mm))
		return -EFAULT;

	mmap_read_lock(mm);
	ret = pvx_discard_check(mm, start, end);
	while (start < end && !ret) {
		struct vm_area_struct *vma = find_vma(mm, start);
		unsigned long stop;

		if (!vma || vma->vm_start > start) {
			ret = -EFAULT;
			break;
		}
		stop = min(end, vma->vm_end);
		if (!pvx_vma_discardable(vma)) {
			ret = -EOPNOTSUPP;
		} else if (pvx_vma_shared_file(vma)) {
			struct file *file = get_file(vma->vm_file);
			loff_t off = pvx_vma_file_off(vma, start);

			/* As madvise_remove(): fallocate without mmap_lock. */
			mmap_read_unlock(mm);
			if (vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE |
					  FALLOC_FL_KEEP_SIZE, off, stop - start))
				ret = -EOPNOTSUPP;
			fput(file);
			mmap_read_lock(mm);
		} else {
			pvx_zap_vma_range(vma, start, stop - start);
		}
		start = stop;
	}
	mmap_read_unlock(mm);
	return ret;
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
	if (interval_tree_iter_first(&b->ranges, r->gfn, last) ||
	    pvx_iommu_has_gfns(bt->vm, r->gfn, r->npages))
		return -EBUSY;
	if (limit && b->pages + r->npages > limit)
		return -ENOSPC;

	n = kzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return -EAGAIN;
	ret = pvx_balloon_discard(bt->kvm, r->gfn, r->npages);
	if (ret) {
		kfree(n);
		return ret;
	}
	pvx_balloon_mark(bt, r->gfn, r->npages);
	n->start = r->gfn;
	n->last = last;
	interval_tree_insert(n, &b->ranges);
	WRITE_ONCE(b->pages, b->pages + r->npages);
	b->inflated += r->npages;
	return 0;
}

/*
 * Any page of the range ballooned?  The caller holds @b->lock: IOMMU_MAP
 * takes it before its own, so that a map and an inflate of the same
 * pages cannot pass each other.
 */
bool pvx_balloon_has(struct pvx_balloon *b, u64 gfn, u64 npages)
{
	lockdep_assert_held(&b->lock);
	return interval_tree_iter_first(&b->ranges, gfn, gfn + npages - 1);
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
		return -ENOENT;

	/* At most two remainders: before @first and after @last. */
	left = kzalloc(sizeof(*left), GFP_KERNEL_ACCOUNT);
	right = kzalloc(sizeof(*right), GFP_KERNEL_ACCOUNT);
	if (!left || !right) {
		kfree(left);
		kfree(right);
		return -EAGAIN;
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
	 * range whose memslot went away meanwhile has nothing to zero (and
	 * KVM marks nothing outside a memslot); one the VMM pinned or locked
	 * meanwhile keeps what the guest wrote (marked all the same).
	 */
	pvx_balloon_discard(bt->kvm, r->gfn, r->npages);
	pvx_balloon_mark(bt, r->gfn, r->npages);
	return 0;
}

/*
 * As many pages of @r as @pages (the call's budget left) and the dirty
 * ring allow; the entry goes back as what is left of it, with
 * -EAGAIN.
 */
static s32 pvx_balloon_one(struct pvx_batch *bt, struct pvx_balloon *b,
			   struct pvx_gfn_range *r, u32 *pages, bool inflate)
{
	struct pvx_gfn_range part = { .gfn = r->gfn };
	s32 ret;

	ret = pvx_range_check(r);
	if (ret)
		return ret;
	part.npages = pvx_dirty_take(&bt->dirty_budget,
				     min(r->npages, *pages));
	if (!part.npages)
		return -EAGAIN;
	ret = inflate ? pvx_inflate_one(bt, b, &part) :
			pvx_deflate_one(bt, b, &part);
	if (ret)
		return ret;
	*pages -= part.npages;
	if (part.npages == r->npages)
		return 0;
	r->gfn += part.npages;
	r->npages -= part.npages;
	return -EAGAIN;
}

static void pvx_balloon_run(struct pvx_batch *bt, bool inflate)
{
	u32 pages = max(READ_ONCE(balloon_max_pages), 1U);
	struct pvx_balloon *b = &bt->vm->balloon;
	struct pvx_gfn_range *list = bt->list;

	mutex_lock(&b->lock);
	for (bt->done = 0; bt->done < bt->count; bt->done++) {
		struct pvx_gfn_range *r = &list[bt->done];

		/* A dying VMM stops here; the guest resubmits the rest. */
		if (fatal_signal_pending(current))
			break;
		/* Any signal after the first: KVM's, then resume here. */
		if (bt->done && signal_pending(current))
			r->status = -EAGAIN;
		else
			r->status = pvx_balloon_one(bt, b, r, &pages, inflate);
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

/* Both discard, and only the calling vCPU may mark the pages dirty. */
static const struct pvx_split_ops pvx_inflate_ops = {
	PVX_LIST_ENTRY(struct pvx_gfn_range, status),
	.vcpu_only = true,
	.run = pvx_inflate_run,
};

static const struct pvx_split_ops pvx_deflate_ops = {
	PVX_LIST_ENTRY(struct pvx_gfn_range, status),
	.vcpu_only = true,
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
		return -EINVAL;
	mutex_lock(&b->lock);
	info.ballooned_pages = b->pages;
	info.inflated_pages = b->inflated;
	info.deflated_pages = b->deflated;
	info.target_pages = b->target;
	mutex_unlock(&b->lock);
	if (len && pvx_guest_write(call, call->args[0], &info, len))
		return -EFAULT;
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
