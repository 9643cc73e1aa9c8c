// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_clock: a clock event device whose next event is one hypercall.
 *
 * Programming the LAPIC timer from a guest costs an exit for each register
 * write and the host's emulation of it.  Here set_next_event() is a single
 * PVX_HC_TIMER_SET; the host's hrtimer sends pvx_guest's notification
 * vector on expiry.  Time itself still comes from kvmclock.
 *
 * The device is per CPU, registered as each CPU comes online and rated
 * above the LAPIC timer so the kernel switches to it; a CPU going offline
 * hands its tick back first.  Switching back at runtime: echo 0 >
 * /sys/module/pvx_clock/parameters/active hands every CPU's tick to the
 * next best device, echo 1 takes them again.  (The clockevents sysfs file
 * unbind_device finds a device by name, and every CPU's is "pvx": it can
 * only reach the first one registered.)  The module cannot be unloaded: a
 * clock event device cannot be taken from under the tick safely.  Before
 * a reboot or kexec every CPU goes back to another device, ahead of
 * pvx_guest turning the notifications off; across a suspend too, and the
 * tick comes back after the resume.
 *
 * When the host stops serving (detach, pvx_host unloaded, a host without
 * the timer), TIMER_SET fails.  set_next_event() runs with interrupts off,
 * often under timer or runqueue locks, and cannot hand the tick over
 * itself; it answers "programmed" and asks, through an irq_work, for a
 * work item that unbinds the device.  Unbinding installs the next best
 * device (the LAPIC timer) with the same pending expiry, so none is lost;
 * until then the CPU runs without a tick for the few microseconds the
 * hand-over takes.  The host fires every armed timer as it stops serving,
 * so no CPU sleeps through that.  When pvx_guest sees the service come
 * back, every CPU's tick comes back to pvx.
 */
#define pr_fmt(fmt) "pvx_clock: " fmt

#include <linux/clockchips.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/irq_work.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/reboot.h>
#include <linux/suspend.h>
#include <linux/workqueue.h>
#include <uapi/linux/pvx_para.h>
#include "pvx_guest.h"
#include "pvx_version.h"

static int rating = 350;
module_param(rating, int, 0444);
MODULE_PARM_DESC(rating, "Clock event rating (LAPIC timer: 100-150)");

static DEFINE_PER_CPU(struct clock_event_device, pvx_ced);
/* TIMER_SET failed on this CPU: its tick must move. */
static DEFINE_PER_CPU(bool, pvx_ced_failed);
static long pvx_ced_last_error;

static void pvx_clock_fallback_fn(struct work_struct *work);
static DECLARE_WORK(pvx_clock_fallback_work, pvx_clock_fallback_fn);

static void pvx_clock_fallback_kick(struct irq_work *w)
{
	queue_work(system_highpri_wq, &pvx_clock_fallback_work);
}

static struct irq_work pvx_clock_irq_work =
	IRQ_WORK_INIT_HARD(pvx_clock_fallback_kick);

static int pvx_ced_next_event(unsigned long delta_ns,
			      struct clock_event_device *ced)
{
	long ret = pvx_timer_arm(delta_ns);

	if (likely(!ret))
		return 0;
	/*
	 * Not -ETIME: clockevents would retry or give up, and the tick
	 * would stop.  The expiry is kept in ced->next_event, which the
	 * device taking over is programmed with.
	 */
	WRITE_ONCE(pvx_ced_last_error, ret);
	this_cpu_write(pvx_ced_failed, true);
	irq_work_queue(&pvx_clock_irq_work);
	pvx_service_check();
	return 0;
}

static int pvx_ced_shutdown(struct clock_event_device *ced)
{
	pvx_timer_cancel();
	return 0;
}

/*
 * Every notification runs the event handler: the hrtimer code takes an
 * early call in its stride, whereas a filter on guest time could drop a
 * real expiry and stop the tick.
 */
static int pvx_clock_notify(struct notifier_block *nb, unsigned long action,
			    void *unused)
{
	struct clock_event_device *ced = this_cpu_ptr(&pvx_ced);

	if (clockevent_state_oneshot(ced) && ced->event_handler)
		ced->event_handler(ced);
	return NOTIFY_OK;
}

static struct notifier_block pvx_clock_nb = {
	.notifier_call = pvx_clock_notify,
};

static bool active = true;
static bool pvx_clock_ready;	/* cpuhp state set up: @active applies */
/* Serializes binding and unbinding; taken inside cpus_read_lock(). */
static DEFINE_MUTEX(pvx_clock_lock);

static bool pvx_clock_asleep;	/* between a suspend's start and its end */

static bool pvx_clock_wanted(void)
{
	return READ_ONCE(active) && !READ_ONCE(pvx_clock_asleep) &&
	       (pvx_features() & PVX_F_TIMER);
}

static int pvx_clock_cpu_online(unsigned int cpu)
{
	struct clock_event_device *ced = per_cpu_ptr(&pvx_ced, cpu);

	memset(ced, 0, sizeof(*ced));
	/* Off every list until registered (see pvx_clock_bind()). */
	INIT_LIST_HEAD(&ced->list);
	per_cpu(pvx_ced_failed, cpu) = false;
	if (!pvx_clock_wanted())
		return 0;
	ced->name = "pvx";
	ced->features = CLOCK_EVT_FEAT_ONESHOT;
	ced->rating = rating;
	ced->cpumask = cpumask_of(cpu);
	ced->set_next_event = pvx_ced_next_event;
	ced->set_state_shutdown = pvx_ced_shutdown;
	ced->set_state_oneshot_stopped = pvx_ced_shutdown;
	ced->tick_resume = pvx_ced_shutdown;
	ced->owner = THIS_MODULE;
	/* 1 GHz: a tick is a nanosecond.  At least 1 us, at most ~18 min. */
	clockevents_config_and_register(ced, NSEC_PER_SEC, NSEC_PER_USEC,
					1ULL << 40);
	return 0;
}

/*
 * Runs on @cpu as it goes offline, before pvx_guest's own teardown (states
 * are torn down in reverse order) takes the notification vector away.
 * Left in place, the tick would run on a device that can no longer
 * interrupt until the CPU is dead, and any timer the hotplug path waits
 * for on this CPU would never fire.
 */
static int pvx_clock_cpu_offline(unsigned int cpu)
{
	struct clock_event_device *ced = per_cpu_ptr(&pvx_ced, cpu);
	int ret;

	if (list_empty(&ced->list))	/* unbound already */
		return 0;
	ret = clockevents_unbind_device(ced, cpu);

	if (ret)
		pr_warn("CPU %u: no other clock event device to take the tick: %d\n",
			cpu, ret);
	return ret;
}

static void pvx_clock_register_here(void *unused)
{
	pvx_clock_cpu_online(smp_processor_id());
}

/*
 * An unbound device is off the clockevents lists (list_del_init), and a
 * registered one is on one: that is how each CPU's state is told here,
 * whichever way it was unbound.  Under cpus_read_lock() and
 * pvx_clock_lock.  Both return the CPUs they moved in @moved.
 */
static void pvx_clock_bind(struct cpumask *moved)
{
	int cpu;

	cpumask_clear(moved);
	for_each_online_cpu(cpu) {
		if (!list_empty(&per_cpu_ptr(&pvx_ced, cpu)->list))
			continue;
		per_cpu(pvx_ced_failed, cpu) = false;
		smp_call_function_single(cpu, pvx_clock_register_here, NULL, 1);
		if (!list_empty(&per_cpu_ptr(&pvx_ced, cpu)->list))
			cpumask_set_cpu(cpu, moved);
	}
}

/* @all, or only the CPUs whose TIMER_SET failed. */
static void pvx_clock_unbind(bool all, struct cpumask *moved)
{
	struct clock_event_device *ced;
	int cpu, ret;

	cpumask_clear(moved);
	for_each_online_cpu(cpu) {
		ced = per_cpu_ptr(&pvx_ced, cpu);
		if (!all && !per_cpu(pvx_ced_failed, cpu))
			continue;
		per_cpu(pvx_ced_failed, cpu) = false;
		if (list_empty(&ced->list))
			continue;
		ret = clockevents_unbind_device(ced, cpu);
		if (ret)
			pr_warn("CPU %d: no other clock event device to take the tick: %d\n",
				cpu, ret);
		else
			cpumask_set_cpu(cpu, moved);
	}
}

static void pvx_clock_fallback_fn(struct work_struct *work)
{
	cpumask_var_t moved;

	if (!zalloc_cpumask_var(&moved, GFP_KERNEL))
		return;
	cpus_read_lock();
	mutex_lock(&pvx_clock_lock);
	pvx_clock_unbind(!(pvx_features() & PVX_F_TIMER), moved);
	mutex_unlock(&pvx_clock_lock);
	cpus_read_unlock();
	if (!cpumask_empty(moved))
		pr_info("host refused the timer (%ld): tick of CPUs %*pbl handed to the next best clock event device\n",
			READ_ONCE(pvx_ced_last_error), cpumask_pr_args(moved));
	free_cpumask_var(moved);
}

/* pvx_guest saw the service go or come back: process context. */
static int pvx_clock_service(struct notifier_block *nb, unsigned long action,
			     void *data)
{
	cpumask_var_t moved;

	if (!zalloc_cpumask_var(&moved, GFP_KERNEL))
		return NOTIFY_DONE;
	cpus_read_lock();
	mutex_lock(&pvx_clock_lock);
	if (pvx_clock_ready && action == PVX_SERVICE_DOWN)
		pvx_clock_unbind(true, moved);
	else if (pvx_clock_ready && pvx_clock_wanted())
		pvx_clock_bind(moved);
	mutex_unlock(&pvx_clock_lock);
	cpus_read_unlock();
	if (!cpumask_empty(moved) && action == PVX_SERVICE_DOWN)
		pr_info("host stopped serving: tick of CPUs %*pbl handed to the next best clock event device\n",
			cpumask_pr_args(moved));
	else if (!cpumask_empty(moved))
		pr_info("host serves the timer again: tick of CPUs %*pbl back on pvx\n",
			cpumask_pr_args(moved));
	free_cpumask_var(moved);
	return NOTIFY_OK;
}

static struct notifier_block pvx_clock_service_nb = {
	.notifier_call = pvx_clock_service,
};

static int pvx_clock_active_set(const char *val, const struct kernel_param *kp)
{
	cpumask_var_t moved;
	bool on;
	int ret;

	ret = kstrtobool(val, &on);
	if (ret)
		return ret;
	if (!zalloc_cpumask_var(&moved, GFP_KERNEL))
		return -ENOMEM;
	cpus_read_lock();
	mutex_lock(&pvx_clock_lock);
	WRITE_ONCE(active, on);
	if (pvx_clock_ready && pvx_clock_wanted())
		pvx_clock_bind(moved);
	else if (pvx_clock_ready && !on)
		pvx_clock_unbind(true, moved);
	mutex_unlock(&pvx_clock_lock);
	cpus_read_unlock();
	free_cpumask_var(moved);
	return 0;
}

static const struct kernel_param_ops pvx_clock_active_ops = {
	.set = pvx_clock_active_set,
	.get = param_get_bool,
};
module_param_cb(active, &pvx_clock_active_ops, &active, 0644);
MODULE_PARM_DESC(active, "Every CPU's tick on pvx (1) or handed back (0)");

static int pvx_clock_reboot(struct notifier_block *nb, unsigned long action,
			    void *unused)
{
	cpumask_var_t moved;

	if (!zalloc_cpumask_var(&moved, GFP_KERNEL))
		return NOTIFY_DONE;
	cpus_read_lock();
	mutex_lock(&pvx_clock_lock);
	pvx_clock_unbind(true, moved);
	mutex_unlock(&pvx_clock_lock);
	cpus_read_unlock();
	free_cpumask_var(moved);
	return NOTIFY_DONE;
}

/* Ahead of pvx_guest's notifier, which turns notifications off. */
static struct notifier_block pvx_clock_reboot_nb = {
	.notifier_call = pvx_clock_reboot,
	.priority = 1,
};

/*
 * Across a suspend the tick runs on the next best device: the CPUs go
 * offline and come back around a VMM reset (QEMU resets the VM to wake
 * it from S3), whose new host instance knows none of our vectors, and a
 * CPU taking the last CPU's death waits out jiffies on its own tick.
 * The tick comes back to pvx after the resume.
 */
static int pvx_clock_pm(struct notifier_block *nb, unsigned long action,
			void *unused)
{
	cpumask_var_t moved;
	bool sleep;

	switch (action) {
	case PM_SUSPEND_PREPARE:
	case PM_HIBERNATION_PREPARE:
		sleep = true;
		break;
	case PM_POST_SUSPEND:
	case PM_POST_HIBERNATION:
	case PM_POST_RESTORE:
		sleep = false;
		break;
	default:
		return NOTIFY_DONE;
	}
	if (!zalloc_cpumask_var(&moved, GFP_KERNEL))
		return NOTIFY_DONE;
	cpus_read_lock();
	mutex_lock(&pvx_clock_lock);
	WRITE_ONCE(pvx_clock_asleep, sleep);
	if (pvx_clock_ready && sleep)
		pvx_clock_unbind(true, moved);
	else if (pvx_clock_ready && pvx_clock_wanted())
		pvx_clock_bind(moved);
	mutex_unlock(&pvx_clock_lock);
	cpus_read_unlock();
	if (!cpumask_empty(moved))
		pr_info("%s: tick of CPUs %*pbl %s\n",
			sleep ? "suspend" : "resume", cpumask_pr_args(moved),
			sleep ? "handed to the next best clock event device" :
				"back on pvx");
	free_cpumask_var(moved);
	return NOTIFY_DONE;
}

static struct notifier_block pvx_clock_pm_nb = {
	.notifier_call = pvx_clock_pm,
};

static int __init pvx_clock_init(void)
{
	int ret;

	if (!(pvx_features() & PVX_F_TIMER)) {
		pr_info("host offers no pvx timer to this VM: not loaded\n");
		return -ENODEV;
	}
	/* A tick on a device whose interrupt never comes is no tick. */
	if (!pvx_notifications_work()) {
		pr_info("host notifications do not reach this guest (pvx_guest notifications=0, or its test interrupt never came): not loaded\n");
		return -ENODEV;
	}
	ret = pvx_register_notifier(&pvx_clock_nb);
	if (ret)
		return ret;
	ret = pvx_register_service_notifier(&pvx_clock_service_nb);
	if (ret)
		goto err_service;
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "pvx_clock:online",
				pvx_clock_cpu_online, pvx_clock_cpu_offline);
	if (ret < 0)
		goto err_cpuhp;
	cpus_read_lock();
	pvx_clock_ready = true;
	cpus_read_unlock();
	register_reboot_notifier(&pvx_clock_reboot_nb);
	register_pm_notifier(&pvx_clock_pm_nb);
	pr_info("clock event device \"pvx\" registered, rating %d\n", rating);
	return 0;

err_cpuhp:
	pvx_unregister_service_notifier(&pvx_clock_service_nb);
err_service:
	pvx_unregister_notifier(&pvx_clock_nb);
	return ret;
}

module_init(pvx_clock_init);

MODULE_DESCRIPTION("pvx: clock event device by hypercall deadline");
MODULE_LICENSE("GPL");
MODULE_VERSION(PVX_VERSION);
