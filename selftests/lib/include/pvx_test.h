/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx selftest library: TAP output, a minimal KVM VM with long-mode guest
 * code taken from the test binary itself, a guest->host message channel,
 * hypercalls, KVM binary stats and /dev/pvx helpers.
 *
 * The test binaries are static and non-PIE, so every function and global
 * has the same address in the guest as in the host: the binary's loadable
 * segments are copied into guest RAM at GPA == VA and identity-mapped.
 * Guest code therefore must not call libc (or touch TLS, errno, the stack
 * protector): only code written for the guest runs there.
 */
#ifndef PVX_TEST_H
#define PVX_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <linux/kvm.h>
#include <linux/pvx.h>

#ifndef __printf
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#endif
#ifndef __noreturn
#define __noreturn	__attribute__((__noreturn__))
#endif
#ifndef __aligned
#define __aligned(x)	__attribute__((__aligned__(x)))
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
/* Memory shared with a running guest (or another vCPU) is read once. */
#ifndef READ_ONCE
#define READ_ONCE(x)	(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#endif

/* ---------------------------------------------------------------- TAP */

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

void tap_init(const char *name);
__printf(2, 3) bool tap_ok(bool cond, const char *fmt, ...);
__printf(1, 2) void tap_skip(const char *fmt, ...);
__printf(1, 2) void tap_diag(const char *fmt, ...);
__printf(1, 2) __noreturn void tap_skip_all(const char *fmt, ...);
__printf(1, 2) __noreturn void tap_bail(const char *fmt, ...);
int tap_failed(void);
/* Prints the plan and exits with KSFT_PASS or KSFT_FAIL. */
__noreturn void tap_finish(void);

/* Compare two 64-bit values, one TAP line, both values printed. */
#define TAP_EQ(got, want, fmt, ...)					\
({									\
	uint64_t __g = (uint64_t)(got), __w = (uint64_t)(want);		\
	tap_ok(__g == __w, fmt ": got %#llx (%lld), want %#llx (%lld)",	\
	       ##__VA_ARGS__, (unsigned long long)__g, (long long)__g,	\
	       (unsigned long long)__w, (long long)__w);		\
})

/*
 * A host-side call the test needs failed (the harness, not what is
 * tested): bail out, errno printed.  As TEST_ASSERT in KVM's selftests;
 * their TEST_REQUIRE skips instead, which here is tap_skip_all().
 */
#define TEST_ASSERT(cond, fmt, ...)					\
do {									\
	if (!(cond))							\
		tap_bail("%s:%d: " fmt ": %m", __FILE__, __LINE__,	\
			 ##__VA_ARGS__);				\
} while (0)

/* ------------------------------------------------------- guest memory */

#define GUEST_MEM_SIZE		(64ULL << 20)
#define GUEST_PML4_GPA		0x1000ULL
#define GUEST_PDPT_GPA		0x2000ULL
#define GUEST_PD_GPA		0x3000ULL	/* one PD: 1 GiB of 2 MiB pages */
#define GUEST_GDT_GPA		0x5000ULL
#define GUEST_TSS_GPA		0x6000ULL
/* Free for tests: below the binary (linked at 0x400000). */
#define GUEST_LOW_SCRATCH_GPA	0x100000ULL
#define GUEST_LOW_SCRATCH_SIZE	0x100000ULL
/* The binary must end below this; vCPU stacks follow. */
#define GUEST_BIN_LIMIT		(32ULL << 20)
#define GUEST_STACK_SIZE	(1ULL << 20)
#define GUEST_MAX_VCPUS		16
/* Not backed by any memslot, but identity-mapped by the page tables. */
#define GUEST_UNBACKED_GPA	0x20000000ULL

#define GDT_SEL_CODE64		0x08
#define GDT_SEL_DATA		0x10
#define GDT_SEL_UDATA		0x18
#define GDT_SEL_UCODE64		0x20
#define GDT_SEL_TSS		0x28
#define GDT_SEL_CODE32		0x38

/* ----------------------------------------------------- message channel */

#define UCALL_PORT		0x1000	/* OUT with RDI = &struct ucall */
#define RAW_PORT		0xe9	/* bare OUT, for hand-written guest code */
#define UCALL_MAX_ARGS		4

enum {
	UCALL_NONE,
	UCALL_SYNC,
	UCALL_ABORT,
	UCALL_DONE,
	UCALL_RAW,		/* OUT to RAW_PORT */
	UCALL_UNEXPECTED,	/* any other exit: printed, test should fail */
};

struct ucall {
	uint64_t cmd;
	uint64_t nargs;
	uint64_t args[UCALL_MAX_ARGS];
	/* Pointers into the binary's rodata: valid on both sides. */
	const char *file;
	uint64_t line;
	const char *expr;
};

/* Where a guest entry function returns to (it reports UCALL_DONE). */
extern char guest_return_stub[];

void guest_ucall(uint64_t cmd, const char *file, uint64_t line,
		 const char *expr, uint64_t nargs, uint64_t a0, uint64_t a1,
		 uint64_t a2, uint64_t a3);
__noreturn void guest_halt_forever(void);

#define __UC_NARGS(...)	__UC_NARGS_(0, ##__VA_ARGS__, 4, 3, 2, 1, 0)
#define __UC_NARGS_(_z, _a, _b, _c, _d, n, ...) n
#define __GUEST_SYNC(n, a, b, c, d, ...)				\
	guest_ucall(UCALL_SYNC, __FILE__, __LINE__, NULL, n,		\
		    (uint64_t)(a), (uint64_t)(b), (uint64_t)(c),	\
		    (uint64_t)(d))

/* Up to four values; the host sees them in uc.args[]. */
#define GUEST_SYNC(...)							\
	__GUEST_SYNC(__UC_NARGS(__VA_ARGS__), ##__VA_ARGS__, 0, 0, 0, 0)

#define GUEST_DONE()							\
do {									\
	guest_ucall(UCALL_DONE, __FILE__, __LINE__, NULL, 0, 0, 0, 0, 0);\
	guest_halt_forever();						\
} while (0)

#define GUEST_ASSERT(cond)						\
do {									\
	if (!(cond)) {							\
		guest_ucall(UCALL_ABORT, __FILE__, __LINE__, #cond,	\
			    0, 0, 0, 0, 0);				\
		guest_halt_forever();					\
	}								\
} while (0)

#define GUEST_ASSERT_EQ(a, b)						\
do {									\
	uint64_t __a = (uint64_t)(a), __b = (uint64_t)(b);		\
	if (__a != __b) {						\
		guest_ucall(UCALL_ABORT, __FILE__, __LINE__,		\
			    #a " == " #b, 2, __a, __b, 0, 0);		\
		guest_halt_forever();					\
	}								\
} while (0)

/* -------------------------------------------------------- hypercalls */

/* Set by the host before a VM is created: VMMCALL (AMD) or VMCALL. */
extern bool guest_use_vmmcall;

static inline uint64_t guest_hypercall(uint64_t nr, uint64_t a0, uint64_t a1,
				       uint64_t a2, uint64_t a3)
{
	uint64_t ret;

	if (guest_use_vmmcall)
		asm volatile("vmmcall"
			     : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
			     : "memory");
	else
		asm volatile("vmcall"
			     : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
			     : "memory");
	return ret;
}

#define KVM_ENOSYS_RET		((uint64_t)-1000LL)
#define KVM_EPERM_RET		((uint64_t)-1LL)
#define PVX_ERR(e)		((uint64_t)-(int64_t)(e))

/* Enter ring 3 at fn with the given stack top, IOPL 3; never returns. */
__noreturn void guest_enter_user(void (*fn)(void), uint64_t stack_top);

/* ------------------------------------------------------------ host VM */

struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	uint64_t stack_top;
	int stats_fd;
	void *stats_desc;
	struct kvm_stats_header stats_hdr;
	pthread_t thread;
	void *(*thread_fn)(struct vcpu *vcpu);
	void *thread_arg;
	void *thread_ret;
	/* KVM's dirty ring of this vCPU, when the VM has one. */
	struct kvm_dirty_gfn *dirty_gfns;
	uint32_t dirty_fetch;		/* next entry the VMM reads */
	/* Called by vcpu_get_ucall() at KVM_EXIT_DIRTY_RING_FULL. */
	void (*dirty_ring_full)(struct vcpu *vcpu);
};

struct vm {
	int fd;
	uint8_t *mem;
	uint64_t mem_size;
	int nr_vcpus;
	struct vcpu *vcpus[GUEST_MAX_VCPUS];
	uint32_t dirty_ring_bytes;	/* 0: no dirty ring */
	uint32_t dirty_ring_cap;	/* the KVM_CAP_DIRTY_LOG_RING* enabled */
};

/* Opens /dev/kvm once; skips the whole test when KVM is unusable. */
int kvm_fd_or_skip(void);
bool host_cpu_is_amd(void);

struct vm *vm_create(void);
/* Closes every fd and unmaps everything: KVM then destroys the VM. */
void vm_free(struct vm *vm);
/*
 * Same, but as a dying process does it: mappings first, then the fds in
 * ascending order, so the VM fd goes before its vCPU and stats fds and
 * the last reference is dropped by a vCPU or stats fd.
 */
void vm_free_exit_order(struct vm *vm);

/* A long-mode vCPU that will start at guest_fn(arg). */
struct vcpu *vcpu_add(struct vm *vm, void (*guest_fn)(uint64_t), uint64_t arg);
void vcpu_set_entry(struct vcpu *vcpu, void (*guest_fn)(uint64_t),
		    uint64_t arg);
void vcpu_get_regs(struct vcpu *vcpu, struct kvm_regs *regs);
void vcpu_set_regs(struct vcpu *vcpu, struct kvm_regs *regs);
void vcpu_get_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs);
void vcpu_set_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs);
/* 32-bit protected mode, flat segments, no paging; RIP/regs untouched. */
void vcpu_set_protected_mode(struct vcpu *vcpu);

/* One KVM_RUN (retried on EINTR); returns 0 or -errno. */
int vcpu_run(struct vcpu *vcpu);
/*
 * Runs until the guest sends a message (or something unexpected exits)
 * and returns its UCALL_* command, with *uc filled.  UCALL_ABORT and
 * UCALL_UNEXPECTED are printed as TAP diagnostics here.
 */
uint64_t vcpu_get_ucall(struct vcpu *vcpu, struct ucall *uc);
const char *exit_reason_str(uint32_t reason);

/*
 * Runs to the guest's next message: one TAP check that it is the
 * GUEST_SYNC of @step (its values then in uc->args[1..]).
 */
bool vcpu_expect_step(struct vcpu *vcpu, uint64_t step, struct ucall *uc);

/* A batch whose first entry the host must refuse, and why. */
struct refusal {
	const char *what;
	int err;		/* PVX_E*: that entry's status is -err */
};

/*
 * For each of the @n refusals, the guest ran a batch of two entries, the
 * first one bad, and reported GUEST_SYNC(@step, entries done, first
 * entry's status, second entry's status) (statuses sign-extended): none
 * done, the first with -err, the second still @untouched (the value the
 * guest put there).  Three TAP checks each, after vcpu_expect_step()'s;
 * returns false, and stops, at a step the guest did not reach.
 */
bool vcpu_expect_refusals(struct vcpu *vcpu, uint64_t step, const char *op,
			  const struct refusal *r, int n, uint64_t untouched);

/*
 * A memslot of fresh anonymous memory (4 KiB pages when @small_pages, so
 * each page faults on its own); returns its address in the VMM.
 */
uint8_t *vm_add_anon_slot(struct vm *vm, int slot, uint64_t gpa, uint64_t size,
			  uint32_t flags, bool small_pages);
/* A memslot over @mem, which another memslot may map too (an alias). */
void vm_add_slot(struct vm *vm, int slot, uint64_t gpa, uint64_t size,
		 uint32_t flags, void *mem);
/*
 * A memslot of a fresh memfd mapped shared, as file-backed guest RAM;
 * *fd is the memfd (the caller closes it), the VMM's mapping returned.
 */
uint8_t *vm_add_memfd_slot(struct vm *vm, int slot, uint64_t gpa,
			   uint64_t size, uint32_t flags, int *fd);
/* Deletes memslot @slot at @gpa; the caller unmaps its memory. */
void vm_delete_slot(struct vm *vm, int slot, uint64_t gpa);

/* Runs fn(vcpu) in its own thread; vcpu_join() returns its result. */
void vcpu_thread_start(struct vcpu *vcpu, void *(*fn)(struct vcpu *vcpu),
		       void *arg);
void *vcpu_thread_join(struct vcpu *vcpu);

static inline void *guest_ptr(struct vm *vm, uint64_t gpa)
{
	return vm->mem + gpa;
}

/* Guest globals live at their host address inside guest RAM. */
#define guest_global(vm, g) (*(volatile __typeof__(g) *)guest_ptr(vm, (uint64_t)&(g)))
#define sync_global_to_guest(vm, g)					\
	memcpy(guest_ptr(vm, (uint64_t)&(g)), &(g), sizeof(g))
#define sync_global_from_guest(vm, g)					\
	memcpy(&(g), guest_ptr(vm, (uint64_t)&(g)), sizeof(g))

/* KVM binary stats of a vCPU, by name ("exits", "hypercalls"). */
uint64_t vcpu_stat(struct vcpu *vcpu, const char *name);

/* -------------------------------------------------------- dirty ring */

/*
 * KVM's dirty ring (KVM_CAP_DIRTY_LOG_RING_ACQ_REL, else
 * KVM_CAP_DIRTY_LOG_RING) of @bytes per vCPU, enabled before the first
 * vcpu_add(), which then maps each vCPU's ring.  The __ version returns
 * 0 or -errno (-ENOTSUP: KVM has neither capability, or a smaller
 * maximum); the other bails out on error.
 */
int __vm_enable_dirty_ring(struct vm *vm, uint32_t bytes);
void vm_enable_dirty_ring(struct vm *vm, uint32_t bytes);
/*
 * Collects the entries KVM has published in @vcpu's ring, calling
 * fn(slot, offset, arg) for each, and marks them harvested; returns how
 * many.  KVM_RESET_DIRTY_RINGS (vm_reset_dirty_rings()) then hands them
 * back to KVM and write-protects the pages again.
 */
uint32_t vcpu_harvest_dirty_ring(struct vcpu *vcpu,
				 void (*fn)(uint32_t slot, uint64_t offset,
					    void *arg), void *arg);
/* Maps @vcpu's ring (vcpu_add() does it for a VM with a ring). */
void vcpu_map_dirty_ring(struct vcpu *vcpu);
/* Returns the number of entries reset, or -errno. */
int __vm_reset_dirty_rings(struct vm *vm);
int vm_reset_dirty_rings(struct vm *vm);
/* KVM_GET_DIRTY_LOG of @slot into @bitmap (a bit per page of the slot). */
void vm_get_dirty_log(struct vm *vm, int slot, void *bitmap);

/* ---------------------------------------------------------------- pvx */

#define PVX_DEV			"/dev/pvx"
#define PVX_DEFAULT_LIST_ENTRIES (PVX_LIST_MAX_BYTES / PVX_LIST_ALIGN)

/* Opens /dev/pvx; a missing node is a test failure, diagnosed here. */
int pvx_open(void);
/* pvx_open(), and bails out unless the host offers all of @features. */
/*
 * What pvx_host refuses on Linux 7.3, whose KVM exports what these need
 * only to kvm-amd and kvm-intel (Documentation/design.rst, Kernels).
 */
#define PVX_REFUSED_73	(PVX_F_TIMER | PVX_F_SPLIT | PVX_F_BALLOON | \
			 PVX_F_MSR_BATCH | PVX_F_DOORBELL)
int pvx_open_features(uint64_t features);
/* The ioctl itself, 0 or -errno: for requests a test builds by hand. */
int pvx_ioctl_raw(int pvx_fd, unsigned long req, void *arg);
/*
 * The /dev/pvx calls come in pairs, as __vm_ioctl() and vm_ioctl() do in
 * KVM's selftests: the __ form returns 0 or -errno, for a test that
 * checks the result (and for forked children, which must not bail out
 * on the parent's TAP stream); the other bails out on any error, for a
 * call that is set-up, not what the test checks.
 */
int __pvx_get_features(int pvx_fd, uint64_t *features);
uint64_t pvx_get_features(int pvx_fd);
int __pvx_attach(int pvx_fd, int vm_fd, uint64_t features,
		 uint32_t max_list_entries, uint64_t *vm_id);
/* Returns the vm_id. */
uint64_t pvx_attach(int pvx_fd, int vm_fd, uint64_t features,
		    uint32_t max_list_entries);
int __pvx_detach_fd(int pvx_fd, int vm_fd);
void pvx_detach_fd(int pvx_fd, int vm_fd);
int __pvx_detach_id(int pvx_fd, uint64_t vm_id);
void pvx_detach_id(int pvx_fd, uint64_t vm_id);
/*
 * Reads all records (the array is malloc()ed, caller frees);
 * *nr = records filled, *live = live_vms (@live may be NULL).
 */
int __pvx_stats_read(int pvx_fd, struct pvx_vm_stats **recs, uint32_t *nr,
		     uint64_t *live);
void pvx_stats_read(int pvx_fd, struct pvx_vm_stats **recs, uint32_t *nr,
		    uint64_t *live);
/*
 * 1 and *out filled when vm_id is listed, 0 when not; the __ form
 * returns -errno on error.
 */
int __pvx_find_vm(int pvx_fd, uint64_t vm_id, struct pvx_vm_stats *out);
int pvx_find_vm(int pvx_fd, uint64_t vm_id, struct pvx_vm_stats *out);
uint64_t pvx_live_vms(int pvx_fd);
int __pvx_set_msr_allowlist(int pvx_fd, struct pvx_msr_allowlist *a);
void pvx_set_msr_allowlist(int pvx_fd, struct pvx_msr_allowlist *a);
/* The request's notified field is filled in. */
int __pvx_set_balloon_target(int pvx_fd, struct pvx_balloon_target *t);
void pvx_set_balloon_target(int pvx_fd, struct pvx_balloon_target *t);

/* ------------------------------------------------------------- misc */

uint64_t now_ns(void);
/* sysfs and module parameters: 0 or -errno; read_u64() 0 on error. */
int write_file(const char *path, const char *s);
int read_file(const char *path, char *buf, size_t len);
uint64_t read_u64(const char *path);
/*
 * Whether the running kernel's version (uname's release) is below
 * @major.@minor: for what pvx refuses on older kernels by design.
 */
bool kernel_older_than(unsigned int major, unsigned int minor);

#endif /* PVX_TEST_H */
