// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM state.  A VM is attached by its VMM (or by pvxctl on its behalf)
 * and found again, O(1), by the struct kvm of the vCPU that exits.
 *
 * pvx takes no lasting reference on the VM: an attached VM must be
 * destroyable by simply closing its fds or killing its VMM.  The compat
 * layer tells us when KVM starts destroying a VM (pvx_vm_destroyed(), from
 * an ftrace handler: atomic context), before its vCPUs are freed.
 *
 * Readers (the hypercall path, which may sleep) use SRCU.  Writers hold
 * pvx_vm_lock, a spinlock because the destruction path cannot sleep.  A
 * VM's state leaves the hash in one of four ways:
 *  - detach by VM fd: the fd keeps the VM alive;
 *  - detach by id, or unload: pvx takes a reference (pvx_compat_kvm_get_safe())
 *    for the duration, and leaves VMs already being destroyed to
 *    pvx_vm_destroyed();
 *  - destruction: no vCPU fd is left, so no hypercall of this VM runs;
 *    timers are cancelled at once, the memory freed after an SRCU grace
 *    period (other VMs' readers may be walking the same hash bucket).
 *
 * A guest reset (pvx_vcpu_apic_reset()) keeps the attach and drops what
 * the guest set up: a rebooted guest must see what a first boot sees.
 */
#define pr_fmt(fmt) "pvx: " fmt

#include <linux/capability.h>
#include <linux/delay.h>
#include <linux/hash.h>
#include <linux/jiffies.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <pvx_kcompat.h>
#include "pvx_host.h"

#define PVX_VM_HASH_BITS 6

static DEFINE_HASHTABLE(pvx_vm_hash, PVX_VM_HASH_BITS);
static DEFINE_SPINLOCK(pvx_vm_lock);
DEFINE_STATIC_SRCU(pvx_vm_srcu);
static atomic64_t pvx_vm_last_id = ATOMIC64_INIT(0);
static atomic64_t pvx_vm_live_count = ATOMIC64_INIT(0);
/* Guest resets: each queued item holds a reference on its VM. */
static struct workqueue_struct *pvx_vm_wq;

static struct hlist_head *pvx_vm_bucket(struct kvm *kvm)
{
	return &pvx_vm_hash[hash_ptr(kvm, PVX_VM_HASH_BITS)];
}

static struct pvx_vm *pvx_vm_find(struct kvm *kvm)
{
	struct pvx_vm *vm;

	hlist_for_each_entry_srcu(vm, pvx_vm_bucket(kvm), node,
				  srcu_read_lock_held(&pvx_vm_srcu) ||
				  lockdep_is_held(&pvx_vm_lock))
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

/*
 * Who may name a VM by its id (detach, set its MSR allowlist or balloon
 * target, set up its IOMMU service, see it in the stats): its VMM, the
 * process whose memory the VM runs in, and the host's admin
 * (CAP_SYS_ADMIN in the initial namespace).  Anyone else is told there
 * is no such VM, so that ids say nothing about other users' VMs.  Taken
 * before pvx_vm_lock: capable() may audit.
 */
static bool pvx_vm_admin(void)
{
	return capable(CAP_SYS_ADMIN);
}

static bool pvx_vm_visible(const struct pvx_vm *vm, bool admin)
{
	return admin || pvx_compat_kvm_mm(vm->kvm) == current->mm;
}

static struct pvx_vm *pvx_vm_find_id(u64 id, bool admin)
{
	struct pvx_vm *vm;
	unsigned int bkt;

	lockdep_assert_held(&pvx_vm_lock);
	hash_for_each(pvx_vm_hash, bkt, vm, node)
		if (vm->id == id)
			return pvx_vm_visible(vm, admin) ? vm : NULL;
	return NULL;
}

int pvx_vm_read_lock(void)
{
	return srcu_read_lock(&pvx_vm_srcu);
}

void pvx_vm_read_unlock(int idx)
{
	srcu_read_unlock(&pvx_vm_srcu, idx);
}

struct pvx_vm *pvx_vm_lookup(struct kvm *kvm)
{
	return pvx_vm_find(kvm);
}

struct pvx_vcpu *pvx_vcpu_get(struct pvx_call *call, bool create)
{
	int idx = pvx_compat_vcpu_idx(call->vcpu);
	struct pvx_vcpu *pv;
	int ret;

	pv = xa_load(&call->vm->vcpus, idx);
	if (pv || !create)
		return pv;

	/* Only the vCPU itself creates its state: no racing creator. */
	pv = kzalloc(sizeof(*pv), GFP_KERNEL_ACCOUNT);
	if (!pv)
		return NULL;
	pv->vm = call->vm;
	pv->vcpu = call->vcpu;
	pvx_timer_vcpu_init(pv);
	pvx_split_vcpu_init(pv);

	ret = xa_insert(&call->vm->vcpus, idx, pv, GFP_KERNEL_ACCOUNT);
	if (WARN_ON_ONCE(ret)) {
		kfree(pv);
		return NULL;
	}
	return pv;
}

/*
 * No hypercall or split-phase worker of this VM runs any more, and its
 * vCPUs still exist.  Does not sleep: it runs in the destruction path too.
 */
static void pvx_vm_stop(struct pvx_vm *vm, bool destroying)
{
	struct pvx_vcpu *pv;
	unsigned long idx;

	/* Requests hold a reference on the VM: none at destruction. */
	WARN_ON_ONCE(atomic_read(&vm->split_inflight));
	WARN_ON_ONCE(destroying && work_pending(&vm->reset_work));
	pvx_iommu_vm_stop(vm, destroying);
	xa_for_each(&vm->vcpus, idx, pv) {
		pvx_timer_vcpu_stop(pv, destroying);
		pvx_split_vcpu_drop(pv);
		kfree(pv);
	}
	xa_destroy(&vm->vcpus);
}

static u64 pvx_vm_new_instance(void)
{
	u64 instance;

	/*
	 * Not the id: ids start again at 1 when pvx_host is loaded again,
	 * and a guest must never take a new attach for the one it knew.
	 */
	do {
		instance = get_random_u64();
	} while (!instance);
	return instance;
}

/*
 * The sleeping half of a guest reset.  The event vector goes (the new
 * boot registered none), and the balloon records (its memory stays
 * given back).
 */
static void pvx_vm_reset_work(struct work_struct *work)
{
	struct pvx_vm *vm = container_of(work, struct pvx_vm, reset_work);
	struct kvm *kvm = vm->kvm;

	pvx_event_vm_reset(&vm->event);
	pvx_balloon_vm_reset(&vm->balloon);
	pr_info("vm %llu (%s): guest reset, its pvx state dropped\n", vm->id,
		vm->kvm_stats_id);
	/* May destroy the VM, and vm with it: nothing after this. */
	pvx_compat_kvm_put(kvm);
}

/*
 * KVM_SET_LAPIC on @vcpu (atomic context, from the compat layer; the vCPU
 * is not running).  QEMU issues it for every vCPU at system_reset, and
 * nothing else of a reset reaches KVM.  That vCPU's vector, timer and
 * split-phase results go now; for the boot vCPU the whole guest was
 * reset: a new instance, its IOMMU mappings before this thread returns
 * to user space, and the sleeping rest in a work item.
 */
void pvx_vcpu_apic_reset(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = pvx_compat_vcpu_kvm(vcpu);
	struct pvx_vcpu *pv;
	struct pvx_vm *vm;
	int idx;

	idx = srcu_read_lock(&pvx_vm_srcu);
	vm = pvx_vm_find(kvm);
	if (!vm)
		goto out;
	pv = xa_load(&vm->vcpus, pvx_compat_vcpu_idx(vcpu));
	if (pv) {
		/* The new guest has not said where its count is. */
		WRITE_ONCE(pv->lockhint_gpa, 0);
		pvx_timer_vcpu_reset(pv);
		pvx_split_vcpu_reset(pv);
	}
	if (pvx_compat_vcpu_is_reset_bsp(vcpu)) {
		WRITE_ONCE(vm->instance, pvx_vm_new_instance());
		atomic64_inc(&vm->resets);
		pvx_iommu_vm_reset(vm);
		if (pvx_compat_kvm_get_safe(kvm) &&
		    !queue_work(pvx_vm_wq, &vm->reset_work))
			pvx_compat_kvm_put_no_destroy(kvm);
	}
out:
	srcu_read_unlock(&pvx_vm_srcu, idx);
}

/*
 * KVM_GET_LAPIC on @vcpu (atomic context, from the compat layer; the vCPU
 * is not running): the VMM is saving the vCPU, for a live migration or a
 * snapshot.  Its armed pvx timer fires now, so that the interrupt is in
 * the saved APIC: the destination knows nothing of this host's timers.
 */
void pvx_vcpu_apic_save(struct kvm_vcpu *vcpu)
{
	struct pvx_vcpu *pv;
	struct pvx_vm *vm;
	int idx;

	idx = srcu_read_lock(&pvx_vm_srcu);
	vm = pvx_vm_find(pvx_compat_vcpu_kvm(vcpu));
	pv = vm ? xa_load(&vm->vcpus, pvx_compat_vcpu_idx(vcpu)) : NULL;
	if (pv)
		pvx_timer_vcpu_flush(pv);
	srcu_read_unlock(&pvx_vm_srcu, idx);
}

static void pvx_vm_free(struct pvx_vm *vm)
{
	pvx_balloon_vm_free(&vm->balloon);
	kfree(rcu_dereference_protected(vm->msr_allow, true));
	kfree(vm);
	atomic64_dec(&pvx_vm_live_count);
}

static void pvx_vm_free_rcu(struct rcu_head *rcu)
{
	pvx_vm_free(container_of(rcu, struct pvx_vm, rcu));
}

void pvx_rate_init(struct pvx_rate *rate)
{
	spin_lock_init(&rate->lock);
	rate->window_end = jiffies;
}

/*
 * One call out of @per_second in the current one-second window (0: no
 * limit).  A window opens with the first call after the last one closed,
 * so a burst that fits in a second gets exactly the budget.
 */
bool pvx_rate_take(struct pvx_rate *rate, unsigned int per_second)
{
	bool allowed;

	if (!per_second)
		return true;

	spin_lock(&rate->lock);
	if (time_after_eq(jiffies, rate->window_end)) {
		rate->window_end = jiffies + HZ;
		rate->in_window = 0;
	}
	allowed = rate->in_window < per_second;
	if (allowed)
		rate->in_window++;
	spin_unlock(&rate->lock);
	return allowed;
}

int pvx_vm_attach(struct kvm *kvm, const struct pvx_attach *req, u64 *id)
{
	struct pvx_vm *vm;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	RCU_INIT_POINTER(vm->msr_allow, pvx_msr_allow_default());
	if (!rcu_access_pointer(vm->msr_allow)) {
		kfree(vm);
		return -ENOMEM;
	}
	vm->kvm = kvm;
	vm->instance = pvx_vm_new_instance();
	vm->features = req->features;
	vm->max_list_entries = req->max_list_entries ?: PVX_MAX_LIST_ENTRIES;
	pvx_compat_kvm_stats_id(kvm, vm->kvm_stats_id,
				sizeof(vm->kvm_stats_id));
	pvx_rate_init(&vm->yield.rate);
	pvx_rate_init(&vm->prefault_rate);
	xa_init(&vm->vcpus);
	pvx_split_vm_init(vm);
	pvx_balloon_vm_init(&vm->balloon);
	pvx_event_vm_init(&vm->event);
	INIT_WORK(&vm->reset_work, pvx_vm_reset_work);
	atomic64_inc(&pvx_vm_live_count);

	spin_lock(&pvx_vm_lock);
	if (pvx_vm_find(kvm)) {
		spin_unlock(&pvx_vm_lock);
		pvx_vm_free(vm);
		return -EBUSY;
	}
	vm->id = atomic64_inc_return(&pvx_vm_last_id);
	hlist_add_head_rcu(&vm->node, pvx_vm_bucket(kvm));
	spin_unlock(&pvx_vm_lock);

	pr_info("attached %s as vm %llu, features %#llx\n", vm->kvm_stats_id,
		vm->id, vm->features);
	*id = vm->id;
	return 0;
}

/*
 * Unhashed, and the VM kept alive by the caller.  The guest is told
 * (host event, armed timers fired) once no call of it can reach pvx any
 * more, so that the PVX_HC_PROBE it answers with already finds no pvx.
 */
static void pvx_vm_release(struct pvx_vm *vm, const char *why)
{
	synchronize_srcu(&pvx_vm_srcu);
	/* No reset can queue another: the VM is out of the hash. */
	if (cancel_work_sync(&vm->reset_work))
		pvx_compat_kvm_put_no_destroy(vm->kvm);
	pvx_split_vm_stop(vm);
	pvx_event_raise(vm);
	pvx_vm_stop(vm, false);
	pr_info("vm %llu (%s) %s\n", vm->id, vm->kvm_stats_id, why);
	pvx_vm_free(vm);
}

static struct pvx_vm *pvx_vm_unhash(struct kvm *kvm)
{
	struct pvx_vm *vm;

	spin_lock(&pvx_vm_lock);
	vm = pvx_vm_find(kvm);
	if (vm)
		hash_del_rcu(&vm->node);
	spin_unlock(&pvx_vm_lock);
	return vm;
}

/* The caller holds the VM's fd. */
int pvx_vm_detach_kvm(struct kvm *kvm)
{
	struct pvx_vm *vm = pvx_vm_unhash(kvm);

	if (!vm)
		return -ENOENT;

	pvx_vm_release(vm, "detached");
	return 0;
}

int pvx_vm_detach_id(u64 id)
{
	bool admin = pvx_vm_admin();
	struct pvx_vm *vm;
	struct kvm *kvm;

	spin_lock(&pvx_vm_lock);
	vm = pvx_vm_find_id(id, admin);
	/* A VM already being destroyed is pvx_vm_destroyed()'s. */
	if (!vm || !pvx_compat_kvm_get_safe(vm->kvm)) {
		spin_unlock(&pvx_vm_lock);
		return -ENOENT;
	}
	hash_del_rcu(&vm->node);
	spin_unlock(&pvx_vm_lock);

	kvm = vm->kvm;
	pvx_vm_release(vm, "detached");
	pvx_compat_kvm_put(kvm);
	return 0;
}

/* KVM is destroying @kvm: atomic context, no vCPU of it runs. */
void pvx_vm_destroyed(struct kvm *kvm)
{
	struct pvx_vm *vm = pvx_vm_unhash(kvm);

	if (!vm)
		return;

	pvx_split_vm_destroyed(vm);
	pvx_vm_stop(vm, true);
	pr_info("vm %llu (%s) destroyed by KVM\n", vm->id, vm->kvm_stats_id);
	call_srcu(&pvx_vm_srcu, &vm->rcu, pvx_vm_free_rcu);
}

/* At unload, after the hypercall hook is gone. */
void pvx_vm_detach_all(void)
{
	struct hlist_node *tmp;
	struct pvx_vm *vm;
	unsigned int bkt;
	bool busy;

	do {
		HLIST_HEAD(reap);

		busy = false;
		spin_lock(&pvx_vm_lock);
		hash_for_each_safe(pvx_vm_hash, bkt, tmp, vm, node) {
			if (!pvx_compat_kvm_get_safe(vm->kvm)) {
				busy = true;
				continue;
			}
			hash_del_rcu(&vm->node);
			hlist_add_head(&vm->reap, &reap);
		}
		spin_unlock(&pvx_vm_lock);

		hlist_for_each_entry_safe(vm, tmp, &reap, reap) {
			struct kvm *kvm = vm->kvm;

			pvx_vm_release(vm, "detached at unload");
			pvx_compat_kvm_put(kvm);
		}
		/* VMs mid-destruction leave through pvx_vm_destroyed(). */
		if (busy)
			msleep(20);
	} while (busy);
}

/* Every call_srcu() callback has run: the module may go. */
void pvx_vm_barrier(void)
{
	srcu_barrier(&pvx_vm_srcu);
}

/*
 * The attached VM @id, for an ioctl: its KVM VM referenced and its pvx
 * state kept (a detach waits for SRCU readers) until pvx_vm_put_id().
 */
struct pvx_vm *pvx_vm_get_id(u64 id, int *idx)
{
	bool admin = pvx_vm_admin();
	struct pvx_vm *vm;

	*idx = srcu_read_lock(&pvx_vm_srcu);
	spin_lock(&pvx_vm_lock);
	vm = pvx_vm_find_id(id, admin);
	if (vm && !pvx_compat_kvm_get_safe(vm->kvm))
		vm = NULL;
	spin_unlock(&pvx_vm_lock);
	if (!vm)
		srcu_read_unlock(&pvx_vm_srcu, *idx);
	return vm;
}

void pvx_vm_put_id(struct pvx_vm *vm, int idx)
{
	struct kvm *kvm = vm->kvm;

	srcu_read_unlock(&pvx_vm_srcu, idx);
	pvx_compat_kvm_put(kvm);
}

/* In a hypercall of @vm, under the SRCU read lock. */
const struct pvx_msr_allow *pvx_vm_msr_allow(struct pvx_vm *vm)
{
	return srcu_dereference(vm->msr_allow, &pvx_vm_srcu);
}

/* Takes ownership of @allow. */
int pvx_vm_set_msr_allow(u64 vm_id, struct pvx_msr_allow *allow)
{
	bool admin = pvx_vm_admin();
	struct pvx_msr_allow *old;
	struct pvx_vm *vm;

	spin_lock(&pvx_vm_lock);
	vm = pvx_vm_find_id(vm_id, admin);
	if (!vm) {
		spin_unlock(&pvx_vm_lock);
		kfree(allow);
		return -ENOENT;
	}
	old = rcu_replace_pointer(vm->msr_allow, allow,
				  lockdep_is_held(&pvx_vm_lock));
	spin_unlock(&pvx_vm_lock);

	synchronize_srcu(&pvx_vm_srcu);
	kfree(old);
	return 0;
}

static void pvx_vm_fill_stats(const struct pvx_vm *vm, struct pvx_vm_stats *st)
{
	unsigned int i;

	st->vm_id = vm->id;
	st->features = vm->features;
	st->max_list_entries = vm->max_list_entries;
	st->guest_resets = atomic64_read(&vm->resets);
	st->split_inflight = atomic_read(&vm->split_inflight);
	strscpy(st->kvm_stats_id, vm->kvm_stats_id, sizeof(st->kvm_stats_id));
	for (i = 0; i < PVX_HC_COUNT; i++) {
		st->hc[i].calls = atomic64_read(&vm->hc[i].calls);
		st->hc[i].errors = atomic64_read(&vm->hc[i].errors);
	}
	for (i = 0; i < PVX_YIELD_NR_RESULTS; i++)
		st->yield[i] = atomic64_read(&vm->yield.results[i]);
	st->timers_fired = atomic64_read(&vm->timers_fired);
	st->prefault_limited = atomic64_read(&vm->prefault_limited);
	st->lock_waits = atomic64_read(&vm->lockhint.waits);
	st->lock_boosts = atomic64_read(&vm->lockhint.boosts);
	st->lock_refused = atomic64_read(&vm->lockhint.refused);
	st->lock_none = atomic64_read(&vm->lockhint.none);
	st->lock_zero_count = atomic64_read(&vm->lockhint.zero_count);
	st->lock_unreadable = atomic64_read(&vm->lockhint.unreadable);
	/* Without the balloon's mutex: a snapshot under a spinlock. */
	st->balloon_pages = READ_ONCE(vm->balloon.pages);
	st->balloon_target = READ_ONCE(vm->balloon.target);
	pvx_iommu_vm_stats(vm, st);
}

/* @record_size apart, each the first @record_size bytes of a record. */
static int pvx_vm_stats_copy(void __user *buf, const struct pvx_vm_stats *snap,
			     u32 n, u32 record_size)
{
	size_t len = min_t(size_t, record_size, sizeof(*snap));
	u32 i;

	for (i = 0; i < n; i++, buf += record_size) {
		if (copy_to_user(buf, &snap[i], len) ||
		    clear_user(buf + len, record_size - len))
			return -EFAULT;
	}
	return 0;
}

int pvx_vm_stats(void __user *buf, u32 room, u32 record_size, u32 *nr_vms)
{
	struct pvx_vm_stats *snap = NULL;
	struct pvx_vm *vm;
	unsigned int bkt;
	u32 n = 0;
	bool admin;
	int ret;

	/* Snapshot under the lock, copy out without it. */
	room = min_t(u32, room, 1024);
	if (room) {
		snap = kvcalloc(room, sizeof(*snap), GFP_KERNEL);
		if (!snap)
			return -ENOMEM;
	}

	admin = pvx_vm_admin();
	spin_lock(&pvx_vm_lock);
	hash_for_each(pvx_vm_hash, bkt, vm, node) {
		if (!pvx_vm_visible(vm, admin))
			continue;
		if (n < room)
			pvx_vm_fill_stats(vm, &snap[n]);
		n++;
	}
	spin_unlock(&pvx_vm_lock);

	ret = pvx_vm_stats_copy(buf, snap, min(n, room), record_size);
	kvfree(snap);
	*nr_vms = n;
	return ret;
}

u64 pvx_vm_live(void)
{
	return atomic64_read(&pvx_vm_live_count);
}

int pvx_vm_init(void)
{
	pvx_vm_wq = alloc_workqueue("pvx_vm", PVX_WQ_PERCPU, 0);
	return pvx_vm_wq ? 0 : -ENOMEM;
}

/* Every VM state is gone: waits for the last reset item's put. */
void pvx_vm_exit(void)
{
	destroy_workqueue(pvx_vm_wq);
}
