// SPDX-License-Identifier: GPL-2.0
/*
 * The generic kernel interfaces of <pvx_kcompat.h> that need code: the
 * per-VM worker thread.  From 6.12 it is a vhost_task, as vhost's and
 * KVM's own per-VM workers are.  Before (Debian's 6.1 has no vhost_task),
 * it is a kthread attached to the caller's cgroups and running in the
 * caller's mm while it works, as vhost's worker was until 6.4.
 */
#include <linux/slab.h>
#include <linux/version.h>
#include <pvx_kcompat.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/sched/vhost_task.h>

struct pvx_worker {
	struct vhost_task *task;
};

struct pvx_worker *pvx_worker_create(bool (*fn)(void *data),
				     void (*killed)(void *data), void *data,
				     const char *name)
{
	struct pvx_worker *w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);

	if (!w)
		return ERR_PTR(-ENOMEM);
	w->task = vhost_task_create(fn, killed, data, name);
	if (IS_ERR(w->task)) {
		long err = PTR_ERR(w->task);

		kfree(w);
		return ERR_PTR(err);
	}
	return w;
}

void pvx_worker_start(struct pvx_worker *w)
{
	vhost_task_start(w->task);
}

void pvx_worker_wake(struct pvx_worker *w)
{
	vhost_task_wake(w->task);
}

void pvx_worker_stop(struct pvx_worker *w)
{
	vhost_task_stop(w->task);
	kfree(w);
}

#else /* no vhost_task: a kthread */
#include <linux/cgroup.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>

struct pvx_worker {
	bool (*fn)(void *data);
	void (*killed)(void *data);
	void *data;
	struct task_struct *task;	/* referenced */
	struct task_struct *owner;	/* a thread of the process, referenced */
	struct mm_struct *mm;		/* the process's, mmgrab()ed */
};

/*
 * The process is exiting (or exec()ing), as a vhost_task would learn by
 * its SIGKILL; or all of its threads have left its mm already.  The
 * worker never keeps the mm's users up while it sleeps: the process's
 * own mappings (KVM's vCPU pages among them) hold the VM, which must be
 * freed when the process goes.
 */
static bool pvx_worker_orphaned(struct pvx_worker *w)
{
	struct signal_struct *sig = w->owner->signal;

	return READ_ONCE(sig->flags) & SIGNAL_GROUP_EXIT ||
	       READ_ONCE(sig->group_exec_task) || !mmget_not_zero(w->mm);
}

static int pvx_worker_thread(void *data)
{
	struct pvx_worker *w = data;
	bool did_work;

	for (;;) {
		/* Paired with wake_up_process() in pvx_worker_wake(). */
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			return 0;
		}
		if (pvx_worker_orphaned(w))
			break;

		kthread_use_mm(w->mm);
		did_work = w->fn(w->data);
		kthread_unuse_mm(w->mm);
		/* Never __mmput() here: the task may not be running. */
		mmput_async(w->mm);
		if (!did_work)
			schedule();
	}

	__set_current_state(TASK_RUNNING);
	w->killed(w->data);
	/* kthread_stop() wants the thread alive until it is called. */
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

struct pvx_worker *pvx_worker_create(bool (*fn)(void *data),
				     void (*killed)(void *data), void *data,
				     const char *name)
{
	struct pvx_worker *w;
	int ret;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return ERR_PTR(-ENOMEM);
	w->fn = fn;
	w->killed = killed;
	w->data = data;
	w->task = kthread_create(pvx_worker_thread, w, "%s", name);
	if (IS_ERR(w->task)) {
		ret = PTR_ERR(w->task);
		goto err_free;
	}
	get_task_struct(w->task);
	/* The process pays for its worker, as for a vhost_task. */
	ret = cgroup_attach_task_all(current, w->task);
	if (ret)
		goto err_stop;
	w->owner = get_task_struct(current);
	mmgrab(current->mm);
	w->mm = current->mm;
	return w;

err_stop:
	kthread_stop(w->task);
	put_task_struct(w->task);
err_free:
	kfree(w);
	return ERR_PTR(ret);
}

void pvx_worker_start(struct pvx_worker *w)
{
	wake_up_process(w->task);
}

void pvx_worker_wake(struct pvx_worker *w)
{
	wake_up_process(w->task);
}

/* Waits for @fn to return and for the thread to exit. */
void pvx_worker_stop(struct pvx_worker *w)
{
	kthread_stop(w->task);
	put_task_struct(w->task);
	put_task_struct(w->owner);
	mmdrop(w->mm);
	kfree(w);
}
#endif
