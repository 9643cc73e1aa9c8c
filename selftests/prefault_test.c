// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_PREFAULT_WRITE: N fresh guest pages, each first read and then
 * written, cost two exits each without the hint (map the zero page
 * read-only, then break it) and one hypercall with it.  Then the same for
 * pages the VMM shares copy-on-write with a forked child, whose copy must
 * stay as it was.  Then the ranges the host must refuse.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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
#define MARK		0x5a

enum {
	STEP_PLAIN_START = 1,
	STEP_PLAIN_END,
	STEP_HINT_START,
	STEP_HINT_END,
	STEP_FORK_START,
	STEP_FORK_END,
	STEP_REFUSED,
};

static struct pvx_gfn_range ranges[8] __attribute__((aligned(64)));

static uint64_t prefault(uint64_t count)
{
	return guest_hypercall(PVX_HC_PREFAULT_WRITE, (uint64_t)ranges, count,
			       0, 0);
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
	tap_ok(hint_exits <= N + 2, "with the hint: at most N+1 exits (%llu)",
	       (unsigned long long)hint_exits);
	tap_ok(hint_exits <= N / 16,
	       "with the hint: stage 2 mapped too, no exit per page (%llu)",
	       (unsigned long long)hint_exits);

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
	tap_ok(fork_exits <= N / 16, "fork-shared pages: no exit per page (%llu)",
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
	close(pvx);
	tap_finish();
}
