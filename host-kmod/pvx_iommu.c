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
 * VMM at setup.  The VMM could scribble on it; it can only hurt itself,
 * since it may issue those ioctls with any argument anyway.  What the
 * guest asked for is validated before it is written there.
 *
 * pvx records its mappings (an interval tree of IOVA frames) so that it
 * can refuse double maps and unmaps of what is not mapped entry by entry,
 * and so that detach, VM destruction and unload take them all away: one
 * UNMAP_DMA over the window, from a worker that enters the VMM's mm.  If
 * the VMM's address space is already gone (the VMM died), VFIO itself
 * unmaps and unpins everything when the VMM's group and container files
 * close; pvx then only drops its container reference.
 */
#define pr_fmt(fmt) "pvx: " fmt

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
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>
#include "pvx_host.h"

#define PVX_IOMMU_PERMS	(PVX_IOMMU_READ | PVX_IOMMU_WRITE)

struct pvx_iommu {
	struct mutex lock;		/* the tree and the VFIO calls */
	struct file *container;		/* referenced */
	struct mm_struct *mm;		/* the VMM's, mmgrab()ed */
	unsigned long scratch;		/* a page in @mm for VFIO's arguments */
	u64 iova_base, iova_size;
	u32 perms;
	struct rb_root_cached maps;	/* interval tree of IOVA frames */
	u64 pages;			/* mapped now */
	struct work_struct release;
};

static struct workqueue_struct *pvx_iommu_wq;

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

	return ret ? ret : vfs_ioctl(file, cmd, arg);
}

/* In the VMM's mm: the calling vCPU thread, or a worker that entered it. */
static long pvx_iommu_ioctl(struct pvx_iommu *io, unsigned int cmd, void *arg,
			    size_t len, bool readback)
{
	void __user *uarg = (void __user *)io->scratch;
	long ret;

	if (copy_to_user(uarg, arg, len))
		return -EFAULT;
	ret = pvx_vfio_ioctl(io->container, cmd, io->scratch);
	if (!ret && readback && copy_from_user(arg, uarg, len))
		return -EFAULT;
	return ret;
}

static s8 pvx_iommu_errno(long err)
{
	switch (err) {
	case -ENOMEM:		/* locked memory limit, or no memory */
	case -ENOSPC:		/* VFIO's mapping count limit */
		return -PVX_ENOSPC;
	case -EEXIST:
	case -EBUSY:
		return -PVX_EBUSY;
	case -EINVAL:		/* e.g. an IOVA the IOMMU reserves */
		return -PVX_EINVAL;
	case -EPERM:
		return -PVX_EPERM;
	default:
		return -PVX_EFAULT;
	}
}

/* Page aligned, not wrapping, inside the window. */
static s32 pvx_iommu_check_range(struct pvx_iommu *io, u64 iova, u64 npages)
{
	u64 size = npages << PAGE_SHIFT;

	if (!npages || iova & (PAGE_SIZE - 1))
		return -PVX_EINVAL;
	if (npages > (U64_MAX >> PAGE_SHIFT) || iova + size - 1 < iova)
		return -PVX_EINVAL;
	if (iova < io->iova_base ||
	    iova + size - 1 > io->iova_base + io->iova_size - 1)
		return -PVX_ERANGE;
	return 0;
}

static s8 pvx_iommu_map_one(struct pvx_batch *b, struct pvx_iommu *io,
			    const struct pvx_iommu_map *e)
{
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	u64 first = e->iova >> PAGE_SHIFT, last = first + e->npages - 1;
	struct interval_tree_node *n;
	unsigned long hva;
	long ret;

	if (!e->npages || e->npages > PVX_RANGE_MAX_PAGES)
		return e->npages ? -PVX_E2BIG : -PVX_EINVAL;
	if (!e->perms || e->perms & ~PVX_IOMMU_PERMS)
		return -PVX_EINVAL;
	ret = pvx_iommu_check_range(io, e->iova, e->npages);
	if (ret)
		return ret;
	if (e->perms & ~io->perms)
		return -PVX_EPERM;
	if (interval_tree_iter_first(&io->maps, first, last))
		return -PVX_EBUSY;
	ret = pvx_compat_gfn_range_to_hva(b->kvm, e->gfn, e->npages,
					  e->perms & PVX_IOMMU_WRITE, &hva);
	if (ret)
		return ret;

	n = kzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return -PVX_EAGAIN;
	if (e->perms & PVX_IOMMU_READ)
		map.flags |= VFIO_DMA_MAP_FLAG_READ;
	if (e->perms & PVX_IOMMU_WRITE)
		map.flags |= VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = hva;
	map.iova = e->iova;
	map.size = (u64)e->npages << PAGE_SHIFT;
	ret = pvx_iommu_ioctl(io, VFIO_IOMMU_MAP_DMA, &map, sizeof(map), false);
	if (ret) {
		kfree(n);
		return pvx_iommu_errno(ret);
	}
	n->start = first;
	n->last = last;
	interval_tree_insert(n, &io->maps);
	WRITE_ONCE(io->pages, io->pages + e->npages);
	return 0;
}

/*
 * The range must be exactly a run of whole mappings: a hole is "not
 * mapped" (-PVX_ENOENT), a mapping cut by either end -PVX_EINVAL.
 */
static s32 pvx_iommu_unmap_one(struct pvx_iommu *io,
			       const struct pvx_iommu_unmap *e)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	u64 first = e->iova >> PAGE_SHIFT, last = first + e->npages - 1;
	struct interval_tree_node *n, *next;
	u64 covered = 0;
	long ret;

	ret = pvx_iommu_check_range(io, e->iova, e->npages);
	if (ret)
		return ret;
	for (n = interval_tree_iter_first(&io->maps, first, last); n;
	     n = interval_tree_iter_next(n, first, last)) {
		if (n->start < first || n->last > last)
			return -PVX_EINVAL;
		covered += n->last - n->start + 1;
	}
	if (covered != e->npages)
		return -PVX_ENOENT;

	unmap.iova = e->iova;
	unmap.size = (u64)e->npages << PAGE_SHIFT;
	ret = pvx_iommu_ioctl(io, VFIO_IOMMU_UNMAP_DMA, &unmap, sizeof(unmap),
			      true);
	if (ret)
		return pvx_iommu_errno(ret);
	/* Less when VFIO dropped them already (the group left the container). */
	if (unmap.size != (u64)e->npages << PAGE_SHIFT)
		pr_warn_ratelimited("VFIO unmapped %llu of %llu bytes at %#llx\n",
				    unmap.size,
				    (u64)e->npages << PAGE_SHIFT, e->iova);

	for (n = interval_tree_iter_first(&io->maps, first, last); n; n = next) {
		next = interval_tree_iter_next(n, first, last);
		interval_tree_remove(n, &io->maps);
		kfree(n);
	}
	WRITE_ONCE(io->pages, io->pages - e->npages);
	return 0;
}

/* Stops at the first refusal, as every pvx list does. */
static void pvx_iommu_run(struct pvx_batch *b, bool map)
{
	struct pvx_iommu *io = b->vm->iommu;
	struct pvx_iommu_unmap *u = b->list;
	struct pvx_iommu_map *m = b->list;
	s32 st;

	mutex_lock(&io->lock);
	for (b->done = 0; b->done < b->count; b->done++) {
		if (map)
			st = m[b->done].status =
				pvx_iommu_map_one(b, io, &m[b->done]);
		else
			st = u[b->done].status =
				pvx_iommu_unmap_one(io, &u[b->done]);
		if (st) {
			b->processed = b->done + 1;
			goto out;
		}
		cond_resched();
	}
	b->processed = b->done;
out:
	mutex_unlock(&io->lock);
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
	.entry_size = sizeof(struct pvx_iommu_map),
	.vcpu_only = true,
	.run = pvx_iommu_map_run,
};

static const struct pvx_split_ops pvx_iommu_unmap_ops = {
	.entry_size = sizeof(struct pvx_iommu_unmap),
	.vcpu_only = true,
	.run = pvx_iommu_unmap_run,
};

static long pvx_iommu_call(struct pvx_call *call,
			   const struct pvx_split_ops *ops)
{
	struct pvx_iommu *io = READ_ONCE(call->vm->iommu);

	if (!io)
		return -PVX_ENOENT;
	if (current->mm != io->mm)
		return -PVX_EPERM;
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

/* In the VMM's context (PVX_IOC_IOMMU_SETUP), the VM held by the caller. */
int pvx_iommu_setup(struct pvx_vm *vm, const struct pvx_iommu_setup *req)
{
	struct pvx_iommu *io;
	unsigned long addr;
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
	addr = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr)) {
		ret = addr;
		goto err_io;
	}
	mutex_init(&io->lock);
	io->container = file;
	io->mm = current->mm;
	mmgrab(io->mm);
	io->scratch = addr;
	io->iova_base = req->iova_base;
	io->iova_size = req->iova_size;
	io->perms = req->perms;
	io->maps = RB_ROOT_CACHED;

	if (cmpxchg(&vm->iommu, NULL, io)) {
		vm_munmap(addr, PAGE_SIZE);
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

static void pvx_iommu_release_work(struct work_struct *work)
{
	struct pvx_iommu *io = container_of(work, struct pvx_iommu, release);
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = io->iova_base,
		.size = io->iova_size,
	};
	struct interval_tree_node *n;
	u64 pages = io->pages;
	long ret = 0;

	/* No VM left to call: the lock only pleases lockdep's view. */
	mutex_lock(&io->lock);
	if (mmget_not_zero(io->mm)) {
		kthread_use_mm(io->mm);
		if (pages)
			ret = pvx_iommu_ioctl(io, VFIO_IOMMU_UNMAP_DMA, &unmap,
					      sizeof(unmap), true);
		vm_munmap(io->scratch, PAGE_SIZE);
		kthread_unuse_mm(io->mm);
		mmput(io->mm);
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
	while ((n = interval_tree_iter_first(&io->maps, 0, ULONG_MAX))) {
		interval_tree_remove(n, &io->maps);
		kfree(n);
	}
	mutex_unlock(&io->lock);
	mutex_destroy(&io->lock);
	fput(io->container);
	mmdrop(io->mm);
	kfree(io);
}

/*
 * No hypercall of @vm runs any more.  Destroying: atomic context, the
 * worker does it; otherwise wait for it.
 */
void pvx_iommu_vm_stop(struct pvx_vm *vm, bool destroying)
{
	struct pvx_iommu *io = xchg(&vm->iommu, NULL);

	if (!io)
		return;
	INIT_WORK(&io->release, pvx_iommu_release_work);
	queue_work(pvx_iommu_wq, &io->release);
	if (!destroying)
		flush_workqueue(pvx_iommu_wq);
}

u64 pvx_iommu_vm_pages(const struct pvx_vm *vm)
{
	struct pvx_iommu *io = READ_ONCE(vm->iommu);

	return io ? READ_ONCE(io->pages) : 0;
}

int pvx_iommu_init(void)
{
	pvx_iommu_wq = alloc_workqueue("pvx_iommu", WQ_UNBOUND, 0);
	return pvx_iommu_wq ? 0 : -ENOMEM;
}

/* After every VM left: waits for the last releases. */
void pvx_iommu_exit(void)
{
	destroy_workqueue(pvx_iommu_wq);
}

const struct pvx_service pvx_svc_iommu_map = {
	.name = "iommu_map",
	.nr = PVX_HC_IOMMU_MAP,
	.feature = PVX_F_IOMMU,
	.handler = pvx_iommu_map,
};

const struct pvx_service pvx_svc_iommu_unmap = {
	.name = "iommu_unmap",
	.nr = PVX_HC_IOMMU_UNMAP,
	.feature = PVX_F_IOMMU,
	.handler = pvx_iommu_unmap,
};
