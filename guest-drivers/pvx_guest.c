// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_guest: the guest's side of pvx.  Probes the host once at load and
 * refuses to load (with one line saying why) when the host has no pvx, so
 * that nothing built on it can hang waiting for a host that is not there.
 *
 * Notifications.  The host interrupts a vCPU (timer expiry, split-phase
 * completion) with a vector that vCPU registered.  A module cannot install
 * IDT entries, so each CPU gets an interrupt from the x86 vector domain,
 * pinned to it, whose vector is then registered with the host from that
 * CPU.  Other guest modules hook in with pvx_register_notifier().
 *
 * Host events (a new balloon target) come on a vector of their own, on
 * CPU 0, which x86 never takes offline: pvx_register_event_notifier().
 *
 * The service may go and come back while the guest runs (detach, a host
 * module upgrade, a new attach): see "The service comes and goes" below.
 *
 * /sys/kernel/pvx/ shows what the host offers this VM.
 */
#define pr_fmt(fmt) "pvx: " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irq_work.h>
#include <linux/irqdomain.h>
#include <linux/kobject.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/suspend.h>
#include <linux/sysfs.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <asm/hw_irq.h>
#include <asm/irqdomain.h>
#include <asm/kvm_para.h>
#include <asm/smp.h>
#include <asm/tsc.h>
#include <linux/io.h>
#include <uapi/linux/pvx_para.h>
#include "pvx_guest.h"
#include "pvx_version.h"

static bool notifications = true;
module_param(notifications, bool, 0444);
MODULE_PARM_DESC(notifications,
		 "Take host notifications (timer, completions, events)");

static bool tsc_deadline = true;
module_param(tsc_deadline, bool, 0644);
MODULE_PARM_DESC(tsc_deadline,
		 "Arm the host timer by TSC deadline where the host takes it (0: relative)");

static unsigned int reprobe_ms = 1000;
module_param(reprobe_ms, uint, 0644);
MODULE_PARM_DESC(reprobe_ms,
		 "While the host serves nothing: ask again this often (0: never)");

struct pvx_cpu {
	int virq;
	u8 vector;
	unsigned long count;
	unsigned int split_outstanding;	/* submitted here, not collected */
};

#define PVX_EVENT_CPU	0

static struct pvx_probe_info pvx_info;	/* the last answer that served */
static u64 pvx_served;		/* features served now, 0: none */
static unsigned int pvx_epoch;	/* bumped each time the service is lost */
static bool pvx_timer_tsc;	/* the host takes PVX_TIMER_TSC_DEADLINE */
static bool pvx_notify_ok;	/* the load-time notification arrived */
static bool pvx_exiting;
static DEFINE_MUTEX(pvx_service_lock);
static BLOCKING_NOTIFIER_HEAD(pvx_service_chain);
static struct kobject *pvx_kobj;
static DEFINE_PER_CPU(struct pvx_cpu, pvx_cpu);
static ATOMIC_NOTIFIER_HEAD(pvx_notify_chain);
static int pvx_cpuhp_state;
static struct pvx_cpu pvx_event;
static ATOMIC_NOTIFIER_HEAD(pvx_event_chain);
static DECLARE_WAIT_QUEUE_HEAD(pvx_split_wq);

long pvx_hypercall(unsigned int nr, unsigned long a0, unsigned long a1,
		   unsigned long a2, unsigned long a3)
{
	long ret = kvm_hypercall4(nr, a0, a1, a2, a3);

	/*
	 * Not attached (any more): KVM's own answer to an unknown call.
	 * Once the loss is known, the slow re-probe takes over.
	 */
	if (unlikely(ret == -PVX_ENOSYS) && nr != PVX_HC_PROBE &&
	    READ_ONCE(pvx_served))
		pvx_service_check();
	return ret;
}
EXPORT_SYMBOL_GPL(pvx_hypercall);

u64 pvx_features(void)
{
	return READ_ONCE(pvx_served);
}
EXPORT_SYMBOL_GPL(pvx_features);

bool pvx_notifications_work(void)
{
	return pvx_notify_ok;
}
EXPORT_SYMBOL_GPL(pvx_notifications_work);

unsigned int pvx_max_list_entries(void)
{
	return READ_ONCE(pvx_info.max_list_entries);
}
EXPORT_SYMBOL_GPL(pvx_max_list_entries);

int pvx_register_service_notifier(struct notifier_block *nb)
{
	return blocking_notifier_chain_register(&pvx_service_chain, nb);
}
EXPORT_SYMBOL_GPL(pvx_register_service_notifier);

int pvx_unregister_service_notifier(struct notifier_block *nb)
{
	return blocking_notifier_chain_unregister(&pvx_service_chain, nb);
}
EXPORT_SYMBOL_GPL(pvx_unregister_service_notifier);

int pvx_register_notifier(struct notifier_block *nb)
{
	return atomic_notifier_chain_register(&pvx_notify_chain, nb);
}
EXPORT_SYMBOL_GPL(pvx_register_notifier);

int pvx_unregister_notifier(struct notifier_block *nb)
{
	return atomic_notifier_chain_unregister(&pvx_notify_chain, nb);
}
EXPORT_SYMBOL_GPL(pvx_unregister_notifier);

int pvx_register_event_notifier(struct notifier_block *nb)
{
	return atomic_notifier_chain_register(&pvx_event_chain, nb);
}
EXPORT_SYMBOL_GPL(pvx_register_event_notifier);

int pvx_unregister_event_notifier(struct notifier_block *nb)
{
	return atomic_notifier_chain_unregister(&pvx_event_chain, nb);
}
EXPORT_SYMBOL_GPL(pvx_unregister_event_notifier);

/*
 * This CPU's one-shot timer: the notification comes delta_ns from now.
 * Interrupts or preemption off: the TSC read and the call must be on one
 * vCPU, whose TSC the host converts.  An absolute deadline is what the
 * LAPIC's TSC-deadline mode takes too: the exit's own time does not push
 * the expiry later, as it does a relative one.  Rounded up a tick, since
 * tsc_khz may be calibrated a little low.
 */
long pvx_timer_arm(u64 delta_ns)
{
	if (READ_ONCE(pvx_timer_tsc) && READ_ONCE(tsc_deadline))
		return pvx_hypercall(PVX_HC_TIMER_SET, rdtsc_ordered() +
				     mul_u64_u32_div(delta_ns, tsc_khz,
						     USEC_PER_SEC) + 1,
				     PVX_TIMER_TSC_DEADLINE, 0, 0);
	return pvx_hypercall(PVX_HC_TIMER_SET, delta_ns, 0, 0, 0);
}
EXPORT_SYMBOL_GPL(pvx_timer_arm);

long pvx_timer_cancel(void)
{
	return pvx_hypercall(PVX_HC_TIMER_SET, 0, PVX_TIMER_CANCEL, 0, 0);
}
EXPORT_SYMBOL_GPL(pvx_timer_cancel);

static long pvx_batch(unsigned int nr, void *list, unsigned int n)
{
	return pvx_hypercall(nr, virt_to_phys(list), n, 0, 0);
}

long pvx_msr_batch(struct pvx_msr_entry *list, unsigned int n)
{
	return pvx_batch(PVX_HC_MSR_BATCH, list, n);
}
EXPORT_SYMBOL_GPL(pvx_msr_batch);

/* Calls in a row that may do nothing before pvx_batch_resume() gives up. */
#define PVX_RESUME_IDLE_MAX	16
/* The largest entry pvx_batch_resume() takes. */
#define PVX_RESUME_ENTRY_MAX	32

/* The entry at @e, less its status: what is left of it to do. */
static void pvx_batch_entry(u8 *buf, const void *e, size_t size,
			    size_t status_off)
{
	memcpy(buf, e, size);
	memset(buf + status_off, 0, sizeof(s32));
}

/*
 * A host that stops early (its dirty ring filled up, the bound on one
 * exit's work, a signal for the VMM) stops in (or before) an entry,
 * writes it back with -PVX_EAGAIN and what is left of it, and counts
 * only the entries before it: go on from there.  A call that completed
 * no entry may still have done part of one (a range made shorter).  Such
 * a call makes progress, or the VMM harvests the ring before this CPU
 * runs again; a call that keeps doing nothing (a DMA engine that cannot
 * map a page) is given up on, as a plain refusal.  Returns the entries
 * completed, or the error of a first call that failed.
 */
static long pvx_batch_resume(unsigned int nr, void *list, size_t size,
			     size_t status_off, unsigned int n)
{
	u8 before[PVX_RESUME_ENTRY_MAX], after[PVX_RESUME_ENTRY_MAX];
	unsigned int done = 0, idle = 0;
	long ret;

	for (;;) {
		pvx_batch_entry(before, list + done * size, size, status_off);
		ret = pvx_batch(nr, list + done * size, n - done);
		if (ret < 0)
			return done ? done : ret;
		done += ret;
		if (done == n ||
		    *(s32 *)(list + done * size + status_off) != -PVX_EAGAIN)
			return done;
		pvx_batch_entry(after, list + done * size, size, status_off);
		if (ret || memcmp(before, after, size))
			idle = 0;
		else if (++idle == PVX_RESUME_IDLE_MAX)
			return done;
	}
}

long pvx_prefault_write(struct pvx_gfn_range *list, unsigned int n)
{
	BUILD_BUG_ON(sizeof(*list) > PVX_RESUME_ENTRY_MAX);
	return pvx_batch_resume(PVX_HC_PREFAULT_WRITE, list, sizeof(*list),
				offsetof(struct pvx_gfn_range, status), n);
}
EXPORT_SYMBOL_GPL(pvx_prefault_write);

long pvx_copy_pages(struct pvx_copy_entry *list, unsigned int n)
{
	BUILD_BUG_ON(sizeof(*list) > PVX_RESUME_ENTRY_MAX);
	return pvx_batch_resume(PVX_HC_COPY_PAGES, list, sizeof(*list),
				offsetof(struct pvx_copy_entry, status), n);
}
EXPORT_SYMBOL_GPL(pvx_copy_pages);

/* @inflate: PVX_HC_BALLOON_INFLATE, else _DEFLATE. */
long pvx_balloon_batch(bool inflate, struct pvx_gfn_range *list,
		       unsigned int n)
{
	return pvx_batch_resume(inflate ? PVX_HC_BALLOON_INFLATE :
					  PVX_HC_BALLOON_DEFLATE,
				list, sizeof(*list),
				offsetof(struct pvx_gfn_range, status), n);
}
EXPORT_SYMBOL_GPL(pvx_balloon_batch);

long pvx_doorbell(struct pvx_doorbell *list, unsigned int n)
{
	return pvx_batch(PVX_HC_DOORBELL, list, n);
}
EXPORT_SYMBOL_GPL(pvx_doorbell);

long pvx_iommu_map(struct pvx_iommu_map *list, unsigned int n)
{
	return pvx_batch(PVX_HC_IOMMU_MAP, list, n);
}
EXPORT_SYMBOL_GPL(pvx_iommu_map);

long pvx_iommu_unmap(struct pvx_iommu_unmap *list, unsigned int n)
{
	return pvx_batch(PVX_HC_IOMMU_UNMAP, list, n);
}
EXPORT_SYMBOL_GPL(pvx_iommu_unmap);

long pvx_split_submit(unsigned int nr, void *list, unsigned int n,
		      struct pvx_split *s)
{
	unsigned long flags;
	long ret;

	/* Before the call: a loss after it must end the wait. */
	s->epoch = READ_ONCE(pvx_epoch);
	/* Interrupts off: the count is up before this CPU can collect. */
	local_irq_save(flags);
	if (!this_cpu_read(pvx_cpu.virq)) {
		/* No notification here: nobody would collect the result. */
		ret = -PVX_EOPNOTSUPP;
	} else {
		ret = pvx_hypercall(nr, virt_to_phys(list), n, PVX_SPLIT,
				    virt_to_phys(&s->c));
		if (ret == -PVX_EINPROGRESS)
			this_cpu_inc(pvx_cpu.split_outstanding);
	}
	local_irq_restore(flags);
	return ret;
}
EXPORT_SYMBOL_GPL(pvx_split_submit);

static bool pvx_split_done(struct pvx_completion *c)
{
	/* Acquire: the result is read only after the state says DONE. */
	return smp_load_acquire(&c->state) == PVX_COMPLETION_DONE;
}

/*
 * A host that stops serving drops what it was doing for the guest (it
 * finishes what runs first): nothing will complete the record any more.
 */
long pvx_split_wait(struct pvx_split *s)
{
	wait_event(pvx_split_wq, pvx_split_done(&s->c) ||
				 READ_ONCE(pvx_epoch) != s->epoch);
	if (!pvx_split_done(&s->c))
		return -PVX_ECANCELED;
	return READ_ONCE(s->c.result);
}
EXPORT_SYMBOL_GPL(pvx_split_wait);

/* In the notification (or teardown) of this CPU, interrupts off. */
static void pvx_split_collect(void)
{
	long n;

	if (!this_cpu_read(pvx_cpu.split_outstanding))
		return;
	n = pvx_hypercall(PVX_HC_SPLIT_COLLECT, 0, 0, 0, 0);
	if (n <= 0)
		return;
	this_cpu_sub(pvx_cpu.split_outstanding, n);
	wake_up_all(&pvx_split_wq);
}

long pvx_yield_to_cpu(unsigned int cpu)
{
	return pvx_hypercall(PVX_HC_YIELD_TO, per_cpu(x86_cpu_to_apicid, cpu),
			     0, 0, 0);
}
EXPORT_SYMBOL_GPL(pvx_yield_to_cpu);

static irqreturn_t pvx_notify_irq(int irq, void *dev)
{
	this_cpu_inc(pvx_cpu.count);
	pvx_split_collect();
	atomic_notifier_call_chain(&pvx_notify_chain, 0, NULL);
	return IRQ_HANDLED;
}

static irqreturn_t pvx_event_irq(int irq, void *dev)
{
	pvx_event.count++;
	/* An event may say the service changed: ask. */
	pvx_service_check();
	atomic_notifier_call_chain(&pvx_event_chain, 0, NULL);
	return IRQ_HANDLED;
}

/* An interrupt pinned to @cpu, whose vector the caller gives the host. */
static int pvx_irq_alloc(struct pvx_cpu *pc, unsigned int cpu,
			 irq_handler_t handler, const char *name)
{
	struct irq_alloc_info info = { .mask = cpumask_of(cpu) };
	int virq, ret;

	virq = __irq_domain_alloc_irqs(x86_vector_domain, -1, 1,
				       cpu_to_node(cpu), &info, false, NULL);
	if (virq < 0)
		return virq;
	irq_set_handler(virq, handle_edge_irq);
	ret = request_irq(virq, handler, IRQF_NOBALANCING, name, NULL);
	if (ret)
		goto err_request;
	ret = irq_set_affinity(virq, cpumask_of(cpu));
	if (ret)
		goto err_affinity;
	pc->virq = virq;
	pc->vector = irqd_cfg(irq_get_irq_data(virq))->vector;
	return 0;

err_affinity:
	free_irq(virq, NULL);
err_request:
	irq_dispose_mapping(virq);
	return ret;
}

/* The host no longer sends this vector. */
static void pvx_irq_free(struct pvx_cpu *pc)
{
	free_irq(pc->virq, NULL);
	irq_dispose_mapping(pc->virq);
	pc->virq = 0;
	pc->vector = 0;
}

/*
 * Runs on @cpu as it comes online (and at load for the online ones).  A
 * host that refuses the vector (or serves nothing just now) does not stop
 * the CPU: the interrupt stays allocated for the service's return.
 */
static int pvx_cpu_online(unsigned int cpu)
{
	struct pvx_cpu *pc = per_cpu_ptr(&pvx_cpu, cpu);
	long hret;
	int ret;

	ret = pvx_irq_alloc(pc, cpu, pvx_notify_irq, "pvx");
	if (ret)
		return ret;
	hret = pvx_hypercall(PVX_HC_SET_VECTOR, pc->vector, 0, 0, 0);
	if (hret)
		pr_warn_once("host refused notification vector %#x on CPU %u: %ld\n",
			     pc->vector, cpu, hret);
	return 0;
}

static int pvx_cpu_offline(unsigned int cpu)
{
	struct pvx_cpu *pc = per_cpu_ptr(&pvx_cpu, cpu);

	if (!pc->virq)
		return 0;
	/*
	 * Split-phase work submitted here is collected here: wait for the
	 * host to finish it (a serving host always does) before the vector
	 * goes.
	 */
	while (READ_ONCE(pc->split_outstanding) && READ_ONCE(pvx_served)) {
		local_irq_disable();
		pvx_split_collect();
		local_irq_enable();
		if (READ_ONCE(pc->split_outstanding))
			usleep_range(1000, 2000);
	}
	/* Host first: nothing may arrive on a vector about to be freed. */
	pvx_hypercall(PVX_HC_SET_VECTOR, 0, 0, 0, 0);
	pvx_irq_free(pc);
	return 0;
}

struct pvx_event_req {
	unsigned long vector;
	long ret;
};

/* On PVX_EVENT_CPU: the host sends events to the vCPU that asked. */
static void pvx_event_set_vector(void *arg)
{
	struct pvx_event_req *req = arg;

	req->ret = pvx_hypercall(PVX_HC_SET_VECTOR, req->vector,
				 PVX_VECTOR_HOST_EVENTS, 0, 0);
}

static void pvx_events_init(void)
{
	struct pvx_event_req req;
	int ret;

	ret = pvx_irq_alloc(&pvx_event, PVX_EVENT_CPU, pvx_event_irq,
			    "pvx-events");
	if (ret) {
		pr_warn("no interrupt for host events (%d): none taken\n", ret);
		return;
	}
	req.vector = pvx_event.vector;
	smp_call_function_single(PVX_EVENT_CPU, pvx_event_set_vector, &req, 1);
	if (req.ret) {
		pr_info("host sends no events (%ld): none taken\n", req.ret);
		pvx_irq_free(&pvx_event);
	}
}

static void pvx_events_exit(void)
{
	struct pvx_event_req req = { .vector = 0 };

	if (!pvx_event.virq)
		return;
	smp_call_function_single(PVX_EVENT_CPU, pvx_event_set_vector, &req, 1);
	pvx_irq_free(&pvx_event);
}

static void pvx_cpu_quiesce(void *unused)
{
	pvx_hypercall(PVX_HC_SET_VECTOR, 0, 0, 0, 0);
	if (smp_processor_id() == PVX_EVENT_CPU)
		pvx_hypercall(PVX_HC_SET_VECTOR, 0, PVX_VECTOR_HOST_EVENTS,
			      0, 0);
}

/* A kexec'd or rebooted kernel must not get interrupts it never asked for. */
static int pvx_reboot(struct notifier_block *nb, unsigned long action,
		      void *unused)
{
	on_each_cpu(pvx_cpu_quiesce, NULL, 1);
	return NOTIFY_DONE;
}

static struct notifier_block pvx_reboot_nb = {
	.notifier_call = pvx_reboot,
};

/* One arm, one interrupt: proves the path before anyone relies on it. */
static void pvx_notify_selftest(void)
{
	unsigned long before;
	ktime_t start;
	long ret;
	int cpu, i;

	if (!(pvx_info.features & PVX_F_TIMER))
		return;
	cpu = get_cpu();
	before = per_cpu(pvx_cpu, cpu).count;
	start = ktime_get();
	ret = pvx_timer_arm(NSEC_PER_MSEC);
	put_cpu();
	for (i = 0; i < 1000 && per_cpu(pvx_cpu, cpu).count == before; i++)
		usleep_range(1000, 2000);
	if (ret || per_cpu(pvx_cpu, cpu).count == before) {
		pr_warn("timer notification on CPU %d did not arrive (arm: %ld)\n",
			cpu, ret);
		return;
	}
	pr_info("timer notification on CPU %d, vector %#x, after %lld us\n",
		cpu, per_cpu(pvx_cpu, cpu).vector,
		ktime_us_delta(ktime_get(), start));
	pvx_notify_ok = true;
}

static int pvx_notify_init(void)
{
	int ret;

	if (!notifications) {
		pr_info("notifications off by module parameter\n");
		return 0;
	}
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "pvx:online",
				pvx_cpu_online, pvx_cpu_offline);
	if (ret < 0)
		return ret;
	pvx_cpuhp_state = ret;
	pvx_events_init();
	register_reboot_notifier(&pvx_reboot_nb);
	pvx_notify_selftest();
	return 0;
}

static void pvx_notify_exit(void)
{
	if (!pvx_cpuhp_state)
		return;
	unregister_reboot_notifier(&pvx_reboot_nb);
	pvx_events_exit();
	cpuhp_remove_state(pvx_cpuhp_state);
	pvx_cpuhp_state = 0;
}

/*
 * PVX_HC_PROBE into @info (linear-map memory: the host writes by
 * guest-physical address).  0 when a pvx host of our ABI answered; else
 * -ENODEV, and @why says why (for the one line that tells).
 */
static int pvx_probe_call(struct pvx_probe_info *info, char *why, size_t len)
{
	long ret;

	memset(info, 0, sizeof(*info));
	ret = pvx_hypercall(PVX_HC_PROBE, __pa(info), sizeof(*info), 0, 0);
	if (ret == -PVX_ENOSYS)
		snprintf(why, len, "no pvx host (probe returned %ld)", ret);
	else if (ret != PVX_SIGNATURE)
		snprintf(why, len, "hypercall %#x answered %#lx, not pvx",
			 PVX_HC_PROBE, ret);
	else if (info->signature != PVX_SIGNATURE ||
		 info->abi_version != PVX_ABI_VERSION)
		snprintf(why, len,
			 "host speaks pvx ABI %u (signature %#x), need %u",
			 info->abi_version, info->signature, PVX_ABI_VERSION);
	else
		return 0;
	return -ENODEV;
}

/* An answer that serves: what the drivers go by from now on. */
static void pvx_info_set(const struct pvx_probe_info *info)
{
	pvx_info = *info;
	WRITE_ONCE(pvx_timer_tsc, tsc_khz &&
		   (info->timer_flags & PVX_TIMER_TSC_DEADLINE));
}

static int pvx_probe_host(void)
{
	struct pvx_probe_info *info;
	char why[96];
	int ret;

	if (!kvm_para_available()) {
		pr_info("not running on KVM: disabled\n");
		return -ENODEV;
	}

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	ret = pvx_probe_call(info, why, sizeof(why));
	if (ret) {
		pr_info("%s: disabled\n", why);
	} else {
		pvx_info_set(info);
		pvx_served = info->features;
	}
	kfree(info);
	return ret;
}

/*
 * The service comes and goes.
 *
 * The host state of this guest (notification vectors, the timer, balloon
 * records, split-phase work) belongs to one attach, which PVX_HC_PROBE's
 * instance names.  pvx_service_work() asks the host again and compares:
 *  - nothing served now (-PVX_ENOSYS: detached, pvx_host unloaded; or an
 *    attach with no features): DOWN.  Every driver goes to its fallback,
 *    split-phase waits end, and the work asks again every reprobe_ms;
 *  - served, but another instance than before (a new attach, which may
 *    have come before the guest noticed the old one go): DOWN, then the
 *    vectors are registered again and UP with the new features;
 *  - the same instance: nothing changed.
 * It runs when the host sends an event (it sends one as it stops serving),
 * when any call answers -PVX_ENOSYS, when a driver asks, and on the slow
 * timer.  pvx_service_check() may be called anywhere, set_next_event()
 * included (interrupts off, timer or runqueue locks held): it only queues
 * an irq_work, whose handler queues the work.
 */
static void pvx_service_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(pvx_service_work, pvx_service_work_fn);

static void pvx_service_kick(struct irq_work *w)
{
	if (!READ_ONCE(pvx_exiting))
		mod_delayed_work(system_wq, &pvx_service_work, 0);
}

static struct irq_work pvx_service_irq_work =
	IRQ_WORK_INIT_HARD(pvx_service_kick);

void pvx_service_check(void)
{
	if (!READ_ONCE(pvx_exiting))
		irq_work_queue(&pvx_service_irq_work);
}
EXPORT_SYMBOL_GPL(pvx_service_check);

static void pvx_service_down(const char *why, bool anew)
{
	int cpu;

	WRITE_ONCE(pvx_served, 0);
	/* The host dropped every request: nothing is left to collect. */
	for_each_possible_cpu(cpu)
		WRITE_ONCE(per_cpu(pvx_cpu, cpu).split_outstanding, 0);
	WRITE_ONCE(pvx_epoch, pvx_epoch + 1);
	wake_up_all(&pvx_split_wq);
	pr_info("host stopped serving pvx (%s): drivers on their fallbacks\n",
		why);
	blocking_notifier_call_chain(&pvx_service_chain, PVX_SERVICE_DOWN,
				     anew ? &anew : NULL);
}

static void pvx_cpu_reregister(void *unused)
{
	struct pvx_cpu *pc = this_cpu_ptr(&pvx_cpu);
	long ret;

	if (pc->virq) {
		ret = pvx_hypercall(PVX_HC_SET_VECTOR, pc->vector, 0, 0, 0);
		if (ret)
			pr_warn("CPU %d: host refused notification vector %#x: %ld\n",
				smp_processor_id(), pc->vector, ret);
	}
	if (smp_processor_id() == PVX_EVENT_CPU && pvx_event.virq)
		pvx_hypercall(PVX_HC_SET_VECTOR, pvx_event.vector,
			      PVX_VECTOR_HOST_EVENTS, 0, 0);
}

/* A new instance knows none of our vectors: give them again. */
static void pvx_service_up(const struct pvx_probe_info *info)
{
	u64 features = info->features;
	int cpu;

	cpus_read_lock();
	for_each_online_cpu(cpu)
		smp_call_function_single(cpu, pvx_cpu_reregister, NULL, 1);
	cpus_read_unlock();
	pvx_info_set(info);
	WRITE_ONCE(pvx_served, features);
	pr_info("host serves pvx again: instance %#llx, features %#llx\n",
		info->instance, features);
	blocking_notifier_call_chain(&pvx_service_chain, PVX_SERVICE_UP,
				     &features);
}

static void pvx_service_work_fn(struct work_struct *work)
{
	struct pvx_probe_info *info;
	char why[96];
	int ret;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	mutex_lock(&pvx_service_lock);
	if (!info) {
		ret = -ENOMEM;
		snprintf(why, sizeof(why), "out of memory");
	} else {
		ret = pvx_probe_call(info, why, sizeof(why));
		if (!ret && !info->features) {
			ret = -ENODEV;
			snprintf(why, sizeof(why), "no features");
		}
	}
	if (ret == -ENOMEM) {
		/* Tells nothing about the host: try again later. */
	} else if (ret) {
		if (READ_ONCE(pvx_served))
			pvx_service_down(why, false);
	} else if (!READ_ONCE(pvx_served) ||
		   info->instance != pvx_info.instance) {
		if (READ_ONCE(pvx_served))
			pvx_service_down("the VM was attached anew", true);
		pvx_service_up(info);
	}
	if ((!READ_ONCE(pvx_served) || ret == -ENOMEM) && reprobe_ms &&
	    !READ_ONCE(pvx_exiting))
		mod_delayed_work(system_wq, &pvx_service_work,
				 msecs_to_jiffies(reprobe_ms));
	mutex_unlock(&pvx_service_lock);
	kfree(info);
}

/*
 * A VM woken from S3 was reset by its VMM on the way (QEMU resets every
 * vCPU at the wakeup), which the host takes for a new boot: a new
 * instance that knows none of our vectors.  Ask at once, rather than
 * when a call first fails.  The same after hibernation.
 */
static int pvx_pm_event(struct notifier_block *nb, unsigned long action,
			void *unused)
{
	if (action == PM_POST_SUSPEND || action == PM_POST_HIBERNATION ||
	    action == PM_POST_RESTORE)
		mod_delayed_work(system_wq, &pvx_service_work, 0);
	return NOTIFY_DONE;
}

static struct notifier_block pvx_pm_nb = {
	.notifier_call = pvx_pm_event,
};

static void pvx_service_init(void)
{
	register_pm_notifier(&pvx_pm_nb);
	if (!pvx_served && reprobe_ms)
		schedule_delayed_work(&pvx_service_work,
				      msecs_to_jiffies(reprobe_ms));
}

/* Before the notifications go: nothing re-registers them behind us. */
static void pvx_service_stop(void)
{
	WRITE_ONCE(pvx_exiting, true);
	irq_work_sync(&pvx_service_irq_work);
	cancel_delayed_work_sync(&pvx_service_work);
}

/* After: an interrupt may have queued the irq_work meanwhile. */
static void pvx_service_exit(void)
{
	irq_work_sync(&pvx_service_irq_work);
}

static ssize_t abi_version_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", pvx_info.abi_version);
}

static ssize_t features_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%#llx\n", READ_ONCE(pvx_served));
}

static ssize_t instance_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%#llx\n", pvx_info.instance);
}

static ssize_t service_lost_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(pvx_epoch));
}

static ssize_t max_list_entries_show(struct kobject *kobj,
				     struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", pvx_info.max_list_entries);
}

static ssize_t notifications_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(pvx_cpu, cpu).count;
	return sysfs_emit(buf, "%lu\n", sum);
}

static ssize_t events_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(pvx_event.count));
}

static struct kobj_attribute pvx_attr_abi_version = __ATTR_RO(abi_version);
static struct kobj_attribute pvx_attr_events = __ATTR_RO(events);
static struct kobj_attribute pvx_attr_notifications = __ATTR_RO(notifications);
static struct kobj_attribute pvx_attr_features = __ATTR_RO(features);
static struct kobj_attribute pvx_attr_max_list = __ATTR_RO(max_list_entries);
static struct kobj_attribute pvx_attr_instance = __ATTR_RO(instance);
static struct kobj_attribute pvx_attr_service_lost = __ATTR_RO(service_lost);

static struct attribute *pvx_attrs[] = {
	&pvx_attr_abi_version.attr,
	&pvx_attr_features.attr,
	&pvx_attr_max_list.attr,
	&pvx_attr_notifications.attr,
	&pvx_attr_events.attr,
	&pvx_attr_instance.attr,
	&pvx_attr_service_lost.attr,
	NULL,
};

static const struct attribute_group pvx_attr_group = {
	.attrs = pvx_attrs,
};

static int __init pvx_guest_init(void)
{
	int ret;

	ret = pvx_probe_host();
	if (ret)
		return ret;
	pr_info("host pvx ABI %u, features %#llx, max list %u, timer by %s\n",
		pvx_info.abi_version, pvx_info.features,
		pvx_info.max_list_entries,
		pvx_timer_tsc && tsc_deadline ? "TSC deadline" : "delta");

	ret = pvx_notify_init();
	if (ret)
		goto err_notify;

	pvx_kobj = kobject_create_and_add("pvx", kernel_kobj);
	if (!pvx_kobj) {
		ret = -ENOMEM;
		goto err_kobj;
	}
	ret = sysfs_create_group(pvx_kobj, &pvx_attr_group);
	if (ret)
		goto err_sysfs;
	pvx_service_init();
	return 0;

err_sysfs:
	kobject_put(pvx_kobj);
err_kobj:
	pvx_service_stop();
	pvx_notify_exit();
err_notify:
	pvx_service_stop();
	pvx_service_exit();
	return ret;
}

static void __exit pvx_guest_exit(void)
{
	unregister_pm_notifier(&pvx_pm_nb);
	pvx_service_stop();
	sysfs_remove_group(pvx_kobj, &pvx_attr_group);
	kobject_put(pvx_kobj);
	pvx_notify_exit();
	pvx_service_exit();
}

module_init(pvx_guest_init);
module_exit(pvx_guest_exit);

MODULE_DESCRIPTION("pvx: guest core (probe, hypercall wrappers)");
MODULE_LICENSE("GPL");
MODULE_VERSION(PVX_VERSION);
