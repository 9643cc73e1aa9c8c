// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown with everything in flight.  One VM of three vCPUs: vCPU 0 has
 * a vector, a timer armed for an hour and 64 pages ballooned, and halts;
 * vCPU 1 submitted a split-phase COPY_PAGES whose worker still sleeps;
 * vCPU 2 sleeps inside a YIELD_TO.  (pvx_host's test-build knobs
 * test_split_hold and test_yield_hold hold the worker and the yield until
 * the teardown is seen waiting for them.)  Then the VM goes, three ways:
 * detach by id, SIGKILL of its VMM, rmmod of pvx_host.
 *
 * Each observer is first shown to see the thing in flight, then to see
 * it gone: the armed timer in /proc/timer_list, the worker as the VMM's
 * thread "pvx-<id>", the yield on the vCPU thread's kernel stack, the
 * VM in pvx's stats and in KVM's debugfs, pinned pages in /proc/vmstat
 * and VmLck/VmPin.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_irq.h"
#include "pvx_observe.h"

#define MODNAME		"pvx_host"
#define PARAMS		"/sys/module/pvx_host/parameters/"
#define SPLIT_KNOB	PARAMS "test_split_hold"
#define YIELD_KNOB	PARAMS "test_yield_hold"
#define NR_VCPUS	3
#define VEC		0xec
#define WAKE_VEC	0xee
#define SEC		1000000000ULL
#define MS		1000000ULL
#define PAGE		4096ULL
#define BALLOON_PAGES	64
#define BALLOON_GPA	GUEST_LOW_SCRATCH_GPA
#define NCOPY		8
#define COPY_SRC	(GUEST_LOW_SCRATCH_GPA + 0x80000)
#define COPY_DST	(GUEST_LOW_SCRATCH_GPA + 0xc0000)
#define TIMER_FN	"pvx_timer_fire"
#define YIELD_FN	"pvx_yield_to"
#define FEATURES	(PVX_F_TIMER | PVX_F_SPLIT | PVX_F_COPY_PAGES | \
			 PVX_F_BALLOON | PVX_F_YIELD_TO)
#define HC_YIELD	(PVX_HC_YIELD_TO - PVX_HC_BASE)

enum {
	STEP_ARMED = 1,
	STEP_BALLOON,
	STEP_WOKEN,
	STEP_SUBMITTED,
	STEP_YIELDED,
};

static struct pvx_gfn_range balloon_range __aligned(64);
static struct pvx_copy_entry copy_list[NCOPY] __aligned(64);
static struct pvx_completion comp __aligned(64);
static volatile uint64_t yield_entering;

/* vCPU 0: armed, ballooned, asleep until an interrupt. */
static void guest_timer(uint64_t arg)
{
	uint64_t v, t, r;

	(void)arg;
	guest_x2apic_enable();
	v = guest_hypercall(PVX_HC_SET_VECTOR, VEC, 0, 0, 0);
	t = guest_hypercall(PVX_HC_TIMER_SET, 3600 * SEC, 0, 0, 0);
	GUEST_SYNC(STEP_ARMED, v, t);
	balloon_range.gfn = BALLOON_GPA / PAGE;
	balloon_range.npages = BALLOON_PAGES;
	balloon_range.status = 0x7777;
	r = guest_hypercall(PVX_HC_BALLOON_INFLATE, (uint64_t)&balloon_range,
			    1, 0, 0);
	GUEST_SYNC(STEP_BALLOON, r, balloon_range.status);
	while (!guest_irq_count)
		guest_safe_halt();
	guest_cli();
	GUEST_SYNC(STEP_WOKEN, guest_irq_last_vector, guest_irq_count);
	GUEST_DONE();
}

/* vCPU 1: a split-phase copy, left to its worker. */
static void guest_split(uint64_t arg)
{
	uint64_t r;
	int i;

	(void)arg;
	for (i = 0; i < NCOPY; i++) {
		copy_list[i].src_gfn = COPY_SRC / PAGE + i;
		copy_list[i].dst_gfn = COPY_DST / PAGE + i;
		copy_list[i].status = 0x7777;
		copy_list[i].reserved = 0;
	}
	comp.state = 0;
	r = guest_hypercall(PVX_HC_COPY_PAGES, (uint64_t)copy_list, NCOPY,
			    PVX_SPLIT, (uint64_t)&comp);
	GUEST_SYNC(STEP_SUBMITTED, r, comp.state);
	GUEST_DONE();
}

/* vCPU 2: a yield to vCPU 0, which sleeps in the host. */
static void guest_yield(uint64_t arg)
{
	(void)arg;
	yield_entering = 1;
	GUEST_SYNC(STEP_YIELDED, guest_hypercall(PVX_HC_YIELD_TO, 0, 0, 0, 0));
	GUEST_DONE();
}

struct runner {
	uint64_t cmd;
	struct ucall last;	/* the last UCALL_SYNC */
	pid_t tid;
	bool exited;
};

static struct runner runners[NR_VCPUS];

static void *vcpu_runner(struct vcpu *vcpu)
{
	struct runner *r = &runners[vcpu->id];
	struct ucall uc;

	WRITE_ONCE(r->tid, syscall(SYS_gettid));
	for (;;) {
		r->cmd = vcpu_get_ucall(vcpu, &uc);
		if (r->cmd != UCALL_SYNC)
			break;
		r->last = uc;
	}
	WRITE_ONCE(r->exited, true);
	return NULL;
}

struct inflight {
	struct vm *vm;
	struct vcpu *vcpu[NR_VCPUS];
	uint64_t vm_id;
	pid_t yield_tid;
};

static bool wait_for(volatile bool *flag, volatile uint64_t *flag2)
{
	int i;

	for (i = 0; i < 3000; i++) {
		if ((!flag || *flag) && (!flag2 || *flag2))
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * Sets it all up; NULL, or what went wrong.  No TAP output: the SIGKILL
 * case runs it in the child that is killed.
 */
static const char *inflight_setup(int pvx, struct inflight *f)
{
	struct vm *vm;
	struct ucall uc;
	struct runner *r1 = &runners[1];
	int i;

	memset(runners, 0, sizeof(runners));
	f->vm = vm = vm_create();
	vm_enable_irqchip(vm);
	f->vcpu[0] = vcpu_add(vm, guest_timer, 0);
	vcpu_setup_idt(f->vcpu[0]);
	f->vcpu[1] = vcpu_add(vm, guest_split, 0);
	f->vcpu[2] = vcpu_add(vm, guest_yield, 0);
	/* With an in-kernel LAPIC, vCPUs but the first wait for a SIPI. */
	for (i = 1; i < NR_VCPUS; i++) {
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

		if (ioctl(f->vcpu[i]->fd, KVM_SET_MP_STATE, &mp))
			return "KVM_SET_MP_STATE";
	}
	/* The copy's source has a pattern; its destination is zero. */
	for (i = 0; i < NCOPY; i++)
		memset(guest_ptr(vm, COPY_SRC + i * PAGE), 0xa0 + i, PAGE);
	if (__pvx_attach(pvx, vm->fd, FEATURES, 0, &f->vm_id))
		return "attach";

	if (vcpu_get_ucall(f->vcpu[0], &uc) != UCALL_SYNC ||
	    uc.args[0] != STEP_ARMED || uc.args[1] || uc.args[2])
		return "vCPU 0: vector and a one-hour timer";
	if (vcpu_get_ucall(f->vcpu[0], &uc) != UCALL_SYNC ||
	    uc.args[0] != STEP_BALLOON || uc.args[1] != 1 || uc.args[2])
		return "vCPU 0: 64 pages ballooned";
	for (i = 0; i < NR_VCPUS; i++)
		vcpu_thread_start(f->vcpu[i], vcpu_runner, NULL);

	if (!wait_for(&r1->exited, &guest_global(vm, yield_entering)))
		return "vCPUs 1 and 2 ran";
	if (r1->last.args[0] != STEP_SUBMITTED ||
	    r1->last.args[1] != PVX_ERR(PVX_EINPROGRESS) ||
	    r1->last.args[2] != PVX_COMPLETION_PENDING)
		return "vCPU 1: split-phase copy in progress";
	f->yield_tid = READ_ONCE(runners[2].tid);
	/* vCPU 2 has set its flag: let it reach the host's hold. */
	for (i = 0; i < 300; i++) {
		if (obs_task_in(getpid(), f->yield_tid, YIELD_FN))
			break;
		usleep(10000);
	}
	return NULL;
}

/* The VM's split-phase worker: a thread of its VMM named pvx-<id>. */
static int worker_threads(pid_t pid, uint64_t vm_id)
{
	char comm[32];

	snprintf(comm, sizeof(comm), "pvx-%llu", (unsigned long long)vm_id);
	return obs_vm_workers(pid, comm);
}

/* The worker thread exits once stopped; it leaves /proc a moment later. */
static bool worker_gone(uint64_t vm_id)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (!worker_threads(getpid(), vm_id))
			return true;
		usleep(10000);
	}
	return false;
}

/* Everything is in flight, and each observer sees its part. */
static void check_inflight(const char *v, int pvx, pid_t pid,
			   const struct inflight *f)
{
	struct pvx_vm_stats st;
	int n;

	TAP_EQ(obs_timers_armed(TIMER_FN), 1,
	       "%s: in flight: /proc/timer_list shows vCPU 0's timer", v);
	n = worker_threads(pid, f->vm_id);
	TAP_EQ(n, 1, "%s: in flight: the VM's split-phase worker is its VMM's (a thread; before 6.12 a kthread in its cgroups)",
	       v);
	n = obs_task_in(pid, f->yield_tid, YIELD_FN);
	if (n < 0)
		tap_skip("%s: no /proc/<pid>/task/<tid>/stack here", v);
	else
		tap_ok(n == 1, "%s: in flight: vCPU 2's thread sleeps in %s",
		       v, YIELD_FN);
	if (tap_ok(pvx_find_vm(pvx, f->vm_id, &st) == 1,
		   "%s: in flight: STATS lists the VM", v)) {
		TAP_EQ(st.balloon_pages, BALLOON_PAGES,
		       "%s: in flight: pages ballooned", v);
		TAP_EQ(st.hc[HC_YIELD].calls, 0,
		       "%s: in flight: the yield has not returned", v);
		TAP_EQ(st.split_inflight, 1,
		       "%s: in flight: the split-phase copy is in its worker", v);
	}
}

/* Pins now, and the VMM's locked and pinned memory, before it all. */
struct pins {
	int64_t foll, lck, pin;
};

static struct pins pins_now(pid_t pid)
{
	struct pins p = {
		.foll = obs_foll_pins(),
		.lck = obs_status_kb(pid, "VmLck"),
		.pin = obs_status_kb(pid, "VmPin"),
	};

	return p;
}

static bool kworkers_idle(void)
{
	int i;

	/* A worker's tail (mmput, its VM reference) may still be running. */
	for (i = 0; i < 500; i++) {
		if (!obs_kworkers_busy("pvx_"))
			return true;
		usleep(10000);
	}
	return false;
}

static void check_gone(const char *v, const struct pins *base, bool strict)
{
	struct pins now = pins_now(getpid());

	TAP_EQ(obs_timers_armed(TIMER_FN), 0,
	       "%s: no pvx timer left in /proc/timer_list", v);
	if (strict)
		TAP_EQ(obs_kworkers_busy("pvx_"), 0,
		       "%s: no kworker runs pvx work", v);
	else
		tap_ok(kworkers_idle(), "%s: no kworker left running pvx work",
		       v);
	TAP_EQ(now.foll, base->foll,
	       "%s: pinned pages (nr_foll_pin_acquired - released) as before", v);
	tap_ok(now.lck == base->lck && now.pin == base->pin,
	       "%s: the VMM's VmLck %lld kB and VmPin %lld kB as before (%lld, %lld)",
	       v, (long long)now.lck, (long long)now.pin,
	       (long long)base->lck, (long long)base->pin);
}

/*
 * No destination written: a split-phase copy's worker only takes the
 * faults, and the copy is the collecting vCPU's, which never came.
 */
static bool copy_untouched(struct vm *vm)
{
	int i;

	for (i = 0; i < NCOPY; i++)
		if (!memcmp(guest_ptr(vm, COPY_SRC + i * PAGE),
			    guest_ptr(vm, COPY_DST + i * PAGE), PAGE))
			return false;
	return true;
}

/* MSI to vCPU 0: wakes it if the teardown sent it nothing. */
static void wake_vcpu0(struct vm *vm)
{
	struct kvm_msi msi = {
		.address_lo = 0xfee00000,
		.data = WAKE_VEC,
	};

	ioctl(vm->fd, KVM_SIGNAL_MSI, &msi);
}

/*
 * After the VM was let go (detach, unload): its vCPUs' view.  vCPU 0's
 * armed timer came early, vCPU 2's yield returned a pvx result.
 */
static void check_vcpus(const char *v, struct inflight *f, uint64_t yield_want)
{
	int i;

	if (!wait_for(&runners[0].exited, NULL)) {
		wake_vcpu0(f->vm);
		tap_diag("%s: vCPU 0 still halted: woke it with vector %#x",
			 v, WAKE_VEC);
	}
	for (i = 0; i < NR_VCPUS; i++)
		vcpu_thread_join(f->vcpu[i]);
	tap_ok(runners[0].last.args[0] == STEP_WOKEN &&
	       runners[0].last.args[1] == VEC,
	       "%s: vCPU 0's armed timer was fired at once: vector %#llx, want %#x",
	       v, (unsigned long long)runners[0].last.args[1], VEC);
	tap_ok(runners[2].last.args[0] == STEP_YIELDED &&
	       runners[2].last.args[1] == yield_want,
	       "%s: vCPU 2's yield returned %#llx, want %#llx", v,
	       (unsigned long long)runners[2].last.args[1],
	       (unsigned long long)yield_want);
	for (i = 0; i < NR_VCPUS; i++)
		tap_ok(runners[i].cmd == UCALL_DONE, "%s: vCPU %d finished",
		       v, i);
}

/* Every fd closed: KVM destroys the VM now, unless someone holds it. */
static void check_vm_freed(const char *v, struct inflight *f)
{
	vm_free(f->vm);
	f->vm = NULL;
	TAP_EQ(obs_kvm_vms(getpid()), 0,
	       "%s: KVM destroyed the VM at the close of its fds (debugfs)", v);
}

static bool set_knobs(const char *v)
{
	return !write_file(SPLIT_KNOB, v) && !write_file(YIELD_KNOB, v);
}

struct teardown {
	int (*fn)(struct teardown *t);
	int pvx;
	uint64_t vm_id;
	pid_t tid;
	int ret;
	bool done;
};

static void *teardown_main(void *arg)
{
	struct teardown *t = arg;

	WRITE_ONCE(t->tid, syscall(SYS_gettid));
	t->ret = t->fn(t);
	WRITE_ONCE(t->done, true);
	return NULL;
}

/*
 * Runs t->fn (a detach, an unload) in a thread of its own while the
 * worker and the yield are held, until it is seen waiting inside pvx
 * (@in on its kernel stack) or it returns; then lets them go.  Returns
 * whether it waited (-1: the kernel shows no stacks), t->ret its result.
 */
static int teardown_held(struct teardown *t, const char *in)
{
	pthread_t th;
	int waited = 0, i, r;

	TEST_ASSERT(!pthread_create(&th, NULL, teardown_main, t),
			 "pthread_create");
	for (i = 0; i < 3000 && !READ_ONCE(t->done); i++) {
		r = READ_ONCE(t->tid) ? obs_task_in(getpid(), t->tid, in) : 0;
		if (r) {
			waited = r;
			break;
		}
		usleep(10000);
	}
	set_knobs("0");
	pthread_join(th, NULL);
	return waited;
}

static int detach_fn(struct teardown *t)
{
	return __pvx_detach_id(t->pvx, t->vm_id);
}

static void test_detach(int pvx)
{
	const char *v = "detach", *err;
	struct pins base = pins_now(getpid());
	uint64_t live = pvx_live_vms(pvx);
	struct teardown t = { 0 };
	struct inflight f;
	int r;

	set_knobs("1");
	err = inflight_setup(pvx, &f);
	if (!tap_ok(!err, "%s: set up: %s", v, err ?: "ok"))
		return;
	check_inflight(v, pvx, getpid(), &f);

	t.pvx = pvx;
	t.vm_id = f.vm_id;
	t.fn = detach_fn;
	r = teardown_held(&t, "pvx_vm_detach_id");
	if (r < 0)
		tap_skip("%s: no kernel stacks: cannot see it wait", v);
	else
		tap_ok(r, "%s: detach waits in pvx_vm_detach_id, worker and yield held",
		       v);
	tap_ok(!t.ret, "%s: PVX_IOC_DETACH by id: %s", v,
	       t.ret ? strerror(-t.ret) : "ok");
	/* Detach returns after the worker and the yield, not before. */
	tap_ok(worker_gone(f.vm_id), "%s: the VM's worker thread gone after detach", v);
	tap_ok(copy_untouched(f.vm), "%s: no destination written without a collection", v);
	TAP_EQ(obs_task_in(getpid(), f.yield_tid, YIELD_FN) == 1, 0,
	       "%s: vCPU 2 out of %s when detach returned", v, YIELD_FN);
	TAP_EQ(pvx_find_vm(pvx, f.vm_id, NULL), 0, "%s: STATS lists no VM", v);
	TAP_EQ(pvx_live_vms(pvx), live, "%s: live_vms as before", v);
	check_gone(v, &base, false);
	check_vcpus(v, &f, PVX_YIELD_NOT_PREEMPTED);
	check_vm_freed(v, &f);
}

/* The doomed VMM: reports its vm_id and yielding thread, then waits. */
static void child(int pvx, int wfd)
{
	struct inflight f;
	uint64_t msg[2] = { 0, 0 };

	if (!inflight_setup(pvx, &f)) {
		msg[0] = f.vm_id;
		msg[1] = f.yield_tid;
	}
	if (write(wfd, msg, sizeof(msg)) != sizeof(msg) || !msg[0])
		_exit(1);
	for (;;)
		pause();
}

static void test_sigkill(int pvx)
{
	const char *v = "SIGKILL";
	struct pins base = pins_now(getpid());
	uint64_t live = pvx_live_vms(pvx), msg[2] = { 0, 0 }, t0;
	struct pollfd pfd;
	struct inflight f = { 0 };
	int fd, status, r;
	bool gone;
	pid_t pid;

	set_knobs("1");
	pid = fork_reporting(&fd);
	if (!pid)
		child(pvx, fd);
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 60000) == 1 &&
	    read(fd, msg, sizeof(msg)) != sizeof(msg))
		msg[0] = 0;
	close(fd);
	if (tap_ok(msg[0], "%s: child VMM set it all up (vm_id %llu)", v,
		   (unsigned long long)msg[0])) {
		f.vm_id = msg[0];
		f.yield_tid = msg[1];
		check_inflight(v, pvx, pid, &f);
	}

	kill(pid, SIGKILL);
	/* Its yielding thread keeps it from exiting, the worker its VM. */
	usleep(100 * 1000);
	tap_ok(pvx_find_vm(pvx, msg[0], NULL) == 1 && obs_kvm_vms(pid) == 1,
	       "%s: killed, held: the VM still listed, in KVM's debugfs (%d)",
	       v, obs_kvm_vms(pid));
	set_knobs("0");
	r = waitpid(pid, &status, 0);
	tap_ok(r == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	       "%s: child reaped, killed (status %#x)", v, status);
	/* The sleeping worker holds the VM: it goes when the worker is done. */
	t0 = now_ns();
	do {
		gone = pvx_find_vm(pvx, msg[0], NULL) == 0 &&
		       pvx_live_vms(pvx) == live && obs_kvm_vms(pid) == 0;
		if (!gone)
			usleep(20000);
	} while (!gone && now_ns() - t0 < 30 * SEC);
	tap_ok(gone, "%s: VM gone: unlisted, live_vms %llu (was %llu), KVM debugfs dirs %d (%llu ms)",
	       v, (unsigned long long)pvx_live_vms(pvx),
	       (unsigned long long)live, obs_kvm_vms(pid),
	       (unsigned long long)((now_ns() - t0) / MS));
	check_gone(v, &base, false);
}

static int unload(struct teardown *t)
{
	(void)t;
	uint64_t t0 = now_ns();
	int r;

	for (;;) {
		r = syscall(SYS_delete_module, MODNAME, O_NONBLOCK);
		if (!r)
			return 0;
		r = -errno;
		if ((r != -EAGAIN && r != -EBUSY) || now_ns() - t0 > 20 * SEC)
			return r;
		usleep(50000);
	}
}

/* Closes @pvx; returns /dev/pvx of the module loaded again, or -1. */
static int test_rmmod(int pvx, int kofd)
{
	const char *v = "rmmod", *err;
	struct pins base = pins_now(getpid());
	struct pvx_vm_stats *recs;
	struct teardown t = { .fn = unload };
	struct inflight f;
	uint64_t live;
	uint32_t nr;
	int r;

	set_knobs("1");
	err = inflight_setup(pvx, &f);
	if (!tap_ok(!err, "%s: set up: %s", v, err ?: "ok"))
		return pvx;
	check_inflight(v, pvx, getpid(), &f);

	/* Our /dev/pvx fd holds a module reference. */
	close(pvx);
	r = teardown_held(&t, "[" MODNAME "]");
	if (r < 0)
		tap_skip("%s: no kernel stacks: cannot see it wait", v);
	else
		tap_ok(r, "%s: delete_module waits in %s, worker and yield held",
		       v, MODNAME);
	r = t.ret;
	if (!tap_ok(!r, "%s: delete_module(%s) with it all in flight: %s",
		    v, MODNAME, r ? strerror(-r) : "ok"))
		tap_bail("cannot go on with pvx_host half gone");
	tap_ok(!obs_module_loaded(MODNAME), "%s: %s gone from /proc/modules", v, MODNAME);
	tap_ok(worker_gone(f.vm_id), "%s: the VM's worker thread gone after unload", v);
	tap_ok(copy_untouched(f.vm), "%s: no destination written without a collection", v);
	TAP_EQ(obs_task_in(getpid(), f.yield_tid, YIELD_FN) == 1, 0,
	       "%s: vCPU 2 out of %s when unload returned", v, YIELD_FN);
	check_gone(v, &base, true);
	check_vcpus(v, &f, PVX_YIELD_NOT_PREEMPTED);
	check_vm_freed(v, &f);

	r = syscall(SYS_finit_module, kofd, "", 0);
	if (!tap_ok(!r, "%s: finit_module: %s", v, r ? strerror(errno) : "ok"))
		return -1;
	pvx = pvx_open_after_load();
	if (!tap_ok(pvx >= 0, "%s: %s back", v, PVX_DEV))
		return -1;
	r = __pvx_stats_read(pvx, &recs, &nr, &live);
	if (!r)
		free(recs);
	tap_ok(!r && !nr && !live, "%s: the new instance has no VM: %u listed, live_vms %llu",
	       v, nr, (unsigned long long)live);
	return pvx;
}

int main(void)
{
	const char *ko = getenv("PVX_HOST_KO");
	char buf[32];
	int pvx, kofd = -1;

	tap_init("inflight_test: detach, SIGKILL and rmmod with work in flight");
	kvm_fd_or_skip();
	if (read_file(SPLIT_KNOB, buf, sizeof(buf)) < 0 ||
	    read_file(YIELD_KNOB, buf, sizeof(buf)) < 0)
		tap_skip_all("no test_split_hold, test_yield_hold: not a make stage build");
	pvx = pvx_open_features(FEATURES);
	if (!tap_ok(set_knobs("0"), "test_split_hold and test_yield_hold writable"))
		tap_finish();

	test_detach(pvx);
	test_sigkill(pvx);
	if (ko && *ko)
		kofd = open(ko, O_RDONLY | O_CLOEXEC);
	if (kofd >= 0) {
		pvx = test_rmmod(pvx, kofd);
		close(kofd);
	} else {
		tap_skip("rmmod: PVX_HOST_KO not set or unreadable: cannot reload");
	}
	if (pvx >= 0)
		close(pvx);
	tap_finish();
}
