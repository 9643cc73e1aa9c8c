/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Generic kernel interfaces that differ between the kernel series pvx
 * builds for (Debian's 6.1, 6.12 and 7.3), one wrapper each, chosen from
 * LINUX_VERSION_CODE or from what the kernel's headers define.  What pvx
 * knows of KVM's internals is not here but in host-kmod/pvx_compat.c.
 */
#ifndef PVX_KCOMPAT_H
#define PVX_KCOMPAT_H

#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/ftrace.h>
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/version.h>
#include <linux/workqueue.h>

/* Debian's 7.3 has struct folio_batch in a header of its own. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 3, 0)
#include <linux/pagevec.h>
#else
#include <linux/folio_batch.h>
#endif

/*
 * An ftrace handler's view of the traced function's arguments and its
 * return address.  Before 6.2, x86's ftrace_regs (with ARGS) was a pt_regs
 * holding the argument registers, with no accessor for them.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define pvx_ftrace_arg(fregs, n)	regs_get_kernel_argument(&(fregs)->regs, n)
#define pvx_ftrace_set_ip(fregs, ip)	ftrace_instruction_pointer_set(fregs, ip)
#else
#define pvx_ftrace_arg(fregs, n)	ftrace_regs_get_argument(fregs, n)
#define pvx_ftrace_set_ip(fregs, ip)	ftrace_regs_set_instruction_pointer(fregs, ip)
#endif

/* 6.3 made vm_flags writable only through these, under the mmap lock. */
static inline void pvx_vm_flags_mod(struct vm_area_struct *vma,
				    vm_flags_t set, vm_flags_t clear)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#else
	vm_flags_mod(vma, set, clear);
#endif
}

/*
 * Drops the pages of [@start, @start + @size) inside @vma, as
 * MADV_DONTNEED does; under the mmap lock.  6.1 exports only
 * zap_page_range(), which 6.3 removed; Debian's 7.3 has
 * zap_page_range_single() as zap_vma_range(), without its details
 * argument (the kernels between 6.12 and 7.3 are not built for:
 * host-kmod/pvx_compat.c).
 */
static inline void pvx_zap_vma_range(struct vm_area_struct *vma,
				     unsigned long start, unsigned long size)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
	zap_page_range(vma, start, size);
#elif LINUX_VERSION_CODE < KERNEL_VERSION(7, 3, 0)
	zap_page_range_single(vma, start, size, NULL);
#else
	zap_vma_range(vma, start, size);
#endif
}

/*
 * The file's own ioctl, as ioctl(2) ends after its generic commands:
 * Debian's 7.3 no longer exports vfs_ioctl(), which did just this.
 */
static inline long pvx_vfs_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 3, 0)
	return vfs_ioctl(file, cmd, arg);
#else
	long ret = -ENOTTY;

	if (file->f_op->unlocked_ioctl)
		ret = file->f_op->unlocked_ioctl(file, cmd, arg);
	return ret == -ENOIOCTLCMD ? -ENOTTY : ret;
#endif
}

/*
 * A platform driver's void remove callback: .remove_new until 6.13 made
 * .remove itself return void.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
#define PVX_PLATFORM_REMOVE(fn)	.remove_new = (fn)
#else
#define PVX_PLATFORM_REMOVE(fn)	.remove = (fn)
#endif

/*
 * A per-CPU workqueue says so (WQ_PERCPU, 6.17) on 7.3, which WARNs at
 * alloc_workqueue() when neither it nor WQ_UNBOUND is given.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 3, 0)
#define PVX_WQ_PERCPU	0
#else
#define PVX_WQ_PERCPU	WQ_PERCPU
#endif

/* 6.13 added hrtimer_setup(); later kernels removed hrtimer_init(). */
static inline void pvx_hrtimer_setup(struct hrtimer *timer,
				     enum hrtimer_restart (*fn)(struct hrtimer *),
				     clockid_t clock, enum hrtimer_mode mode)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
	hrtimer_init(timer, clock, mode);
	timer->function = fn;
#else
	hrtimer_setup(timer, fn, clock, mode);
#endif
}

/*
 * Whether the kernel can seal a mapping against munmap, mremap and
 * mprotect (mseal, 6.10).  Without it PVX_VM_SEALED seals nothing, and
 * what relies on a seal is refused (pvx_iommu.c).
 */
#ifdef VM_SEALED
#define PVX_HAVE_VM_SEALED	1
#define PVX_VM_SEALED		VM_SEALED
#else
#define PVX_HAVE_VM_SEALED	0
#define PVX_VM_SEALED		0
#endif

/*
 * Threads of a process that may never return to user space: io_uring's,
 * and since 6.4 vhost's and every vhost_task (PF_USER_WORKER).  6.1's
 * vhost workers are kthreads, which PF_KTHREAD names already.
 */
#ifdef PF_USER_WORKER
#define PVX_PF_NO_USER_RETURN	(PF_IO_WORKER | PF_USER_WORKER)
#else
#define PVX_PF_NO_USER_RETURN	PF_IO_WORKER
#endif

/*
 * A thread of the calling task's process that runs @fn(@data) while it
 * returns true and sleeps until woken when it returns false, as vhost's
 * vhost_task: it is charged to the process (its cgroups; its mm is
 * current's), and when the process dies it calls @killed(@data) and
 * exits.  pvx_worker_stop() waits for @fn to return and for the exit.
 * Before 6.12 (6.1 has no vhost_task; pvx uses the form with a SIGKILL
 * handler, which 6.12 has) it is a kthread attached to the caller's
 * cgroups, as vhost's worker was until 6.4 (host-kmod/pvx_kcompat.c).
 */
struct pvx_worker;

struct pvx_worker *pvx_worker_create(bool (*fn)(void *data),
				     void (*killed)(void *data), void *data,
				     const char *name);
void pvx_worker_start(struct pvx_worker *w);
void pvx_worker_wake(struct pvx_worker *w);
void pvx_worker_stop(struct pvx_worker *w);

#endif /* PVX_KCOMPAT_H */
