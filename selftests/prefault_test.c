// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_PREFAULT_WRITE: N fresh guest pages, each first read and then
 * written, cost two exits each without the hint (map the zero page
 * read-only, then break it) and one hypercall with it.  Then the same for
 * pages the VMM shares copy-on-write with a forked child, whose copy must
 * stay as it was.  Then the ranges the host must refuse.
 *
 * Then what one exit may do: at most prefault_max_pages pages (a call
 * stops inside a range and the guest resumes from there, as the list
 * contract says), less when a signal is pending for the vCPU thread, and
 * at most prefault_rate_hz calls per second and VM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pvx_test.h"

#define PAGE		4096ULL
#define N		256
#define SLOT_BYTES	(N * PAGE)
#define GPA_PLAIN	0x20000000ULL
#define GPA_HINT	0x20400000ULL
#define GPA_FORK	0x20800000ULL
#define GPA_RO		0x20c00000ULL
#define GPA_NONE	0x30000000ULL	/* mapped by the guest, no memslot */
#define FILL		0x3c

/*
 * 7.3 keeps kvm_mmu_page_fault() to KVM: pvx faults the VMM's page in
 * and leaves stage 2 to the guest's own fault (Documentation/design.rst,
 * Kernels).
 */
#define NO_STAGE2_WHY	"pvx maps no stage 2 on Linux 7.3"

static bool no_stage2(void)
{
	return !kernel_older_than(7, 3);
}
#define MARK		0x5a

#define PARAM(p)	"/sys/module/pvx_host/parameters/" p
#define BOUND_PARAM	PARAM("prefault_max_pages")
#define RATE_PARAM	PARAM("prefault_rate_hz")
#define GPA_BIG		0x21000000ULL
#define BIG_RANGES	2
#define BIG_PAGES	(BIG_RANGES * PVX_RANGE_MAX_PAGES)
#define BIG_BYTES	(BIG_PAGES * PAGE)
#define BOUND		300		/* pages per exit: ends inside a range */
#define BOUND_RANGES	2
#define MAX_CALLS	4096
#define SIGNAL_EVERY_US	5000
#define RATE_HZ		5
#define RATE_CALLS	20

enum {
	STEP_PLAIN_START = 1,
	STEP_PLAIN_END,
	STEP_HINT_START,
	STEP_HINT_END,
	STEP_FORK_START,
	STEP_FORK_END,
	STEP_REFUSED,
	STEP_RESUMED,
	STEP_WRITTEN,
	STEP_RATE,
};

static struct pvx_gfn_range ranges[8] __aligned(64);

/* What prefault_resume() saw, for the host to read. */
static struct {
	uint64_t calls;
	uint64_t max_pages;	/* done by one call, at most */
	uint64_t idle;		/* calls that did no page */
	uint64_t first_r, first_npages;
	int64_t first_status, error;
} rlog;

static uint64_t prefault(uint64_t count)
{
	return guest_hypercall(PVX_HC_PREFAULT_WRITE, (uint64_t)ranges, count,
			       0, 0);
}

static uint64_t pages_left(uint32_t from, uint32_t count)
{
	uint64_t n = 0;

	for (; from < count; from++)
		n += ranges[from].npages;
	return n;
}

/*
 * The guest's side of the list contract: the entry the host stopped in
 * comes back with -PVX_EAGAIN and what is left of it; call again from
 * there.  Each call's pages are what it took off the list.
 */
static uint64_t prefault_resume(uint32_t count)
{
	uint64_t before, did, r;
	uint32_t done = 0;

	while (done < count && rlog.calls < MAX_CALLS) {
		before = pages_left(done, count);
		r = guest_hypercall(PVX_HC_PREFAULT_WRITE,
				    (uint64_t)&ranges[done], count - done, 0, 0);
		if (!rlog.calls++) {
			rlog.first_r = r;
			rlog.first_status = ranges[0].status;
			rlog.first_npages = ranges[0].npages;
		}
		if ((int64_t)r < 0) {
			rlog.error = r;
			break;
		}
		done += r;
		did = before - pages_left(done, count);
		if (did > rlog.max_pages)
			rlog.max_pages = did;
		rlog.idle += !did;
		if (done < count && ranges[done].status != -PVX_EAGAIN)
			break;
	}
	return done;
}

/* @n ranges of PVX_RANGE_MAX_PAGES from GPA_BIG, prefaulted, written. */
static void guest_big(uint64_t n)
{
	uint64_t i, r;

	for (i = 0; i < n; i++) {
		ranges[i].gfn = GPA_BIG / PAGE + i * PVX_RANGE_MAX_PAGES;
		ranges[i].npages = PVX_RANGE_MAX_PAGES;
		ranges[i].status = 0x7777;
	}
	r = prefault_resume(n);
	GUEST_SYNC(STEP_RESUMED, r);
	for (i = 0; i < n * PVX_RANGE_MAX_PAGES; i++)
		WRITE_ONCE(*(uint8_t *)(GPA_BIG + i * PAGE + 8), MARK);
	GUEST_SYNC(STEP_WRITTEN);
	GUEST_DONE();
}

/* Bursts of RATE_CALLS one-page calls: how many did it, how many not. */
static void guest_rate(uint64_t bursts)
{
	uint64_t b, i, r, ok, limited, other;

	for (b = 0; b < bursts; b++) {
		ok = limited = other = 0;
		for (i = 0; i < RATE_CALLS; i++) {
			ranges[0].gfn = GPA_BIG / PAGE + i;
			ranges[0].npages = 1;
			ranges[0].status = 0x7777;
			r = guest_hypercall(PVX_HC_PREFAULT_WRITE,
					    (uint64_t)ranges, 1, 0, 0);
			if (r == 1 && !ranges[0].status)
				ok++;
			else if (r == 0 && ranges[0].status == -PVX_EBUSY)
				limited++;
			else
				other++;
		}
		GUEST_SYNC(STEP_RATE, ok, limited, other);
	}
	GUEST_DONE();
}

/* Reads then writes each page; returns the sum of what it read. */
static uint64_t read_then_write(uint64_t base)
{
	uint64_t i, sum = 0;

	for (i = 0; i < N; i++) {
		volatile uint8_t *p = (volatile uint8_t *)(base + i * PAGE);

		sum += p[0];
		p[8] = MARK;
	}
	return sum;
}

static void one_range(uint64_t gfn, uint32_t npages)
{
	ranges[0].gfn = gfn;
	ranges[0].npages = npages;
	ranges[0].status = 0x7777;
}

static void guest_main(uint64_t arg)
{
	uint64_t r, sum;
	int i;

	(void)arg;
	GUEST_SYNC(STEP_PLAIN_START);
	sum = read_then_write(GPA_PLAIN);
	GUEST_SYNC(STEP_PLAIN_END, sum);

	GUEST_SYNC(STEP_HINT_START);
	one_range(GPA_HINT / PAGE, N);
	r = prefault(1);
	sum = read_then_write(GPA_HINT);
	GUEST_SYNC(STEP_HINT_END, r, ranges[0].status, sum);

	GUEST_SYNC(STEP_FORK_START);
	one_range(GPA_FORK / PAGE, N);
	r = prefault(1);
	sum = read_then_write(GPA_FORK);
	GUEST_SYNC(STEP_FORK_END, r, ranges[0].status, sum);

	/* Each refused on its own: the call returns 0 and the status. */
	for (i = 0; i < 5; i++) {
		static const struct {
			uint64_t gfn;
			uint32_t npages;
		} bad[5] = {
			{ GPA_NONE / PAGE, 1 },
			{ GPA_RO / PAGE, 1 },
			{ ~0ULL - 1, 4 },
			{ GPA_HINT / PAGE, 0 },
			{ GPA_HINT / PAGE, PVX_RANGE_MAX_PAGES + 1 },
		};

		one_range(bad[i].gfn, bad[i].npages);
		r = prefault(1);
		GUEST_SYNC(STEP_REFUSED, i, r, (uint64_t)(int64_t)ranges[0].status);
	}
	/* A good range after a bad one is not touched. */
	one_range(GPA_NONE / PAGE, 1);
	ranges[1].gfn = GPA_HINT / PAGE;
	ranges[1].npages = 1;
	ranges[1].status = 0x7777;
	r = prefault(2);
	GUEST_SYNC(STEP_REFUSED, 5, r, ranges[1].status);
	GUEST_DONE();
}

static int count_marked(const uint8_t *mem)
{
	int i, n = 0;

	for (i = 0; i < N; i++)
		n += mem[i * PAGE + 8] == MARK;
	return n;
}

/* A child that holds the pre-fork contents and checks them on demand. */
static pid_t fork_holder(const uint8_t *mem, int *go_fd)
{
	int p[2];
	pid_t pid;
	char c;

	TEST_ASSERT(!pipe(p), "pipe");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		int i, bad = 0;

		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(2);
		for (i = 0; i < N; i++)
			bad += mem[i * PAGE] != FILL || mem[i * PAGE + 8] != FILL;
		_exit(bad ? 1 : 0);
	}
	close(p[0]);
	*go_fd = p[1];
	return pid;
}

static int set_param(const char *path, unsigned int val, unsigned int *old)
{
	char buf[32];
	int r;

	if (old)
		*old = read_u64(path);
	snprintf(buf, sizeof(buf), "%u\n", val);
	r = write_file(path, buf);
	tap_ok(!r, "%s = %u: %s", path, val, r ? strerror(-r) : "ok");
	return r;
}

static struct vm *big_vm(int pvx, void (*entry)(uint64_t), uint64_t arg,
			 uint8_t **mem, uint64_t *id)
{
	struct vm *vm;

	/* Guest RAM starts as a copy of ours: of the last VM's log too. */
	memset(&rlog, 0, sizeof(rlog));
	vm = vm_create();
	vcpu_add(vm, entry, arg);
	*mem = vm_add_anon_slot(vm, 1, GPA_BIG, BIG_BYTES, 0, true);
	*id = pvx_attach(pvx, vm->fd, PVX_F_PREFAULT, 0);
	return vm;
}

/* Pages of @mem the guest's writes after the prefault landed in. */
static uint64_t count_big_marked(const uint8_t *mem, uint64_t pages)
{
	uint64_t i, n = 0;

	for (i = 0; i < pages; i++)
		n += mem[i * PAGE + 8] == MARK;
	return n;
}

/*
 * The guest writes the pages it prefaulted: they were made writable in
 * stage 2 too, so the writes do not exit (a few exits for the guest's
 * own page tables and the messages).
 */
static void check_written(struct vm *vm, const uint8_t *mem, uint64_t pages,
			  const char *what)
{
	struct vcpu *vcpu = vm->vcpus[0];
	struct ucall uc;
	uint64_t e0;

	e0 = vcpu_stat(vcpu, "exits");
	if (!vcpu_expect_step(vcpu, STEP_WRITTEN, &uc))
		return;
	e0 = vcpu_stat(vcpu, "exits") - e0;
	if (no_stage2())
		tap_skip("%s: every page writable in stage 2: %s", what,
			 NO_STAGE2_WHY);
	else
		tap_ok(e0 <= pages / 16,
		       "%s: every page writable in stage 2 (%llu exits for %llu pages)",
		       what, (unsigned long long)e0,
		       (unsigned long long)pages);
	TAP_EQ(count_big_marked(mem, pages), pages,
	       "%s: every page written", what);
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "%s: guest done", what);
}

/*
 * BOUND pages per exit: the first call stops inside the first range and
 * gives it back as the rest; resumed calls finish the list, none doing
 * more than BOUND pages.
 */
static void test_bound(int pvx)
{
	const uint64_t pages = BOUND_RANGES * PVX_RANGE_MAX_PAGES;
	unsigned int old = 0;
	bool set;
	struct ucall uc;
	struct vm *vm;
	uint8_t *mem;
	uint64_t id;

	set = !set_param(BOUND_PARAM, BOUND, &old);
	vm = big_vm(pvx, guest_big, BOUND_RANGES, &mem, &id);
	if (vcpu_expect_step(vm->vcpus[0], STEP_RESUMED, &uc)) {
		sync_global_from_guest(vm, rlog);
		tap_diag("%llu pages, %d an exit at most: %llu calls, at most %llu pages in one",
			 (unsigned long long)pages, BOUND,
			 (unsigned long long)rlog.calls,
			 (unsigned long long)rlog.max_pages);
		TAP_EQ(uc.args[1], BOUND_RANGES, "bound: every range done");
		TAP_EQ(rlog.first_r, 0, "bound: the first call completed no range");
		TAP_EQ(rlog.first_status, -PVX_EAGAIN,
		       "bound: it stopped in the first range (-EAGAIN)");
		TAP_EQ(rlog.first_npages, PVX_RANGE_MAX_PAGES - BOUND,
		       "bound: the range came back as what was left of it");
		TAP_EQ(rlog.max_pages, BOUND,
		       "bound: no call did more than %d pages, some that many",
		       BOUND);
		TAP_EQ(rlog.calls, (pages + BOUND - 1) / BOUND,
		       "bound: %d pages a call, the last the rest", BOUND);
		TAP_EQ(rlog.idle, 0, "bound: every call made progress");
		TAP_EQ(rlog.error, 0, "bound: no call failed");
	}
	check_written(vm, mem, pages, "bound");
	vm_free(vm);
	if (set)
		set_param(BOUND_PARAM, old, NULL);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/*
 * With the bound at the whole list, only a signal ends an exit early:
 * SIGALRM comes every SIGNAL_EVERY_US while the guest prefaults
 * BIG_PAGES pages, so calls stop short, KVM returns to the VMM for each
 * signal that stopped one, and the guest resumes.
 */
static void test_signal(int pvx)
{
	struct itimerval it = {
		.it_interval.tv_usec = SIGNAL_EVERY_US,
		.it_value.tv_usec = SIGNAL_EVERY_US,
	};
	struct itimerval off = { 0 };
	/* SA_RESTART for the TAP output; KVM_RUN returns EINTR anyway. */
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	uint64_t id, sig0, sigs;
	unsigned int old = 0;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint8_t *mem;
	bool ok, set;

	set = !set_param(BOUND_PARAM, BIG_PAGES, &old);
	vm = big_vm(pvx, guest_big, BIG_RANGES, &mem, &id);
	vcpu = vm->vcpus[0];
	TEST_ASSERT(!sigaction(SIGALRM, &sa, NULL), "sigaction");
	sig0 = vcpu_stat(vcpu, "signal_exits");
	TEST_ASSERT(!setitimer(ITIMER_REAL, &it, NULL), "setitimer");
	ok = vcpu_expect_step(vcpu, STEP_RESUMED, &uc);
	setitimer(ITIMER_REAL, &off, NULL);
	sigs = vcpu_stat(vcpu, "signal_exits") - sig0;
	if (ok) {
		sync_global_from_guest(vm, rlog);
		tap_diag("%d pages, bound %d, SIGALRM every %d us: %llu calls, at most %llu pages in one, %llu signal exits, %d signals",
			 BIG_PAGES, BIG_PAGES, SIGNAL_EVERY_US,
			 (unsigned long long)rlog.calls,
			 (unsigned long long)rlog.max_pages,
			 (unsigned long long)sigs, (int)alarms);
		TAP_EQ(uc.args[1], BIG_RANGES, "signal: every range done");
		tap_ok(rlog.calls > 1 && rlog.max_pages < BIG_PAGES,
		       "signal: calls stopped short of the bound (%llu calls)",
		       (unsigned long long)rlog.calls);
		tap_ok(sigs >= rlog.calls - 1,
		       "signal: KVM returned to the VMM for each (%llu signal exits)",
		       (unsigned long long)sigs);
		TAP_EQ(rlog.idle, 0, "signal: every call made progress");
		TAP_EQ(rlog.error, 0, "signal: no call failed");
	}
	check_written(vm, mem, BIG_PAGES, "signal");
	vm_free(vm);
	signal(SIGALRM, SIG_DFL);
	if (set)
		set_param(BOUND_PARAM, old, NULL);
}

/*
 * RATE_HZ calls a second and VM: of a burst well inside one second
 * exactly that many do their page, the rest are refused with -EBUSY in
 * their entry; a burst in the next second gets as many again.
 */
static void test_rate(int pvx)
{
	uint64_t id, sum_limited = 0;
	struct pvx_vm_stats st;
	unsigned int old = 0;
	bool set;
	struct ucall uc;
	struct vm *vm;
	uint8_t *mem;
	int b;

	set = !set_param(RATE_PARAM, RATE_HZ, &old);
	vm = big_vm(pvx, guest_rate, 2, &mem, &id);
	for (b = 1; b <= 2; b++) {
		if (b == 2)
			usleep(1100 * 1000);
		if (!vcpu_expect_step(vm->vcpus[0], STEP_RATE, &uc))
			break;
		tap_diag("%d calls/s, burst %d of %d: %llu done, %llu limited, %llu other",
			 RATE_HZ, b, RATE_CALLS, (unsigned long long)uc.args[1],
			 (unsigned long long)uc.args[2],
			 (unsigned long long)uc.args[3]);
		TAP_EQ(uc.args[1], RATE_HZ, "rate: burst %d: exactly the budget done", b);
		TAP_EQ(uc.args[2], RATE_CALLS - RATE_HZ,
		       "rate: burst %d: the rest refused with -EBUSY", b);
		sum_limited += uc.args[2];
	}
	if (b > 2)
		tap_ok(vcpu_get_ucall(vm->vcpus[0], &uc) == UCALL_DONE,
		       "rate: guest done");
	if (set)
		set_param(RATE_PARAM, old, NULL);
	if (tap_ok(pvx_find_vm(pvx, id, &st) == 1, "rate: VM listed in stats"))
		TAP_EQ(st.prefault_limited, sum_limited,
		       "rate: pvx stats count the refused calls");
	vm_free(vm);
}

int main(void)
{
	uint64_t e0, plain_exits, hint_exits, fork_exits;
	uint8_t *plain, *hint, *forked;
	int pvx, go, status;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	pid_t child;
	int i;

	tap_init("prefault_test: PVX_HC_PREFAULT_WRITE");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_PREFAULT);

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_main, 0);
	plain = vm_add_anon_slot(vm, 1, GPA_PLAIN, SLOT_BYTES, 0, true);
	hint = vm_add_anon_slot(vm, 2, GPA_HINT, SLOT_BYTES, 0, true);
	forked = vm_add_anon_slot(vm, 3, GPA_FORK, SLOT_BYTES, 0, true);
	vm_add_anon_slot(vm, 4, GPA_RO, SLOT_BYTES, KVM_MEM_READONLY, true);
	pvx_attach(pvx, vm->fd, PVX_F_PREFAULT, 0);

	if (!vcpu_expect_step(vcpu, STEP_PLAIN_START, &uc))
		tap_finish();
	e0 = vcpu_stat(vcpu, "exits");
	if (vcpu_expect_step(vcpu, STEP_PLAIN_END, &uc))
		TAP_EQ(uc.args[1], 0, "fresh pages read as zero");
	plain_exits = vcpu_stat(vcpu, "exits") - e0;
	TAP_EQ(count_marked(plain), N, "guest writes landed (no hint)");

	if (!vcpu_expect_step(vcpu, STEP_HINT_START, &uc))
		tap_finish();
	e0 = vcpu_stat(vcpu, "exits");
	if (vcpu_expect_step(vcpu, STEP_HINT_END, &uc)) {
		TAP_EQ(uc.args[1], 1, "prefault completed its one range");
		TAP_EQ(uc.args[2], 0, "range status 0");
		TAP_EQ(uc.args[3], 0, "prefaulted pages read as zero");
	}
	hint_exits = vcpu_stat(vcpu, "exits") - e0;
	TAP_EQ(count_marked(hint), N, "guest writes landed (with hint)");

	tap_diag("%d fresh pages read then written: %llu exits without the hint, %llu with it (each count includes the closing message's exit)",
		 N, (unsigned long long)plain_exits,
		 (unsigned long long)hint_exits);
	tap_ok(plain_exits >= 2 * N, "without the hint: two exits a page (%llu)",
	       (unsigned long long)plain_exits);
	if (no_stage2()) {
		/* The read's fault is gone, the write's remains. */
		tap_ok(hint_exits <= N + N / 16,
		       "with the hint, stage 1 only: one exit a page (%llu)",
		       (unsigned long long)hint_exits);
		tap_skip("with the hint: stage 2 mapped too: %s", NO_STAGE2_WHY);
	} else {
		tap_ok(hint_exits <= N + 2,
		       "with the hint: at most N+1 exits (%llu)",
		       (unsigned long long)hint_exits);
		tap_ok(hint_exits <= N / 16,
		       "with the hint: stage 2 mapped too, no exit per page (%llu)",
		       (unsigned long long)hint_exits);
	}

	/* Pages shared copy-on-write with a forked child of the VMM. */
	memset(forked, FILL, SLOT_BYTES);
	child = fork_holder(forked, &go);
	if (!vcpu_expect_step(vcpu, STEP_FORK_START, &uc))
		tap_finish();
	e0 = vcpu_stat(vcpu, "exits");
	if (vcpu_expect_step(vcpu, STEP_FORK_END, &uc)) {
		TAP_EQ(uc.args[1], 1, "fork-shared range prefaulted");
		TAP_EQ(uc.args[3], (uint64_t)FILL * N, "guest read the pre-fork data");
	}
	fork_exits = vcpu_stat(vcpu, "exits") - e0;
	/* The fork write-protected the guest's own stack and code too. */
	tap_diag("%d fork-shared pages: %llu exits with the hint",
		 N, (unsigned long long)fork_exits);
	if (no_stage2())
		tap_skip("fork-shared pages: no exit per page: %s",
			 NO_STAGE2_WHY);
	else
		tap_ok(fork_exits <= N / 16,
		       "fork-shared pages: no exit per page (%llu)",
		       (unsigned long long)fork_exits);
	TAP_EQ(count_marked(forked), N, "VMM sees the guest's writes");
	TEST_ASSERT(write(go, "x", 1) == 1, "write");
	close(go);
	TEST_ASSERT(waitpid(child, &status, 0) == child, "waitpid");
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "forked child still sees its own copy (status %#x)", status);

	for (i = 0; i < 5; i++) {
		static const struct {
			const char *what;
			int64_t status;
		} want[5] = {
			{ "range outside every memslot", -PVX_EFAULT },
			{ "read-only memslot", -PVX_EPERM },
			{ "range wrapping past the top", -PVX_EINVAL },
			{ "empty range", -PVX_EINVAL },
			{ "range over PVX_RANGE_MAX_PAGES", -PVX_E2BIG },
		};

		if (!vcpu_expect_step(vcpu, STEP_REFUSED, &uc))
			break;
		TAP_EQ(uc.args[2], 0, "%s: no range completed", want[i].what);
		TAP_EQ(uc.args[3], (uint64_t)want[i].status, "%s: refused",
		       want[i].what);
	}
	if (vcpu_expect_step(vcpu, STEP_REFUSED, &uc)) {
		TAP_EQ(uc.args[2], 0, "bad first range stops the list");
		TAP_EQ(uc.args[3], 0x7777, "range after it untouched");
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "guest done");
	vm_free(vm);

	test_bound(pvx);
	test_signal(pvx);
	test_rate(pvx);
	close(pvx);
	tap_finish();
}
