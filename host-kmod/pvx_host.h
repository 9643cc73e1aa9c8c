/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_host internals shared by the core, the services and the compat layer.
 *
 * Nothing here names a KVM structure field: those live in pvx_compat.c
 * only, so that a new kernel version means editing one file.
 */
#ifndef PVX_HOST_H
#define PVX_HOST_H

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/hashtable.h>
#include <linux/hrtimer.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/xarray.h>
#include <linux/spinlock.h>
#include <linux/stddef.h>
#include <linux/types.h>
#include <uapi/linux/pvx.h>

/*
 * Inside pvx_host every error is a Linux errno (-EINVAL, -ENOSYS, ...).
 * The guest's values (PVX_E*, <linux/pvx_para.h>) are made from them at
 * the boundary only, by pvx_guest_err() (pvx_dispatch.c), so that a guest
 * never sees a value that is not in its ABI.  Only the files that define
 * PVX_GUEST_ERRORS (the boundary and the tests that check it) may spell a
 * guest error value: anywhere else the build stops.  (Undefined first:
 * GCC warns when it poisons a macro.)
 */
#ifndef PVX_GUEST_ERRORS
#undef PVX_EPERM
#undef PVX_ENOENT
#undef PVX_EIO
#undef PVX_E2BIG
#undef PVX_EAGAIN
#undef PVX_EFAULT
#undef PVX_EBUSY
#undef PVX_EINVAL
#undef PVX_ENOSPC
#undef PVX_ERANGE
#undef PVX_EOPNOTSUPP
#undef PVX_EINPROGRESS
#undef PVX_ECANCELED
#undef PVX_ENOSYS
#pragma GCC poison PVX_EPERM PVX_ENOENT PVX_EIO PVX_E2BIG PVX_EAGAIN
#pragma GCC poison PVX_EFAULT PVX_EBUSY PVX_EINVAL PVX_ENOSPC PVX_ERANGE
#pragma GCC poison PVX_EOPNOTSUPP PVX_EINPROGRESS PVX_ECANCELED PVX_ENOSYS
#endif

/*
 * Test builds (PVX_TEST_HOOKS, "make stage") have knobs that hold a path
 * while they are set, so that a selftest can unload the module or kill
 * the VMM while that path is surely in flight, and let it go on when it
 * wants.  A hold lasts 30 s at most: a test that dies hangs nothing.
 * Elsewhere they compile to nothing.
 */
#ifdef PVX_TEST_HOOKS
#define PVX_TEST_HOLD_KNOB(name, what)					\
	static unsigned int name;					\
	module_param(name, uint, 0644);					\
	MODULE_PARM_DESC(name, "Test builds: " what " while set");	\
	static void name##_wait(void)					\
	{								\
		unsigned int i;						\
									\
		for (i = 0; READ_ONCE(name) && i < 1500; i++)		\
			msleep(20);					\
	}
#else
#define PVX_TEST_HOLD_KNOB(name, what)					\
	static inline void name##_wait(void)				\
	{								\
	}
#endif

struct kvm;
struct kvm_vcpu;
struct pvx_vm;
struct pvx_split_worker;
struct pvx_iommu;
struct page;

/* PVX_LIST_MAX_BYTES of the smallest (8-byte) entries. */
#define PVX_MAX_LIST_ENTRIES	(PVX_LIST_MAX_BYTES / PVX_LIST_ALIGN)
/* What PVX_HC_TIMER_SET takes (pvx_probe_info.timer_flags). */
#define PVX_TIMER_FLAGS		(PVX_TIMER_CANCEL | PVX_TIMER_TSC_DEADLINE)

/* One hypercall, with the guest ABI already converted (see pvx_compat.c). */
struct pvx_call {
	struct kvm_vcpu *vcpu;
	struct pvx_vm *vm;
	u32 nr;
	bool op_64_bit;
	int cpl;
	unsigned long args[4];
};

/*
 * Returns a result for RAX: >= 0 on success, a Linux errno on error,
 * which dispatch converts (pvx_guest_err()).
 */
typedef long (*pvx_hc_fn)(struct pvx_call *call);

long pvx_guest_err(long ret);

struct pvx_split_ops;

/*
 * What a service file gives for its line of PVX_HYPERCALLS, as
 * pvx_svc_<name>: a handler, or the ops of a batch hypercall, which
 * dispatch hands to pvx_batch_call() itself.
 */
struct pvx_service_ops {
	pvx_hc_fn handler;
	const struct pvx_split_ops *batch;
};

/* One line of PVX_HYPERCALLS, as pvx_main.c registers it. */
struct pvx_service {
	const char *name;
	u32 nr;			/* PVX_HC_* */
	u64 feature;		/* one PVX_F_* bit, or 0: every attached VM */
	const struct pvx_service_ops *ops;
};

/* The dispatch table (pvx_dispatch.c): pure logic, tested by KUnit. */
struct pvx_table {
	const struct pvx_service *svc[PVX_HC_COUNT];
	u64 features;		/* union of the registered services' bits */
};

int pvx_table_register(struct pvx_table *table, const struct pvx_service *svc);
void pvx_table_unregister(struct pvx_table *table,
			  const struct pvx_service *svc);
bool pvx_nr_in_range(unsigned long nr);
long pvx_table_dispatch(const struct pvx_table *table, struct pvx_call *call,
			u64 vm_features);

/*
 * Guest lists (pvx_list.c): validated and copied in one piece before any
 * entry is looked at.  The reader is a parameter so KUnit can feed lists
 * without a VM.
 */
typedef int (*pvx_guest_read_fn)(void *ctx, u64 gpa, void *buf, size_t len);
typedef int (*pvx_guest_write_fn)(void *ctx, u64 gpa, const void *buf,
				  size_t len);

int pvx_list_check(u64 gpa, u32 count, size_t entry_size, u32 max_entries);
int pvx_list_copy_in(pvx_guest_read_fn read, void *ctx, u64 gpa, u32 count,
		     size_t entry_size, u32 max_entries, void *buf);
int pvx_list_copy_out(pvx_guest_write_fn write, void *ctx, u64 gpa,
		      void *list, u32 count, const struct pvx_split_ops *ops);

/* Per-VM state (pvx_vm.c). */
struct pvx_counter {
	atomic64_t calls;
	atomic64_t errors;
};

/* A per-VM budget of calls per second (pvx_vm.c). */
struct pvx_rate {
	spinlock_t lock;
	unsigned long window_end;	/* jiffies */
	unsigned int in_window;
};

void pvx_rate_init(struct pvx_rate *rate);
bool pvx_rate_take(struct pvx_rate *rate, unsigned int per_second);

struct pvx_yield_state {
	struct pvx_rate rate;
	atomic64_t results[PVX_YIELD_NR_RESULTS];
};

/* yield_rate_hz: PVX_HC_YIELD_TO's and PVX_HC_LOCK_WAIT's budget. */
unsigned int pvx_yield_rate_hz(void);

/* PVX_HC_LOCK_WAIT (pvx_lockhint.c), by what a call did. */
struct pvx_lockhint_state {
	unsigned long last;	/* vCPU index boosted last: round robin */
	atomic64_t waits;
	atomic64_t boosts;
	atomic64_t refused;
	atomic64_t none;
	atomic64_t zero_count;
	atomic64_t unreadable;
};

struct pvx_balloon {
	struct mutex lock;
	struct rb_root_cached ranges;	/* interval tree, in gfns */
	u64 pages;
	u64 inflated;
	u64 deflated;
	u64 target;			/* the host's, or PVX_BALLOON_NO_TARGET */
};

void pvx_balloon_vm_init(struct pvx_balloon *b);
void pvx_balloon_vm_free(struct pvx_balloon *b);
void pvx_balloon_vm_reset(struct pvx_balloon *b);
int pvx_balloon_set_target(struct pvx_vm *vm, u64 target, bool *notified);
bool pvx_balloon_has(struct pvx_balloon *b, u64 gfn, u64 npages);

/* Host events (pvx_event.c): one vector of one vCPU per VM. */
struct pvx_event {
	struct mutex lock;
	struct kvm_vcpu *vcpu;
	u8 vector;		/* 0: the guest takes no events */
};

void pvx_event_vm_init(struct pvx_event *ev);
long pvx_event_set_vector(struct pvx_call *call, u8 vector);
bool pvx_event_raise(struct pvx_vm *vm);
void pvx_event_vm_reset(struct pvx_event *ev);

struct pvx_msr_allow {
	u32 nr_ranges;
	struct pvx_msr_range ranges[PVX_MSR_RANGES_MAX];
};

/* Per-vCPU state, created when a vCPU first needs it. */
struct pvx_vcpu {
	struct pvx_vm *vm;
	struct kvm_vcpu *vcpu;
	u8 vector;		/* 0: notifications off */
	struct hrtimer timer;
	spinlock_t split_lock;
	struct list_head split_done;	/* finished, not collected */
	u32 split_outstanding;		/* submitted, not collected */
	u32 split_epoch;		/* bumped when the vCPU is reset */
	ktime_t timer_armed;		/* the deadline armed last */
	ktime_t timer_last;		/* the last one that expired */
	u64 lockhint_gpa;		/* its preempt count; 0: none */
};

/*
 * A batch of list entries being processed: in the calling vCPU's exit
 * (vcpu set), or by a split-phase worker (vcpu NULL; the worker runs in
 * the VMM's mm and holds kvm->srcu).
 */
struct pvx_batch {
	struct kvm *kvm;
	struct pvx_vm *vm;
	struct kvm_vcpu *vcpu;
	void *list;
	u32 count;
	void *scratch;		/* a page */
	u32 done;		/* out: entries completed */
	u32 processed;		/* out: entries whose status is set */
	u32 written;		/* out: leading entries whose data may have
				 * changed, if more than @done (a DMA engine
				 * ran past a failed entry): marked dirty too
				 */
	u32 dirty_budget;	/* gfns the batch may still mark dirty
				 * (U32_MAX: no limit), see pvx_dirty_take()
				 */
};

/*
 * Dirty ring budget (Documentation/design.rst, "The dirty ring").  A
 * batch that runs out stops with -EAGAIN in the entry it stopped in.
 */
u32 pvx_dirty_budget(struct kvm_vcpu *vcpu, u32 reserve);
u32 pvx_dirty_take(u32 *budget, u32 want);

struct pvx_split_ops {
	size_t entry_size;
	/* Each entry's status, in the guest's ABI once written back. */
	u16 status_offset;
	u8 status_size;
	bool vcpu_only;		/* needs the calling vCPU: never split-phase */
	void (*run)(struct pvx_batch *b);
	/*
	 * Split-phase, when the work changes what the guest reads: the
	 * worker only prepares (makes pages present, breaks sharing) and
	 * the collecting vCPU calls @run, which writes and marks dirty.
	 * Without it the worker calls @run, which must leave the guest's
	 * data as it was.
	 */
	void (*prepare)(struct pvx_batch *b);
};

/* A list of @type entries whose status is @status: for pvx_split_ops. */
#define PVX_LIST_ENTRY(type, status)				\
	.entry_size = sizeof(type),				\
	.status_offset = offsetof(type, status),		\
	.status_size = sizeof_field(type, status)

long pvx_batch_call(struct pvx_call *call, const struct pvx_split_ops *ops);
long pvx_split_submit(struct pvx_call *call, const struct pvx_split_ops *ops,
		      void *list, u32 count);
void pvx_split_vcpu_init(struct pvx_vcpu *pv);
void pvx_split_vcpu_drop(struct pvx_vcpu *pv);
void pvx_split_vcpu_reset(struct pvx_vcpu *pv);
void pvx_split_vm_init(struct pvx_vm *vm);
void pvx_split_vm_stop(struct pvx_vm *vm);
void pvx_split_vm_destroyed(struct pvx_vm *vm);
int pvx_split_init(void);
void pvx_split_exit(void);
void pvx_copy_engine_init(void);
void pvx_copy_engine_exit(void);

/* The host pages of one COPY_PAGES entry on the DMA path. */
struct pvx_copy_pages {
	struct page *src, *dst;
};

bool pvx_copy_depends(const struct pvx_copy_pages *inflight, u32 n,
		      const struct pvx_copy_pages *next);

struct pvx_vm {
	struct hlist_node node;	/* pvx_vm_hash, keyed by kvm */
	struct hlist_node reap;	/* private list while being freed */
	struct rcu_head rcu;
	struct kvm *kvm;	/* a key only: pvx holds no reference */
	u64 id;
	u64 instance;		/* PVX_HC_PROBE's: random, never 0 */
	u64 features;
	u32 max_list_entries;
	char kvm_stats_id[PVX_STATS_NAME_SIZE];
	struct pvx_counter hc[PVX_HC_COUNT];
	struct pvx_yield_state yield;
	struct pvx_lockhint_state lockhint;
	struct pvx_rate prefault_rate;
	atomic64_t prefault_limited;	/* calls refused by prefault_rate */
	struct xarray vcpus;	/* struct pvx_vcpu, by KVM's vcpu index */
	struct pvx_msr_allow __rcu *msr_allow;
	atomic64_t timers_fired;
	atomic_t split_inflight;	/* split requests not done yet */
	struct pvx_split_worker *split_worker;	/* from the first request */
	struct mutex split_mutex;	/* creates the worker */
	struct pvx_balloon balloon;
	struct pvx_event event;
	struct pvx_iommu *iommu;	/* PVX_IOC_IOMMU_SETUP, then fixed */
	struct work_struct reset_work;	/* the guest was reset: holds a ref */
	atomic64_t resets;		/* guest resets seen */
};

int pvx_vm_read_lock(void);
void pvx_vm_read_unlock(int idx);
struct pvx_vm *pvx_vm_lookup(struct kvm *kvm);
struct pvx_vcpu *pvx_vcpu_get(struct pvx_call *call, bool create);
void pvx_timer_vcpu_init(struct pvx_vcpu *pv);
void pvx_timer_vcpu_stop(struct pvx_vcpu *pv, bool destroying);
void pvx_timer_vcpu_reset(struct pvx_vcpu *pv);
void pvx_timer_vcpu_flush(struct pvx_vcpu *pv);
struct pvx_msr_allow *pvx_msr_allow_default(void);
bool pvx_msr_allowed(const struct pvx_msr_allow *allow, u32 index);
const struct pvx_msr_allow *pvx_vm_msr_allow(struct pvx_vm *vm);
int pvx_vm_set_msr_allow(u64 vm_id, struct pvx_msr_allow *allow);
struct pvx_vm *pvx_vm_get_id(u64 id, int *idx);
void pvx_vm_put_id(struct pvx_vm *vm, int idx);
int pvx_vm_attach(struct kvm *kvm, const struct pvx_attach *req, u64 *id);
int pvx_vm_detach_kvm(struct kvm *kvm);
int pvx_vm_detach_id(u64 id);
void pvx_vm_destroyed(struct kvm *kvm);
void pvx_vcpu_apic_reset(struct kvm_vcpu *vcpu);
void pvx_vcpu_apic_save(struct kvm_vcpu *vcpu);
void pvx_vm_detach_all(void);
void pvx_vm_barrier(void);
int pvx_vm_stats(void __user *buf, u32 room, u32 record_size, u32 *nr_vms);
u64 pvx_vm_live(void);
int pvx_vm_init(void);
void pvx_vm_exit(void);

/* Entry from the hook: false means "not pvx's, let KVM handle it". */
bool pvx_handle_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
			  const unsigned long *args, bool op_64_bit, int cpl,
			  unsigned long *ret);
u64 pvx_supported_features(void);

/* The compat layer (pvx_compat.c): every use of KVM internals. */
u64 pvx_compat_refused_features(void);
int pvx_compat_lifetime_hook_install(void);
void pvx_compat_lifetime_hook_remove(void);
int pvx_compat_hypercall_hook_install(void);
void pvx_compat_hypercall_hook_remove(void);
struct kvm *pvx_compat_kvm_from_file(struct file *file);
struct kvm *pvx_compat_vcpu_kvm(struct kvm_vcpu *vcpu);
unsigned int pvx_compat_vcpu_id(struct kvm_vcpu *vcpu);
void pvx_compat_kvm_stats_id(struct kvm *kvm, char *buf, size_t len);
struct kvm_vcpu *pvx_compat_vcpu_by_id(struct kvm_vcpu *vcpu, int id);
bool pvx_compat_vcpu_preempted(struct kvm_vcpu *vcpu);
int pvx_compat_yield_to(struct kvm_vcpu *target);
int pvx_compat_vcpu_idx(struct kvm_vcpu *vcpu);
bool pvx_compat_vcpu_is_reset_bsp(struct kvm_vcpu *vcpu);
bool pvx_compat_has_lapic(struct kvm_vcpu *vcpu);
void pvx_compat_inject_vector(struct kvm_vcpu *vcpu, u8 vector);
int pvx_compat_tsc_deadline(struct kvm_vcpu *vcpu, u64 tsc, ktime_t *expires);
long pvx_compat_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 value);
long pvx_compat_fault_in(struct kvm *kvm, u64 gfn, bool write);
long pvx_compat_prefault_write(struct kvm *kvm, struct kvm_vcpu *vcpu,
			       u64 gfn);
long pvx_compat_copy_page(struct kvm *kvm, struct kvm_vcpu *vcpu,
			  u64 src_gfn, u64 dst_gfn, void *bounce);
long pvx_compat_pin_guest_page(struct kvm *kvm, u64 gfn, bool write,
			       struct page **page);
void pvx_compat_mark_dirty(struct kvm_vcpu *vcpu, u64 gfn);
u32 pvx_compat_dirty_room(struct kvm_vcpu *vcpu);
long pvx_compat_gfn_range_to_hva(struct kvm *kvm, u64 gfn, u64 npages,
				 bool write, unsigned long *hva);
u64 pvx_compat_ram_pages(struct kvm *kvm);
bool pvx_compat_io_bus_write(struct kvm_vcpu *vcpu, bool pio, u64 addr,
			     int len, const void *val);
struct kvm *pvx_compat_kvm_get(struct kvm_vcpu *vcpu);
bool pvx_compat_kvm_get_safe(struct kvm *kvm);
void pvx_compat_kvm_put(struct kvm *kvm);
void pvx_compat_kvm_put_no_destroy(struct kvm *kvm);
void pvx_compat_vm_dead(struct kvm *kvm);
struct mm_struct *pvx_compat_kvm_mm(struct kvm *kvm);
int pvx_compat_kvm_srcu_lock(struct kvm *kvm);
void pvx_compat_kvm_srcu_unlock(struct kvm *kvm, int idx);
int pvx_guest_read(struct pvx_call *call, u64 gpa, void *buf, size_t len);
int pvx_guest_write(struct pvx_call *call, u64 gpa, const void *buf,
		    size_t len);
int pvx_guest_list_read(void *call, u64 gpa, void *buf, size_t len);

/* Services, each in its own file: pvx_svc_probe, pvx_svc_yield_to, ... */
#define PVX_SERVICE_DECLARE(NAME, name, ...) \
	extern const struct pvx_service_ops pvx_svc_##name;
PVX_HYPERCALLS(PVX_SERVICE_DECLARE)
#undef PVX_SERVICE_DECLARE

/* IOMMU mappings through the VMM's VFIO container (pvx_iommu.c). */
int pvx_iommu_setup(struct pvx_vm *vm, const struct pvx_iommu_setup *req);
void pvx_iommu_vm_stop(struct pvx_vm *vm, bool destroying);
void pvx_iommu_vm_stats(const struct pvx_vm *vm, struct pvx_vm_stats *st);
void pvx_iommu_memslot_changing(struct kvm *kvm);
void pvx_iommu_vm_reset(struct pvx_vm *vm);
bool pvx_iommu_has_gfns(struct pvx_vm *vm, u64 gfn, u64 npages);
u64 pvx_iommu_refused_features(void);
int pvx_iommu_init(void);
void pvx_iommu_exit(void);

int pvx_dev_init(void);
void pvx_dev_exit(void);

#endif /* PVX_HOST_H */
