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
 * ring).  The worker writes data through the VMM's mapping; the collecting
 * vCPU marks it dirty before it writes the completion record, so a dirty
 * log never misses what the guest can see.  A dirty ring takes only so
 * many marks per exit: a request with more is collected over several
 * (pvx_dirty_budget()).
 *
 * Lifetime: a request in the worker holds a reference on the VM and its mm,
 * so the VM cannot be destroyed under it; detach and unload wait for the
 * workers of a VM (pvx_split_wait_idle()).  A finished request holds
 * nothing and is freed by collection or with the vCPU's state.
 */
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include "pvx_host.h"

struct pvx_split_req {
	struct work_struct work;
	struct list_head node;		/* pv->split_done once finished */
	struct pvx_vcpu *pv;
	struct kvm *kvm;		/* referenced while in the worker */
	struct mm_struct *mm;		/* likewise */
	const struct pvx_split_ops *ops;
	void *list;
	u64 list_gpa;
	u64 completion_gpa;
	u32 count;
	u32 done;
	u32 processed;
	u32 written;
	u32 marked;			/* of @written, marked dirty so far */
	u32 epoch;			/* pv->split_epoch at submission */
	long result;
};

/*
 * Ring entries a vCPU-context call keeps for the writes that report its
 * work: the list write-back (one page) and a completion record (which
 * may straddle two), with room to spare.
 */
#define PVX_DIRTY_RESERVE	4

static struct workqueue_struct *pvx_split_wq;
static DECLARE_WAIT_QUEUE_HEAD(pvx_split_idle);

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

static void pvx_split_work(struct work_struct *work)
{
	struct pvx_split_req *req = container_of(work, struct pvx_split_req,
						 work);
	struct pvx_vcpu *pv = req->pv;
	struct pvx_vm *vm = pv->vm;
	struct kvm *kvm = req->kvm;
	struct mm_struct *mm = req->mm;
	struct pvx_batch b = {
		.kvm = kvm,
		.vm = vm,
		.list = req->list,
		.count = req->count,
		/* Nothing is marked here: the collecting vCPU does it. */
		.dirty_budget = U32_MAX,
	};
	u8 vector;
	int idx;

	b.scratch = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (b.scratch) {
		kthread_use_mm(mm);
		idx = pvx_compat_kvm_srcu_lock(kvm);
		req->ops->run(&b);
		pvx_compat_kvm_srcu_unlock(kvm, idx);
		kthread_unuse_mm(mm);
		kfree(b.scratch);
		req->result = b.done;
	} else {
		req->result = -PVX_EAGAIN;
	}
	req->done = b.done;
	req->processed = b.processed;
	req->written = max(b.done, b.written);

	spin_lock(&pv->split_lock);
	list_add_tail(&req->node, &pv->split_done);
	spin_unlock(&pv->split_lock);

	/* A request from before a guest reset is nobody's business now. */
	vector = READ_ONCE(pv->vector);
	if (vector && req->epoch == READ_ONCE(pv->split_epoch))
		pvx_compat_inject_vector(pv->vcpu, vector);

	/* After this, detach may free pv, vm and req: only locals below. */
	if (atomic_dec_and_test(&vm->split_inflight))
		wake_up_all(&pvx_split_idle);
	mmput(mm);
	pvx_compat_kvm_put(kvm);
}

/* Takes ownership of @list. */
long pvx_split_submit(struct pvx_call *call, const struct pvx_split_ops *ops,
		      void *list, u32 count)
{
	struct pvx_completion rec = { .state = PVX_COMPLETION_PENDING };
	u64 completion_gpa = call->args[3];
	struct pvx_split_req *req;
	struct mm_struct *mm;
	struct pvx_vcpu *pv;
	long ret;

	if (!completion_gpa || completion_gpa & (sizeof(u64) - 1)) {
		ret = -PVX_EINVAL;
		goto err_list;
	}
	pv = pvx_vcpu_get(call, true);
	if (!pv) {
		ret = -PVX_ENOSPC;
		goto err_list;
	}
	if (pv->split_outstanding >= PVX_SPLIT_MAX_OUTSTANDING) {
		ret = -PVX_EBUSY;
		goto err_list;
	}
	if (pvx_guest_write(call, completion_gpa, &rec, sizeof(rec))) {
		ret = -PVX_EFAULT;
		goto err_list;
	}

	req = kzalloc(sizeof(*req), GFP_KERNEL_ACCOUNT);
	if (!req) {
		ret = -PVX_EAGAIN;
		goto err_list;
	}
	mm = pvx_compat_kvm_mm(pvx_compat_vcpu_kvm(call->vcpu));
	if (!mmget_not_zero(mm)) {
		ret = -PVX_EAGAIN;
		goto err_req;
	}

	INIT_WORK(&req->work, pvx_split_work);
	req->pv = pv;
	req->kvm = pvx_compat_kvm_get(call->vcpu);
	req->mm = mm;
	req->ops = ops;
	req->list = list;
	req->list_gpa = call->args[0];
	req->completion_gpa = completion_gpa;
	req->count = count;
	req->epoch = pv->split_epoch;

	pv->split_outstanding++;
	atomic_inc(&call->vm->split_inflight);
	queue_work(pvx_split_wq, &req->work);
	return -PVX_EINPROGRESS;

err_req:
	kfree(req);
err_list:
	kfree(list);
	return ret;
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
		return -PVX_EINVAL;
	if (!(flags & PVX_SPLIT) && call->args[3])
		return -PVX_EINVAL;
	if (flags & PVX_SPLIT && ops->vcpu_only)
		return -PVX_EINVAL;
	if (flags & PVX_SPLIT && !(call->vm->features & PVX_F_SPLIT))
		return -PVX_EOPNOTSUPP;

	list = kmalloc(PVX_LIST_MAX_BYTES, GFP_KERNEL_ACCOUNT);
	if (!list)
		return -PVX_EAGAIN;
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
		ret = -PVX_EAGAIN;
		goto out;
	}
	b.list = list;
	b.dirty_budget = pvx_dirty_budget(call->vcpu, PVX_DIRTY_RESERVE);
	ops->run(&b);
	ret = b.done;
	if (b.processed &&
	    pvx_guest_write(call, gpa, list, b.processed * ops->entry_size))
		ret = -PVX_EFAULT;
	kfree(b.scratch);
out:
	kfree(list);
	return ret;
}

/*
 * Marks what the worker wrote, as far as @budget goes; true when all of
 * it is marked.
 */
static bool pvx_split_mark(struct pvx_call *call, struct pvx_split_req *req,
			   u32 *budget)
{
	u32 n;

	if (!req->ops->mark_dirty)
		return true;
	n = pvx_dirty_take(budget, req->written - req->marked);
	if (n)
		req->ops->mark_dirty(call->vcpu,
				     req->list + req->marked *
						 req->ops->entry_size, n);
	req->marked += n;
	return req->marked == req->written;
}

static long pvx_split_collect(struct pvx_call *call)
{
	struct pvx_split_req *req, *tmp;
	struct pvx_vcpu *pv;
	LIST_HEAD(done);
	u32 budget;
	long n = 0;
	u8 vector;

	if (call->args[0] || call->args[1] || call->args[2] || call->args[3])
		return -PVX_EINVAL;
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
			.result = req->result,
		};

		/* Submitted before a reset: the memory is the new boot's. */
		if (req->epoch != pv->split_epoch) {
			list_del(&req->node);
			pv->split_outstanding--;
			pvx_split_free(req);
			continue;
		}
		/*
		 * The ring is full up to its limit: this one and the rest
		 * wait for the next collection, after the VMM harvested.
		 */
		if (n && !budget)
			break;
		/* Dirty before the guest can learn the data is there. */
		if (!pvx_split_mark(call, req, &budget))
			break;

		if (req->processed &&
		    pvx_guest_write(call, req->list_gpa, req->list,
				    req->processed * req->ops->entry_size))
			rec.result = -PVX_EFAULT;
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

void pvx_split_wait_idle(struct pvx_vm *vm)
{
	wait_event(pvx_split_idle, !atomic_read(&vm->split_inflight));
}

int pvx_split_init(void)
{
	pvx_split_wq = alloc_workqueue("pvx_split", WQ_UNBOUND, 0);
	return pvx_split_wq ? 0 : -ENOMEM;
}

/* Waits for the tails of finished workers (their last puts). */
void pvx_split_exit(void)
{
	destroy_workqueue(pvx_split_wq);
}

const struct pvx_service_ops pvx_svc_split_collect = {
	.handler = pvx_split_collect,
};
