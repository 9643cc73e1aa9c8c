// SPDX-License-Identifier: GPL-2.0
/*
 * Two VMs attached, A and B: nothing A passes reaches B.  They are two
 * real VMs (two KVM_CREATE_VMs, each with its own memory; checked before
 * anything else) and B's layout differs: 4 vCPUs to A's 2, and a memslot
 * at B_ONLY_GPA that A lacks.  A's guest names what only B has: B's gfns
 * to COPY_PAGES (both ways, and split-phase), PREFAULT_WRITE and
 * BALLOON_INFLATE, B's vCPU id 3 to YIELD_TO, B's ioeventfd address to
 * DOORBELL; it balloons the gfns at which B keeps a pattern, and takes a
 * timer interrupt.  B's memory (checksummed), its vCPU (interrupts
 * counted), its eventfd and its pvx counters must not move.  Last, A's
 * VMM, a process of its own and unprivileged, names B's id in every ioctl
 * that takes one.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_irq.h"
#include "pvx_observe.h"

#define PAGE		4096ULL
#define MB		(1ULL << 20)
#define SCRATCH		GUEST_LOW_SCRATCH_GPA
#define SCRATCH_SIZE	GUEST_LOW_SCRATCH_SIZE
#define B_ONLY_GPA	0x20000000ULL	/* GUEST_UNBACKED_GPA in A */
#define B_ONLY_SIZE	(2 * MB)
#define B_ONLY_GFN	(B_ONLY_GPA / PAGE)
#define B_DOORBELL	0x30000000ULL	/* B's ioeventfd, nothing in A */
#define BAL_GFN		(SCRATCH / PAGE)
#define BAL_PAGES	16
#define A_VCPUS		2
#define B_VCPUS		4
#define VEC_A		0xe1
#define VEC_B		0xe2
#define MS		1000000ULL
#define NOBODY		65534
#define FEATURES	(PVX_F_YIELD_TO | PVX_F_TIMER | PVX_F_PREFAULT | \
			 PVX_F_COPY_PAGES | PVX_F_SPLIT | PVX_F_DOORBELL | \
			 PVX_F_BALLOON)
#define HC(nr)		((nr) - PVX_HC_BASE)

enum {
	STEP_COPY_FROM_B = 1,
	STEP_COPY_TO_B,
	STEP_COPY_SPLIT,
	STEP_PREFAULT,
	STEP_BALLOON_B,
	STEP_BALLOON_SAME_GFNS,
	STEP_YIELD,
	STEP_DOORBELL,
	STEP_TIMER,
	STEP_B_READY,
	STEP_B_IRQS,
};

static struct pvx_copy_entry copy_e __aligned(64);
static struct pvx_gfn_range range_e __aligned(64);
static struct pvx_doorbell bell_e __aligned(64);
static struct pvx_completion comp __aligned(64);
static volatile uint64_t b_stop;

static uint64_t copy1(uint64_t src, uint64_t dst, uint64_t flags)
{
	copy_e.src_gfn = src;
	copy_e.dst_gfn = dst;
	copy_e.status = 0x7777;
	copy_e.reserved = 0;
	return guest_hypercall(PVX_HC_COPY_PAGES, (uint64_t)&copy_e, 1, flags,
			       flags ? (uint64_t)&comp : 0);
}

static uint64_t range1(uint64_t nr, uint64_t gfn, uint32_t npages)
{
	range_e.gfn = gfn;
	range_e.npages = npages;
	range_e.status = 0x7777;
	return guest_hypercall(nr, (uint64_t)&range_e, 1, 0, 0);
}

/* VM A's vCPU 0: names B's resources, one step each. */
static void guest_a(uint64_t arg)
{
	uint64_t r, n = 0, i;

	(void)arg;
	guest_x2apic_enable();
	GUEST_ASSERT_EQ(guest_hypercall(PVX_HC_SET_VECTOR, VEC_A, 0, 0, 0), 0);

	r = copy1(B_ONLY_GFN, SCRATCH / PAGE + 32, 0);
	GUEST_SYNC(STEP_COPY_FROM_B, r, copy_e.status);
	r = copy1(SCRATCH / PAGE + 33, B_ONLY_GFN + 1, 0);
	GUEST_SYNC(STEP_COPY_TO_B, r, copy_e.status);
	comp.state = 0;
	r = copy1(SCRATCH / PAGE + 34, B_ONLY_GFN + 2, PVX_SPLIT);
	for (i = 0; i < 1000000 && !n; i++)
		n = guest_hypercall(PVX_HC_SPLIT_COLLECT, 0, 0, 0, 0);
	GUEST_SYNC(STEP_COPY_SPLIT, r, n, copy_e.status);

	r = range1(PVX_HC_PREFAULT_WRITE, B_ONLY_GFN, 4);
	GUEST_SYNC(STEP_PREFAULT, r, range_e.status);
	r = range1(PVX_HC_BALLOON_INFLATE, B_ONLY_GFN + 8, 8);
	GUEST_SYNC(STEP_BALLOON_B, r, range_e.status);
	/* Gfns both VMs have: A's pages go, B's must stay. */
	r = range1(PVX_HC_BALLOON_INFLATE, BAL_GFN, BAL_PAGES);
	GUEST_SYNC(STEP_BALLOON_SAME_GFNS, r, range_e.status);

	/* A has vCPUs 0 and 1; B also has 2 and 3. */
	GUEST_SYNC(STEP_YIELD, guest_hypercall(PVX_HC_YIELD_TO, 3, 0, 0, 0));

	bell_e.addr = B_DOORBELL;
	bell_e.value = 1;
	bell_e.space = PVX_DOORBELL_MMIO;
	bell_e.len = 4;
	bell_e.reserved0 = 0;
	bell_e.status = 0x7777;
	r = guest_hypercall(PVX_HC_DOORBELL, (uint64_t)&bell_e, 1, 0, 0);
	GUEST_SYNC(STEP_DOORBELL, r, bell_e.status);

	/* The split-phase completion's interrupt first, out of the way. */
	guest_sti();
	for (i = 0; i < 1000; i++)
		asm volatile("pause");
	guest_cli();
	n = guest_irq_count;
	r = guest_hypercall(PVX_HC_TIMER_SET, 1 * MS, 0, 0, 0);
	while (guest_irq_count == n)
		guest_safe_halt();
	guest_cli();
	GUEST_SYNC(STEP_TIMER, r, guest_irq_last_vector);
	GUEST_DONE();
}

/* VM B's vCPU 0: its own vector, then asleep, counting interrupts. */
static void guest_b(uint64_t arg)
{
	(void)arg;
	guest_x2apic_enable();
	GUEST_SYNC(STEP_B_READY,
		   guest_hypercall(PVX_HC_SET_VECTOR, VEC_B, 0, 0, 0));
	while (!b_stop)
		guest_safe_halt();
	guest_cli();
	GUEST_SYNC(STEP_B_IRQS, guest_irq_count, guest_irq_last_vector);
	GUEST_DONE();
}

static struct ucall b_last;
static uint64_t b_cmd;

static void *b_runner(struct vcpu *vcpu)
{
	struct ucall uc;

	for (;;) {
		b_cmd = vcpu_get_ucall(vcpu, &uc);
		if (b_cmd != UCALL_SYNC)
			return NULL;
		b_last = uc;
	}
}

static uint64_t fnv(const uint8_t *p, uint64_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL, i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

struct b_view {
	uint64_t scratch_sum, only_sum;
	struct pvx_vm_stats st;
};

static uint8_t *b_only_mem;

static bool b_snapshot(int pvx, struct vm *b, uint64_t b_id, struct b_view *v)
{
	v->scratch_sum = fnv(guest_ptr(b, SCRATCH), SCRATCH_SIZE);
	v->only_sum = fnv(b_only_mem, B_ONLY_SIZE);
	return pvx_find_vm(pvx, b_id, &v->st) == 1;
}

static bool is_pattern(const uint8_t *p, uint8_t c, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

/* Two VMs, not one seen twice. */
static void check_distinct(int pvx, struct vm *a, uint64_t a_id, struct vm *b,
			   uint64_t b_id)
{
	uint8_t *pa = guest_ptr(a, SCRATCH + 0x80000);
	uint8_t *pb = guest_ptr(b, SCRATCH + 0x80000);

	tap_ok(a->fd != b->fd && a->mem != b->mem && a_id != b_id,
	       "A and B: VM fds %d and %d, memory %p and %p, vm_ids %llu and %llu",
	       a->fd, b->fd, (void *)a->mem, (void *)b->mem,
	       (unsigned long long)a_id, (unsigned long long)b_id);
	memset(pa, 0x5a, PAGE);
	tap_ok(!is_pattern(pb, 0x5a, PAGE),
	       "a page written in A's memory is not in B's at the same gpa");
	memset(pa, 0, PAGE);
	TAP_EQ(obs_kvm_vms(getpid()), 2, "KVM has two VMs of this process (debugfs)");
	tap_ok(pvx_find_vm(pvx, a_id, NULL) == 1 && pvx_find_vm(pvx, b_id, NULL) == 1,
	       "STATS lists both");
}

static void check_a_steps(int pvx, struct vcpu *va, struct vm *a,
			  uint64_t a_id)
{
	struct pvx_vm_stats st;
	struct ucall uc;

	if (vcpu_expect_step(va, STEP_COPY_FROM_B, &uc))
		tap_ok(uc.args[1] == 0 && (int32_t)uc.args[2] < 0,
		       "COPY_PAGES from a gfn only B has: %lld done, status %d",
		       (long long)uc.args[1], (int32_t)uc.args[2]);
	tap_ok(!is_pattern(guest_ptr(a, SCRATCH + 32 * PAGE), 0xb0, PAGE),
	       "A's destination did not get B's page");
	if (vcpu_expect_step(va, STEP_COPY_TO_B, &uc))
		tap_ok(uc.args[1] == 0 && (int32_t)uc.args[2] < 0,
		       "COPY_PAGES to a gfn only B has: %lld done, status %d",
		       (long long)uc.args[1], (int32_t)uc.args[2]);
	if (vcpu_expect_step(va, STEP_COPY_SPLIT, &uc))
		tap_ok(uc.args[1] == PVX_ERR(PVX_EINPROGRESS) && uc.args[2] == 1 &&
		       guest_global(a, comp).result == 0 &&
		       (int32_t)uc.args[3] < 0,
		       "split-phase COPY_PAGES to B's gfn: submitted, collected, %lld done, status %d",
		       (long long)guest_global(a, comp).result,
		       (int32_t)uc.args[3]);
	if (vcpu_expect_step(va, STEP_PREFAULT, &uc))
		tap_ok(uc.args[1] == 0 && (int32_t)uc.args[2] < 0,
		       "PREFAULT_WRITE of B's gfns: %lld done, status %d",
		       (long long)uc.args[1], (int32_t)uc.args[2]);
	if (vcpu_expect_step(va, STEP_BALLOON_B, &uc))
		tap_ok(uc.args[1] == 0 && (int32_t)uc.args[2] < 0,
		       "BALLOON_INFLATE of B's gfns: %lld done, status %d",
		       (long long)uc.args[1], (int32_t)uc.args[2]);
	if (vcpu_expect_step(va, STEP_BALLOON_SAME_GFNS, &uc))
		tap_ok(uc.args[1] == 1 && uc.args[2] == 0,
		       "BALLOON_INFLATE of gfns both have, in A: done (%lld, status %d)",
		       (long long)uc.args[1], (int32_t)uc.args[2]);
	tap_ok(is_pattern(guest_ptr(a, SCRATCH), 0, BAL_PAGES * PAGE),
	       "A's ballooned pages read zero");
	if (vcpu_expect_step(va, STEP_YIELD, &uc))
		TAP_EQ(uc.args[1], PVX_ERR(PVX_ENOENT),
		       "YIELD_TO vCPU 3, which only B has");
	if (vcpu_expect_step(va, STEP_DOORBELL, &uc))
		tap_ok(uc.args[1] == 1 && uc.args[2] == PVX_DOORBELL_NO_LISTENER,
		       "DOORBELL at B's ioeventfd address: no listener in A (%lld, status %d)",
		       (long long)uc.args[1], (int32_t)uc.args[2]);
	if (vcpu_expect_step(va, STEP_TIMER, &uc))
		tap_ok(uc.args[1] == 0 && uc.args[2] == VEC_A,
		       "A's timer: armed, its vector %#llx reached A",
		       (unsigned long long)uc.args[2]);
	if (tap_ok(pvx_find_vm(pvx, a_id, &st) == 1, "A listed"))
		TAP_EQ(st.timers_fired, 1, "A's timers fired");
}

static void check_b_untouched(int pvx, struct vm *b, uint64_t b_id,
			      const struct b_view *before, int efd)
{
	struct b_view after;
	uint64_t v = 0;
	unsigned int i, moved = 0;

	if (!tap_ok(b_snapshot(pvx, b, b_id, &after), "B still attached"))
		return;
	TAP_EQ(after.scratch_sum, before->scratch_sum,
	       "B's memory at the gfns A named and ballooned: checksum unchanged");
	TAP_EQ(after.only_sum, before->only_sum,
	       "B's memslot A lacks: checksum unchanged");
	tap_ok(is_pattern(guest_ptr(b, SCRATCH), 0xb0, BAL_PAGES * PAGE),
	       "B's pages at the gfns A ballooned keep their pattern");
	for (i = 0; i < PVX_HC_COUNT; i++)
		if (after.st.hc[i].calls != before->st.hc[i].calls ||
		    after.st.hc[i].errors != before->st.hc[i].errors)
			moved++;
	TAP_EQ(moved, 0, "B's hypercall counters: none moved");
	for (i = 0, moved = 0; i < PVX_YIELD_NR_RESULTS; i++)
		moved += after.st.yield[i] != before->st.yield[i];
	TAP_EQ(moved, 0, "B's yield results: none moved");
	TAP_EQ(after.st.timers_fired, 0, "B's timers fired");
	TAP_EQ(after.st.balloon_pages, 0, "B's ballooned pages");
	tap_ok(read(efd, &v, sizeof(v)) < 0 && errno == EAGAIN,
	       "B's ioeventfd was not signalled (%llu)", (unsigned long long)v);
}

/*
 * A's VMM, a process of its own, unprivileged: each ioctl that takes an
 * id, with B's.  Results to @wfd: the errnos, then whether its own id
 * passes the same checks.
 */
enum {
	IO_TARGET,
	IO_MSRS,
	IO_IOMMU,
	IO_DETACH,
	IO_LISTED,
	IO_OWN_IOMMU,
	IO_OWN_TARGET,
	NR_IO,
};

static void child_a_vmm(uint64_t b_id, int wfd)
{
	struct pvx_balloon_target t = { .vm_id = b_id, .target_pages = 1 };
	struct pvx_msr_allowlist m = { .vm_id = b_id };
	struct pvx_iommu_setup s = {
		.vm_id = b_id, .container_fd = -1, .perms = PVX_IOMMU_READ,
		.iova_base = 1ULL << 32, .iova_size = MB,
	};
	struct pvx_vm_stats *recs;
	int64_t res[NR_IO];
	uint64_t own;
	uint32_t nr, i;
	struct vm *vm;
	int pvx;

	for (i = 0; i < NR_IO; i++)
		res[i] = -9999;
	pvx = pvx_open();
	vm = vm_create();
	vcpu_add(vm, NULL, 0);
	if (__pvx_attach(pvx, vm->fd, PVX_F_BALLOON, 0, &own))
		goto out;
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		goto out;
	res[IO_TARGET] = pvx_ioctl_raw(pvx, PVX_IOC_SET_BALLOON_TARGET, &t);
	res[IO_MSRS] = pvx_ioctl_raw(pvx, PVX_IOC_SET_MSR_ALLOWLIST, &m);
	res[IO_IOMMU] = pvx_ioctl_raw(pvx, PVX_IOC_IOMMU_SETUP, &s);
	res[IO_DETACH] = __pvx_detach_id(pvx, b_id);
	res[IO_LISTED] = 0;
	if (!__pvx_stats_read(pvx, &recs, &nr, NULL)) {
		for (i = 0; i < nr; i++)
			res[IO_LISTED] += recs[i].vm_id == b_id;
		free(recs);
	}
	s.vm_id = own;
	res[IO_OWN_IOMMU] = pvx_ioctl_raw(pvx, PVX_IOC_IOMMU_SETUP, &s);
	t.vm_id = own;
	res[IO_OWN_TARGET] = pvx_ioctl_raw(pvx, PVX_IOC_SET_BALLOON_TARGET, &t);
out:
	if (write(wfd, res, sizeof(res)) != sizeof(res))
		_exit(1);
	_exit(0);
}

static void test_ioctls(int pvx, struct vm *b, uint64_t b_id)
{
	struct pvx_vm_stats st;
	int64_t res[NR_IO];
	int fd, status;
	pid_t pid;

	pid = fork_reporting(&fd);
	if (!pid) {
		/* A's VMM has no fd of B: only its id. */
		close(b->fd);
		child_a_vmm(b_id, fd);
	}
	if (read(fd, res, sizeof(res)) != sizeof(res))
		memset(res, 0, sizeof(res));
	close(fd);
	waitpid(pid, &status, 0);
	TAP_EQ(res[IO_TARGET], -ENOENT, "A's VMM: SET_BALLOON_TARGET with B's id");
	TAP_EQ(res[IO_MSRS], -ENOENT, "A's VMM: SET_MSR_ALLOWLIST with B's id");
	TAP_EQ(res[IO_IOMMU], -ENOENT, "A's VMM: IOMMU_SETUP with B's id");
	TAP_EQ(res[IO_DETACH], -ENOENT, "A's VMM: DETACH with B's id");
	TAP_EQ(res[IO_LISTED], 0, "A's VMM: STATS does not list B");
	tap_ok(res[IO_OWN_IOMMU] != -ENOENT && res[IO_OWN_TARGET] == 0,
	       "A's VMM: the same ioctls with its own id get past the id (%lld, %lld)",
	       (long long)res[IO_OWN_IOMMU], (long long)res[IO_OWN_TARGET]);
	if (tap_ok(pvx_find_vm(pvx, b_id, &st) == 1, "B still attached after A's VMM"))
		TAP_EQ(st.balloon_target, PVX_BALLOON_NO_TARGET,
		       "B's balloon target untouched");
}

/* A VM whose vCPU 0 runs @fn with interrupts; the others never run. */
static struct vm *irq_vm(void (*fn)(uint64_t), int nr_vcpus,
			 struct vcpu **first)
{
	struct vm *vm = vm_create();
	int i;

	vm_enable_irqchip(vm);
	*first = vcpu_add(vm, fn, 0);
	vcpu_setup_idt(*first);
	for (i = 1; i < nr_vcpus; i++)
		vcpu_add(vm, NULL, 0);
	return vm;
}

int main(void)
{
	struct b_view before;
	struct vm *a, *b;
	struct vcpu *va, *vb;
	uint64_t a_id, b_id;
	int pvx, efd, r;

	tap_init("isolation_test: two attached VMs, nothing of A reaches B");
	kvm_fd_or_skip();
	pvx = pvx_open_features(FEATURES);

	a = irq_vm(guest_a, A_VCPUS, &va);
	b = irq_vm(guest_b, B_VCPUS, &vb);
	b_only_mem = vm_add_anon_slot(b, 1, B_ONLY_GPA, B_ONLY_SIZE, 0, true);
	memset(b_only_mem, 0xb1, B_ONLY_SIZE);
	memset(guest_ptr(b, SCRATCH), 0xb0, SCRATCH_SIZE);
	memset(guest_ptr(a, SCRATCH), 0xa0, SCRATCH_SIZE);
	efd = eventfd(0, EFD_NONBLOCK);
	TEST_ASSERT(efd >= 0, "eventfd");
	{
		struct kvm_ioeventfd io = {
			.addr = B_DOORBELL, .len = 4, .fd = efd,
		};

		TEST_ASSERT(!ioctl(b->fd, KVM_IOEVENTFD, &io),
				 "KVM_IOEVENTFD");
	}

	r = __pvx_attach(pvx, a->fd, FEATURES, 0, &a_id);
	if (!r)
		r = __pvx_attach(pvx, b->fd, FEATURES, 0, &b_id);
	if (!tap_ok(!r, "attach A and B: %s", r ? strerror(-r) : "ok"))
		tap_finish();
	check_distinct(pvx, a, a_id, b, b_id);

	/* B asleep with its vector set, then its baseline. */
	if (vcpu_expect_step(vb, STEP_B_READY, &b_last))
		TAP_EQ(b_last.args[1], 0, "B: SET_VECTOR");
	vcpu_thread_start(vb, b_runner, NULL);
	usleep(100 * 1000);
	if (!tap_ok(b_snapshot(pvx, b, b_id, &before), "B's baseline"))
		tap_finish();

	check_a_steps(pvx, va, a, a_id);
	check_b_untouched(pvx, b, b_id, &before, efd);

	guest_global(b, b_stop) = 1;
	{
		struct kvm_msi msi = { .address_lo = 0xfee00000, .data = VEC_B };

		/* Wakes B: the one interrupt it should then have seen. */
		ioctl(b->fd, KVM_SIGNAL_MSI, &msi);
	}
	vcpu_thread_join(vb);
	tap_ok(b_cmd == UCALL_DONE && b_last.args[0] == STEP_B_IRQS &&
	       b_last.args[1] == 1 && b_last.args[2] == VEC_B,
	       "B's vCPU got one interrupt, the VMM's own wake-up (%llu, last %#llx)",
	       (unsigned long long)b_last.args[1],
	       (unsigned long long)b_last.args[2]);

	test_ioctls(pvx, b, b_id);

	close(efd);
	vm_free(a);
	vm_free(b);
	close(pvx);
	tap_finish();
}
