// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_spinlock: spin, yield to whoever's turn it is, then halt.
 *
 * When the vCPU holding a spinlock is preempted by the host, its waiters
 * spin until the host happens to run it again: lock-holder preemption;
 * and with FIFO tickets the same happens when the lock was handed to a
 * waiter the host preempted.  Each waiter names its CPU in its ticket's
 * slot before it can be served, so the CPU of the ticket being served is
 * known exactly, from the handover on.  A waiter spins for a bound
 * calibrated at load (about spin_us microseconds), then asks the host to
 * run that CPU's vCPU in its place (PVX_HC_YIELD_TO, by APIC ID, which is
 * the vCPU id for QEMU and other VMMs), re-checks, and repeats; after
 * halt_after bounds without a boost it halts until the unlock that
 * serves it kicks it (KVM_HC_KICK_CPU, as pv qspinlock does), instead of
 * burning the host's CPU.  The host boosts only a really preempted vCPU,
 * so a yield to a running one costs one exit and nothing else.
 */
#define pr_fmt(fmt) "pvx_spinlock: " fmt

#include <linux/irqflags.h>
#include <linux/ktime.h>
#include <linux/kvm_para.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <asm/processor.h>
#include <asm/smp.h>
/* CPUID's helpers moved there (and hypervisor_cpuid_base() was renamed). */
#if __has_include("asm/cpuid/api.h")
#include <asm/cpuid/api.h>
#endif
#ifdef for_each_possible_cpuid_base_hypervisor
#define pvx_hypervisor_base(sig)	cpuid_base_hypervisor(sig, 0)
#else
#define pvx_hypervisor_base(sig)	hypervisor_cpuid_base(sig, 0)
#endif
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

static unsigned int halt_after = 4;
module_param(halt_after, uint, 0644);
MODULE_PARM_DESC(halt_after, "Halt after this many bounds without a boost (0: never)");

static unsigned long pvx_spin_bound;	/* cpu_relax() loops in spin_us */
static bool pvx_can_yield, pvx_can_kick;
static DEFINE_PER_CPU(struct pvx_spin_stats, pvx_spin_stat);

#define PVX_SPIN_HALTED		BIT_ULL(31)
#define PVX_SPIN_CPU_MASK	(PVX_SPIN_HALTED - 1)

static u64 pvx_spin_slot_val(int ticket, int cpu)
{
	return (u64)(u32)ticket << 32 | (cpu + 1);
}

/* The CPU that holds @ticket, or -1 when its slot names another ticket. */
static int pvx_spin_cpu_of(pvx_spinlock_t *lock, int ticket, u64 *val)
{
	u64 v = atomic64_read(&lock->slot[(u32)ticket % PVX_SPIN_SLOTS]);

	if (val)
		*val = v;
	if (v >> 32 != (u32)ticket || !(v & PVX_SPIN_CPU_MASK))
		return -1;
	return (v & PVX_SPIN_CPU_MASK) - 1;
}

static bool pvx_spin_yield(int cpu)
{
	if (pvx_yield_to_cpu(cpu) == PVX_YIELD_DONE) {
		this_cpu_inc(pvx_spin_stat.yields);
		return true;
	}
	this_cpu_inc(pvx_spin_stat.yields_refused);
	return false;
}

/*
 * Halts until the unlocker that hands us the turn kicks us
 * (KVM_HC_KICK_CPU), or any interrupt comes: with interrupts on only,
 * so that a kick lost to a slot reused by a later ticket costs a tick at
 * worst.  The flag is set before the last look at the owner, and the
 * unlocker looks at the flag after it moved the owner on: one of the two
 * sees the other.
 */
static void pvx_spin_halt(pvx_spinlock_t *lock, int ticket, int me)
{
	atomic64_t *slot = &lock->slot[(u32)ticket % PVX_SPIN_SLOTS];
	u64 named = pvx_spin_slot_val(ticket, me);

	local_irq_disable();
	if (atomic64_cmpxchg(slot, named, named | PVX_SPIN_HALTED) == named) {
		/* flag, then owner; the unlocker: owner, then flag */
		smp_mb__after_atomic();
		if (atomic_read(&lock->owner) != ticket) {
			this_cpu_inc(pvx_spin_stat.halts);
			safe_halt();
			local_irq_disable();
		}
		atomic64_cmpxchg(slot, named | PVX_SPIN_HALTED, named);
	}
	local_irq_enable();
}

void pvx_spin_lock(pvx_spinlock_t *lock)
{
	unsigned long spins = 0;
	unsigned int fruitless = 0;
	int ticket, me, owner, cpu;

	preempt_disable();
	me = smp_processor_id();
	ticket = atomic_fetch_inc(&lock->next);
	/* Named before it can be served: the holder is known from the start. */
	atomic64_set(&lock->slot[(u32)ticket % PVX_SPIN_SLOTS],
		     pvx_spin_slot_val(ticket, me));
	if (atomic_read_acquire(&lock->owner) == ticket)
		return;

	this_cpu_inc(pvx_spin_stat.slowpaths);
	while ((owner = atomic_read_acquire(&lock->owner)) != ticket) {
		cpu_relax();
		if (++spins < pvx_spin_bound)
			continue;
		spins = 0;
		if (!READ_ONCE(directed_yield) || !pvx_can_yield)
			continue;
		/*
		 * Whoever's turn it is: the holder, or a waiter the lock was
		 * handed to and that has not run since.
		 */
		cpu = pvx_spin_cpu_of(lock, owner, NULL);
		if (cpu >= 0 && cpu != me && pvx_spin_yield(cpu)) {
			fruitless = 0;
			continue;
		}
		if (pvx_can_kick && !irqs_disabled() && READ_ONCE(halt_after) &&
		    ++fruitless >= READ_ONCE(halt_after)) {
			fruitless = 0;
			pvx_spin_halt(lock, ticket, me);
		}
	}
}
EXPORT_SYMBOL_GPL(pvx_spin_lock);

void pvx_spin_unlock(pvx_spinlock_t *lock)
{
	int next = atomic_read(&lock->owner) + 1;
	int cpu;
	u64 v;

	atomic_set_release(&lock->owner, next);
	/* owner, then flag; the halting waiter: flag, then owner */
	smp_mb();
	cpu = pvx_spin_cpu_of(lock, next, &v);
	if (cpu >= 0 && v & PVX_SPIN_HALTED) {
		kvm_hypercall2(KVM_HC_KICK_CPU, 0, per_cpu(x86_cpu_to_apicid, cpu));
		this_cpu_inc(pvx_spin_stat.kicks);
	}
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
		sum->halts += s->halts;
		sum->kicks += s->kicks;
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

/* KVM_FEATURE_PV_UNHALT: a kicked halted vCPU wakes (kvm_para_has_feature()'s helper is not exported). */
static bool __init pvx_spin_has_unhalt(void)
{
	u32 base = pvx_hypervisor_base(KVM_SIGNATURE);

	return base && cpuid_eax(base | KVM_CPUID_FEATURES) &
		       BIT(KVM_FEATURE_PV_UNHALT);
}

static int __init pvx_spinlock_init(void)
{
	pvx_can_yield = pvx_features() & PVX_F_YIELD_TO;
	pvx_can_kick = pvx_spin_has_unhalt();
	pvx_spin_calibrate();
	if (!pvx_can_yield)
		pr_info("host offers no directed yield to this VM: spinning only (%lu loops)\n",
			pvx_spin_bound);
	else
		pr_info("spin bound %lu loops (%u us), yield %s, halt %s\n",
			pvx_spin_bound, spin_us, directed_yield ? "on" : "off",
			pvx_can_kick ? "on" : "off (no pv unhalt)");
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
