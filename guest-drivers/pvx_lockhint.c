// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_lockhint: directed yield for this kernel's own spinlocks.
 *
 * x86's pv qspinlock halts a waiter in kvm_wait() once it has spun long
 * enough; the lock word names no holder, so nobody tells the host whom
 * the waiter waits for.  This module tells the host, per CPU, where that
 * CPU's preempt count lives (every spinlock holder runs with it
 * non-zero), and makes the waiter call PVX_HC_LOCK_WAIT at the entry of
 * kvm_wait(): the host then gives the waiter's time to a preempted vCPU
 * whose count is non-zero.  A heuristic, and said so in
 * Documentation/design.rst: a waiter spinning in the slow path has a
 * non-zero count too.
 *
 * The call sites of pv_ops.lock were patched to direct calls at boot, so
 * the hook is an ftrace callback on kvm_wait() itself (an ordinary
 * function with fentry), reached by name.  It touches no lock: a waiter
 * on the pool lock of a workqueue must not need that lock to say so.
 */
#define pr_fmt(fmt) "pvx_lockhint: " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/ftrace.h>
#include <linux/kallsyms.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/version.h>
#include <asm/current.h>
#include <asm/kvm_para.h>
#include <asm/paravirt.h>
#include <pvx_kcompat.h>
#include "pvx_guest.h"
#include "pvx_version.h"

static bool enable = true;
module_param(enable, bool, 0644);
MODULE_PARM_DESC(enable, "Tell the host of each lock wait (0: stock pv qspinlock)");

struct pvx_lh_cpu {
	u64 waits;		/* PVX_HC_LOCK_WAIT calls */
	u64 boosted;		/* ... that boosted another vCPU */
	long registered;	/* LOCKHINT_SET's last result */
};

static DEFINE_PER_CPU(struct pvx_lh_cpu, pvx_lh_cpu);
static enum cpuhp_state pvx_lh_cpuhp;
static bool pvx_lh_hooked;
/*
 * Whether the host serves lock hints now.  Without it a wait would cost
 * an exit that answers -PVX_ENOSYS (detach, host unload): stock pv
 * qspinlock's own cost, and no more, until the service is back.
 */
static bool pvx_lh_served = true;

static void pvx_lh_wait(unsigned long ip, unsigned long parent_ip,
			struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	u8 *ptr = (u8 *)pvx_ftrace_arg(fregs, 0);
	u8 val = pvx_ftrace_arg(fregs, 1);
	long ret;

	/* kvm_wait() returns at once in NMI; and the lock may be free now. */
	if (!READ_ONCE(enable) || !READ_ONCE(pvx_lh_served) || in_nmi() ||
	    READ_ONCE(*ptr) != val)
		return;
	ret = kvm_hypercall4(PVX_HC_LOCK_WAIT, 0, 0, 0, 0);
	/* Withdrawn under us: stop asking until pvx_guest says it is back. */
	if (ret == -PVX_ENOSYS || ret == -PVX_EOPNOTSUPP) {
		WRITE_ONCE(pvx_lh_served, false);
		pvx_service_check();
		return;
	}
	this_cpu_inc(pvx_lh_cpu.waits);
	if (ret >= 0 && PVX_LOCK_WAIT_CODE(ret) == PVX_LOCK_WAIT_BOOSTED)
		this_cpu_inc(pvx_lh_cpu.boosted);
}

static struct ftrace_ops pvx_lh_ops = {
	.func = pvx_lh_wait,
	.flags = FTRACE_OPS_FL_RECURSION,
};

/*
 * This CPU's preempt count: a per-CPU __preempt_count before 6.2 and
 * again from 6.15 on, a field of pcpu_hot in between (both exported).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0) && \
	LINUX_VERSION_CODE < KERNEL_VERSION(6, 15, 0)
#define pvx_lh_count_ptr()	this_cpu_ptr(&pcpu_hot.preempt_count)
#else
#define pvx_lh_count_ptr()	this_cpu_ptr(&__preempt_count)
#endif

static void pvx_lh_set_this_cpu(void *register_it)
{
	u64 gpa = 0;

	if (register_it)
		gpa = slow_virt_to_phys(pvx_lh_count_ptr());
	this_cpu_write(pvx_lh_cpu.registered,
		       pvx_hypercall(PVX_HC_LOCKHINT_SET, gpa, 0, 0, 0));
}

static int pvx_lh_online(unsigned int cpu)
{
	pvx_lh_set_this_cpu((void *)1);
	return 0;
}

static int pvx_lh_offline(unsigned int cpu)
{
	pvx_lh_set_this_cpu(NULL);
	return 0;
}

/* A new attach forgot every registration: make them again. */
static int pvx_lh_service(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	if (action == PVX_SERVICE_DOWN) {
		WRITE_ONCE(pvx_lh_served, false);
	} else if (action == PVX_SERVICE_UP && *(u64 *)data & PVX_F_LOCKHINT) {
		cpus_read_lock();
		on_each_cpu(pvx_lh_set_this_cpu, (void *)1, 1);
		cpus_read_unlock();
		WRITE_ONCE(pvx_lh_served, true);
	}
	return NOTIFY_OK;
}

static struct notifier_block pvx_lh_service_nb = {
	.notifier_call = pvx_lh_service,
};

/*
 * Before a reboot or kexec: the next kernel keeps other things at these
 * addresses.  (A crash kernel gets no notice; it never calls
 * PVX_HC_LOCK_WAIT, and a stale count costs only a useless boost.)
 */
static void pvx_lh_unhook(void)
{
	if (pvx_lh_hooked)
		unregister_ftrace_function(&pvx_lh_ops);
	pvx_lh_hooked = false;
}

static int pvx_lh_reboot(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	pvx_lh_unhook();
	on_each_cpu(pvx_lh_set_this_cpu, NULL, 1);
	return NOTIFY_DONE;
}

static struct notifier_block pvx_lh_reboot_nb = {
	.notifier_call = pvx_lh_reboot,
};

static int pvx_lh_stats_get(char *buf, const struct kernel_param *kp)
{
	u64 waits = 0, boosted = 0;
	unsigned int refused = 0;
	int cpu;

	for_each_online_cpu(cpu) {
		waits += per_cpu(pvx_lh_cpu.waits, cpu);
		boosted += per_cpu(pvx_lh_cpu.boosted, cpu);
		refused += per_cpu(pvx_lh_cpu.registered, cpu) != 0;
	}
	return sysfs_emit(buf, "waits %llu boosted %llu unregistered_cpus %u\n",
			  waits, boosted, refused);
}

static const struct kernel_param_ops pvx_lh_stats_ops = {
	.get = pvx_lh_stats_get,
};
module_param_cb(stats, &pvx_lh_stats_ops, NULL, 0444);
MODULE_PARM_DESC(stats, "Lock waits told, boosts the host made, CPUs not registered");

static int __init pvx_lockhint_init(void)
{
	char wait_fn[KSYM_NAME_LEN];
	int ret;

	if (!(pvx_features() & PVX_F_LOCKHINT)) {
		pr_info("host does not serve lock hints\n");
		return -ENODEV;
	}
	/* Without pv spinlocks nothing halts in kvm_wait(). */
	sprint_symbol_no_offset(wait_fn, (unsigned long)pv_ops.lock.wait);
	if (strcmp(wait_fn, "kvm_wait")) {
		pr_info("pv spinlocks not in use (lock wait is %s)\n", wait_fn);
		return -ENODEV;
	}
	ret = ftrace_set_filter(&pvx_lh_ops, "kvm_wait", strlen("kvm_wait"), 1);
	if (ret)
		return ret;

	ret = pvx_register_service_notifier(&pvx_lh_service_nb);
	if (ret)
		goto err_filter;
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "pvx_lockhint:online",
				pvx_lh_online, pvx_lh_offline);
	if (ret < 0)
		goto err_service;
	pvx_lh_cpuhp = ret;
	ret = register_ftrace_function(&pvx_lh_ops);
	if (ret)
		goto err_cpuhp;
	pvx_lh_hooked = true;
	register_reboot_notifier(&pvx_lh_reboot_nb);
	pr_info("hooked kvm_wait, preempt counts registered%s\n",
		enable ? "" : " (enable=0: not telling the host)");
	return 0;

err_cpuhp:
	cpuhp_remove_state(pvx_lh_cpuhp);
err_service:
	pvx_unregister_service_notifier(&pvx_lh_service_nb);
err_filter:
	ftrace_free_filter(&pvx_lh_ops);
	return ret;
}

static void __exit pvx_lockhint_exit(void)
{
	unregister_reboot_notifier(&pvx_lh_reboot_nb);
	pvx_lh_unhook();
	cpuhp_remove_state(pvx_lh_cpuhp);
	pvx_unregister_service_notifier(&pvx_lh_service_nb);
	ftrace_free_filter(&pvx_lh_ops);
}

module_init(pvx_lockhint_init);
module_exit(pvx_lockhint_exit);

MODULE_DESCRIPTION("pvx: directed yield for the kernel's own spinlocks");
MODULE_LICENSE("GPL");
MODULE_VERSION(PVX_VERSION);
