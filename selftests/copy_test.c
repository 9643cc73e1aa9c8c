// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_COPY_PAGES: 48 pages copied guest-physical to guest-physical in
 * one exit, then again split-phase; the contents are checked from the
 * VMM, and KVM's dirty log must show exactly the destination pages.  Then
 * the entries the host must refuse, each stopping the batch with its
 * status.
 *
 * All of it twice: on the CPU, and on a DMA_MEMCPY dmaengine channel
 * (the host's own, or in the testbed pvx_softdma, which also counts its
 * copies and fails one on request: that entry must get -PVX_EIO).
 *
 * Then lists whose entries depend on each other (a shift by one page each
 * way, and the same hazards through two memslots that alias one buffer):
 * every engine must leave the pages exactly as copying in list order
 * does.  pvx_softdma runs them once more with mode=reverse, completing
 * each issued batch last first, since an engine running its descriptors
 * in order would hide a dependency the host let through.
 *
 * Last, with pvx_softdma stalled: a batch that times out must not take
 * another VM's descriptors on the shared channel with it, and its own
 * VM, whose pages the engine may still write, must not run again; a VMM
 * killed while its batch waits on the engine must not wait out the
 * timeout.
 *
 * And with pvx_softdma slowed down (delay_us): a signal to the vCPU
 * thread while a batch of several chunks runs must end the exit at the
 * chunk in flight, with nothing of the batch left on the engine; the
 * guest resumes from the count it got.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pvx_test.h"

#define PAGE		4096ULL
#define NPAGES		64
#define NCOPY		48
#define SLOT_BYTES	(NPAGES * PAGE)
#define GPA_SRC		0x20000000ULL
#define GPA_DST		0x20400000ULL
#define GPA_RO		0x20800000ULL
#define GPA_NONE	0x30000000ULL
#define SLOT_DST	2
#define ENGINE_PARAM	"/sys/module/pvx_host/parameters/copy_engine"
#define SOFTDMA		"/sys/module/pvx_softdma/parameters/"
#define FAIL_AT		5	/* the engine fails the 5th page */
#define GPA_ALIAS	0x20400000ULL	/* hazard VM: slot 2 over slot 1's buffer */
#define NHAZARD		3
#define NSTALL		4
#define DMA_TIMEOUT_MS	5000	/* the host's PVX_DMA_TIMEOUT */
#define NSIG_COPY	160	/* > 2 chunks of the host's PVX_DMA_INFLIGHT */
#define SIG_DELAY_US	"2000"	/* per page: the batch takes 320 ms */

enum {
	STEP_COPY_START = 1,
	STEP_COPY_END,
	STEP_SPLIT_START,
	STEP_SPLIT_END,
	STEP_REFUSED,
	STEP_ENGINE_FAIL,
	STEP_HAZARD_START,
	STEP_HAZARD_END,
	STEP_STALL,
	STEP_SIG_START,
	STEP_SIG_FIRST,
	STEP_SIG_END,
};

static const char *const hazard_name[NHAZARD] = {
	"shift down a page (write after read)",
	"shift up a page (read after write, a chain)",
	"through an aliased memslot (all three hazards)",
};

/* A list must not straddle a page. */
static struct pvx_copy_entry list[NCOPY] __aligned(4096);
static struct pvx_completion completion __aligned(64);

static uint64_t copy_pages(uint64_t count)
{
	return guest_hypercall(PVX_HC_COPY_PAGES, (uint64_t)list, count, 0, 0);
}

/* Source page i goes to destination page NPAGES - 1 - i. */
static void fill_list(void)
{
	uint64_t i;

	for (i = 0; i < NCOPY; i++) {
		list[i].src_gfn = GPA_SRC / PAGE + i;
		list[i].dst_gfn = GPA_DST / PAGE + NPAGES - 1 - i;
		list[i].status = 0x7777;
		list[i].reserved = 0;
	}
}

/* Split-phase, collected by polling: this guest takes no interrupts. */
static uint64_t copy_pages_split(uint64_t count)
{
	uint64_t r;

	r = guest_hypercall(PVX_HC_COPY_PAGES, (uint64_t)list, count,
			    PVX_SPLIT, (uint64_t)&completion);
	if (r != PVX_ERR(PVX_EINPROGRESS))
		return r;
	while (READ_ONCE(completion.state) != PVX_COMPLETION_DONE) {
		guest_hypercall(PVX_HC_SPLIT_COLLECT, 0, 0, 0, 0);
		asm volatile("pause");
	}
	return completion.result;
}

/* @arg: 1 when the engine can be made to fail (pvx_softdma). */
static void guest_main(uint64_t arg)
{
	uint64_t i, r;

	fill_list();
	GUEST_SYNC(STEP_COPY_START);
	r = copy_pages(NCOPY);
	GUEST_SYNC(STEP_COPY_END, r);

	fill_list();
	GUEST_SYNC(STEP_SPLIT_START);
	r = copy_pages_split(NCOPY);
	GUEST_SYNC(STEP_SPLIT_END, r);

	for (i = 0; i < 4; i++) {
		list[0].src_gfn = GPA_SRC / PAGE;
		list[0].dst_gfn = GPA_DST / PAGE;
		list[0].reserved = 0;
		list[1] = list[0];
		list[1].status = 0x7777;
		if (i == 0)
			list[0].src_gfn = GPA_NONE / PAGE;
		else if (i == 1)
			list[0].dst_gfn = GPA_RO / PAGE;
		else if (i == 2)
			list[0].reserved = 1;
		else
			list[0].dst_gfn = ~0ULL;
		r = copy_pages(2);
		GUEST_SYNC(STEP_REFUSED, r, (uint64_t)(int64_t)list[0].status,
			   list[1].status);
	}

	if (arg) {
		fill_list();
		r = copy_pages(16);
		GUEST_SYNC(STEP_ENGINE_FAIL, r,
			   ((uint64_t)(uint32_t)list[FAIL_AT - 2].status << 32) |
			   (uint32_t)list[FAIL_AT - 1].status,
			   list[FAIL_AT].status);
	}
	GUEST_DONE();
}

static uint64_t dirty_log(struct vm *vm)
{
	uint64_t bitmap = 0;

	vm_get_dirty_log(vm, SLOT_DST, &bitmap);
	return bitmap;
}

static bool engine_is_dma(void)
{
	char buf[64];

	read_file(ENGINE_PARAM, buf, sizeof(buf));
	tap_diag("copy engine: %s", buf[0] ? strtok(buf, "\n") : "?");
	return !strncmp(buf, "dma", 3);
}

static void clear_and_check(struct vm *vm, uint8_t *dst, const char *how)
{
	uint64_t dirty, want_dirty = 0;
	int i, bad;

	for (i = 0, bad = 0; i < NCOPY; i++) {
		const uint8_t *d = dst + (NPAGES - 1 - i) * PAGE;
		int j;

		for (j = 0; j < (int)PAGE; j++)
			if (d[j] != 0x10 + i) {
				bad++;
				break;
			}
	}
	TAP_EQ(bad, 0, "%s: every destination page holds its source's bytes", how);
	for (i = 0, bad = 0; i < NPAGES - NCOPY; i++)
		bad += dst[i * PAGE] != 0;
	TAP_EQ(bad, 0, "%s: pages not named in the list untouched", how);

	for (i = NPAGES - NCOPY; i < NPAGES; i++)
		want_dirty |= 1ULL << i;
	dirty = dirty_log(vm);
	TAP_EQ(dirty, want_dirty, "%s: dirty log shows exactly the destination pages", how);
	/* The next round must write them again to pass. */
	memset(dst, 0, SLOT_BYTES);
}

/* What the guest's four bad batches get, in its order. */
static const struct refusal bad_copies[4] = {
	{ "source outside every memslot", PVX_EFAULT },
	{ "destination in a read-only memslot", PVX_EFAULT },
	{ "reserved field set", PVX_EINVAL },
	{ "destination gfn beyond any address", PVX_EFAULT },
};

static void test_copy(int pvx, const char *engine, bool softdma)
{
	uint64_t e0, h0, copies0 = 0;
	uint8_t *src, *dst;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	char how[64];
	int i;

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_main, softdma);
	src = vm_add_anon_slot(vm, 1, GPA_SRC, SLOT_BYTES, 0, false);
	dst = vm_add_anon_slot(vm, SLOT_DST, GPA_DST, SLOT_BYTES, KVM_MEM_LOG_DIRTY_PAGES, false);
	vm_add_anon_slot(vm, 3, GPA_RO, SLOT_BYTES, KVM_MEM_READONLY, false);
	for (i = 0; i < NPAGES; i++)
		memset(src + i * PAGE, 0x10 + i, PAGE);
	pvx_attach(pvx, vm->fd, PVX_F_COPY_PAGES | PVX_F_SPLIT, 0);
	if (softdma)
		copies0 = read_u64(SOFTDMA "copies");

	if (!vcpu_expect_step(vcpu, STEP_COPY_START, &uc))
		tap_finish();
	TAP_EQ(dirty_log(vm), 0, "%s: destination slot clean before the copy", engine);
	e0 = vcpu_stat(vcpu, "exits");
	h0 = vcpu_stat(vcpu, "hypercalls");
	if (vcpu_expect_step(vcpu, STEP_COPY_END, &uc))
		TAP_EQ(uc.args[1], NCOPY, "%s: all %d pages copied", engine, NCOPY);
	tap_diag("%s: %d pages copied: %llu exits, %llu hypercalls (including the closing message's exit)",
		 engine, NCOPY, (unsigned long long)(vcpu_stat(vcpu, "exits") - e0),
		 (unsigned long long)(vcpu_stat(vcpu, "hypercalls") - h0));
	TAP_EQ(vcpu_stat(vcpu, "hypercalls") - h0, 1, "%s: one hypercall for the batch", engine);
	snprintf(how, sizeof(how), "%s, one call", engine);
	clear_and_check(vm, dst, how);

	if (vcpu_expect_step(vcpu, STEP_SPLIT_START, &uc) &&
	    vcpu_expect_step(vcpu, STEP_SPLIT_END, &uc))
		TAP_EQ(uc.args[1], NCOPY, "%s: split-phase: all %d pages copied", engine, NCOPY);
	snprintf(how, sizeof(how), "%s, split-phase", engine);
	clear_and_check(vm, dst, how);
	if (softdma)
		TAP_EQ(read_u64(SOFTDMA "copies") - copies0, 2 * NCOPY,
		       "%s: the engine made every copy", engine);

	/*
	 * fail_next counts the engine's copies: armed before the last
	 * refusal, which must not reach the engine.
	 */
	if (vcpu_expect_refusals(vcpu, STEP_REFUSED, engine, bad_copies, 3,
				 0x7777)) {
		if (softdma)
			write_file(SOFTDMA "fail_next", "5");
		vcpu_expect_refusals(vcpu, STEP_REFUSED, engine, bad_copies + 3,
				     1, 0x7777);
	}
	if (softdma && vcpu_expect_step(vcpu, STEP_ENGINE_FAIL, &uc)) {
		TAP_EQ(uc.args[1], FAIL_AT - 1, "engine failure: the pages before it copied");
		TAP_EQ((int32_t)(uc.args[2] >> 32), 0, "engine failure: entry before it status 0");
		TAP_EQ((int32_t)uc.args[2], -PVX_EIO, "engine failure: its entry gets -PVX_EIO");
		TAP_EQ(uc.args[3], 0x7777, "engine failure: the batch stopped there");
		/* The engine ran on past it: those pages must be logged too. */
		TAP_EQ(dirty_log(vm) & (1ULL << (NPAGES - 1 - FAIL_AT)),
		       1ULL << (NPAGES - 1 - FAIL_AT),
		       "engine failure: pages it wrote past the failure are in the dirty log");
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "%s: guest done", engine);
	vm_free(vm);
}

static void set_entry(struct pvx_copy_entry *e, uint64_t src_gpa,
		      uint64_t dst_gpa)
{
	e->src_gfn = src_gpa / PAGE;
	e->dst_gfn = dst_gpa / PAGE;
	e->status = 0x7777;
	e->reserved = 0;
}

/* Built by the guest for the call and by the VMM for its model. */
static uint32_t hazard_list(int k, struct pvx_copy_entry *l)
{
	uint32_t i, n = 0;

	switch (k) {
	case 0:
		for (i = 0; i < NCOPY; i++)
			set_entry(&l[n++], GPA_SRC + (i + 1) * PAGE,
				  GPA_SRC + i * PAGE);
		break;
	case 1:
		for (i = 0; i < NCOPY; i++)
			set_entry(&l[n++], GPA_SRC + i * PAGE,
				  GPA_SRC + (i + 1) * PAGE);
		break;
	default:
		/* Read after write: reads through the alias what it wrote. */
		for (i = 0; i < 16; i++)
			set_entry(&l[n++], GPA_ALIAS + i * PAGE,
				  GPA_SRC + (i + 1) * PAGE);
		/* Write after read: writes through the alias what it read. */
		for (i = 32; i < 48; i++)
			set_entry(&l[n++], GPA_SRC + (i + 1) * PAGE,
				  GPA_ALIAS + i * PAGE);
		/* Write after write: the second one must win. */
		set_entry(&l[n++], GPA_SRC + 60 * PAGE, GPA_SRC + 50 * PAGE);
		set_entry(&l[n++], GPA_SRC + 61 * PAGE, GPA_ALIAS + 50 * PAGE);
		break;
	}
	return n;
}

static void guest_hazards(uint64_t arg)
{
	uint64_t r;
	uint32_t n;
	int k;

	(void)arg;
	for (k = 0; k < NHAZARD; k++) {
		n = hazard_list(k, list);
		GUEST_SYNC(STEP_HAZARD_START, k);
		r = copy_pages(n);
		GUEST_SYNC(STEP_HAZARD_END, k, r);
	}
	GUEST_DONE();
}

static void hazard_fill(uint8_t *mem)
{
	uint64_t *w = (uint64_t *)mem;
	uint64_t i;

	for (i = 0; i < SLOT_BYTES / 8; i++)
		w[i] = 0x5a00000000000000ULL | (i / (PAGE / 8)) << 32 | i;
}

static uint64_t page_sum(const uint8_t *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint64_t i;

	for (i = 0; i < PAGE; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* Both memslots are one buffer, so a gfn of either is an offset in it. */
static uint8_t *hazard_page(uint8_t *mem, uint64_t gfn)
{
	uint64_t gpa = gfn * PAGE;

	return mem + (gpa >= GPA_ALIAS ? gpa - GPA_ALIAS : gpa - GPA_SRC);
}

static void hazard_model(int k, uint64_t *sums)
{
	static struct pvx_copy_entry l[NCOPY];
	uint8_t *mem = malloc(SLOT_BYTES);
	uint32_t i, n;

	TEST_ASSERT(mem, "malloc");
	hazard_fill(mem);
	n = hazard_list(k, l);
	for (i = 0; i < n; i++)
		memcpy(hazard_page(mem, l[i].dst_gfn),
		       hazard_page(mem, l[i].src_gfn), PAGE);
	for (i = 0; i < NPAGES; i++)
		sums[i] = page_sum(mem + i * PAGE);
	free(mem);
}

/* The page sums of every list on the CPU, for the engines to match. */
static uint64_t cpu_sums[NHAZARD][NPAGES];

static void test_hazards(int pvx, const char *engine, bool cpu)
{
	uint64_t sums[NPAGES], want[NPAGES];
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint8_t *mem;
	int k, i, bad, bad_cpu;

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_hazards, 0);
	mem = vm_add_anon_slot(vm, 1, GPA_SRC, SLOT_BYTES, 0, false);
	vm_add_slot(vm, 2, GPA_ALIAS, SLOT_BYTES, 0, mem);
	pvx_attach(pvx, vm->fd, PVX_F_COPY_PAGES, 0);

	for (k = 0; k < NHAZARD; k++) {
		if (!vcpu_expect_step(vcpu, STEP_HAZARD_START, &uc))
			break;
		hazard_fill(mem);
		if (!vcpu_expect_step(vcpu, STEP_HAZARD_END, &uc))
			break;
		TAP_EQ(uc.args[2], hazard_list(k, list), "%s: %s: every page copied",
		       engine, hazard_name[k]);
		hazard_model(k, want);
		for (i = 0, bad = 0, bad_cpu = 0; i < NPAGES; i++) {
			sums[i] = page_sum(mem + i * PAGE);
			bad += sums[i] != want[i];
			bad_cpu += sums[i] != cpu_sums[k][i];
		}
		TAP_EQ(bad, 0, "%s: %s: pages as copying in list order leaves them",
		       engine, hazard_name[k]);
		if (cpu)
			memcpy(cpu_sums[k], sums, sizeof(sums));
		else
			TAP_EQ(bad_cpu, 0, "%s: %s: pages as the CPU path leaves them",
			       engine, hazard_name[k]);
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "%s: hazards: guest done", engine);
	vm_free(vm);
}

static void guest_stall(uint64_t arg)
{
	uint64_t r;
	int i;

	(void)arg;
	for (i = 0; i < NSTALL; i++)
		set_entry(&list[i], GPA_SRC + i * PAGE, GPA_DST + i * PAGE);
	r = copy_pages(NSTALL);
	GUEST_SYNC(STEP_STALL, r, (uint32_t)list[0].status);
	GUEST_DONE();
}

struct stall_vm {
	struct vm *vm;
	struct vcpu *vcpu;
	uint8_t *src, *dst;
	struct ucall uc;
	uint64_t cmd, ms;
};

static void stall_vm_init(int pvx, struct stall_vm *s, int fill)
{

	s->vm = vm_create();
	s->vcpu = vcpu_add(s->vm, guest_stall, 0);
	s->src = vm_add_anon_slot(s->vm, 1, GPA_SRC, SLOT_BYTES, 0, false);
	s->dst = vm_add_anon_slot(s->vm, 2, GPA_DST, SLOT_BYTES, 0, false);
	memset(s->src, fill, SLOT_BYTES);
	pvx_attach(pvx, s->vm->fd, PVX_F_COPY_PAGES, 0);
}

/* No TAP output here: two of these run at once. */
static void *stall_run(struct vcpu *vcpu)
{
	struct stall_vm *s = vcpu->thread_arg;
	uint64_t t0 = now_ns();

	s->cmd = vcpu_get_ucall(vcpu, &s->uc);
	s->ms = (now_ns() - t0) / 1000000;
	return NULL;
}

static int stall_copied(const struct stall_vm *s, int fill)
{
	int i, n = 0;

	for (i = 0; i < NSTALL; i++)
		n += s->dst[i * PAGE] == fill && s->dst[(i + 1) * PAGE - 1] == fill;
	return n;
}

/*
 * A's batch times out with its descriptors held; B's, queued behind them
 * on the same channel, must still complete once the engine moves again.
 * A's VM is stopped at the timeout: its guest was told that its pages
 * were not copied, and the engine writes them later all the same.
 */
static void test_stall_shared(int pvx)
{
	struct stall_vm a = {}, b = {};
	uint64_t copies0, t0;
	struct ucall uc;

	stall_vm_init(pvx, &a, 0x31);
	stall_vm_init(pvx, &b, 0x52);
	copies0 = read_u64(SOFTDMA "copies");
	write_file(SOFTDMA "stall", "1");
	vcpu_thread_start(a.vcpu, stall_run, &a);
	usleep(DMA_TIMEOUT_MS * 1000 / 2);
	vcpu_thread_start(b.vcpu, stall_run, &b);
	vcpu_thread_join(a.vcpu);

	/* Its descriptors still queued, A's guest must not run again. */
	tap_ok(a.cmd == UCALL_UNEXPECTED,
	       "stalled engine: VM A's batch returns, to the VMM only (after %llu ms)",
	       (unsigned long long)a.ms);
	TAP_EQ(vcpu_run(a.vcpu), -EIO, "stalled engine: VM A is stopped: KVM_RUN fails with EIO");
	TAP_EQ(guest_global(a.vm, list[0].status), -PVX_EIO, "stalled engine: VM A: its first entry got -PVX_EIO");
	tap_ok(a.ms >= DMA_TIMEOUT_MS - 500, "stalled engine: VM A waited for the timeout (%llu ms)",
	       (unsigned long long)a.ms);

	write_file(SOFTDMA "stall", "0");
	vcpu_thread_join(b.vcpu);
	tap_ok(b.cmd == UCALL_SYNC && b.uc.args[0] == STEP_STALL,
	       "stalled engine: VM B's batch returns (after %llu ms)",
	       (unsigned long long)b.ms);
	TAP_EQ(b.uc.args[1], NSTALL,
	       "stalled engine: VM B, queued on the channel when A timed out, copied every page");
	TAP_EQ(stall_copied(&b, 0x52), NSTALL, "stalled engine: VM B's pages hold their sources");

	/* A's descriptors were left queued, its pages pinned: they ran too. */
	t0 = now_ns();
	while (read_u64(SOFTDMA "copies") - copies0 < 2 * NSTALL &&
	       now_ns() - t0 < 2000000000ULL)
		usleep(10000);
	TAP_EQ(read_u64(SOFTDMA "copies") - copies0, 2 * NSTALL,
	       "stalled engine: A's timed-out descriptors were not dropped either");
	TAP_EQ(stall_copied(&a, 0x31), NSTALL,
	       "stalled engine: VM A's pages written late, into pages still pinned");

	tap_ok(vcpu_get_ucall(b.vcpu, &uc) == UCALL_DONE, "stalled engine: VM B: guest done");
	vm_free(a.vm);
	vm_free(b.vm);
}

/* A SIGKILLed VMM must not sit out the engine's timeout. */
static void test_stall_kill(int pvx)
{
	uint64_t t0, ms;
	int status, fds[2];
	pid_t pid;
	char c;

	TEST_ASSERT(!pipe(fds), "pipe");
	write_file(SOFTDMA "stall", "1");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		struct stall_vm s = {};

		close(fds[0]);
		stall_vm_init(pvx, &s, 0x73);
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		vcpu_get_ucall(s.vcpu, &s.uc);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1)
		c = 0;
	close(fds[0]);
	/* Well into the child's batch, well before its timeout. */
	usleep(DMA_TIMEOUT_MS * 1000 / 4);
	t0 = now_ns();
	kill(pid, SIGKILL);
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	ms = (now_ns() - t0) / 1000000;
	write_file(SOFTDMA "stall", "0");
	tap_ok(c == 'r' && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	       "stalled engine: VMM killed in its batch (status %#x)", status);
	tap_ok(ms < DMA_TIMEOUT_MS / 2,
	       "stalled engine: the killed VMM was gone %llu ms after SIGKILL, before the timeout",
	       (unsigned long long)ms);
}

static struct pvx_copy_entry siglist[NSIG_COPY] __aligned(4096);

static void guest_signal(uint64_t arg)
{
	uint64_t done = 0, calls = 0, r;
	int i;

	(void)arg;
	for (i = 0; i < NSIG_COPY; i++)
		set_entry(&siglist[i], GPA_SRC + i * PAGE, GPA_DST + i * PAGE);
	GUEST_SYNC(STEP_SIG_START);
	while (done < NSIG_COPY) {
		r = guest_hypercall(PVX_HC_COPY_PAGES, (uint64_t)&siglist[done],
				    NSIG_COPY - done, 0, 0);
		if ((int64_t)r <= 0)
			break;
		if (!calls)
			GUEST_SYNC(STEP_SIG_FIRST, r,
				   (uint32_t)siglist[r < NSIG_COPY ? r : 0].status);
		done += r;
		calls++;
	}
	GUEST_SYNC(STEP_SIG_END, done, calls);
	GUEST_DONE();
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

static int sig_first_cmd;

static void *signal_run(struct vcpu *vcpu)
{
	struct ucall *uc = vcpu->thread_arg;

	WRITE_ONCE(sig_first_cmd, vcpu_get_ucall(vcpu, uc));
	return NULL;
}

/*
 * The engine takes SIG_DELAY_US a page; SIGUSR1 goes to the vCPU thread
 * once the engine has done a page of the batch.  The exit must end at
 * the chunk it waits for: when the guest sees the count, the engine has
 * done exactly that many pages and holds none of the batch any more.
 */
static void test_signal(int pvx)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	uint64_t copies0, copied, pending, sig0, i;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint8_t *src, *dst;
	int bad = 0;

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_signal, 0);
	src = vm_add_anon_slot(vm, 1, GPA_SRC, NSIG_COPY * PAGE, 0, false);
	dst = vm_add_anon_slot(vm, 2, GPA_DST, NSIG_COPY * PAGE, 0, false);
	for (i = 0; i < NSIG_COPY; i++)
		memset(src + i * PAGE, 0x40 + i % 64, PAGE);
	pvx_attach(pvx, vm->fd, PVX_F_COPY_PAGES, 0);
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction");
	if (!vcpu_expect_step(vcpu, STEP_SIG_START, &uc))
		goto out;

	write_file(SOFTDMA "delay_us", SIG_DELAY_US);
	copies0 = read_u64(SOFTDMA "copies");
	sig0 = vcpu_stat(vcpu, "signal_exits");
	sig_first_cmd = 0;
	vcpu_thread_start(vcpu, signal_run, &uc);
	while (read_u64(SOFTDMA "copies") == copies0 &&
	       !READ_ONCE(sig_first_cmd))
		usleep(1000);
	pthread_kill(vcpu->thread, SIGUSR1);
	vcpu_thread_join(vcpu);
	copied = read_u64(SOFTDMA "copies") - copies0;
	pending = read_u64(SOFTDMA "pending");
	write_file(SOFTDMA "delay_us", "0");

	tap_ok(sig_first_cmd == UCALL_SYNC && uc.args[0] == STEP_SIG_FIRST,
	       "signal: the first call returned");
	tap_diag("signal: the first call did %llu of %d pages; the engine had copied %llu, %llu pending",
		 (unsigned long long)uc.args[1], NSIG_COPY,
		 (unsigned long long)copied, (unsigned long long)pending);
	tap_ok(uc.args[1] > 0 && uc.args[1] < NSIG_COPY,
	       "signal: the exit returned with part of the batch done (%llu of %d)",
	       (unsigned long long)uc.args[1], NSIG_COPY);
	tap_ok(copied < NSIG_COPY,
	       "signal: the exit returned before the engine had done the batch (%llu of %d pages)",
	       (unsigned long long)copied, NSIG_COPY);
	TAP_EQ(copied, uc.args[1], "signal: the count is what the engine copied");
	TAP_EQ(pending, 0, "signal: no descriptor of the batch left on the engine");
	if (uc.args[1] < NSIG_COPY)
		TAP_EQ(uc.args[2], (uint32_t)-PVX_EAGAIN,
		       "signal: the first entry not done gets -PVX_EAGAIN: call again");
	tap_ok(vcpu_stat(vcpu, "signal_exits") > sig0,
	       "signal: KVM returned to the VMM for the signal");
	for (i = uc.args[1]; i < NSIG_COPY; i++)
		bad += dst[i * PAGE] != 0 || dst[(i + 1) * PAGE - 1] != 0;
	TAP_EQ(bad, 0, "signal: no page past the count written");

	if (vcpu_expect_step(vcpu, STEP_SIG_END, &uc)) {
		TAP_EQ(uc.args[1], NSIG_COPY, "signal: the guest resumed and finished the batch");
		tap_diag("signal: %llu calls", (unsigned long long)uc.args[2]);
	}
	for (i = 0, bad = 0; i < NSIG_COPY; i++)
		bad += memcmp(src + i * PAGE, dst + i * PAGE, PAGE) != 0;
	TAP_EQ(bad, 0, "signal: every destination holds its source");
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "signal: guest done");
out:
	signal(SIGUSR1, SIG_DFL);
	vm_free(vm);
}

/* pvx_softdma.ko beside pvx_host.ko (the testbed stages it there). */
static bool load_softdma(void)
{
	const char *host_ko = getenv("PVX_HOST_KO");
	char dir[512], path[600];
	int fd, r;

	if (!host_ko)
		return false;
	snprintf(dir, sizeof(dir), "%s", host_ko);
	snprintf(path, sizeof(path), "%s/pvx_softdma.ko", dirname(dir));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tap_diag("%s: %m", path);
		return false;
	}
	r = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	tap_ok(!r || errno == EEXIST, "load %s: %s", path, r ? strerror(errno) : "ok");
	return !r || errno == EEXIST;
}

int main(void)
{
	bool softdma = false;
	int pvx, r;

	tap_init("copy_test: PVX_HC_COPY_PAGES");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_COPY_PAGES | PVX_F_SPLIT);

	r = write_file(ENGINE_PARAM, "cpu");
	tap_ok(!r, "copy_engine=cpu: %s", r ? strerror(-r) : "ok");
	test_copy(pvx, "cpu", false);
	test_hazards(pvx, "cpu", true);

	/* A host with its own engine uses it; the testbed loads pvx_softdma. */
	if (write_file(ENGINE_PARAM, "dma")) {
		softdma = load_softdma();
		r = softdma ? write_file(ENGINE_PARAM, "dma") : -ENODEV;
		if (softdma)
			tap_ok(!r, "copy_engine=dma: %s", r ? strerror(-r) : "ok");
	} else {
		r = 0;
	}
	if (!r && engine_is_dma()) {
		test_copy(pvx, "dma", softdma);
		test_hazards(pvx, "dma", false);
	} else {
		tap_skip("no DMA_MEMCPY engine on this host, and no pvx_softdma.ko");
	}
	if (softdma) {
		r = write_file(SOFTDMA "mode", "reverse");
		tap_ok(!r, "pvx_softdma mode=reverse: %s", r ? strerror(-r) : "ok");
		if (!r)
			test_hazards(pvx, "dma, out of order", false);
		write_file(SOFTDMA "mode", "fifo");
		test_stall_shared(pvx);
		test_stall_kill(pvx);
		test_signal(pvx);
	}

	if (softdma) {
		r = write_file(ENGINE_PARAM, "cpu");
		tap_ok(!r, "copy_engine=cpu gives the channel back: %s", r ? strerror(-r) : "ok");
		r = syscall(SYS_delete_module, "pvx_softdma", O_NONBLOCK);
		tap_ok(!r, "unload pvx_softdma: %s", r ? strerror(errno) : "ok");
	}
	close(pvx);
	tap_finish();
}
