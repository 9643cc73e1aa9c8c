// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_locktorture: hammer pvx_spinlocks from every CPU and report.
 *
 * One thread per online CPU takes random locks from a small set for
 * `seconds`; inside each lock it does a read-delay-write on that lock's
 * counter, so any failure of mutual exclusion shows up as lost updates.
 * Reports acquisitions per second, the worst wait and the directed
 * yields, and how many threads ran and the fewest acquisitions any of
 * them made (a thread that never got a lock tested nothing).  Run it
 * with pvx_spinlock's yield=0 and yield=1 to compare spinning against
 * yielding on the same VM.
 */
#define pr_fmt(fmt) "pvx_locktorture: " fmt

#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include "pvx_spinlock.h"

static unsigned int seconds = 3;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "How long to run");

static unsigned int nlocks = 2;
module_param(nlocks, uint, 0444);
MODULE_PARM_DESC(nlocks, "How many locks to share");

static unsigned int hold_loops = 200;
module_param(hold_loops, uint, 0444);
MODULE_PARM_DESC(hold_loops, "cpu_relax() loops inside each critical section");

struct pvx_lt_lock {
	pvx_spinlock_t lock;
	u64 counter;
} ____cacheline_aligned;

struct pvx_lt_thread {
	struct task_struct *task;
	u64 acquisitions;
	u64 worst_wait_ns;
};

static struct pvx_lt_lock *pvx_lt_locks;
static struct pvx_lt_thread *pvx_lt_threads;

static int pvx_lt_fn(void *data)
{
	struct pvx_lt_thread *t = data;

	while (!kthread_should_stop()) {
		struct pvx_lt_lock *l = &pvx_lt_locks[get_random_u32_below(nlocks)];
		unsigned int i;
		ktime_t t0;
		u64 v, wait;

		t0 = ktime_get();
		pvx_spin_lock(&l->lock);
		wait = ktime_to_ns(ktime_sub(ktime_get(), t0));
		v = READ_ONCE(l->counter);
		for (i = 0; i < hold_loops; i++)
			cpu_relax();
		WRITE_ONCE(l->counter, v + 1);
		pvx_spin_unlock(&l->lock);

		t->acquisitions++;
		t->worst_wait_ns = max(t->worst_wait_ns, wait);
		if (!(t->acquisitions & 63))
			cond_resched();
	}
	return 0;
}

static int __init pvx_locktorture_init(void)
{
	struct pvx_spin_stats before, after;
	u64 total = 0, counted = 0, worst = 0, fewest = U64_MAX;
	unsigned int i, threads = 0;
	int cpu, ret = 0;

	if (!nlocks || !seconds)
		return -EINVAL;
	pvx_lt_locks = kcalloc(nlocks, sizeof(*pvx_lt_locks), GFP_KERNEL);
	pvx_lt_threads = kcalloc(nr_cpu_ids, sizeof(*pvx_lt_threads),
				 GFP_KERNEL);
	if (!pvx_lt_locks || !pvx_lt_threads) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nlocks; i++)
		pvx_spin_lock_init(&pvx_lt_locks[i].lock);

	pvx_spin_stats(&before);
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct task_struct *task;

		task = kthread_create_on_cpu(pvx_lt_fn, &pvx_lt_threads[cpu],
					     cpu, "pvx_lt/%u");
		if (IS_ERR(task)) {
			ret = PTR_ERR(task);
			break;
		}
		pvx_lt_threads[cpu].task = task;
		wake_up_process(task);
	}
	cpus_read_unlock();

	if (!ret)
		msleep(seconds * MSEC_PER_SEC);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		if (!pvx_lt_threads[cpu].task)
			continue;
		kthread_stop(pvx_lt_threads[cpu].task);
		threads++;
		total += pvx_lt_threads[cpu].acquisitions;
		fewest = min(fewest, pvx_lt_threads[cpu].acquisitions);
		worst = max(worst, pvx_lt_threads[cpu].worst_wait_ns);
	}
	if (ret)
		goto out;
	pvx_spin_stats(&after);
	for (i = 0; i < nlocks; i++)
		counted += pvx_lt_locks[i].counter;

	pr_info("%u CPUs, %u locks, %u s: %llu acquisitions (%llu/s), lost updates %lld, worst wait %llu us, slow paths %llu, yields %llu (refused %llu), %u threads, fewest acquisitions %llu\n",
		num_online_cpus(), nlocks, seconds, total, total / seconds,
		(s64)(total - counted), worst / NSEC_PER_USEC,
		after.slowpaths - before.slowpaths, after.yields - before.yields,
		after.yields_refused - before.yields_refused, threads,
		threads ? fewest : 0);
	pr_info("waiters halted %llu, kicked %llu\n",
		after.halts - before.halts, after.kicks - before.kicks);
out:
	kfree(pvx_lt_threads);
	kfree(pvx_lt_locks);
	return ret;
}

static void __exit pvx_locktorture_exit(void)
{
}

module_init(pvx_locktorture_init);
module_exit(pvx_locktorture_exit);

MODULE_DESCRIPTION("pvx: lock torture for pvx_spinlock");
MODULE_LICENSE("GPL");
