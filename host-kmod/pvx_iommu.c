// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU mappings by hypercall for a device passed through with VFIO.
 *
 * A guest that drives a passed-through device with a vIOMMU (or with a
 * DMA API that maps on demand) costs an exit per map and unmap; here it
 * lists them, up to 256 per call.  pvx does not touch the IOMMU itself:
 * the VMM hands over its VFIO container (PVX_IOC_IOMMU_SETUP) and pvx
 * issues VFIO_IOMMU_MAP_DMA / UNMAP_DMA on it in the VMM's own context (the
 * calling vCPU thread), so that pinning, locked_vm accounting, the IOMMU
 * page tables and the IOTLB flush are VFIO type1's, exactly as when the
 * VMM maps guest RAM itself.  Documentation/design.rst says why, and what
 * that does not give (one IOTLB flush per mapping, not per batch).
 *
 * VFIO's ioctls take a user pointer: pvx passes a page it mapped in the
 * VMM at setup, read-only and sealed, that only pvx writes (through the
 * kernel's own mapping of it).  A VMM thread cannot rewrite it between
 * pvx's write and VFIO's read, so VFIO maps exactly the guest pages pvx
 * validated, never other memory of the VMM's.
 *
 * pvx records its mappings (an interval tree of IOVA frames) so that it
 * can refuse double maps and unmaps of what is not mapped entry by entry,
 * so that a memslot's removal takes its mappings away (the device must not
 * keep memory that is no longer the guest's), and so that detach, VM
 * destruction and unload take them all away: one
 * UNMAP_DMA over the window, from a worker that enters the VMM's mm.  If
 * the VMM's address space is already gone (the VMM died), VFIO itself
 * unmaps and unpins everything when the VMM's group and container files
 * close; pvx then only drops its container reference.
 *
 * The balloon and the IOMMU exclude each other: a guest could otherwise
 * map pages (VFIO pins them) and then balloon them, which counts them as
 * given back while they stay pinned.  pvx records its mappings by guest
 * frame too, and a map takes the balloon's lock before its own, so that
 * each refuses the other's pages with no gap between check and record.
 */
#define pr_fmt(fmt) "pvx: " fmt

#include <linux/anon_inodes.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/interval_tree.h>
#include <linux/kthread.h>
#include <linux/major.h>
#include <linux/miscdevice.h>
#include <linux/security.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>
#include <pvx_kcompat.h>
#include "pvx_host.h"

#define PVX_IOMMU_PERMS	(PVX_IOMMU_READ | PVX_IOMMU_WRITE)

struct pvx_iommu {
	struct mutex lock;		/* the tree and the VFIO calls */
	struct file *container;		/* referenced */
	struct mm_struct *mm;		/* the VMM's, mmgrab()ed */
	struct file *stage;		/* pvx's file mapped at @scratch */
	void *args;			/* its page, as the kernel sees it */
	unsigned long scratch;		/* a page in @mm for VFIO's arguments */
	u64 iova_base, iova_size;
	u32 perms;
	struct rb_root_cached maps;	/* interval tree of IOVA frames */
	struct rb_root_cached gfns;	/* the same, by guest frame */
	u64 pages;			/* mapped now */
	u64 mappings;			/* map entries in force now */
	u64 max_pages;			/* 0: the VM's writable RAM */
	u32 max_mappings;
	struct work_struct release;	/* by the worker */
	struct callback_head release_cb; /* or by the VMM's thread */
};

/*
 * What a mapping was made of, so that it can be dropped once the memslot
 * it came from no longer says so.
 */
struct pvx_iommu_mapping {
	struct interval_tree_node it;	/* IOVA frames */
	struct interval_tree_node gfn_it;	/* guest frames */
	u64 gfn;
	unsigned long hva;
	bool write;
};

static struct workqueue_struct *pvx_iommu_wq;
/* Task works (memslot checks, releases) queued, not done. */
static atomic_t pvx_iommu_syncs = ATOMIC_INIT(0);

/*
 * The staging page: a file of pvx's own, so that the mapping has no way
 * to be written (no VM_MAYWRITE, no page GUP can reach: VM_PFNMAP) and,
 * sealed, none to be replaced or moved while VFIO reads it.
 */
struct pvx_stage {
	struct page *page;
	bool mapped;			/* under the mm's mmap_lock */
};

static int pvx_stage_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct pvx_stage *st = file->private_data;

	/* pvx maps it once, read-only; nobody may map it again. */
	if (st->mapped || vma->vm_pgoff ||
	    vma->vm_end - vma->vm_start != PAGE_SIZE ||
	    vma->vm_flags & (VM_WRITE | VM_EXEC | VM_SHARED))
		return -EPERM;
	st->mapped = true;
	pvx_vm_flags_mod(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP |
			 PVX_VM_SEALED, VM_MAYWRITE | VM_MAYEXEC);
	return remap_pfn_range(vma, vma->vm_start, page_to_pfn(st->page),
			       PAGE_SIZE, vma->vm_page_prot);
}

static int pvx_stage_release(struct inode *inode, struct file *file)
{
	struct pvx_stage *st = file->private_data;

	__free_page(st->page);
	kfree(st);
	return 0;
}

static const struct file_operations pvx_stage_fops = {
	.owner = THIS_MODULE,
	.mmap = pvx_stage_mmap,
	.release = pvx_stage_release,
};

/* In the VMM's context: maps the staging page there. */
static int pvx_stage_create(struct pvx_iommu *io)
{
	struct pvx_stage *st;
	unsigned long addr;
	struct file *file;

	st = kzalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);
	if (!st)
		return -ENOMEM;
	st->page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!st->page) {
		kfree(st);
		return -ENOMEM;
	}
	file = anon_inode_getfile("[pvx-iommu-args]", &pvx_stage_fops, st,
				  O_RDONLY);
	if (IS_ERR(file)) {
		__free_page(st->page);
		kfree(st);
		return PTR_ERR(file);
	}
	io->args = page_address(st->page);
	addr = vm_mmap(file, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	if (IS_ERR_VALUE(addr)) {
		fput(file);
		return addr;
	}
	io->stage = file;
	io->scratch = addr;
	return 0;
}

/*
 * In @mm (the VMM's, in use).  Unsealed first, as only pvx may: the VMM
 * could then unmap the page and map something of its own there before
 * vm_munmap() runs, and lose that instead, which harms only itself.
 */
static void pvx_stage_destroy(struct pvx_iommu *io, struct mm_struct *mm)
{
	struct vm_area_struct *vma;

	mmap_write_lock(mm);
	vma = find_vma(mm, io->scratch);
	if (vma && vma->vm_start == io->scratch && vma->vm_file == io->stage)
		pvx_vm_flags_mod(vma, 0, PVX_VM_SEALED);
	mmap_write_unlock(mm);
	vm_munmap(io->scratch, PAGE_SIZE);
}

static bool pvx_file_is_vfio_container(struct file *file)
{
	struct inode *inode = file_inode(file);

	return S_ISCHR(inode->i_mode) &&
	       inode->i_rdev == MKDEV(MISC_MAJOR, VFIO_MINOR) &&
	       file->f_op->unlocked_ioctl;
}

/*
 * As ioctl(2) reaches VFIO, LSM hook included: pvx acts for the VMM, and
 * must not be a way round a policy that forbids the VMM these ioctls.
 * VFIO exports no kernel interface to type1's map and unmap.
 */
static long pvx_vfio_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	long ret = security_file_ioctl(file, cmd, arg);

	return ret ? ret : pvx_vfs_ioctl(file, cmd, arg);
}

/* In the VMM's mm: the calling vCPU thread, or a worker that entered it. */
static long pvx_iommu_ioctl(struct pvx_iommu *io, unsigned int cmd,
			    const void *arg, size_t len)
{
	memcpy(io->args, arg, len);
	return pvx_vfio_ioctl(io->container, cmd, io->scratch);
}

static s8 pvx_iommu_errno(long err)
{
	switch (err) {
	case -ENOMEM:		/* locked memory limit, or no memory */
	case -ENOSPC:		/* VFIO's mapping count limit */
		return -ENOSPC;
	case -EEXIST:
	case -EBUSY:
		return -EBUSY;
	case -EINVAL:		/* e.g. an IOVA the IOMMU reserves */
		return -EINVAL;
	case -EPERM:
		return -EPERM;
	default:
		return -EFAULT;
	}
}

/*
 * type1 writes the size it unmapped back to the arguments, which it cannot
 * in the read-only page: it unmapped, and its read of them cannot have
 * failed, so -EFAULT is its success here.  The size is lost: when the
 * group left the container, VFIO unmapped less than asked, unseen.
 */
static long pvx_iommu_unmap_dma(struct pvx_iommu *io, u64 iova, u64 size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};
	long ret;

	ret = pvx_iommu_ioctl(io, VFIO_IOMMU_UNMAP_DMA, &unmap, sizeof(unmap));
	return ret == -EFAULT ? 0 : ret;
}

static struct pvx_iommu_mapping *
pvx_iommu_mapping_of(struct interval_tree_node *n)
{
	return container_of(n, struct pvx_iommu_mapping, it);
}

static void pvx_iommu_mapping_drop(struct pvx_iommu *io,
				   struct pvx_iommu_mapping *m)
{
	interval_tree_remove(&m->it, &io->maps);
	interval_tree_remove(&m->gfn_it, &io->gfns);
	kfree(m);
}

/*
 * Does a mapping of pvx's cover any frame of the range?  For inflate,
 * which holds the balloon's lock: a map cannot start meanwhile.  The
 * service cannot go away under a hypercall.
 */
bool pvx_iommu_has_gfns(struct pvx_vm *vm, u64 gfn, u64 npages)
{
	struct pvx_iommu *io = READ_ONCE(vm->iommu);
	bool mapped;

	if (!io)
		return false;
	mutex_lock(&io->lock);
	mapped = interval_tree_iter_first(&io->gfns, gfn, gfn + npages - 1);
	mutex_unlock(&io->lock);
	return mapped;
}

/* Page aligned, not wrapping, inside the window. */
static s32 pvx_iommu_check_range(struct pvx_iommu *io, u64 iova, u64 npages)
{
	u64 size = npages << PAGE_SHIFT;

	if (!npages || iova & (PAGE_SIZE - 1))
		return -EINVAL;
	if (npages > (U64_MAX >> PAGE_SHIFT) || iova + size - 1 < iova)
		return -EINVAL;
	if (iova < io->iova_base ||
	    iova + size - 1 > io->iova_base + io->iova_size - 1)
		return -ERANGE;
	return 0;
}

/*
 * Each mapping pins pages in, and accounts them to, the VMM, and takes an
 * entry of the container's dma_entry_limit, which the VMM's own mappings
 * share: a guest gets only its share of either.
 */
static bool pvx_iommu_over_cap(const struct pvx_iommu *io, u64 npages,
			       u64 max_pages)
{
	return io->mappings >= io->max_mappings ||
	       io->pages + npages > max_pages;
}

static s32 pvx_iommu_map_one(struct pvx_batch *b, struct pvx_iommu *io,
			     const struct pvx_iommu_map *e, u64 max_pages)
{
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	u64 first = e->iova >> PAGE_SHIFT, last = first + e->npages - 1;
	struct pvx_iommu_mapping *m;
	unsigned long hva;
	long ret;

	if (!e->npages || e->npages > PVX_RANGE_MAX_PAGES)
		return e->npages ? -E2BIG : -EINVAL;
	if (!e->perms || e->perms & ~PVX_IOMMU_PERMS)
		return -EINVAL;
	ret = pvx_iommu_check_range(io, e->iova, e->npages);
	if (ret)
		return ret;
	if (e->perms & ~io->perms)
		return -EPERM;
	if (interval_tree_iter_first(&io->maps, first, last) ||
	    pvx_balloon_has(&b->vm->balloon, e->gfn, e->npages))
		return -EBUSY;
	if (pvx_iommu_over_cap(io, e->npages, max_pages))
		return -ENOSPC;
	ret = pvx_compat_gfn_range_to_hva(b->kvm, e->gfn, e->npages,
					  e->perms & PVX_IOMMU_WRITE, &hva);
	if (ret)
		return ret;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -EAGAIN;
	if (e->perms & PVX_IOMMU_READ)
		map.flags |= VFIO_DMA_MAP_FLAG_READ;
	if (e->perms & PVX_IOMMU_WRITE)
		map.flags |= VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = hva;
	map.iova = e->iova;
	map.size = (u64)e->npages << PAGE_SHIFT;
	ret = pvx_iommu_ioctl(io, VFIO_IOMMU_MAP_DMA, &map, sizeof(map));
	if (ret) {
		kfree(m);
		return pvx_iommu_errno(ret);
	}
	m->it.start = first;
	m->it.last = last;
	m->gfn = e->gfn;
	m->hva = hva;
	m->write = e->perms & PVX_IOMMU_WRITE;
	interval_tree_insert(&m->it, &io->maps);
	m->gfn_it.start = e->gfn;
	m->gfn_it.last = e->gfn + e->npages - 1;
	interval_tree_insert(&m->gfn_it, &io->gfns);
	WRITE_ONCE(io->pages, io->pages + e->npages);
	WRITE_ONCE(io->mappings, io->mappings + 1);
	return 0;
}

/*
 * The range must be exactly a run of whole mappings: a hole is "not
 * mapped" (-ENOENT), a mapping cut by either end -EINVAL.
 */
static s32 pvx_iommu_unmap_one(struct pvx_iommu *io,
			       const struct pvx_iommu_unmap *e)
{
	u64 first = e->iova >> PAGE_SHIFT, last = first + e->npages - 1;
	struct interval_tree_node *n, *next;
	u64 covered = 0, nodes = 0;
	long ret;

	ret = pvx_iommu_check_range(io, e->iova, e->npages);
	if (ret)
		return ret;
	for (n = interval_tree_iter_first(&io->maps, first, last); n;
	     n = interval_tree_iter_next(n, first, last)) {
		if (n->start < first || n->last > last)
			return -EINVAL;
		covered += n->last - n->start + 1;
		nodes++;
	}
	if (covered != e->npages)
		return -ENOENT;

	ret = pvx_iommu_unmap_dma(io, e->iova, (u64)e->npages << PAGE_SHIFT);
	if (ret)
		return pvx_iommu_errno(ret);

	for (n = interval_tree_iter_first(&io->maps, first, last); n; n = next) {
		next = interval_tree_iter_next(n, first, last);
		pvx_iommu_mapping_drop(io, pvx_iommu_mapping_of(n));
	}
	WRITE_ONCE(io->pages, io->pages - e->npages);
	WRITE_ONCE(io->mappings, io->mappings - nodes);
	return 0;
}

/* Stops at the first refusal, as every pvx list does. */
static void pvx_iommu_run(struct pvx_batch *b, bool map)
{
	struct mutex *balloon = map ? &b->vm->balloon.lock : NULL;
	struct pvx_iommu *io = b->vm->iommu;
	struct pvx_iommu_unmap *u = b->list;
	struct pvx_iommu_map *m = b->list;
	u64 max_pages = 0;
	s32 st;

	/* The default follows the VM's RAM, as a memslot walk: once a call. */
	if (map)
		max_pages = io->max_pages ?: pvx_compat_ram_pages(b->kvm);
	/* The balloon's lock first: see the top of this file. */
	if (balloon)
		mutex_lock(balloon);
	mutex_lock(&io->lock);
	for (b->done = 0; b->done < b->count; b->done++) {
		if (map) {
			st = pvx_iommu_map_one(b, io, &m[b->done], max_pages);
			/*
			 * A 1-byte status: an errno below -128 would be cut
			 * to another value (-ERESTARTSYS to 0) before the
			 * write-back could convert it.
			 */
			m[b->done].status = st < S8_MIN ? -EIO : st;
		} else {
			st = u[b->done].status =
				pvx_iommu_unmap_one(io, &u[b->done]);
		}
		if (st) {
			b->processed = b->done + 1;
			goto out;
		}
		cond_resched();
	}
	b->processed = b->done;
out:
	mutex_unlock(&io->lock);
	if (balloon)
		mutex_unlock(balloon);
}

static void pvx_iommu_map_run(struct pvx_batch *b)
{
	pvx_iommu_run(b, true);
}

static void pvx_iommu_unmap_run(struct pvx_batch *b)
{
	pvx_iommu_run(b, false);
}

/*
 * VFIO pins in, and accounts to, the caller's mm: only the VMM's own
 * threads (the vCPUs) may map.  Split-phase is refused (vcpu_only).
 */
static const struct pvx_split_ops pvx_iommu_map_ops = {
	PVX_LIST_ENTRY(struct pvx_iommu_map, status),
	.vcpu_only = true,
	.run = pvx_iommu_map_run,
};

static const struct pvx_split_ops pvx_iommu_unmap_ops = {
	PVX_LIST_ENTRY(struct pvx_iommu_unmap, status),
	.vcpu_only = true,
	.run = pvx_iommu_unmap_run,
};

static long pvx_iommu_call(struct pvx_call *call,
			   const struct pvx_split_ops *ops)
{
	struct pvx_iommu *io = READ_ONCE(call->vm->iommu);

	if (!io)
		return -ENOENT;
	if (current->mm != io->mm)
		return -EPERM;
	return pvx_batch_call(call, ops);
}

static long pvx_iommu_map(struct pvx_call *call)
{
	return pvx_iommu_call(call, &pvx_iommu_map_ops);
}

static long pvx_iommu_unmap(struct pvx_call *call)
{
	return pvx_iommu_call(call, &pvx_iommu_unmap_ops);
}

/*
 * Drops every mapping whose guest frames no longer lie, at the same VMM
 * address, in a memslot the mapping's permissions allow; with @all (the
 * guest was reset), every mapping.  In the VMM's thread, the VM held.  A
 * mapping that VFIO refuses to unmap stays, and detach takes it.
 */
static void pvx_iommu_sync_memslots(struct pvx_vm *vm, struct pvx_iommu *io,
				    bool all)
{
	struct interval_tree_node *n, *next;
	u64 dropped = 0;
	int idx;

	idx = pvx_compat_kvm_srcu_lock(vm->kvm);
	mutex_lock(&io->lock);
	for (n = interval_tree_iter_first(&io->maps, 0, ULONG_MAX); n; n = next) {
		struct pvx_iommu_mapping *m =
			container_of(n, struct pvx_iommu_mapping, it);
		u64 npages = n->last - n->start + 1;
		unsigned long hva;
		long ret;

		next = interval_tree_iter_next(n, 0, ULONG_MAX);
		if (!all &&
		    !pvx_compat_gfn_range_to_hva(vm->kvm, m->gfn, npages,
						 m->write, &hva) &&
		    hva == m->hva)
			continue;
		ret = pvx_iommu_unmap_dma(io, n->start << PAGE_SHIFT,
					  npages << PAGE_SHIFT);
		if (ret) {
			pr_warn_ratelimited("vm %llu: unmapping %#lx failed: %ld\n",
					    vm->id, n->start << PAGE_SHIFT, ret);
			continue;
		}
		pvx_iommu_mapping_drop(io, m);
		WRITE_ONCE(io->pages, io->pages - npages);
		WRITE_ONCE(io->mappings, io->mappings - 1);
		dropped += npages;
		cond_resched();
	}
	mutex_unlock(&io->lock);
	pvx_compat_kvm_srcu_unlock(vm->kvm, idx);
	if (dropped)
		pr_info("vm %llu: %llu IOMMU-mapped pages %s unmapped\n",
			vm->id, dropped, all ? "of the guest before its reset" :
			"of a removed or moved memslot");
}

struct pvx_iommu_sync {
	struct callback_head cb;
	u64 vm_id;
	bool all;
};

static void pvx_iommu_sync_fn(struct callback_head *cb)
{
	struct pvx_iommu_sync *sync = container_of(cb, struct pvx_iommu_sync,
						   cb);
	struct pvx_iommu *io;
	struct pvx_vm *vm;
	int idx;

	/* Gone, or detached (a new attach has a new id): nothing to do. */
	vm = pvx_vm_get_id(sync->vm_id, &idx);
	if (vm) {
		io = READ_ONCE(vm->iommu);
		/* Not the VMM's any more (exec, exit): VFIO's files clean up. */
		if (io && current->mm == io->mm)
			pvx_iommu_sync_memslots(vm, io, sync->all);
		pvx_vm_put_id(vm, idx);
	}
	kfree(sync);
	atomic_dec(&pvx_iommu_syncs);
}

/*
 * Has this thread check @vm's mappings (all of them: drop them) when it
 * returns to user space.  Atomic context; under pvx_vm_srcu.
 */
static void pvx_iommu_queue_sync(struct pvx_vm *vm, bool all)
{
	struct pvx_iommu_sync *sync;

	/*
	 * No return to user space to hook: a kthread's VM is being
	 * destroyed, and a worker's task work might never run.
	 */
	if (current->flags & (PF_KTHREAD | PVX_PF_NO_USER_RETURN))
		return;
	if (!READ_ONCE(vm->iommu))
		return;
	sync = kmalloc(sizeof(*sync), GFP_ATOMIC | __GFP_NOWARN);
	if (!sync) {
		pr_warn_ratelimited("vm %llu: no memory to follow a %s: its IOMMU mappings stay until detach\n",
				    vm->id, all ? "guest reset" : "memslot removal");
		return;
	}
	sync->vm_id = vm->id;
	sync->all = all;
	init_task_work(&sync->cb, pvx_iommu_sync_fn);
	atomic_inc(&pvx_iommu_syncs);
	if (task_work_add(current, &sync->cb, TWA_RESUME)) {
		/* Exiting: its files close, VFIO unmaps everything. */
		atomic_dec(&pvx_iommu_syncs);
		kfree(sync);
	}
}

/*
 * KVM is deleting or moving a memslot of @kvm (pvx_compat.c's hook:
 * atomic context, in the thread of the VMM's KVM_SET_USER_MEMORY_REGION
 * or of a vCPU).  VFIO may sleep, and the slot is only gone once KVM is
 * done, so the mappings are checked when this thread returns to user
 * space: before the VMM sees the ioctl's result.
 */
void pvx_iommu_memslot_changing(struct kvm *kvm)
{
	struct pvx_vm *vm;
	int idx;

	idx = pvx_vm_read_lock();
	vm = pvx_vm_lookup(kvm);
	if (vm)
		pvx_iommu_queue_sync(vm, false);
	pvx_vm_read_unlock(idx);
}

/*
 * The guest was reset (pvx_vcpu_apic_reset(): the VMM's KVM_SET_LAPIC of
 * the boot vCPU, atomic context, under pvx_vm_srcu).  The rebooted
 * guest's devices must not reach the old boot's buffers, and its IOMMU
 * driver maps the same IOVAs again: every mapping goes when this thread
 * returns to user space, before the VMM can run the guest.  The
 * container and window stay, as the attach does.
 */
void pvx_iommu_vm_reset(struct pvx_vm *vm)
{
	pvx_iommu_queue_sync(vm, true);
}

/* In the VMM's context (PVX_IOC_IOMMU_SETUP), the VM held by the caller. */
int pvx_iommu_setup(struct pvx_vm *vm, const struct pvx_iommu_setup *req)
{
	struct pvx_iommu *io;
	struct file *file;
	int ret;

	if (!(vm->features & PVX_F_IOMMU))
		return -EOPNOTSUPP;
	if (current->mm != pvx_compat_kvm_mm(vm->kvm))
		return -EPERM;
	if (!req->perms || req->perms & ~PVX_IOMMU_PERMS)
		return -EINVAL;
	if (!req->iova_size || (req->iova_base | req->iova_size) & ~PAGE_MASK ||
	    req->iova_base + req->iova_size - 1 < req->iova_base)
		return -EINVAL;

	file = fget(req->container_fd);
	if (!file)
		return -EBADF;
	ret = -EINVAL;
	if (!pvx_file_is_vfio_container(file))
		goto err_file;
	/* The container answers for type1v2 once the VMM set it. */
	ret = pvx_vfio_ioctl(file, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
	if (ret != 1) {
		ret = ret < 0 ? ret : -EINVAL;
		goto err_file;
	}

	ret = -ENOMEM;
	io = kzalloc(sizeof(*io), GFP_KERNEL_ACCOUNT);
	if (!io)
		goto err_file;
	ret = pvx_stage_create(io);
	if (ret)
		goto err_io;
	mutex_init(&io->lock);
	io->container = file;
	io->mm = current->mm;
	mmgrab(io->mm);
	io->iova_base = req->iova_base;
	io->iova_size = req->iova_size;
	io->perms = req->perms;
	io->maps = RB_ROOT_CACHED;
	io->gfns = RB_ROOT_CACHED;
	io->max_mappings = req->max_mappings ?: PVX_IOMMU_DEFAULT_MAPPINGS;
	io->max_pages = req->max_pages;

	if (cmpxchg(&vm->iommu, NULL, io)) {
		pvx_stage_destroy(io, io->mm);
		fput(io->stage);
		mmdrop(io->mm);
		ret = -EBUSY;
		goto err_io;
	}
	pr_info("vm %llu: IOMMU window %#llx+%#llx through a VFIO container\n",
		vm->id, req->iova_base, req->iova_size);
	return 0;

err_io:
	kfree(io);
err_file:
	fput(file);
	return ret;
}

/*
 * In @io->mm, current's (@in_mm), or with that mm gone.  No VM is left to
 * call: the lock only pleases lockdep's view.  Frees @io.
 */
static void pvx_iommu_release(struct pvx_iommu *io, bool in_mm)
{
	struct interval_tree_node *n;
	u64 pages = io->pages;
	long ret = 0;

	mutex_lock(&io->lock);
	if (in_mm) {
		if (pages)
			ret = pvx_iommu_unmap_dma(io, io->iova_base,
						  io->iova_size);
		pvx_stage_destroy(io, io->mm);
		if (ret)
			pr_warn("unmapping the IOMMU window failed: %ld\n", ret);
		else if (pages)
			pr_info("IOMMU window: %llu pages unmapped and unpinned\n",
				pages);
	} else if (pages) {
		/* The VMM is gone: VFIO unmaps as its files close. */
		pr_info("IOMMU window: %llu pages left to VFIO (VMM exited)\n",
			pages);
	}
	while ((n = interval_tree_iter_first(&io->maps, 0, ULONG_MAX)))
		pvx_iommu_mapping_drop(io, pvx_iommu_mapping_of(n));
	mutex_unlock(&io->lock);
	mutex_destroy(&io->lock);
	fput(io->stage);
	fput(io->container);
	mmdrop(io->mm);
	kfree(io);
}

static void pvx_iommu_release_work(struct work_struct *work)
{
	struct pvx_iommu *io = container_of(work, struct pvx_iommu, release);
	struct mm_struct *mm = io->mm;

	if (!mmget_not_zero(mm)) {
		pvx_iommu_release(io, false);
		return;
	}
	/* Our mm_users keeps @mm after the release drops pvx's mm_count. */
	kthread_use_mm(mm);
	pvx_iommu_release(io, true);
	kthread_unuse_mm(mm);
	mmput(mm);
}

static void pvx_iommu_queue_release(struct pvx_iommu *io)
{
	INIT_WORK(&io->release, pvx_iommu_release_work);
	queue_work(pvx_iommu_wq, &io->release);
}

static void pvx_iommu_release_fn(struct callback_head *cb)
{
	struct pvx_iommu *io = container_of(cb, struct pvx_iommu, release_cb);

	/* Queued from the VMM's mm; only an exiting thread has lost it. */
	if (current->mm == io->mm)
		pvx_iommu_release(io, true);
	else
		pvx_iommu_queue_release(io);
	atomic_dec(&pvx_iommu_syncs);
}

/*
 * KVM destroys a VM in the thread that drops the last reference to it,
 * most often a VMM thread closing the VM's last fd.  The release then
 * runs in that thread before it returns to user space, as VFIO's own
 * unpinning does on close: the VMM has its locked memory back when
 * close() returns, for the next VM under the same RLIMIT_MEMLOCK.  A
 * kernel thread, a user worker (it may never return to user space) or
 * another process leaves it to the worker.
 */
static bool pvx_iommu_release_on_return(struct pvx_iommu *io)
{
	if (current->mm != io->mm ||
	    current->flags & (PF_KTHREAD | PVX_PF_NO_USER_RETURN))
		return false;
	init_task_work(&io->release_cb, pvx_iommu_release_fn);
	atomic_inc(&pvx_iommu_syncs);
	if (task_work_add(current, &io->release_cb, TWA_RESUME)) {
		atomic_dec(&pvx_iommu_syncs);
		return false;
	}
	return true;
}

/*
 * No hypercall of @vm runs any more.  Destroying: atomic context, the
 * release is queued; otherwise done before this returns.
 */
void pvx_iommu_vm_stop(struct pvx_vm *vm, bool destroying)
{
	struct pvx_iommu *io = xchg(&vm->iommu, NULL);

	if (!io)
		return;
	if (destroying && pvx_iommu_release_on_return(io))
		return;
	pvx_iommu_queue_release(io);
	if (!destroying)
		flush_workqueue(pvx_iommu_wq);
}

void pvx_iommu_vm_stats(const struct pvx_vm *vm, struct pvx_vm_stats *st)
{
	struct pvx_iommu *io = READ_ONCE(vm->iommu);

	if (!io)
		return;
	st->iommu_pages = READ_ONCE(io->pages);
	st->iommu_mappings = READ_ONCE(io->mappings);
	st->iommu_max_mappings = io->max_mappings;
}

/*
 * Without mseal's VM_SEALED (6.10) the VMM could replace the staging page
 * between pvx's write of VFIO's arguments and VFIO's read of them, and
 * have pvx's records of what is mapped disagree with the IOMMU.
 */
u64 pvx_iommu_refused_features(void)
{
	return PVX_HAVE_VM_SEALED ? 0 : PVX_F_IOMMU;
}

int pvx_iommu_init(void)
{
	if (pvx_iommu_refused_features())
		pr_info("IOMMU service refused: this kernel cannot seal the VFIO argument page (no mseal before 6.10)\n");
	pvx_iommu_wq = alloc_workqueue("pvx_iommu", WQ_UNBOUND, 0);
	return pvx_iommu_wq ? 0 : -ENOMEM;
}

/*
 * After every VM left and the lifetime hooks are out: waits for the last
 * task works (a release among them may still queue on the worker), then
 * for the worker, then for RCU tasks, so that no task is still between a
 * task work's last count and its return.
 */
void pvx_iommu_exit(void)
{
	while (atomic_read(&pvx_iommu_syncs))
		usleep_range(1000, 2000);
	destroy_workqueue(pvx_iommu_wq);
	synchronize_rcu_tasks();
}

const struct pvx_service_ops pvx_svc_iommu_map = {
	.handler = pvx_iommu_map,
};

const struct pvx_service_ops pvx_svc_iommu_unmap = {
	.handler = pvx_iommu_unmap,
};
