// SPDX-License-Identifier: GPL-2.0
/*
 * Everything pvx knows about KVM's internals lives in this file: the two
 * functions it hooks, the struct kvm and struct kvm_vcpu fields it reads,
 * and the guest ABI conversion.  A new kernel version means editing here.
 *
 * Hooks.  KVM has no registration interface for hypercall handlers nor a
 * VM-destruction notifier, so pvx uses ftrace on two KVM functions:
 *
 *  - __kvm_emulate_hypercall() (exported) is redirected, as livepatch
 *    does (FTRACE_OPS_FL_IPMODIFY), for calls whose number falls in pvx's
 *    range only, so KVM's own hypercalls never run pvx code.  The
 *    replacement calls the original by its exported symbol; the ftrace
 *    handler recognises such calls (parent_ip inside this module) and
 *    lets them through.
 *  - kvm_arch_pre_destroy_vm() is observed: every destruction of a VM
 *    passes through it, before the vCPUs are freed.
 *  - kvm_apic_set_state() is observed: KVM_SET_LAPIC, which QEMU issues
 *    for every vCPU at a reset, is how pvx learns of a guest reset.  (Not kvm_put_kvm():
 *    Debian's kvm.ko inlines it into the vCPU and stats fd release paths,
 *    which then call kvm_destroy_vm() directly.)  pvx thus needs no
 *    reference on an attached VM, and a VMM killed with SIGKILL leaves
 *    nothing behind.
 *  - kvm_apic_get_state() is observed: KVM_GET_LAPIC, which QEMU issues
 *    for every vCPU when it saves the VM (migration, snapshot), is when an
 *    armed pvx timer must fire, so that its interrupt goes with the state.
 *  - kvm_arch_flush_shadow_memslot() is observed too: every deletion or
 *    move of a memslot passes through it, once no vCPU can reach the old
 *    slot any more, so that IOMMU mappings of it can be dropped.
 *
 * What of KVM this file uses, and how it is reached (Debian's 6.12; the
 * kernels issue keeps this list per kernel series):
 *
 *  - hooked by name through ftrace, which needs no export:
 *    __kvm_emulate_hypercall (redirected), kvm_arch_pre_destroy_vm,
 *    kvm_arch_flush_shadow_memslot, kvm_apic_set_state, kvm_apic_get_state
 *    (observed);
 *  - called, exported by kvm.ko (EXPORT_SYMBOL_GPL): __kvm_emulate_hypercall
 *    (the original), kvm_vcpu_yield_to, kvm_vcpu_read_guest(_page),
 *    kvm_vcpu_write_guest(_page), kvm_vcpu_mark_page_dirty, gfn_to_memslot,
 *    kvm_get_kvm, kvm_get_kvm_safe, kvm_put_kvm, kvm_put_kvm_no_destroy,
 *    kvm_set_msr_with_filter, kvm_mmu_page_fault, kvm_io_bus_write,
 *    kvm_apic_send_ipi, kvm_make_all_cpus_request (through kvm_vm_dead),
 *    kvm_read_l1_tsc;
 *  - inline in <linux/kvm_host.h> and <asm/kvm_host.h>: kvm_memslots,
 *    kvm_for_each_memslot, __gfn_to_hva_memslot, gfn_to_gpa,
 *    kvm_get_vcpu_by_id, kvm_vcpu_is_reset_bsp, kvm_vm_dead;
 *  - fields read: kvm->mm, ->srcu, ->stats_id, ->dirty_ring_size,
 *    ->arch.vm_type, ->arch.bsp_vcpu_id, ->arch.shadow_root_allocated,
 *    ->arch.external_write_tracking_enabled; vcpu->kvm, ->vcpu_id,
 *    ->vcpu_idx, ->preempted, ->dirty_ring, ->stat.hypercalls,
 *    ->arch.apic, ->arch.hflags, ->arch.mmu (->root_role.direct),
 *    ->arch.root_mmu, ->arch.virtual_tsc_khz.
 *
 * Debian's 6.1 (PVX_KVM_HOOK_OUTER) differs in: kvm_emulate_hypercall,
 * the VMMCALL/VMCALL exit handler itself, is what is redirected and
 * called (no __kvm_emulate_hypercall: the registers are read from
 * vcpu->arch.regs, and KVM's own answer tells the CPL and the ABI); no
 * kvm_set_msr_with_filter (kvm_set_msr after the exported
 * kvm_msr_allowed, declared here); no ->arch.vm_type nor external_write_tracking_enabled; no
 * guest_memfd.  Generic kernel drift is in <pvx_kcompat.h>.
 *
 * Debian's 7.3 (PVX_KVM_EXPORTS_LIMITED) exports nearly all of the above
 * only to kvm-amd and kvm-intel, and kvm_set_msr() and kvm_vcpu_kick() not
 * at all.  pvx calls nothing KVM keeps to itself and resolves no symbol
 * behind the module loader's back: ____kvm_emulate_hypercall (the
 * hypercall, registers read inside; KVM's caller completes it) is
 * redirected by name, the hypercall's mode comes from the open
 * get_cs_db_l_bits static call, guest memory is the VMM's memory through
 * the inline memslot lookup, and what needs KVM's private code is refused
 * (pvx_compat_refused_features(); Documentation/design.rst, Kernels).
 * Open on 7.3 and used: kvm_get_kvm, kvm_get_kvm_safe, kvm_put_kvm.
 *
 * No other file includes <linux/kvm_host.h> or names a KVM symbol.
 *
 * Unload.  After the ftrace ops are unregistered, a task may still be
 * inside a replacement (a yield sleeps there).  Every replacement counts
 * itself in pvx_hook_inflight for its whole body; unload waits for RCU
 * tasks (no task left between the trampoline and the count), for the
 * count to drain, and for RCU tasks again (no task preempted between the
 * uncount and its return).
 */
#define pr_fmt(fmt) "pvx: " fmt

#include <linux/delay.h>
#include <asm/apicdef.h>
#include <linux/ftrace.h>
#include <linux/kvm_host.h>
#include <linux/kvm_para.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <pvx_kcompat.h>
#include "pvx_host.h"

/*
 * Before 6.12 (Debian's 6.1) KVM has no __kvm_emulate_hypercall(): the
 * exported kvm_emulate_hypercall(vcpu), the exit handler itself, reads
 * the registers, checks the CPL and completes the instruction.
 */
#define PVX_KVM_HOOK_OUTER	(LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0))

/*
 * 7.3: KVM exports what pvx called only to its vendor modules
 * (EXPORT_SYMBOL_FOR_KVM_INTERNAL, 6.18), and the hypercall is
 * ____kvm_emulate_hypercall(vcpu, cpl, complete), which reads the
 * registers itself and leaves the answer in vcpu->run->hypercall.ret for
 * its caller's completion.  The series between 6.12 and 7.3 changed the
 * hypercall's arguments more than once and are not built for.
 */
#define PVX_KVM_EXPORTS_LIMITED	(LINUX_VERSION_CODE >= KERNEL_VERSION(7, 3, 0))
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0) && !PVX_KVM_EXPORTS_LIMITED
#error "pvx_host builds for Linux 6.1, 6.12 and 7.3 only"
#endif

static DEFINE_PER_CPU(long, pvx_hook_inflight);

static void pvx_hook_enter(void)
{
	this_cpu_inc(pvx_hook_inflight);
}

static void pvx_hook_exit(void)
{
	this_cpu_dec(pvx_hook_inflight);
}

static long pvx_hook_inflight_sum(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(pvx_hook_inflight, cpu);
	return sum;
}

#if PVX_KVM_HOOK_OUTER || PVX_KVM_EXPORTS_LIMITED
/*
 * The guest's RAX, RBX, RCX, RDX, RSI: always in vcpu->arch.regs at a
 * VMMCALL/VMCALL exit (only RSP and RIP are read lazily).
 */
static unsigned long pvx_vcpu_gpr(struct kvm_vcpu *vcpu, int reg)
{
	return vcpu->arch.regs[reg];
}

/* The hypercall's number (returned) and arguments, untruncated. */
static unsigned long pvx_vcpu_hypercall(struct kvm_vcpu *vcpu,
					unsigned long args[4])
{
	args[0] = pvx_vcpu_gpr(vcpu, VCPU_REGS_RBX);
	args[1] = pvx_vcpu_gpr(vcpu, VCPU_REGS_RCX);
	args[2] = pvx_vcpu_gpr(vcpu, VCPU_REGS_RDX);
	args[3] = pvx_vcpu_gpr(vcpu, VCPU_REGS_RSI);
	return pvx_vcpu_gpr(vcpu, VCPU_REGS_RAX);
}
#endif

#if PVX_KVM_HOOK_OUTER

/*
 * KVM runs first and does what it does for any number it does not know:
 * -KVM_EPERM below CPL 0, else -KVM_ENOSYS, truncated for a 32-bit
 * caller, in RAX; the hypercall counted and the instruction skipped.
 * Those two answers tell pvx the CPL and the ABI, which KVM does not
 * export, and it then replaces the answer.  Any other RAX means KVM took
 * the call as Xen's or Hyper-V's: pvx leaves it alone.
 */
static int pvx_emulate_hypercall(struct kvm_vcpu *vcpu)
{
	unsigned long args[4];
	unsigned long nr = pvx_vcpu_hypercall(vcpu, args);
	unsigned long kvm_ret, ret;
	bool op_64_bit;
	unsigned int i;
	int cpl, done;

	pvx_hook_enter();

	done = kvm_emulate_hypercall(vcpu);
	kvm_ret = pvx_vcpu_gpr(vcpu, VCPU_REGS_RAX);
	if (kvm_ret == -KVM_ENOSYS || kvm_ret == (u32)-KVM_ENOSYS)
		cpl = 0;
	else if (kvm_ret == -KVM_EPERM || kvm_ret == (u32)-KVM_EPERM)
		cpl = 3;
	else
		goto out;
	op_64_bit = kvm_ret == -KVM_ENOSYS || kvm_ret == -KVM_EPERM;

	/* The guest ABI is converted here and nowhere else, as KVM does. */
	if (!op_64_bit) {
		nr = (u32)nr;
		for (i = 0; i < ARRAY_SIZE(args); i++)
			args[i] = (u32)args[i];
	}
	if (pvx_nr_in_range(nr) &&
	    pvx_handle_hypercall(vcpu, nr, args, op_64_bit, cpl, &ret))
		vcpu->arch.regs[VCPU_REGS_RAX] = op_64_bit ? ret : (u32)ret;
out:
	pvx_hook_exit();
	return done;
}
#elif PVX_KVM_EXPORTS_LIMITED
/*
 * The test KVM makes (is_64_bit_hypercall(), private): protected guest
 * state calls in 64-bit mode; otherwise long mode with CS.L set.
 * get_cs_db_l_bits is one of the few static calls KVM leaves open.
 */
static bool pvx_hypercall_is_64_bit(struct kvm_vcpu *vcpu)
{
	int cs_db, cs_l;

	if (vcpu->arch.guest_state_protected)
		return true;
	if (!(vcpu->arch.efer & EFER_LMA))
		return false;
	kvm_x86_call(get_cs_db_l_bits)(vcpu, &cs_db, &cs_l);
	return cs_l;
}

/*
 * Replaces ____kvm_emulate_hypercall() for numbers in pvx's range only.
 * The original is never called (it is exported to kvm-amd and kvm-intel
 * only): for a number that is not pvx's, or a VM pvx does not serve, the
 * answer is KVM's own for a number it does not know (-KVM_EPERM below
 * CPL 0, else -KVM_ENOSYS).  As KVM's, the answer goes to
 * vcpu->run->hypercall.ret and 1 is returned; KVM's caller then runs
 * @complete, which truncates it for a 32-bit caller, writes RAX and
 * skips the instruction.  KVM's kvm_hypercall tracepoint does not fire
 * for these calls; pvx's own does.
 */
static int pvx_emulate_hypercall(struct kvm_vcpu *vcpu, int cpl,
				 int (*complete)(struct kvm_vcpu *vcpu))
{
	unsigned long args[4];
	unsigned long nr = pvx_vcpu_hypercall(vcpu, args);
	bool op_64_bit;
	unsigned long ret;
	unsigned int i;

	pvx_hook_enter();

	op_64_bit = pvx_hypercall_is_64_bit(vcpu);
	if (!op_64_bit) {
		nr = (u32)nr;
		for (i = 0; i < ARRAY_SIZE(args); i++)
			args[i] = (u32)args[i];
	}
	/* KVM counts every hypercall, its own or not. */
	++vcpu->stat.hypercalls;
	if (!pvx_nr_in_range(nr) ||
	    !pvx_handle_hypercall(vcpu, nr, args, op_64_bit, cpl, &ret))
		ret = cpl ? -KVM_EPERM : -KVM_ENOSYS;
	vcpu->run->hypercall.ret = ret;

	pvx_hook_exit();
	return 1;
}
#else
static unsigned long pvx_emulate_hypercall(struct kvm_vcpu *vcpu,
					   unsigned long nr, unsigned long a0,
					   unsigned long a1, unsigned long a2,
					   unsigned long a3, int op_64_bit,
					   int cpl)
{
	unsigned long args[4] = { a0, a1, a2, a3 };
	unsigned long ret;
	unsigned int i;

	pvx_hook_enter();

	/* The guest ABI is converted here and nowhere else, as KVM does. */
	if (!op_64_bit) {
		nr = (u32)nr;
		for (i = 0; i < ARRAY_SIZE(args); i++)
			args[i] = (u32)args[i];
	}

	if (pvx_nr_in_range(nr) &&
	    pvx_handle_hypercall(vcpu, nr, args, op_64_bit, cpl, &ret)) {
		/* KVM counts every hypercall it completes; so does pvx. */
		++vcpu->stat.hypercalls;
	} else {
		ret = __kvm_emulate_hypercall(vcpu, nr, a0, a1, a2, a3,
					      op_64_bit, cpl);
	}

	/* kvm_emulate_hypercall() truncates it for a 32-bit caller. */
	pvx_hook_exit();
	return ret;
}
#endif

/*
 * Preemption is off here: FTRACE_OPS_FL_RECURSION makes ftrace call the
 * handler through its recursion guard, which disables it.  Without the
 * flag an x86 per-ops trampoline calls the handler with preemption as the
 * traced function had it.
 */
static void notrace pvx_destroy_vm_handler(unsigned long ip,
					   unsigned long parent_ip,
					   struct ftrace_ops *ops,
					   struct ftrace_regs *fregs)
{
	pvx_vm_destroyed((struct kvm *)pvx_ftrace_arg(fregs, 0));
}

static void notrace pvx_memslot_handler(unsigned long ip,
					unsigned long parent_ip,
					struct ftrace_ops *ops,
					struct ftrace_regs *fregs)
{
	pvx_iommu_memslot_changing((struct kvm *)
				   pvx_ftrace_arg(fregs, 0));
}

static bool pvx_hypercall_wanted(struct ftrace_regs *fregs)
{
#if PVX_KVM_HOOK_OUTER || PVX_KVM_EXPORTS_LIMITED
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)pvx_ftrace_arg(fregs, 0);
	unsigned long nr = pvx_vcpu_gpr(vcpu, VCPU_REGS_RAX);
#else
	unsigned long nr = pvx_ftrace_arg(fregs, 1);
#endif

	/* Truncated: a 32-bit guest may leave garbage above bit 31. */
	return pvx_nr_in_range((u32)nr);
}

struct pvx_hook {
	const char *name;
	unsigned long target;
	unsigned long replacement;
	bool (*wanted)(struct ftrace_regs *fregs);
	struct ftrace_ops ops;
};

static void notrace pvx_ftrace_handler(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *ops,
				       struct ftrace_regs *fregs)
{
	struct pvx_hook *hook = container_of(ops, struct pvx_hook, ops);

	if (within_module(parent_ip, THIS_MODULE))
		return;
	if (hook->wanted && !hook->wanted(fregs))
		return;
	pvx_ftrace_set_ip(fregs, hook->replacement);
}

/*
 * The handlers call functions that may themselves be traced (a function
 * graph tracer on KVM, say): ftrace's recursion guard keeps a traced call
 * from re-entering them.
 */
#ifdef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
#define PVX_FTRACE_FLAGS	(FTRACE_OPS_FL_IPMODIFY | \
				 FTRACE_OPS_FL_PERMANENT | \
				 FTRACE_OPS_FL_RECURSION)
#else
#define PVX_FTRACE_FLAGS	(FTRACE_OPS_FL_IPMODIFY | \
				 FTRACE_OPS_FL_PERMANENT | \
				 FTRACE_OPS_FL_RECURSION | \
				 FTRACE_OPS_FL_SAVE_REGS)
#endif

static struct pvx_hook pvx_hypercall_hook = {
#if PVX_KVM_HOOK_OUTER
	.name = "kvm_emulate_hypercall",
	.target = (unsigned long)kvm_emulate_hypercall,
#elif PVX_KVM_EXPORTS_LIMITED
	/* Not callable from here: found by name among ftrace's functions. */
	.name = "____kvm_emulate_hypercall",
#else
	.name = "__kvm_emulate_hypercall",
	.target = (unsigned long)__kvm_emulate_hypercall,
#endif
	.replacement = (unsigned long)pvx_emulate_hypercall,
	.wanted = pvx_hypercall_wanted,
};

static int pvx_hook_one(struct pvx_hook *hook)
{
	int ret;

	hook->ops.func = pvx_ftrace_handler;
	hook->ops.flags = PVX_FTRACE_FLAGS;

	if (hook->target)
		ret = ftrace_set_filter_ip(&hook->ops, hook->target, 0, 0);
	else
		ret = ftrace_set_filter(&hook->ops, (unsigned char *)hook->name,
					strlen(hook->name), 1);
	if (ret) {
		pr_err("cannot trace %s: %d\n", hook->name, ret);
		return ret;
	}

	ret = register_ftrace_function(&hook->ops);
	if (ret) {
		/* -EBUSY: someone else (livepatch?) already redirects it. */
		pr_err("cannot hook %s: %d\n", hook->name, ret);
		ftrace_free_filter(&hook->ops);
		return ret;
	}
	return 0;
}

static void pvx_hooks_drain(void)
{
	synchronize_rcu_tasks();
	while (pvx_hook_inflight_sum())
		usleep_range(1000, 2000);
	synchronize_rcu_tasks();
}

static void pvx_unhook_one(struct pvx_hook *hook)
{
	WARN_ON_ONCE(unregister_ftrace_function(&hook->ops));
	ftrace_free_filter(&hook->ops);
	pvx_hooks_drain();
}

/* Not exported, so found by name among ftrace's traceable functions. */
#define PVX_DESTROY_FUNC "kvm_arch_pre_destroy_vm"

static struct ftrace_ops pvx_destroy_ops = {
	.func = pvx_destroy_vm_handler,
	.flags = FTRACE_OPS_FL_PERMANENT | FTRACE_OPS_FL_RECURSION,
};

/* Likewise; kvm_main.c calls it for KVM_MR_DELETE and KVM_MR_MOVE. */
#define PVX_MEMSLOT_FUNC "kvm_arch_flush_shadow_memslot"

static struct ftrace_ops pvx_memslot_ops = {
	.func = pvx_memslot_handler,
	.flags = FTRACE_OPS_FL_PERMANENT | FTRACE_OPS_FL_RECURSION,
};

/*
 * KVM_SET_LAPIC: the VMM rewrites a vCPU's local APIC.  QEMU does it for
 * every vCPU at system_reset (kvm_apic_reset()), which KVM otherwise
 * sees nothing of: the boot CPU gets no INIT.  The vCPU is not running
 * (the ioctl holds its mutex).  Preemption is off, as above.
 */
#define PVX_APIC_SET_FUNC "kvm_apic_set_state"

static void notrace pvx_apic_set_handler(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *ops,
					 struct ftrace_regs *fregs)
{
	pvx_vcpu_apic_reset((struct kvm_vcpu *)pvx_ftrace_arg(fregs, 0));
}

static struct ftrace_ops pvx_apic_set_ops = {
	.func = pvx_apic_set_handler,
	.flags = FTRACE_OPS_FL_PERMANENT | FTRACE_OPS_FL_RECURSION,
};

/*
 * KVM_GET_LAPIC: the VMM reads a vCPU's local APIC, the vCPU stopped (the
 * ioctl holds its mutex).  QEMU does it for every vCPU when it saves the
 * VM (a live migration's switch-over, a snapshot), after the VM stopped
 * and before the state goes out.  Observed at entry, before KVM copies the
 * registers: an interrupt pvx injects here is in the copy.  Preemption is
 * off, as above.
 */
#define PVX_APIC_GET_FUNC "kvm_apic_get_state"

static void notrace pvx_apic_get_handler(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *ops,
					 struct ftrace_regs *fregs)
{
	pvx_vcpu_apic_save((struct kvm_vcpu *)pvx_ftrace_arg(fregs, 0));
}

static struct ftrace_ops pvx_apic_get_ops = {
	.func = pvx_apic_get_handler,
	.flags = FTRACE_OPS_FL_PERMANENT | FTRACE_OPS_FL_RECURSION,
};

static int pvx_observe(struct ftrace_ops *ops, const char *func)
{
	int ret;

	ret = ftrace_set_filter(ops, (unsigned char *)func, strlen(func), 1);
	if (ret) {
		pr_err("cannot trace %s: %d\n", func, ret);
		return ret;
	}
	ret = register_ftrace_function(ops);
	if (ret) {
		pr_err("cannot hook %s: %d\n", func, ret);
		ftrace_free_filter(ops);
	}
	return ret;
}

static void pvx_unobserve(struct ftrace_ops *ops)
{
	WARN_ON_ONCE(unregister_ftrace_function(ops));
	ftrace_free_filter(ops);
}

/*
 * What this kernel's KVM leaves pvx no supported way to do.  7.3: an
 * interrupt into the guest (timers, split-phase completions, the
 * balloon's requests), an MSR write, a write to KVM's in-kernel I/O bus.
 */
#if PVX_KVM_EXPORTS_LIMITED
#define PVX_COMPAT_REFUSED	(PVX_F_TIMER | PVX_F_SPLIT | PVX_F_BALLOON | \
				 PVX_F_MSR_BATCH | PVX_F_DOORBELL)
#else
#define PVX_COMPAT_REFUSED	0
#endif

u64 pvx_compat_refused_features(void)
{
	return PVX_COMPAT_REFUSED;
}

/*
 * The VM-lifetime hook goes in before any VM can be attached and comes out
 * after every VM state is gone, so that no attached VM (and no timer
 * pointing into one) can outlive its struct kvm unseen.
 */
int pvx_compat_lifetime_hook_install(void)
{
	int ret;

	if (PVX_COMPAT_REFUSED)
		pr_info("timer, split-phase, balloon, msr_batch and doorbell refused: this kernel's KVM exports what they need only to kvm-amd and kvm-intel\n");
	ret = pvx_observe(&pvx_destroy_ops, PVX_DESTROY_FUNC);
	if (ret)
		return ret;
	ret = pvx_observe(&pvx_apic_set_ops, PVX_APIC_SET_FUNC);
	if (ret)
		goto err_apic;
	ret = pvx_observe(&pvx_apic_get_ops, PVX_APIC_GET_FUNC);
	if (ret)
		goto err_apic_get;
	ret = pvx_observe(&pvx_memslot_ops, PVX_MEMSLOT_FUNC);
	if (ret)
		goto err_memslot;
	return 0;

err_memslot:
	pvx_unobserve(&pvx_apic_get_ops);
err_apic_get:
	pvx_unobserve(&pvx_apic_set_ops);
err_apic:
	pvx_unobserve(&pvx_destroy_ops);
	return ret;
}

void pvx_compat_lifetime_hook_remove(void)
{
	pvx_unobserve(&pvx_memslot_ops);
	pvx_unobserve(&pvx_apic_get_ops);
	pvx_unobserve(&pvx_apic_set_ops);
	pvx_unobserve(&pvx_destroy_ops);
}

int pvx_compat_hypercall_hook_install(void)
{
	return pvx_hook_one(&pvx_hypercall_hook);
}

void pvx_compat_hypercall_hook_remove(void)
{
	pvx_unhook_one(&pvx_hypercall_hook);
}

#if PVX_KVM_EXPORTS_LIMITED
/*
 * file_is_kvm() is KVM's own on 7.3.  A VM fd is the anonymous inode
 * file KVM_CREATE_VM names "kvm-vm", whose file operations kvm_init()
 * gives to the vendor module that registered KVM: only kvm-amd or
 * kvm-intel can make one (their vCPU, device and stats fds have other
 * names; guest_memfd has an inode of its own).
 */
static bool pvx_file_is_kvm_vm(struct file *file)
{
	const struct module *owner = file->f_op->owner;

	if (file_inode(file)->i_sb->s_magic != ANON_INODE_FS_MAGIC ||
	    strcmp(file->f_path.dentry->d_name.name, "kvm-vm"))
		return false;
	return owner && (!strcmp(owner->name, "kvm_amd") ||
			 !strcmp(owner->name, "kvm_intel"));
}

struct kvm *pvx_compat_kvm_from_file(struct file *file)
{
	return pvx_file_is_kvm_vm(file) ? file->private_data : NULL;
}
#else
struct kvm *pvx_compat_kvm_from_file(struct file *file)
{
	return file_is_kvm(file) ? file->private_data : NULL;
}
#endif

struct kvm *pvx_compat_vcpu_kvm(struct kvm_vcpu *vcpu)
{
	return vcpu->kvm;
}

unsigned int pvx_compat_vcpu_id(struct kvm_vcpu *vcpu)
{
	return vcpu->vcpu_id;
}

void pvx_compat_kvm_stats_id(struct kvm *kvm, char *buf, size_t len)
{
	strscpy(buf, kvm->stats_id, len);
}

/* A vCPU of the same VM as @vcpu, by the id its VMM gave it. */
struct kvm_vcpu *pvx_compat_vcpu_by_id(struct kvm_vcpu *vcpu, int id)
{
	return kvm_get_vcpu_by_id(vcpu->kvm, id);
}

/* Set by KVM's sched-out notifier when a runnable vCPU loses its CPU. */
bool pvx_compat_vcpu_preempted(struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->preempted);
}

#if PVX_KVM_EXPORTS_LIMITED
/*
 * kvm_vcpu_yield_to() is KVM's own on 7.3; the scheduler's yield_to()
 * is open.  The vCPU's task is the one KVM_RUN last ran on, under
 * ->pid_lock, which KVM's vCPU ioctl takes for writing when it changes:
 * a contended lock means no yield, as in KVM.
 */
int pvx_compat_yield_to(struct kvm_vcpu *target)
{
	struct task_struct *task = NULL;
	int ret;

	if (!read_trylock(&target->pid_lock))
		return 0;
	if (target->pid)
		task = get_pid_task(target->pid, PIDTYPE_PID);
	read_unlock(&target->pid_lock);
	if (!task)
		return 0;
	ret = yield_to(task, 1);
	put_task_struct(task);
	return ret;
}
#else
int pvx_compat_yield_to(struct kvm_vcpu *target)
{
	return kvm_vcpu_yield_to(target);
}
#endif

int pvx_compat_vcpu_idx(struct kvm_vcpu *vcpu)
{
	return vcpu->vcpu_idx;
}

/* The vCPU a reset starts the guest on (kvm_vcpu_is_reset_bsp()). */
bool pvx_compat_vcpu_is_reset_bsp(struct kvm_vcpu *vcpu)
{
	return vcpu->kvm->arch.bsp_vcpu_id == vcpu->vcpu_id;
}

bool pvx_compat_has_lapic(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.apic;
}

#if PVX_KVM_EXPORTS_LIMITED
/*
 * 7.3 leaves no way into the local APIC open (kvm_apic_send_ipi(),
 * kvm_set_msi() and kvm_vcpu_kick() are KVM's own): the services that
 * interrupt the guest are refused (pvx_compat_refused_features()), and the
 * event that detach raises and PVX_HC_SET_VECTOR's vector are not sent.
 */
void pvx_compat_inject_vector(struct kvm_vcpu *vcpu, u8 vector)
{
	pr_info_once("no interrupt sent to the guest: this kernel exports no way into the local APIC\n");
}

/* kvm_read_l1_tsc() is KVM's own on 7.3; the timer is refused there. */
int pvx_compat_tsc_deadline(struct kvm_vcpu *vcpu, u64 tsc, ktime_t *expires)
{
	return -EOPNOTSUPP;
}
#else
/*
 * Exported by kvm.ko but declared in arch/x86/kvm/lapic.h, which is not
 * part of the installed headers.
 */
void kvm_apic_send_ipi(struct kvm_lapic *apic, u32 icr_low, u32 icr_high);

/*
 * A fixed, edge-triggered interrupt that the vCPU sends itself, exactly as
 * a guest write of x2APIC's SELF_IPI register: KVM sets IRR (or posts it)
 * and kicks or wakes the vCPU.  Safe from hard interrupt context, like
 * KVM's irqfd injection.
 */
void pvx_compat_inject_vector(struct kvm_vcpu *vcpu, u8 vector)
{
	kvm_apic_send_ipi(vcpu->arch.apic,
			  APIC_DEST_SELF | APIC_INT_ASSERT | APIC_DM_FIXED |
			  vector, 0);
}

/* Further ahead than this is "never": a year. */
#define PVX_TSC_DEADLINE_MAX_MS	(365ULL * 24 * 3600 * MSEC_PER_SEC)

/*
 * The host time at which the vCPU's TSC reads @tsc, as KVM's LAPIC
 * converts IA32_TSC_DEADLINE (start_sw_tscdeadline()): the guest's TSC
 * now, the rest at the vCPU's TSC frequency, rounded up so that the
 * expiry is never early.  Both clocks are read with interrupts off, so
 * that nothing runs between them.  A deadline passed is now.  The TSC
 * counts up from 0 at the vCPU's creation and does not wrap in practice.
 */
int pvx_compat_tsc_deadline(struct kvm_vcpu *vcpu, u64 tsc, ktime_t *expires)
{
	u32 khz = vcpu->arch.virtual_tsc_khz;
	unsigned long flags;
	u64 guest_tsc, ns;
	ktime_t now;

	if (!khz)
		return -EOPNOTSUPP;
	local_irq_save(flags);
	now = ktime_get();
	guest_tsc = kvm_read_l1_tsc(vcpu, rdtsc());
	local_irq_restore(flags);

	/* Unsigned, as KVM's: the end of time is not the past. */
	if (tsc <= guest_tsc) {
		*expires = now;
		return 0;
	}
	/*
	 * khz ticks a millisecond: the bound is a quotient, so that no
	 * product can overflow, whatever frequency the VMM set
	 * (KVM_SET_TSC_KHZ) and whatever deadline the guest asked; below
	 * it the nanoseconds fit with room to spare.
	 */
	if (div_u64(tsc - guest_tsc, khz) >= PVX_TSC_DEADLINE_MAX_MS) {
		*expires = KTIME_MAX;
		return 0;
	}
	ns = mul_u64_u32_div(tsc - guest_tsc, NSEC_PER_MSEC, khz) + 1;
	*expires = ktime_add_ns(now, ns);
	return 0;
}
#endif

#if PVX_KVM_HOOK_OUTER
/*
 * 6.1 exports no filtered MSR write (kvm_set_msr_with_filter() came with
 * 6.3), but it exports the filter check that KVM's own WRMSR exit and
 * the vendor modules' MSR bitmaps use; only KVM's private x86.h declares
 * it, so the declaration is here, as 6.1's x86.c defines it (the series
 * is a stable branch).  Refusing every write of a VM with a filter would
 * refuse MSR_BATCH to every QEMU guest: QEMU installs one wherever the
 * kernel has them (MSR_CORE_THREAD_COUNT reads go to QEMU).
 */
bool kvm_msr_allowed(struct kvm_vcpu *vcpu, u32 index, u32 type);

long pvx_compat_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 value)
{
	if (!kvm_msr_allowed(vcpu, index, KVM_MSR_FILTER_WRITE))
		return -EPERM;
	return kvm_set_msr(vcpu, index, value) ? -EINVAL : 0;
}
#elif PVX_KVM_EXPORTS_LIMITED
/* No MSR write is exported on 7.3: PVX_F_MSR_BATCH is refused. */
long pvx_compat_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 value)
{
	return -EPERM;
}
#else
/* arch/x86/kvm/x86.h, private to KVM. */
#define PVX_KVM_MSR_RET_FILTERED	3

/* A guest WRMSR, with the VMM's MSR filter applied as for the real one. */
long pvx_compat_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 value)
{
	int ret = kvm_set_msr_with_filter(vcpu, index, value);

	if (!ret)
		return 0;
	return ret == PVX_KVM_MSR_RET_FILTERED ? -EPERM : -EINVAL;
}
#endif

#if PVX_KVM_HOOK_OUTER && defined(CONFIG_KVM_EXTERNAL_WRITE_TRACKING)
/*
 * 6.1 has write tracking on for every VM when external tracking is built
 * in (Debian's is) and no flag saying whether anyone uses it.  Besides
 * the shadow MMU (checked by the caller) only a tracker that registered
 * a notifier can write-protect a gfn, and KVM's own node (mmu_sp_tracker)
 * is always on the list: any other node is an external tracker.
 */
static bool pvx_vm_has_write_tracker(struct kvm *kvm)
{
	struct kvm_page_track_notifier_head *head =
		&kvm->arch.track_notifier_head;
	struct kvm_page_track_notifier_node *n;
	bool other = false;
	int idx;

	idx = srcu_read_lock(&head->track_srcu);
	hlist_for_each_entry_srcu(n, &head->track_notifier_list, node,
				  srcu_read_lock_held(&head->track_srcu))
		other |= n != &kvm->arch.mmu_sp_tracker;
	srcu_read_unlock(&head->track_srcu, idx);
	return other;
}
#endif

/*
 * Whether kvm_mmu_page_fault() on a guest-physical address can only map
 * it, never emulate the instruction at the guest's RIP.  That holds for
 * a direct (TDP) MMU outside guest mode, in a VM that has no shadow MMU
 * roots and no external write tracking: then no gfn is write-protected,
 * and the caller only passes gfns of plain writable memslots.
 */
static bool __maybe_unused pvx_stage2_map_is_safe(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;

#ifdef KVM_X86_DEFAULT_VM
	if (kvm->arch.vm_type != KVM_X86_DEFAULT_VM)
		return false;
#endif
	if (vcpu->arch.hflags & HF_GUEST_MASK)
		return false;
	if (vcpu->arch.mmu != &vcpu->arch.root_mmu ||
	    !vcpu->arch.mmu->root_role.direct)
		return false;
	if (READ_ONCE(kvm->arch.shadow_root_allocated))
		return false;
#ifdef CONFIG_KVM_EXTERNAL_WRITE_TRACKING
#if PVX_KVM_HOOK_OUTER
	if (pvx_vm_has_write_tracker(kvm))
		return false;
#else
	/* Pairs with KVM's smp_store_release() when a tracker registers. */
	if (smp_load_acquire(&kvm->arch.external_write_tracking_enabled))
		return false;
#endif
#endif
	return true;
}

/* guest_memfd, 6.8: pages the VMM's mm does not map. */
#ifdef KVM_MEM_GUEST_MEMFD
#define PVX_MEM_GUEST_MEMFD	KVM_MEM_GUEST_MEMFD
#else
#define PVX_MEM_GUEST_MEMFD	0
#endif

/* KVM's private slots (APIC access page, TSS) are not guest RAM. */
static bool pvx_slot_is_vmm_ram(const struct kvm_memory_slot *slot)
{
	return !(slot->flags & KVM_MEMSLOT_INVALID) &&
	       slot->id < KVM_USER_MEM_SLOTS;
}

/*
 * The memslot of a plain RAM page of the VMM's, ERR_PTR(-EFAULT) when
 * the gfn is not in such a memslot, ERR_PTR(-EPERM) when it is in one
 * the guest may not write.  Under kvm->srcu.  Address space 0:
 * kvm_vcpu_gfn_to_memslot() is not exported.
 */
static struct kvm_memory_slot *pvx_ram_slot(struct kvm *kvm, u64 gfn,
					    bool write)
{
	struct kvm_memory_slot *slot;

	if (gfn >= BIT_ULL(52 - PAGE_SHIFT))
		return ERR_PTR(-EFAULT);
	/* gfn_to_memslot()'s own lookup, inline (7.3 keeps it to KVM). */
	slot = __gfn_to_memslot(kvm_memslots(kvm), gfn);
	if (!slot || !pvx_slot_is_vmm_ram(slot))
		return ERR_PTR(-EFAULT);
	if (slot->flags & PVX_MEM_GUEST_MEMFD ||
	    (write && slot->flags & KVM_MEM_READONLY))
		return ERR_PTR(-EPERM);
	return slot;
}

/* The pages pvx could balloon: writable guest RAM, address space 0. */
u64 pvx_compat_ram_pages(struct kvm *kvm)
{
	struct kvm_memory_slot *slot;
	u64 pages = 0;
	int idx, bkt;

	idx = srcu_read_lock(&kvm->srcu);
	kvm_for_each_memslot(slot, bkt, kvm_memslots(kvm))
		if (pvx_slot_is_vmm_ram(slot) &&
		    !(slot->flags & (PVX_MEM_GUEST_MEMFD | KVM_MEM_READONLY)))
			pages += slot->npages;
	srcu_read_unlock(&kvm->srcu, idx);
	return pages;
}

/* The VMM's address of @gfn, or pvx_ram_slot()'s error (IS_ERR_VALUE). */
static unsigned long pvx_gfn_to_hva(struct kvm *kvm, u64 gfn, bool write)
{
	struct kvm_memory_slot *slot = pvx_ram_slot(kvm, gfn, write);

	if (IS_ERR(slot))
		return (unsigned long)PTR_ERR(slot);
	return __gfn_to_hva_memslot(slot, gfn);
}

/*
 * Makes the VMM's page behind @gfn present (and private and writable when
 * @write), without touching stage 2 or the data.  Under kvm->srcu, in the
 * VMM's mm.
 */
long pvx_compat_fault_in(struct kvm *kvm, u64 gfn, bool write)
{
	unsigned long hva = pvx_gfn_to_hva(kvm, gfn, write);
	int ret;

	if (IS_ERR_VALUE(hva))
		return (long)hva;

	mmap_read_lock(kvm->mm);
	ret = fixup_user_fault(kvm->mm, hva, write ? FAULT_FLAG_WRITE : 0,
			       NULL);
	mmap_read_unlock(kvm->mm);
	return ret ? -EFAULT : 0;
}

/*
 * One page: present and writable in the VMM's memory first (the fault
 * breaks any copy-on-write sharing), then, from a vCPU and where safe, in
 * stage 2.  Returns 0, or -EFAULT / -EPERM for a gfn that is not
 * plain RAM.
 */
long pvx_compat_prefault_write(struct kvm *kvm, struct kvm_vcpu *vcpu,
			       u64 gfn)
{
	long ret;

	ret = pvx_compat_fault_in(kvm, gfn, true);
	if (ret)
		return ret;

	/*
	 * Best effort: if it cannot be mapped now, the guest faults later.
	 * 7.3 keeps kvm_mmu_page_fault() to KVM: stage 2 is left to the
	 * guest's own fault, which also logs the page.
	 */
#if !PVX_KVM_EXPORTS_LIMITED
	if (vcpu && pvx_stage2_map_is_safe(vcpu))
		kvm_mmu_page_fault(vcpu, gfn_to_gpa(gfn), PFERR_WRITE_MASK,
				   NULL, 0);
#endif
	return 0;
}

#if PVX_KVM_EXPORTS_LIMITED
/*
 * KVM's guest accessors and its dirty marking are KVM's own on 7.3.  In a
 * vCPU's exit the task is a thread of the VMM, so the VMM's address of a
 * guest page (the inline memslot lookup, in the vCPU's address space, SMM
 * included) is what KVM's accessors copy from and to, and what they mark
 * is the memslot's dirty bitmap.  A dirty ring can be pushed to only by
 * KVM: a write into a logged memslot of a VM with a ring is refused, before
 * anything is written.  Under kvm->srcu, so a memslot that starts logging
 * after the check is published only once the write is done and marked.
 */
static bool pvx_write_unloggable(struct kvm *kvm,
				 const struct kvm_memory_slot *slot)
{
	if (!kvm->dirty_ring_size || !kvm_slot_dirty_track_enabled(slot))
		return false;
	pr_info_once("guest writes refused while a VM logs into a dirty ring: this kernel exports no dirty marking\n");
	return true;
}

static void pvx_slot_mark_dirty(const struct kvm_memory_slot *slot, u64 gfn)
{
	if (kvm_slot_dirty_track_enabled(slot) && slot->dirty_bitmap)
		set_bit_le(gfn - slot->base_gfn, slot->dirty_bitmap);
}

static int pvx_vcpu_access(struct kvm_vcpu *vcpu, u64 gpa, void *buf,
			   size_t len, bool write)
{
	struct kvm_memslots *slots = kvm_vcpu_memslots(vcpu);

	while (len) {
		u64 gfn = gpa >> PAGE_SHIFT;
		size_t off = offset_in_page(gpa);
		size_t seg = min_t(size_t, len, PAGE_SIZE - off);
		struct kvm_memory_slot *slot = __gfn_to_memslot(slots, gfn);
		void __user *hva;

		if (!slot || slot->flags & KVM_MEMSLOT_INVALID ||
		    (write && (slot->flags & KVM_MEM_READONLY ||
			       pvx_write_unloggable(vcpu->kvm, slot))))
			return -EFAULT;
		hva = (void __user *)__gfn_to_hva_memslot(slot, gfn) + off;
		if (write) {
			if (copy_to_user(hva, buf, seg))
				return -EFAULT;
			pvx_slot_mark_dirty(slot, gfn);
		} else if (copy_from_user(buf, hva, seg)) {
			return -EFAULT;
		}
		gpa += seg;
		buf += seg;
		len -= seg;
	}
	return 0;
}

#define pvx_vcpu_read_page(vcpu, gfn, buf) \
	pvx_vcpu_access(vcpu, gfn_to_gpa(gfn), buf, PAGE_SIZE, false)
#define pvx_vcpu_write_page(vcpu, gfn, buf) \
	pvx_vcpu_access(vcpu, gfn_to_gpa(gfn), buf, PAGE_SIZE, true)
#else
#define pvx_vcpu_read_page(vcpu, gfn, buf) \
	kvm_vcpu_read_guest_page(vcpu, gfn, buf, 0, PAGE_SIZE)
#define pvx_vcpu_write_page(vcpu, gfn, buf) \
	kvm_vcpu_write_guest_page(vcpu, gfn, buf, 0, PAGE_SIZE)
#endif

/*
 * One guest page to another, through a host page, from the calling vCPU:
 * KVM marks the destination dirty as for a guest write.  Never from a
 * worker: KVM allows dirty marking only from a running vCPU, and data the
 * guest can read before the log has it is lost to a migration.
 */
long pvx_compat_copy_page(struct kvm *kvm, struct kvm_vcpu *vcpu,
			  u64 src_gfn, u64 dst_gfn, void *bounce)
{
	unsigned long src, dst;

	/* The checks only: KVM's accessors below use the same slots. */
	src = pvx_gfn_to_hva(kvm, src_gfn, false);
	if (IS_ERR_VALUE(src))
		return (long)src;
	dst = pvx_gfn_to_hva(kvm, dst_gfn, true);
	if (IS_ERR_VALUE(dst))
		return (long)dst == -EPERM ? -EFAULT : (long)dst;

	if (pvx_vcpu_read_page(vcpu, src_gfn, bounce) ||
	    pvx_vcpu_write_page(vcpu, dst_gfn, bounce))
		return -EFAULT;
	return 0;
}

/*
 * Pins the VMM's page behind @gfn, for a DMA engine to read (or write:
 * the page is made present and writable first, breaking copy-on-write).
 * In the VMM's mm (a vCPU thread, or a worker using it), under
 * kvm->srcu.  Same errors as pvx_compat_copy_page() for that side.
 */
long pvx_compat_pin_guest_page(struct kvm *kvm, u64 gfn, bool write,
			       struct page **page)
{
	unsigned long hva = pvx_gfn_to_hva(kvm, gfn, write);

	if (IS_ERR_VALUE(hva))
		return write && (long)hva == -EPERM ? -EFAULT :
							  (long)hva;
	if (pin_user_pages_fast(hva, 1, write ? FOLL_WRITE : 0, page) != 1)
		return -EFAULT;
	return 0;
}

/*
 * The VMM's address of a run of guest RAM that lies in one plain memslot
 * of the VMM's (not one of KVM's private slots, such as the APIC access
 * page), for handing to another kernel interface that pins it (VFIO).
 * Returns 0, -EFAULT (not all in one such memslot) or -EPERM
 * (guest_memfd, or a read-only slot when @write).  Under kvm->srcu.
 */
long pvx_compat_gfn_range_to_hva(struct kvm *kvm, u64 gfn, u64 npages,
				 bool write, unsigned long *hva)
{
	struct kvm_memory_slot *slot;

	if (!npages || gfn + npages <= gfn)
		return -EINVAL;
	slot = pvx_ram_slot(kvm, gfn, write);
	if (IS_ERR(slot))
		return PTR_ERR(slot);
	if (gfn + npages > slot->base_gfn + slot->npages)
		return -EFAULT;
	*hva = __gfn_to_hva_memslot(slot, gfn);
	return 0;
}

#if PVX_KVM_EXPORTS_LIMITED
/* A page already written: a ring VM's logged writes were refused. */
void pvx_compat_mark_dirty(struct kvm_vcpu *vcpu, u64 gfn)
{
	struct kvm_memory_slot *slot;

	slot = __gfn_to_memslot(kvm_vcpu_memslots(vcpu), gfn);
	if (slot && !vcpu->kvm->dirty_ring_size)
		pvx_slot_mark_dirty(slot, gfn);
}
#else
void pvx_compat_mark_dirty(struct kvm_vcpu *vcpu, u64 gfn)
{
	kvm_vcpu_mark_page_dirty(vcpu, gfn);
}
#endif

/*
 * How many more gfns @vcpu may mark dirty in this exit: U32_MAX when the
 * VM logs into bitmaps (no limit), else what its dirty ring takes below
 * the soft limit.  KVM pushes one ring entry per mark (it does not merge
 * repeats) and WARNs when the ring is full: nothing stops a push there,
 * it overwrites an entry the VMM has not harvested.  KVM keeps the
 * entries above the soft limit for its own writes between the push that
 * reaches the limit and the exit to the VMM.  The VMM resets from
 * another thread, which only makes the answer an underestimate.
 */
u32 pvx_compat_dirty_room(struct kvm_vcpu *vcpu)
{
	struct kvm_dirty_ring *ring = &vcpu->dirty_ring;
	u32 used;

	if (!vcpu->kvm->dirty_ring_size)
		return U32_MAX;
	used = READ_ONCE(ring->dirty_index) - READ_ONCE(ring->reset_index);
	return used < ring->soft_limit ? ring->soft_limit - used : 0;
}

/*
 * A guest write to MMIO or a port, delivered only to KVM's in-kernel bus
 * devices (ioeventfds, the in-kernel IOAPIC or PIT...), exactly as KVM
 * delivers the guest's own write before it would exit to the VMM.
 * False: no in-kernel device listens there.
 */
bool pvx_compat_io_bus_write(struct kvm_vcpu *vcpu, bool pio, u64 addr,
			     int len, const void *val)
{
#if PVX_KVM_EXPORTS_LIMITED
	/* KVM's own on 7.3: PVX_F_DOORBELL is refused. */
	return false;
#else
	return !kvm_io_bus_write(vcpu, pio ? KVM_PIO_BUS : KVM_MMIO_BUS, addr,
				 len, val);
#endif
}

struct kvm *pvx_compat_kvm_get(struct kvm_vcpu *vcpu)
{
	kvm_get_kvm(vcpu->kvm);
	return vcpu->kvm;
}

/* Fails once KVM has started destroying the VM.  Any context. */
bool pvx_compat_kvm_get_safe(struct kvm *kvm)
{
	return kvm_get_kvm_safe(kvm);
}

void pvx_compat_kvm_put(struct kvm *kvm)
{
	kvm_put_kvm(kvm);
}

/* For a reference known not to be the last: any context. */
void pvx_compat_kvm_put_no_destroy(struct kvm *kvm)
{
#if PVX_KVM_EXPORTS_LIMITED
	/* Not the last reference: kvm_put_kvm() (open) only drops it. */
	kvm_put_kvm(kvm);
#else
	kvm_put_kvm_no_destroy(kvm);
#endif
}

/*
 * No vCPU of the VM enters the guest again (KVM_RUN and the VM's other
 * ioctls fail with -EIO from now on), as KVM does itself when it can no
 * longer vouch for the VM's state.  The VMM's memory stays readable.
 */
void pvx_compat_vm_dead(struct kvm *kvm)
{
#if PVX_KVM_EXPORTS_LIMITED
	struct kvm_vcpu *vcpu;
	unsigned long i;

	/*
	 * kvm_make_all_cpus_request() is KVM's own on 7.3, and no kick is
	 * open: each vCPU sees the request at its next entry, and the
	 * VM's ioctls fail from now on.
	 */
	WRITE_ONCE(kvm->vm_dead, true);
	kvm_for_each_vcpu(i, vcpu, kvm)
		kvm_make_request(KVM_REQ_VM_DEAD, vcpu);
#else
	kvm_vm_dead(kvm);
#endif
}

struct mm_struct *pvx_compat_kvm_mm(struct kvm *kvm)
{
	return kvm->mm;
}

int pvx_compat_kvm_srcu_lock(struct kvm *kvm)
{
	return srcu_read_lock(&kvm->srcu);
}

void pvx_compat_kvm_srcu_unlock(struct kvm *kvm, int idx)
{
	srcu_read_unlock(&kvm->srcu, idx);
}

/* Callers run in the vCPU's exit path, which holds kvm->srcu. */
#if PVX_KVM_EXPORTS_LIMITED
int pvx_guest_read(struct pvx_call *call, u64 gpa, void *buf, size_t len)
{
	return pvx_vcpu_access(call->vcpu, gpa, buf, len, false);
}

int pvx_guest_write(struct pvx_call *call, u64 gpa, const void *buf,
		    size_t len)
{
	return pvx_vcpu_access(call->vcpu, gpa, (void *)buf, len, true);
}
#else
int pvx_guest_read(struct pvx_call *call, u64 gpa, void *buf, size_t len)
{
	return kvm_vcpu_read_guest(call->vcpu, gpa, buf, len);
}

int pvx_guest_write(struct pvx_call *call, u64 gpa, const void *buf,
		    size_t len)
{
	return kvm_vcpu_write_guest(call->vcpu, gpa, buf, len);
}
#endif

int pvx_guest_list_read(void *call, u64 gpa, void *buf, size_t len)
{
	return pvx_guest_read(call, gpa, buf, len);
}
