// SPDX-License-Identifier: GPL-2.0
/*
 * Batch calls, synchronous or split-phase.
 *
 * A long batch (many pages to copy or prefault) holds its vCPU in the host
 * for as long as it takes.  A guest that holds a lock across such a call
 * stalls every other vCPU that wants the lock: worse, the host may need
 * that vCPU's progress to finish (Documentation/design.rst, "L_G/L_H").
 * Split-phase, the host checks and copies the list, answers "in progress"
 * at once, and does the work in a worker running in the VMM's mm; the vCPU
 * runs guest code meanwhile.  When the worker is done, the vCPU that asked
 * gets its notification vector and collects the result.
 *
 * Collection is a hypercall, not a write by the worker, because KVM allows
 * guest memory to be marked dirty only from a running vCPU (the dirty
 * ring).  So a worker never changes what the guest reads: a request whose
 * work does (a copy) is only prepared by the worker, which takes the
 * faults, and the collecting vCPU does the writes, each marked dirty as
 * it is made.  Data the guest could read before the log has it would be
 * lost to a migration whose last dirty sync came in between.  A dirty
 * ring takes only so many marks per exit: such a request is collected
 * over several (pvx_dirty_budget()), and one collection runs at most one
 * of them, so that its exit stays short.
 *
 * Who pays: each VM has one worker, a thread of its VMM's (a vhost_task,
 * as vhost's and KVM's own per-VM workers are; before 6.12 a kthread in
 * the VMM's cgroups: pvx_worker in <pvx_kcompat.h>), created by the first
 * submission.  So the work is charged to the VMM: its cgroup, cpuset,
 * CPU time and memory accounting.  One worker per VM runs its requests
 * one at a time, so a VM can keep at most one CPU busy however many
 * requests it queues, and cannot crowd out another VM's worker.  The
 * worker dies with the VMM (SIGKILL to the thread group) and drops what
 * it had not started.
 *
 * Lifetime: a request holds a reference on the VM from submission until
 * its work is done, so the VM cannot be destroyed under it; detach and
 * unload stop the worker, which waits for the request it runs and drops
 * the queue.  A finished request holds nothing and is freed by collection
 * or with the vCPU's state.  The worker's own state outlives the VM until
 * the thread is gone (pvx_split_vm_destroyed()).
 */
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <pvx_kcompat.h>
#include "pvx_host.h"

struct pvx_split_worker {
	struct pvx_worker *task;
	spinlock_t lock;
	struct list_head queue;		/* requests not started */
	bool stopping;			/* takes no more */
	struct work_struct stop_work;	/* the stop, from atomic context */
};

struct pvx_split_req {
	struct list_head node;		/* the worker's queue, then
					 * pv->split_done once finished
					 */
	struct pvx_vcpu *pv;
	struct kvm *kvm;		/* referenced until the work is done */
	const struct pvx_split_ops *ops;
	void *list;
	u64 list_gpa;
	u64 completion_gpa;
	u32 count;
	u32 resume;			/* entries the collector did so far */
	u32 processed;
	u32 epoch;			/* pv->split_epoch at submission */
	long result;
};

/*
 * Ring entries a vCPU-context call keeps for the writes that report its
 * work: the list write-back (one page) and a completion record (which
 * may straddle two), with room to spare.
 */
#define PVX_DIRTY_RESERVE	4

/* Only for stopping workers of VMs KVM destroys. */
static struct workqueue_struct *pvx_split_wq;

/* inflight_test: a worker still running at rmmod or SIGKILL. */
PVX_TEST_HOLD_KNOB(test_split_hold, "hold split-phase workers");

/*
 * The gfns a vCPU-context call may mark dirty: what its dirty ring takes
 * below the soft limit, less @reserve for the reporting writes that
 * follow the work.  With less room than that, all of it: every call below
 * the soft limit makes progress, and one that spends its budget brings
 * the ring to the limit, so KVM exits to the VMM to harvest before the
 * guest runs again (the reporting writes then take a few of the entries
 * KVM keeps above the limit).  At the limit the budget is 0: the call
 * does no work and the exit comes at once, so a guest that resubmits
 * cannot make the host spin.
 */
u32 pvx_dirty_budget(struct kvm_vcpu *vcpu, u32 reserve)
{
	u32 room = pvx_compat_dirty_room(vcpu);

	if (room == U32_MAX || room <= reserve)
		return room;
	return room - reserve;
}

/* Takes up to @want from @budget; returns how much it got. */
u32 pvx_dirty_take(u32 *budget, u32 want)
{
	u32 n = min(want, *budget);

	if (*budget != U32_MAX)
		*budget -= n;
	return n;
}

static void pvx_split_free(struct pvx_split_req *req)
{
	kfree(req->list);
	kfree(req);
}

/* In the VM's worker, a thread of its VMM: current->mm is the VM's. */
static void pvx_split_run(struct pvx_split_req *req)
{
	struct pvx_vcpu *pv = req->pv;
	struct pvx_vm *vm = pv->vm;
	struct kvm *kvm = req->kvm;
	struct pvx_batch b = {
		.kvm = kvm,
		.vm = vm,
		.list = req->list,
		.count = req->count,
		/* Nothing is marked here: no change the guest sees. */
		.dirty_budget = U32_MAX,
	};
	u8 vector;
	int idx;

	test_split_hold_wait();
	b.scratch = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (b.scratch) {
		idx = pvx_compat_kvm_srcu_lock(kvm);
		if (req->ops->prepare)
			req->ops->prepare(&b);
		else
			req->ops->run(&b);
		pvx_compat_kvm_srcu_unlock(kvm, idx);
		kfree(b.scratch);
		req->result = b.done;
		req->processed = b.processed;
	} else if (!req->ops->prepare) {
		req->result = -EAGAIN;
	}

	spin_lock(&pv->split_lock);
	list_add_tail(&req->node, &pv->split_done);
	spin_unlock(&pv->split_lock);

	/* A request from before a guest reset is nobody's business now. */
	vector = READ_ONCE(pv->vector);
	if (vector && req->epoch == READ_ONCE(pv->split_epoch))
		pvx_compat_inject_vector(pv->vcpu, vector);

	/* After this, detach may free pv, vm and req: only locals below. */
	atomic_dec(&vm->split_inflight);
	pvx_compat_kvm_put(kvm);
}

/* Requests never started: nobody will collect them. */
static void pvx_split_drop_queue(struct pvx_split_worker *w)
{
	struct pvx_split_req *req, *tmp;
	LIST_HEAD(queue);

	spin_lock(&w->lock);
	w->stopping = true;
	list_splice_init(&w->queue, &queue);
	spin_unlock(&w->lock);

	list_for_each_entry_safe(req, tmp, &queue, node) {
		struct kvm *kvm = req->kvm;

		req->pv->split_outstanding--;
		atomic_dec(&req->pv->vm->split_inflight);
		pvx_split_free(req);
		pvx_compat_kvm_put(kvm);
	}
}

static bool pvx_split_worker_fn(void *data)
{
	struct pvx_split_worker *w = data;
	struct pvx_split_req *req;

	spin_lock(&w->lock);
	req = list_first_entry_or_null(&w->queue, struct pvx_split_req, node);
	if (req)
		list_del(&req->node);
	spin_unlock(&w->lock);
	if (!req)
		return false;

	__set_current_state(TASK_RUNNING);
	pvx_split_run(req);
	cond_resched();
	return true;
}

/* The VMM is dying: what is queued is dropped, the thread exits. */
static void pvx_split_worker_killed(void *data)
{
	pvx_split_drop_queue(data);
}

static void pvx_split_worker_stop(struct pvx_split_worker *w)
{
	spin_lock(&w->lock);
	w->stopping = true;
	spin_unlock(&w->lock);
	/* Waits for the request it runs, or for its death. */
	pvx_worker_stop(w->task);
	pvx_split_drop_queue(w);
	kfree(w);
}

static void pvx_split_stop_work(struct work_struct *work)
{
	pvx_split_worker_stop(container_of(work, struct pvx_split_worker,
					   stop_work));
}

/* From a vCPU of the VM, so that the thread joins its VMM. */
static struct pvx_split_worker *pvx_split_worker_get(struct pvx_vm *vm)
{
	struct pvx_split_worker *w;
	char name[TASK_COMM_LEN];

	w = READ_ONCE(vm->split_worker);
	if (w)
		return w;

	mutex_lock(&vm->split_mutex);
	w = vm->split_worker;
	if (w)
		goto out;
	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		goto out;
	spin_lock_init(&w->lock);
	INIT_LIST_HEAD(&w->queue);
	INIT_WORK(&w->stop_work, pvx_split_stop_work);
	snprintf(name, sizeof(name), "pvx-%llu", vm->id);
	w->task = pvx_worker_create(pvx_split_worker_fn,
				    pvx_split_worker_killed, w, name);
	if (IS_ERR(w->task)) {
		kfree(w);
		w = NULL;
		goto out;
	}
	pvx_worker_start(w->task);
	WRITE_ONCE(vm->split_worker, w);
out:
	mutex_unlock(&vm->split_mutex);
	return w;
}

/* Takes ownership of @list. */
long pvx_split_submit(struct pvx_call *call, const struct pvx_split_ops *ops,
		      void *list, u32 count)
{
	struct pvx_completion rec = { .state = PVX_COMPLETION_PENDING };
	u64 completion_gpa = call->args[3];
	struct pvx_split_worker *w;
	struct pvx_split_req *req;
	struct pvx_vcpu *pv;
	long ret;

	if (!completion_gpa || completion_gpa & (sizeof(u64) - 1)) {
		ret = -EINVAL;
		goto err_list;
	}
	pv = pvx_vcpu_get(call, true);
	if (!pv) {
		ret = -ENOSPC;
		goto err_list;
	}
	if (pv->split_outstanding >= PVX_SPLIT_MAX_OUTSTANDING) {
		ret = -EBUSY;
		goto err_list;
	}
	if (pvx_guest_write(call, completion_gpa, &rec, sizeof(rec))) {
		ret = -EFAULT;
		goto err_list;
	}

	w = pvx_split_worker_get(call->vm);
	if (!w) {
		ret = -EAGAIN;
		goto err_list;
	}
	req = kzalloc(sizeof(*req), GFP_KERNEL_ACCOUNT);
	if (!req) {
		ret = -EAGAIN;
		goto err_list;
	}

	req->pv = pv;
	req->ops = ops;
	req->list = list;
	req->list_gpa = call->args[0];
	req->completion_gpa = completion_gpa;
	req->count = count;
	req->epoch = pv->split_epoch;

	spin_lock(&w->lock);
	if (w->stopping) {
		/* The VMM is being killed. */
		spin_unlock(&w->lock);
		ret = -EAGAIN;
		goto err_req;
	}
	req->kvm = pvx_compat_kvm_get(call->vcpu);
	pv->split_outstanding++;
	atomic_inc(&call->vm->split_inflight);
	list_add_tail(&req->node, &w->queue);
	spin_unlock(&w->lock);
	pvx_worker_wake(w->task);
	return -EINPROGRESS;

err_req:
	kfree(req);
err_list:
	kfree(list);
	return ret;
}

static int pvx_guest_list_write(void *call, u64 gpa, const void *buf,
				size_t len)
{
	return pvx_guest_write(call, gpa, buf, len);
}

long pvx_batch_call(struct pvx_call *call, const struct pvx_split_ops *ops)
{
	u64 gpa = call->args[0], flags = call->args[2];
	struct pvx_batch b = {
		.kvm = pvx_compat_vcpu_kvm(call->vcpu),
		.vm = call->vm,
		.vcpu = call->vcpu,
	};
	void *list;
	long ret;

	if (call->args[1] > U32_MAX || flags & ~PVX_SPLIT)
		return -EINVAL;
	if (!(flags & PVX_SPLIT) && call->args[3])
		return -EINVAL;
	if (flags & PVX_SPLIT && ops->vcpu_only)
		return -EINVAL;
	if (flags & PVX_SPLIT && !(call->vm->features & PVX_F_SPLIT))
		return -EOPNOTSUPP;

	list = kmalloc(PVX_LIST_MAX_BYTES, GFP_KERNEL_ACCOUNT);
	if (!list)
		return -EAGAIN;
	b.count = call->args[1];
	ret = pvx_list_copy_in(pvx_guest_list_read, call, gpa, b.count,
			       ops->entry_size, call->vm->max_list_entries,
			       list);
	if (ret)
		goto out;
	if (flags & PVX_SPLIT)
		return pvx_split_submit(call, ops, list, b.count);

	b.scratch = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (!b.scratch) {
		ret = -EAGAIN;
		goto out;
	}
	b.list = list;
	b.dirty_budget = pvx_dirty_budget(call->vcpu, PVX_DIRTY_RESERVE);
	ops->run(&b);
	ret = b.done;
	if (pvx_list_copy_out(pvx_guest_list_write, call, gpa, list,
			      b.processed, ops))
		ret = -EFAULT;
	kfree(b.scratch);
out:
	kfree(list);
	return ret;
}

/*
 * What is left of a prepared request (pvx_split_ops.prepare), from the
 * collecting vCPU and as far as @budget goes; true when it is finished.
 */
static bool pvx_split_finish(struct pvx_call *call, struct pvx_split_req *req,
			     u32 *budget)
{
	const struct pvx_split_ops *ops = req->ops;
	struct pvx_batch b = {
		.kvm = pvx_compat_vcpu_kvm(call->vcpu),
		.vm = call->vm,
		.vcpu = call->vcpu,
		.list = req->list + req->resume * ops->entry_size,
		.count = req->count - req->resume,
		.dirty_budget = *budget,
	};

	b.scratch = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (!b.scratch)
		return false;
	ops->run(&b);
	kfree(b.scratch);
	*budget = b.dirty_budget;
	req->processed = req->resume + b.processed;
	req->resume += b.done;
	/* Stopped by the ring, not refused: the rest comes next time. */
	if (req->resume < req->count && !*budget)
		return false;
	req->result = req->resume;
	return true;
}

static long pvx_split_collect(struct pvx_call *call)
{
	struct pvx_split_req *req, *tmp;
	struct pvx_vcpu *pv;
	LIST_HEAD(done);
	bool ran = false;
	u32 budget;
	long n = 0;
	u8 vector;

	if (call->args[0] || call->args[1] || call->args[2] || call->args[3])
		return -EINVAL;
	pv = pvx_vcpu_get(call, false);
	if (!pv)
		return 0;

	spin_lock(&pv->split_lock);
	list_splice_init(&pv->split_done, &done);
	spin_unlock(&pv->split_lock);

	budget = pvx_dirty_budget(call->vcpu, PVX_DIRTY_RESERVE);
	list_for_each_entry_safe(req, tmp, &done, node) {
		struct pvx_completion rec = {
			.state = PVX_COMPLETION_DONE,
		};

		/* Submitted before a reset: the memory is the new boot's. */
		if (req->epoch != pv->split_epoch) {
			list_del(&req->node);
			pv->split_outstanding--;
			pvx_split_free(req);
			continue;
		}
		/*
		 * The ring is full up to its limit, or this exit did its
		 * share of work: this one and the rest wait for the next
		 * collection (after the VMM harvested).
		 */
		if (n && (!budget || (ran && req->ops->prepare)))
			break;
		if (req->ops->prepare) {
			ran = true;
			if (!pvx_split_finish(call, req, &budget))
				break;
		}

		rec.result = req->result;
		if (pvx_list_copy_out(pvx_guest_list_write, call,
				      req->list_gpa, req->list,
				      req->processed, req->ops))
			rec.result = -EFAULT;
		rec.result = pvx_guest_err(rec.result);
		/* Checked at submission; lost only if the guest moved it. */
		pvx_guest_write(call, req->completion_gpa, &rec, sizeof(rec));
		pvx_dirty_take(&budget, PVX_DIRTY_RESERVE);
		list_del(&req->node);
		pv->split_outstanding--;
		pvx_split_free(req);
		n++;
	}

	if (list_empty(&done))
		return n;
	/*
	 * Collected in part: the rest goes back first in line, and the
	 * notification comes again.  At the ring's soft limit KVM lets the
	 * VMM harvest before the guest takes it.
	 */
	spin_lock(&pv->split_lock);
	list_splice(&done, &pv->split_done);
	spin_unlock(&pv->split_lock);
	vector = READ_ONCE(pv->vector);
	if (vector)
		pvx_compat_inject_vector(call->vcpu, vector);
	return n;
}

void pvx_split_vcpu_init(struct pvx_vcpu *pv)
{
	spin_lock_init(&pv->split_lock);
	INIT_LIST_HEAD(&pv->split_done);
}

/* No worker runs for this vCPU: drop what was never collected. */
void pvx_split_vcpu_drop(struct pvx_vcpu *pv)
{
	struct pvx_split_req *req, *tmp;

	list_for_each_entry_safe(req, tmp, &pv->split_done, node)
		pvx_split_free(req);
	INIT_LIST_HEAD(&pv->split_done);
}

/*
 * The guest was reset (atomic context, the vCPU not running): finished
 * requests are dropped unwritten, running ones when they finish.
 */
void pvx_split_vcpu_reset(struct pvx_vcpu *pv)
{
	struct pvx_split_req *req, *tmp;
	LIST_HEAD(done);

	pv->split_epoch++;
	spin_lock(&pv->split_lock);
	list_splice_init(&pv->split_done, &done);
	spin_unlock(&pv->split_lock);
	list_for_each_entry_safe(req, tmp, &done, node) {
		pv->split_outstanding--;
		pvx_split_free(req);
	}
}

void pvx_split_vm_init(struct pvx_vm *vm)
{
	mutex_init(&vm->split_mutex);
}

/*
 * Detach or unload: no hypercall of the VM runs any more and the caller
 * holds the VM.  Waits for the request the worker runs; afterwards no
 * work of the VM is left.
 */
void pvx_split_vm_stop(struct pvx_vm *vm)
{
	struct pvx_split_worker *w = vm->split_worker;

	if (!w)
		return;
	vm->split_worker = NULL;
	pvx_split_worker_stop(w);
	WARN_ON_ONCE(atomic_read(&vm->split_inflight));
}

/*
 * KVM destroys the VM (atomic context): no request holds it, so the
 * worker is idle or dying; the thread is stopped from process context.
 */
void pvx_split_vm_destroyed(struct pvx_vm *vm)
{
	struct pvx_split_worker *w = vm->split_worker;

	if (!w)
		return;
	vm->split_worker = NULL;
	spin_lock(&w->lock);
	w->stopping = true;
	spin_unlock(&w->lock);
	queue_work(pvx_split_wq, &w->stop_work);
}

int pvx_split_init(void)
{
	pvx_split_wq = alloc_workqueue("pvx_split", PVX_WQ_PERCPU, 0);
	return pvx_split_wq ? 0 : -ENOMEM;
}

/* Waits for the stops of destroyed VMs' workers. */
void pvx_split_exit(void)
{
	destroy_workqueue(pvx_split_wq);
}

const struct pvx_service_ops pvx_svc_split_collect = {
	.handler = pvx_split_collect,
};
