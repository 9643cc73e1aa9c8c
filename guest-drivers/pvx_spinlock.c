// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_spinlock: spin, then yield to the holder.
 *
 * When the vCPU holding a spinlock is preempted by the host, its waiters
 * spin until the host happens to run it again: lock-holder preemption.
 * The lock word records the holder's CPU; a waiter spins for a bound
 * calibrated at load (about spin_us microseconds), then asks the host to
 * run the holder's vCPU in its place (PVX_HC_YIELD_TO, by APIC ID, which
 * is the vCPU id for QEMU and other VMMs), re-checks, and repeats.  The
 * host boosts the holder only if it is really preempted, so a yield to a
 * running holder costs one exit and nothing else.
 */
#define pr_fmt(fmt) "pvx_spinlock: " fmt

#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <asm/processor.h>
#include <uapi/linux/pvx_para.h>
#include "pvx_guest.h"
#include "pvx_spinlock.h"
#include "pvx_version.h"

static bool directed_yield = true;
module_param_named(yield, directed_yield, bool, 0644);
MODULE_PARM_DESC(yield, "Yield to a preempted lock holder (0: spin only)");

static unsigned int spin_us = 20;
module_param(spin_us, uint, 0444);
MODULE_PARM_DESC(spin_us, "Spin this long before yielding to the holder");

static unsigned long pvx_spin_bound;	/* cpu_relax() loops in spin_us */
static bool pvx_can_yield;
static DEFINE_PER_CPU(struct pvx_spin_stats, pvx_spin_stat);

static void pvx_yield_to_holder(int holder)
{
	long ret;

	ret = pvx_yield_to_cpu(holder);
	if (ret == PVX_YIELD_DONE)
		this_cpu_inc(pvx_spin_stat.yields);
	else
		this_cpu_inc(pvx_spin_stat.yields_refused);
}

void pvx_spin_lock(pvx_spinlock_t *lock)
{
	unsigned long spins = 0;
	int ticket, me;

	preempt_disable();
	me = smp_processor_id();
	ticket = atomic_fetch_inc(&lock->next);
	if (atomic_read_acquire(&lock->owner) != ticket) {
		this_cpu_inc(pvx_spin_stat.slowpaths);
		while (atomic_read_acquire(&lock->owner) != ticket) {
			int holder;

			cpu_relax();
			if (++spins < pvx_spin_bound)
				continue;
			spins = 0;
			holder = READ_ONCE(lock->holder);
			if (READ_ONCE(directed_yield) && pvx_can_yield && holder >= 0 &&
			    holder != me)
				pvx_yield_to_holder(holder);
		}
	}
	WRITE_ONCE(lock->holder, me);
}
EXPORT_SYMBOL_GPL(pvx_spin_lock);

void pvx_spin_unlock(pvx_spinlock_t *lock)
{
	WRITE_ONCE(lock->holder, -1);
	atomic_set_release(&lock->owner, atomic_read(&lock->owner) + 1);
	preempt_enable();
}
EXPORT_SYMBOL_GPL(pvx_spin_unlock);

void pvx_spin_stats(struct pvx_spin_stats *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct pvx_spin_stats *s = per_cpu_ptr(&pvx_spin_stat, cpu);

		sum->slowpaths += s->slowpaths;
		sum->yields += s->yields;
		sum->yields_refused += s->yields_refused;
	}
}
EXPORT_SYMBOL_GPL(pvx_spin_stats);

/* How many cpu_relax() fit in spin_us, on this vCPU, now. */
static void pvx_spin_calibrate(void)
{
	const unsigned long loops = 100000;
	unsigned long i;
	u64 ns;
	ktime_t t0;

	t0 = ktime_get();
	for (i = 0; i < loops; i++)
		cpu_relax();
	ns = max_t(u64, ktime_to_ns(ktime_sub(ktime_get(), t0)), 1);
	pvx_spin_bound = max_t(u64, loops * spin_us * NSEC_PER_USEC / ns, 16);
}

static int __init pvx_spinlock_init(void)
{
	pvx_can_yield = pvx_features() & PVX_F_YIELD_TO;
	pvx_spin_calibrate();
	if (!pvx_can_yield)
		pr_info("host offers no directed yield to this VM: spinning only (%lu loops)\n",
			pvx_spin_bound);
	else
		pr_info("spin bound %lu loops (%u us), yield %s\n",
			pvx_spin_bound, spin_us, directed_yield ? "on" : "off");
	return 0;
}

static void __exit pvx_spinlock_exit(void)
{
}

module_init(pvx_spinlock_init);
module_exit(pvx_spinlock_exit);

MODULE_DESCRIPTION("pvx: spinlock that yields to a preempted holder");
MODULE_LICENSE("GPL");
MODULE_VERSION(PVX_VERSION);
