// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_spintorture: contend the kernel's own spinlock_t from every CPU.
 *
 * The workload pvx_lockhint is measured on (tools/bench/lockhint.sh): one
 * kthread per online CPU takes one of `nlocks` spinlock_t for
 * `hold_loops` cpu_relax() and a read-delay-write of the lock's counter
 * (lost updates would show a broken lock), then works `think_loops`
 * outside.  On an overcommitted host a holder's vCPU is preempted inside
 * the lock, and the others spin, then halt in kvm_wait().  Loading it
 * runs it once and prints one line; unload it to run it again.
 */
#define pr_fmt(fmt) "pvx_spintorture: " fmt

#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

static unsigned int seconds = 5;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "How long to run");

static unsigned int nlocks = 1;
module_param(nlocks, uint, 0444);
MODULE_PARM_DESC(nlocks, "How many spinlock_t to share");

static unsigned int hold_loops = 100;
module_param(hold_loops, uint, 0444);
MODULE_PARM_DESC(hold_loops, "cpu_relax() loops with the lock held");

static unsigned int think_loops = 100;
module_param(think_loops, uint, 0444);
MODULE_PARM_DESC(think_loops, "cpu_relax() loops between acquisitions");

static char *tag = "";
module_param(tag, charp, 0444);
MODULE_PARM_DESC(tag, "A word for the result line (which run this was)");

struct pvx_st_lock {
	spinlock_t lock;
	u64 counter;
} ____cacheline_aligned;

struct pvx_st_thread {
	struct task_struct *task;
	u64 acquisitions;
	u64 wait_ns;
};

static struct pvx_st_lock *pvx_st_locks;

static int pvx_st_fn(void *data)
{
	struct pvx_st_thread *t = data;
	unsigned int i;

	while (!kthread_should_stop()) {
		struct pvx_st_lock *l = &pvx_st_locks[get_random_u32_below(nlocks)];
		u64 t0 = ktime_get_ns(), v;

		spin_lock(&l->lock);
		t->wait_ns += ktime_get_ns() - t0;
		v = READ_ONCE(l->counter);
		for (i = 0; i < hold_loops; i++)
			cpu_relax();
		WRITE_ONCE(l->counter, v + 1);
		spin_unlock(&l->lock);

		for (i = 0; i < think_loops; i++)
			cpu_relax();
		if (!(++t->acquisitions & 255))
			cond_resched();
	}
	return 0;
}

static int __init pvx_spintorture_init(void)
{
	u64 total = 0, counted = 0, wait = 0, fewest = U64_MAX;
	struct pvx_st_thread *threads;
	unsigned int i, n = 0;
	int cpu, ret = 0;

	if (!nlocks || !seconds)
		return -EINVAL;
	pvx_st_locks = kcalloc(nlocks, sizeof(*pvx_st_locks), GFP_KERNEL);
	threads = kcalloc(nr_cpu_ids, sizeof(*threads), GFP_KERNEL);
	if (!pvx_st_locks || !threads) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nlocks; i++)
		spin_lock_init(&pvx_st_locks[i].lock);

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct task_struct *task;

		task = kthread_create_on_cpu(pvx_st_fn, &threads[cpu], cpu,
					     "pvx_st/%u");
		if (IS_ERR(task)) {
			ret = PTR_ERR(task);
			break;
		}
		threads[cpu].task = task;
		wake_up_process(task);
	}
	cpus_read_unlock();
	if (!ret)
		msleep(seconds * MSEC_PER_SEC);

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		if (!threads[cpu].task)
			continue;
		kthread_stop(threads[cpu].task);
		n++;
		total += threads[cpu].acquisitions;
		wait += threads[cpu].wait_ns;
		fewest = min(fewest, threads[cpu].acquisitions);
	}
	if (ret)
		goto out;
	for (i = 0; i < nlocks; i++)
		counted += pvx_st_locks[i].counter;
	pr_info("%s: %u CPUs, %u locks, %u s: %llu acquisitions, %llu/s, lost updates %lld, wait %llu ms, fewest %llu\n",
		tag, n, nlocks, seconds, total, total / seconds,
		(s64)(total - counted), wait / NSEC_PER_MSEC, n ? fewest : 0);
out:
	kfree(threads);
	kfree(pvx_st_locks);
	return ret;
}

static void __exit pvx_spintorture_exit(void)
{
}

module_init(pvx_spintorture_init);
module_exit(pvx_spintorture_exit);

MODULE_DESCRIPTION("pvx: spinlock_t torture, the lock-hint workload");
MODULE_LICENSE("GPL");
