// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_bench: the host-side rows of `make bench`, run in the testbed's L1.
 * Each row runs a pvx service and the stock path it replaces alternately
 * in one VM, REPS times, and prints one line per figure:
 *
 *	# PVX-BENCH: {"row": ..., "figure": ..., "variant": ..., ...}
 *
 * (a TAP diagnostic, so the testbed's framing and parse.py pass it
 * through untouched; tools/bench/collect.py gathers them).  A figure is an
 * exact count (KVM's binary stats, pvx's PVX_IOC_STATS) or a time; times
 * are only compared within one run, as ratios, since under TCG their
 * absolute values say nothing about real hardware.
 *
 * Guest code is a small command loop: the VMM writes a command into a
 * guest global at the guest's "ready" message, then runs the vCPU to its
 * "done" message.  Every count therefore includes the one exit of that
 * closing message, the same for both paths.
 *
 * The iommu256 row runs only when asked for by name (PVX_BENCH_ROWS or
 * argv[1] containing "iommu"): it needs QEMU's edu device behind VT-d,
 * which only run-l1.sh --iommu's L1 has.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_irq.h"
#include "pvx_vfio.h"

#define PAGE		4096ULL
#define MAX_REPS	32	/* two samples each in a series */
#define MODNAME		"pvx_host"

/* The rows' sizes, as the issue names them. */
#define NR_MSR_WRITES	64
#define NR_FRESH	256
#define NR_COPY		1024
#define NR_CALLS	500
#define NR_TIMER	1000	/* expiries per run; 4 runs a round */
#define TIMER_DELTA_NS	200000ULL
#define COPY_CHUNK	(PVX_LIST_MAX_BYTES / sizeof(struct pvx_copy_entry))
#define NR_IOMMU	256
/* Entries one IOMMU_MAP or _UNMAP call takes: its list is one page. */
#define IOMMU_CHUNK	(PVX_LIST_MAX_BYTES / sizeof(struct pvx_iommu_map))

#define GPA_FRESH	0x20000000ULL	/* NR_FRESH_SLOTS slots, 2 MiB apart */
#define NR_FRESH_SLOTS	8
#define GPA_SRC		0x21000000ULL
#define GPA_DST		0x21400000ULL
#define SLOT_FRESH	1
#define SLOT_SRC	10
#define SLOT_DST	11
#define GPA_IOMMU	0x22000000ULL	/* NR_IOMMU pages mapped for edu */
#define SLOT_IOMMU	12
#define IOVA_IOMMU	0x1000000ULL	/* edu masks DMA addresses to 28 bits */

/* Linux 6.10's, for userspace headers older than that (Debian 12's 6.1). */
#ifndef KVM_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236
struct kvm_pre_fault_memory {
	__u64 gpa;
	__u64 size;
	__u64 flags;
	__u64 padding[5];
};
#define KVM_PRE_FAULT_MEMORY	_IOWR(KVMIO, 0xd5, struct kvm_pre_fault_memory)
#endif

/* Not a hypercall KVM or pvx knows: KVM's own -KVM_ENOSYS path. */
#define HC_UNKNOWN	0x12345ULL
#define KVM_HC_SCHED_YIELD_NR	11

enum { STEP_READY = 1, STEP_DONE };

enum {
	OP_WRMSR_LOOP = 1,
	OP_MSR_BATCH,
	OP_TOUCH,		/* a0 base, a1 pages, a2 hint first */
	OP_COPY_PAGES,		/* a0 src gpa, a1 dst gpa, a2 pages */
	OP_MEMCPY,		/* same */
	OP_HC_LOOP,		/* a0 nr, a1 arg, a2 calls */
	OP_TIMER_INIT,		/* kvmclock, both vectors, the LVT timer */
	OP_TIMER,		/* a0 TIMER_*, a1 TSC kHz, a2 expiries */
	OP_WRMSR_N,		/* a0 writes */
	OP_MSR_BATCH_N,		/* a0 entries of sweep_list */
	OP_IOMMU,		/* a0 PVX_HC_IOMMU_MAP or _UNMAP, a1 entries a call */
};

/*
 * Different vectors for the two timers, so that a stray expiry of one
 * cannot end the other's wait.  The LVT timer in TSC-deadline mode is
 * what a stock Linux guest with kvmclock uses for its tick.
 */
#define VEC_PVX_TIMER	0xe0
#define VEC_LAPIC_TIMER	0xe1
#define MSR_X2APIC_LVTT	0x832
#define LVTT_TSC_DEADLINE	(2u << 17)
#define MSR_TSC_DEADLINE	0x6e0

/* The timer row's variants: the stock one first. */
enum { TIMER_LAPIC, TIMER_PVX, TIMER_PVX_TSC, NR_TIMER_VARIANTS };

struct bench_cmd {
	uint64_t op, a0, a1, a2;
};

static struct bench_cmd cmd;
static struct pvx_msr_entry msr_list[NR_MSR_WRITES] __aligned(4096);
static struct pvx_copy_entry copy_list[COPY_CHUNK] __aligned(4096);
static struct pvx_gfn_range fresh_range __aligned(64);
/* The VMM fills both lists once: a call writes only their statuses. */
static struct pvx_iommu_map iommu_maps[NR_IOMMU] __aligned(4096);
static struct pvx_iommu_unmap iommu_unmaps[NR_IOMMU] __aligned(4096);
/* msr_sweep's batch sizes; the largest fills a whole list. */
static const int sweep_sizes[] = { 1, 4, 16, 64, 256 };
#define NR_SWEEP	((int)ARRAY_SIZE(sweep_sizes))
#define SWEEP_MAX	(PVX_LIST_MAX_BYTES / sizeof(struct pvx_msr_entry))
static struct pvx_msr_entry sweep_list[SWEEP_MAX] __aligned(4096);
/* Each expiry's lateness, kvmclock ns after its deadline (< 0: early). */
static int64_t timer_late[NR_TIMER];

/* x2APIC registers: intercepted, so each WRMSR is an exit (msr_test). */
static const uint32_t msrs[8] = {
	0x808, 0x832, 0x833, 0x834, 0x835, 0x836, 0x837, 0x83e,
};

static int reps = 7;

static uint64_t msr_value(unsigned int i)
{
	uint32_t m = msrs[i % 8];

	if (m == 0x808)
		return 0x10 * (i / 8);
	if (m == 0x83e)
		return i / 8 < 4 ? i / 8 : i / 8 + 4;
	return 0x10000 | (0x40 + i);	/* masked LVT */
}

static uint64_t guest_touch(uint64_t base, uint64_t n, uint64_t hint)
{
	uint64_t i, sum = 0;

	if (hint) {
		fresh_range.gfn = base / PAGE;
		fresh_range.npages = n;
		fresh_range.status = 0x7777;
		if (guest_hypercall(PVX_HC_PREFAULT_WRITE,
				    (uint64_t)&fresh_range, 1, 0, 0) != 1)
			return ~0ULL;
	}
	for (i = 0; i < n; i++) {
		volatile uint8_t *p = (volatile uint8_t *)(base + i * PAGE);

		sum += p[0];
		p[8] = 0x5a;
	}
	return sum;
}

static uint64_t guest_copy_pages(uint64_t src, uint64_t dst, uint64_t n)
{
	uint64_t done = 0, i, k;

	while (done < n) {
		k = n - done < COPY_CHUNK ? n - done : COPY_CHUNK;
		for (i = 0; i < k; i++) {
			copy_list[i].src_gfn = src / PAGE + done + i;
			copy_list[i].dst_gfn = dst / PAGE + done + i;
			copy_list[i].status = 0;
			copy_list[i].reserved = 0;
		}
		if (guest_hypercall(PVX_HC_COPY_PAGES, (uint64_t)copy_list,
				    k, 0, 0) != k)
			return done;
		done += k;
	}
	return done;
}

/* What a kernel memcpy() of whole pages comes down to on x86. */
static uint64_t guest_memcpy(uint64_t src, uint64_t dst, uint64_t n)
{
	uint64_t words = n * PAGE / 8;

	asm volatile("rep movsq"
		     : "+S"(src), "+D"(dst), "+c"(words) :: "memory");
	return n;
}

/*
 * All NR_IOMMU entries of hypercall @nr's list, @per entries a call.  A
 * batch call may stop early and return how many entries it completed
 * (the rep contract): the next call starts at the first one not done.
 * Returns the entries done, NR_IOMMU unless one was refused.
 */
static uint64_t guest_iommu(uint64_t nr, uint64_t per)
{
	uint64_t done = 0, k, r, list;

	while (done < NR_IOMMU) {
		k = NR_IOMMU - done < per ? NR_IOMMU - done : per;
		list = nr == PVX_HC_IOMMU_MAP ? (uint64_t)&iommu_maps[done] :
						(uint64_t)&iommu_unmaps[done];
		r = guest_hypercall(nr, list, k, 0, 0);
		if ((int64_t)r <= 0 || r > k)
			return done;
		done += r;
	}
	return done;
}

/*
 * @n one-shot deadlines TIMER_DELTA_NS ahead, each awaited halted: on
 * the LAPIC's TSC-deadline MSR, or on pvx's TIMER_SET with the delta or
 * with a TSC deadline (@tsc_khz turns the delta into TSC ticks).  Every
 * deadline is taken from kvmclock before the arming exit, as a guest's
 * clockevent computes it, so a delta pays for the exit in lateness.
 */
static uint64_t guest_timer(uint64_t how, uint64_t tsc_khz, uint64_t n)
{
	uint64_t vec = how == TIMER_LAPIC ? VEC_LAPIC_TIMER : VEC_PVX_TIMER;
	uint64_t i, seen, t, delta_tsc = TIMER_DELTA_NS * tsc_khz / 1000000;

	for (i = 0; i < n; i++) {
		seen = guest_irq_vec_count[vec];
		t = guest_kvmclock_ns();
		if (how == TIMER_PVX) {
			if (guest_hypercall(PVX_HC_TIMER_SET, TIMER_DELTA_NS,
					    0, 0, 0))
				return i;
		} else if (how == TIMER_PVX_TSC) {
			if (guest_hypercall(PVX_HC_TIMER_SET,
					    guest_rdtsc() + delta_tsc,
					    PVX_TIMER_TSC_DEADLINE, 0, 0))
				return i;
		} else {
			guest_wrmsr(MSR_TSC_DEADLINE, guest_rdtsc() + delta_tsc);
		}
		while (guest_irq_vec_count[vec] == seen)
			guest_safe_halt();
		guest_cli();
		timer_late[i] = (int64_t)(guest_irq_last_ns - t - TIMER_DELTA_NS);
	}
	return n;
}

static uint64_t guest_do(const struct bench_cmd *c)
{
	uint64_t i, r = 0;

	switch (c->op) {
	case OP_WRMSR_LOOP:
		for (i = 0; i < NR_MSR_WRITES; i++)
			guest_wrmsr(msrs[i % 8], msr_value(i));
		return NR_MSR_WRITES;
	case OP_MSR_BATCH:
		return guest_hypercall(PVX_HC_MSR_BATCH, (uint64_t)msr_list,
				       NR_MSR_WRITES, 0, 0);
	case OP_TOUCH:
		return guest_touch(c->a0, c->a1, c->a2);
	case OP_COPY_PAGES:
		return guest_copy_pages(c->a0, c->a1, c->a2);
	case OP_MEMCPY:
		return guest_memcpy(c->a0, c->a1, c->a2);
	case OP_HC_LOOP:
		for (i = 0; i < c->a2; i++)
			r = guest_hypercall(c->a0, c->a1, 0, 0, 0);
		return r;
	case OP_TIMER_INIT:
		guest_kvmclock_enable();
		guest_wrmsr(MSR_X2APIC_LVTT, LVTT_TSC_DEADLINE | VEC_LAPIC_TIMER);
		return guest_hypercall(PVX_HC_SET_VECTOR, VEC_PVX_TIMER, 0, 0, 0);
	case OP_TIMER:
		return guest_timer(c->a0, c->a1, c->a2);
	case OP_WRMSR_N:
		/* msr64's values are architecturally valid for 64 writes only */
		for (i = 0; i < c->a0; i++)
			guest_wrmsr(msrs[i % 8], msr_value(i % NR_MSR_WRITES));
		return c->a0;
	case OP_MSR_BATCH_N:
		return guest_hypercall(PVX_HC_MSR_BATCH, (uint64_t)sweep_list,
				       c->a0, 0, 0);
	case OP_IOMMU:
		return guest_iommu(c->a0, c->a1);
	}
	return ~0ULL;
}

static void guest_main(uint64_t arg)
{
	struct bench_cmd c;
	uint64_t t0, t1, r;

	(void)arg;
	guest_x2apic_enable();
	for (;;) {
		GUEST_SYNC(STEP_READY);
		c.op = READ_ONCE(cmd.op);
		c.a0 = READ_ONCE(cmd.a0);
		c.a1 = READ_ONCE(cmd.a1);
		c.a2 = READ_ONCE(cmd.a2);
		t0 = guest_rdtsc();
		r = guest_do(&c);
		t1 = guest_rdtsc();
		GUEST_SYNC(STEP_DONE, t1 - t0, r);
	}
}

/* ------------------------------------------------------------ host */

struct sample {
	uint64_t exits, hypercalls, host_ns, guest_tsc, ret;
};

struct bench_vm {
	struct vm *vm;
	struct vcpu *vcpu;
	uint64_t id;		/* pvx's, while attached */
	bool ready;		/* the guest is waiting at STEP_READY */
};

static bool to_ready(struct bench_vm *b)
{
	struct ucall uc;

	if (b->ready)
		return true;
	if (vcpu_get_ucall(b->vcpu, &uc) != UCALL_SYNC ||
	    uc.args[0] != STEP_READY) {
		tap_diag("guest did not reach its ready message");
		return false;
	}
	b->ready = true;
	return true;
}

/*
 * One command; @before runs in the VMM after the clock started and
 * before the vCPU does (the VMM's own share of a path, as
 * KVM_PRE_FAULT_MEMORY).
 */
static bool run_op(struct bench_vm *b, uint64_t op, uint64_t a0, uint64_t a1,
		   uint64_t a2, bool (*before)(struct bench_vm *b),
		   struct sample *s)
{
	struct ucall uc;
	uint64_t e0, h0, t0;

	if (!to_ready(b))
		return false;
	guest_global(b->vm, cmd.op) = op;
	guest_global(b->vm, cmd.a0) = a0;
	guest_global(b->vm, cmd.a1) = a1;
	guest_global(b->vm, cmd.a2) = a2;
	e0 = vcpu_stat(b->vcpu, "exits");
	h0 = vcpu_stat(b->vcpu, "hypercalls");
	t0 = now_ns();
	if (before && !before(b))
		return false;
	b->ready = false;
	if (vcpu_get_ucall(b->vcpu, &uc) != UCALL_SYNC ||
	    uc.args[0] != STEP_DONE) {
		tap_diag("guest did not finish command %llu",
			 (unsigned long long)op);
		return false;
	}
	s->host_ns = now_ns() - t0;
	s->exits = vcpu_stat(b->vcpu, "exits") - e0;
	s->hypercalls = vcpu_stat(b->vcpu, "hypercalls") - h0;
	s->guest_tsc = uc.args[1];
	s->ret = uc.args[2];
	return true;
}

static void bench_vm_create(struct bench_vm *b)
{
	memset(b, 0, sizeof(*b));
	b->vm = vm_create();
	vm_enable_irqchip(b->vm);
	b->vcpu = vcpu_add(b->vm, guest_main, 0);
}

/* ------------------------------------------------------------ figures */

struct series {
	double v[2 * MAX_REPS];
	int n;
};

static void add(struct series *s, double v)
{
	if (s->n < 2 * MAX_REPS)
		s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One figure, min/median/max over the repetitions and every value. */
static void emit(const char *row, const char *figure, const char *variant,
		 const char *unit, const struct series *s)
{
	double v[2 * MAX_REPS], med;
	char buf[4096];
	int i, len;

	if (!s->n)
		return;
	memcpy(v, s->v, sizeof(v[0]) * s->n);
	qsort(v, s->n, sizeof(v[0]), cmp_double);
	med = s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
	len = snprintf(buf, sizeof(buf),
		       "# PVX-BENCH: {\"row\": \"%s\", \"figure\": \"%s\", \"variant\": \"%s\", \"unit\": \"%s\", \"n\": %d, \"min\": %.6g, \"median\": %.6g, \"max\": %.6g, \"values\": [",
		       row, figure, variant, unit, s->n, v[0], med, v[s->n - 1]);
	for (i = 0; i < s->n && len < (int)sizeof(buf) - 32; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%.6g",
				i ? ", " : "", s->v[i]);
	snprintf(buf + len, sizeof(buf) - len, "]}");
	printf("%s\n", buf);
	fflush(stdout);
}

/*
 * An A B B A round of stock path A and pvx path B: each run's exits, the
 * two runs' time summed (the guest's TSC with @guest, else the VMM's
 * clock), and B's time over A's.
 */
struct abba {
	struct series ex_a, ex_b, t_a, t_b, ratio;
};

static void add_abba(struct abba *f, const struct sample s[4], bool guest)
{
	double ta, tb;

	ta = guest ? s[0].guest_tsc + s[3].guest_tsc : s[0].host_ns + s[3].host_ns;
	tb = guest ? s[1].guest_tsc + s[2].guest_tsc : s[1].host_ns + s[2].host_ns;
	add(&f->ex_a, s[0].exits);
	add(&f->ex_a, s[3].exits);
	add(&f->ex_b, s[1].exits);
	add(&f->ex_b, s[2].exits);
	add(&f->t_a, ta);
	add(&f->t_b, tb);
	add(&f->ratio, tb / ta);
}

static void emit_meta(void)
{
	char ver[64] = "";
	struct utsname u;

	uname(&u);
	read_file("/sys/module/" MODNAME "/version", ver, sizeof(ver));
	ver[strcspn(ver, "\n")] = 0;
	printf("# PVX-BENCH: {\"meta\": {\"l1_kernel\": \"%s\", \"l1_machine\": \"%s\", \"pvx_host_version\": \"%s\", \"reps\": %d, \"clock\": \"CLOCK_MONOTONIC in the VMM, RDTSC in the guest\"}}\n",
	       u.release, u.machine, ver, reps);
	fflush(stdout);
}

static uint64_t pvx_calls(int pvx, uint64_t id, uint32_t nr)
{
	struct pvx_vm_stats st;

	if (pvx_find_vm(pvx, id, &st) != 1)
		return 0;
	return st.hc[nr - PVX_HC_BASE].calls;
}

/* ------------------------------------------------------------ rows */

static void row_msr(int pvx)
{
	struct series hc_batch = {0};
	struct pvx_msr_entry *l;
	struct abba f = {0};
	struct sample s[4];
	struct bench_vm v;
	uint64_t c0;
	bool ok = true;
	int r, i;

	bench_vm_create(&v);
	v.id = pvx_attach(pvx, v.vm->fd, PVX_F_MSR_BATCH, 0);
	l = guest_ptr(v.vm, (uint64_t)msr_list);
	for (i = 0; i < NR_MSR_WRITES; i++) {
		l[i].index = msrs[i % 8];
		l[i].value = msr_value(i);
	}
	for (r = 0; r < reps && ok; r++) {
		c0 = pvx_calls(pvx, v.id, PVX_HC_MSR_BATCH);
		for (i = 0; i < 4 && ok; i++) {
			ok = run_op(&v, i == 0 || i == 3 ? OP_WRMSR_LOOP :
				    OP_MSR_BATCH, 0, 0, 0, NULL, &s[i]);
			if (ok && (i == 1 || i == 2) && s[i].ret != NR_MSR_WRITES) {
				tap_diag("MSR_BATCH wrote %llu of %d",
					 (unsigned long long)s[i].ret,
					 NR_MSR_WRITES);
				ok = false;
			}
		}
		if (!ok)
			break;
		add(&hc_batch, (pvx_calls(pvx, v.id, PVX_HC_MSR_BATCH) - c0) / 2.0);
		add_abba(&f, s, false);
	}
	if (tap_ok(ok, "msr64: %d rounds of 64 WRMSRs and one MSR_BATCH", reps)) {
		emit("msr64", "exits", "wrmsr_loop", "exits", &f.ex_a);
		emit("msr64", "exits", "msr_batch", "exits", &f.ex_b);
		emit("msr64", "pvx_calls", "msr_batch", "calls", &hc_batch);
		emit("msr64", "host_ns", "wrmsr_loop", "ns (TCG), two runs", &f.t_a);
		emit("msr64", "host_ns", "msr_batch", "ns (TCG), two runs", &f.t_b);
		emit("msr64", "host_time_ratio", "msr_batch/wrmsr_loop", "ratio", &f.ratio);
	}
	vm_free(v.vm);
}

/*
 * MSR_BATCH of 1 to 256 entries against a WRMSR loop of the same length,
 * to show where a batch starts to pay for its hypercall and its list.
 * Past 64 writes msr64's writes repeat, since its values (a TPR class, a
 * masked LVT vector, a timer divide setting) are only architecturally
 * valid for the first 64; KVM would mask anything larger silently.
 */
static void row_msr_sweep(int pvx)
{
	struct series per_a[NR_SWEEP] = {0}, per_b[NR_SWEEP] = {0};
	struct series calls[NR_SWEEP] = {0};
	static struct abba f[NR_SWEEP];
	char a[32], b[32], ab[64];
	struct pvx_msr_entry *l;
	struct sample s[4];
	struct bench_vm v;
	bool ok = true, batch;
	int r, k, i, n;
	uint64_t c0;

	memset(f, 0, sizeof(f));
	bench_vm_create(&v);
	v.id = pvx_attach(pvx, v.vm->fd, PVX_F_MSR_BATCH, 0);
	l = guest_ptr(v.vm, (uint64_t)sweep_list);
	for (i = 0; i < (int)SWEEP_MAX; i++) {
		l[i].index = msrs[i % 8];
		l[i].value = msr_value(i % NR_MSR_WRITES);
	}
	for (r = 0; r < reps && ok; r++) {
		for (k = 0; k < NR_SWEEP && ok; k++) {
			n = sweep_sizes[k];
			c0 = pvx_calls(pvx, v.id, PVX_HC_MSR_BATCH);
			for (i = 0; i < 4 && ok; i++) {
				batch = i == 1 || i == 2;
				ok = run_op(&v, batch ? OP_MSR_BATCH_N : OP_WRMSR_N,
					    n, 0, 0, NULL, &s[i]);
				if (ok && s[i].ret != (uint64_t)n) {
					tap_diag("%s of %d wrote %llu",
						 batch ? "MSR_BATCH" : "WRMSR loop",
						 n, (unsigned long long)s[i].ret);
					ok = false;
				}
				/* the closing message's exit is not a write's */
				if (ok)
					add(batch ? &per_b[k] : &per_a[k],
					    (s[i].exits - 1.0) / n);
			}
			if (!ok)
				break;
			add(&calls[k], (pvx_calls(pvx, v.id, PVX_HC_MSR_BATCH) - c0) / 2.0);
			add_abba(&f[k], s, false);
		}
	}
	if (tap_ok(ok, "msr_sweep: %d rounds of MSR_BATCH and WRMSR loops of 1 to %d writes",
		   reps, (int)SWEEP_MAX)) {
		for (k = 0; k < NR_SWEEP; k++) {
			snprintf(a, sizeof(a), "wrmsr_loop_%d", sweep_sizes[k]);
			snprintf(b, sizeof(b), "msr_batch_%d", sweep_sizes[k]);
			snprintf(ab, sizeof(ab), "%s/%s", b, a);
			emit("msr_sweep", "exits", a, "exits", &f[k].ex_a);
			emit("msr_sweep", "exits", b, "exits", &f[k].ex_b);
			emit("msr_sweep", "exits_per_write", a,
			     "exits per write, closing exit off", &per_a[k]);
			emit("msr_sweep", "exits_per_write", b,
			     "exits per write, closing exit off", &per_b[k]);
			emit("msr_sweep", "pvx_calls", b, "calls", &calls[k]);
			emit("msr_sweep", "host_time_ratio", ab, "ratio", &f[k].ratio);
		}
	}
	vm_free(v.vm);
}

static uint8_t *fresh_mem[NR_FRESH_SLOTS];

static uint64_t fresh_gpa(int i)
{
	return GPA_FRESH + i * (2ULL << 20);
}

/* New memory in every fresh slot: nothing mapped, in KVM or the VMM. */
static void fresh_slots(struct vm *vm, bool first)
{
	uint64_t size = NR_FRESH * PAGE;
	int i;

	for (i = 0; i < NR_FRESH_SLOTS; i++) {
		if (!first) {
			vm_delete_slot(vm, SLOT_FRESH + i, fresh_gpa(i));
			munmap(fresh_mem[i], size);
		}
		fresh_mem[i] = vm_add_anon_slot(vm, SLOT_FRESH + i,
						fresh_gpa(i), size, 0, true);
	}
}

static uint64_t pre_fault_gpa;
static uint8_t *pre_fault_mem;

static bool pre_fault_memory(struct bench_vm *b)
{
	struct kvm_pre_fault_memory r;

	memset(&r, 0, sizeof(r));
	r.gpa = pre_fault_gpa;
	r.size = NR_FRESH * PAGE;
	while (r.size) {
		if (ioctl(b->vcpu->fd, KVM_PRE_FAULT_MEMORY, &r) < 0 &&
		    errno != EINTR && errno != EAGAIN) {
			tap_diag("KVM_PRE_FAULT_MEMORY: %m");
			return false;
		}
	}
	return true;
}

/*
 * What a VMM that knows the range can do with no guest exit: populate
 * it writable in its own mapping, then map it in KVM's stage-2 tables.
 */
static bool populate_and_pre_fault(struct bench_vm *b)
{
	if (madvise(pre_fault_mem, NR_FRESH * PAGE, MADV_POPULATE_WRITE)) {
		tap_diag("MADV_POPULATE_WRITE: %m");
		return false;
	}
	return pre_fault_memory(b);
}

/* Variant @i of the fresh-page row on fresh slot @slot. */
static bool touch_fresh(struct bench_vm *v, int i, int slot, struct sample *s)
{
	bool (*vmm[4])(struct bench_vm *b) = {
		NULL, NULL, pre_fault_memory, populate_and_pre_fault,
	};

	pre_fault_gpa = fresh_gpa(slot);
	pre_fault_mem = fresh_mem[slot];
	if (!run_op(v, OP_TOUCH, fresh_gpa(slot), NR_FRESH, i == 1, vmm[i], s))
		return false;
	if (s->ret == ~0ULL) {
		tap_diag("PREFAULT_WRITE refused the range");
		return false;
	}
	return true;
}

static void row_prefault(int pvx)
{
	static const char *const name[4] = {
		"no_hint", "prefault_write", "kvm_pre_fault_memory",
		"populate_write_pre_fault",
	};
	struct series ex[4] = {0}, ns[4] = {0}, ratio[4] = {0}, calls = {0};
	uint64_t t[4];
	struct sample s;
	struct bench_vm v;
	uint64_t c0;
	bool ok = true;
	int r, i;

	bench_vm_create(&v);
	v.id = pvx_attach(pvx, v.vm->fd, PVX_F_PREFAULT, 0);
	if (ioctl(v.vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_PRE_FAULT_MEMORY) <= 0) {
		tap_ok(false, "fresh256: KVM has no KVM_PRE_FAULT_MEMORY");
		vm_free(v.vm);
		return;
	}
	fresh_slots(v.vm, true);
	for (r = 0; r < reps && ok; r++) {
		if (r)
			fresh_slots(v.vm, false);
		/* A B C D D C B A, each on memory of its own */
		memset(t, 0, sizeof(t));
		c0 = pvx_calls(pvx, v.id, PVX_HC_PREFAULT_WRITE);
		for (i = 0; i < 8 && ok; i++) {
			int k = i < 4 ? i : 7 - i;

			ok = touch_fresh(&v, k, i, &s);
			add(&ex[k], s.exits);
			t[k] += s.host_ns;
		}
		if (!ok)
			break;
		add(&calls, (pvx_calls(pvx, v.id, PVX_HC_PREFAULT_WRITE) - c0) / 2.0);
		for (i = 0; i < 4; i++) {
			add(&ns[i], t[i]);
			add(&ratio[i], (double)t[i] / t[0]);
		}
	}
	if (tap_ok(ok, "fresh256: %d rounds of 256 fresh pages read then written, four ways",
		   reps)) {
		for (i = 0; i < 4; i++) {
			emit("fresh256", "exits", name[i], "exits", &ex[i]);
			emit("fresh256", "host_ns", name[i], "ns (TCG), two runs", &ns[i]);
		}
		emit("fresh256", "pvx_calls", "prefault_write", "calls", &calls);
		emit("fresh256", "host_time_ratio", "prefault_write/no_hint", "ratio", &ratio[1]);
		emit("fresh256", "host_time_ratio", "kvm_pre_fault_memory/no_hint", "ratio", &ratio[2]);
		emit("fresh256", "host_time_ratio", "populate_write_pre_fault/no_hint", "ratio", &ratio[3]);
	}
	vm_free(v.vm);
}

static uint8_t *copy_src, *copy_dst;

/* One copy of the 1024 pages by @op, checked from the VMM. */
static bool copy_once(struct bench_vm *v, uint64_t op, struct sample *s)
{
	uint64_t size = NR_COPY * PAGE;

	memset(copy_dst, 0, size);
	if (!run_op(v, op, GPA_SRC, GPA_DST, NR_COPY, NULL, s))
		return false;
	if (s->ret != NR_COPY || memcmp(copy_src, copy_dst, size)) {
		tap_diag("%s copied %llu of %d pages, or not right",
			 op == OP_MEMCPY ? "guest memcpy" : "COPY_PAGES",
			 (unsigned long long)s->ret, NR_COPY);
		return false;
	}
	return true;
}

static void row_copy(int pvx)
{
	struct series calls = {0};
	uint64_t size = NR_COPY * PAGE, c0;
	struct abba f = {0}, h = {0};
	struct sample s[4];
	struct bench_vm v;
	bool ok = true;
	int r, i;

	bench_vm_create(&v);
	v.id = pvx_attach(pvx, v.vm->fd, PVX_F_COPY_PAGES, 0);
	copy_src = vm_add_anon_slot(v.vm, SLOT_SRC, GPA_SRC, size, 0, false);
	copy_dst = vm_add_anon_slot(v.vm, SLOT_DST, GPA_DST, size, 0, false);
	memset(copy_src, 0xa5, size);
	/* Round -1 warms the stage-2 tables: both paths then start mapped. */
	for (r = -1; r < reps && ok; r++) {
		c0 = pvx_calls(pvx, v.id, PVX_HC_COPY_PAGES);
		for (i = 0; i < 4 && ok; i++)
			ok = copy_once(&v, i == 0 || i == 3 ? OP_MEMCPY :
				       OP_COPY_PAGES, &s[i]);
		if (!ok || r < 0)
			continue;
		add(&calls, (pvx_calls(pvx, v.id, PVX_HC_COPY_PAGES) - c0) / 2.0);
		add_abba(&f, s, true);
		add_abba(&h, s, false);
	}
	if (tap_ok(ok, "copy1k: %d rounds of 1024 pages, guest memcpy and COPY_PAGES",
		   reps)) {
		emit("copy1k", "exits", "guest_memcpy", "exits", &f.ex_a);
		emit("copy1k", "exits", "copy_pages", "exits", &f.ex_b);
		emit("copy1k", "pvx_calls", "copy_pages", "calls", &calls);
		emit("copy1k", "guest_tsc", "guest_memcpy", "TSC (TCG), two runs", &f.t_a);
		emit("copy1k", "guest_tsc", "copy_pages", "TSC (TCG), two runs", &f.t_b);
		emit("copy1k", "guest_time_ratio", "copy_pages/guest_memcpy", "ratio", &f.ratio);
		emit("copy1k", "host_time_ratio", "copy_pages/guest_memcpy", "ratio", &h.ratio);
	}
	vm_free(v.vm);
}

/* Per-call host time of @calls hypercalls @nr. */
static bool per_call(struct bench_vm *v, uint64_t nr, uint64_t arg,
		     struct sample *s)
{
	if (!run_op(v, OP_HC_LOOP, nr, arg, NR_CALLS, NULL, s))
		return false;
	return true;
}

static int scale_others[31], scale_attached;

/* @n VMs attached in all: the measured one and n - 1 empty ones. */
static bool scale_set(int pvx, int n)
{
	struct pvx_vm_stats *recs;
	uint32_t nr;

	for (; scale_attached < n - 1; scale_attached++)
		pvx_attach(pvx, scale_others[scale_attached], 0, 0);
	for (; scale_attached > n - 1; scale_attached--)
		pvx_detach_fd(pvx, scale_others[scale_attached - 1]);
	pvx_stats_read(pvx, &recs, &nr, NULL);
	free(recs);
	if (nr < (uint32_t)n) {
		tap_diag("%u VMs attached, want at least %d", nr, n);
		return false;
	}
	return true;
}

static void row_scale(int pvx)
{
	static const int counts[3] = { 1, 8, 32 };
	static const char *const name[3] = { "1_vm", "8_vms", "32_vms" };
	struct series ns[3] = {0}, ratio[3] = {0}, ex[3] = {0}, calls[3] = {0};
	int kvm = kvm_fd_or_skip();
	struct sample s;
	struct bench_vm v;
	uint64_t c0, t[3];
	bool ok = true;
	int r, i, k;

	bench_vm_create(&v);
	v.id = pvx_attach(pvx, v.vm->fd, 0, 0);
	for (k = 0; k < 31; k++) {
		scale_others[k] = ioctl(kvm, KVM_CREATE_VM, 0);
		TEST_ASSERT(scale_others[k] >= 0, "KVM_CREATE_VM");
	}
	scale_attached = 0;
	for (r = 0; r < reps && ok; r++) {
		/* 1 8 32 32 8 1: a drift of the machine's speed cancels out */
		memset(t, 0, sizeof(t));
		for (i = 0; i < 6 && ok; i++) {
			k = i < 3 ? i : 5 - i;
			ok = scale_set(pvx, counts[k]);
			c0 = pvx_calls(pvx, v.id, PVX_HC_PROBE);
			ok = ok && per_call(&v, PVX_HC_PROBE, 0, &s);
			if (ok && s.ret != PVX_SIGNATURE) {
				tap_diag("PROBE returned %#llx",
					 (unsigned long long)s.ret);
				ok = false;
			}
			add(&calls[k], pvx_calls(pvx, v.id, PVX_HC_PROBE) - c0);
			add(&ex[k], s.exits);
			t[k] += s.host_ns;
		}
		if (!ok)
			break;
		for (i = 0; i < 3; i++) {
			add(&ns[i], (double)t[i] / (2 * NR_CALLS));
			add(&ratio[i], (double)t[i] / t[0]);
		}
	}
	scale_set(pvx, 1);
	if (tap_ok(ok, "scale: %d rounds of %d PROBE calls with 1, 8, 32 VMs attached",
		   reps, NR_CALLS)) {
		for (i = 0; i < 3; i++) {
			emit("scale", "exits", name[i], "exits", &ex[i]);
			emit("scale", "pvx_calls", name[i], "calls", &calls[i]);
			emit("scale", "host_ns_per_call", name[i], "ns (TCG)", &ns[i]);
		}
		emit("scale", "host_time_ratio", "8_vms/1_vm", "ratio", &ratio[1]);
		emit("scale", "host_time_ratio", "32_vms/1_vm", "ratio", &ratio[2]);
	}
	for (k = 0; k < 31; k++)
		close(scale_others[k]);
	vm_free(v.vm);
}

/* ------------------------------------------------------------ timer */

/* L1's busy CPU time (all CPUs, ns): what the host spent, kworkers too. */
static uint64_t l1_busy_ns(void)
{
	unsigned long long u, n, sy, idle, io, irq, soft;
	char buf[512];

	if (read_file("/proc/stat", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu", &u, &n, &sy,
		   &idle, &io, &irq, &soft) != 7)
		return 0;
	return (u + n + sy + irq + soft) * (1000000000ULL / sysconf(_SC_CLK_TCK));
}

/*
 * A stock Linux guest finds the TSC-deadline mode in CPUID (QEMU sets it
 * from KVM_CAP_TSC_DEADLINE_TIMER; KVM's supported CPUID leaves it out).
 */
static void vcpu_enable_tsc_deadline(struct vcpu *vcpu)
{
	struct kvm_cpuid2 *c;
	uint32_t i;

	c = calloc(1, sizeof(*c) + 128 * sizeof(c->entries[0]));
	TEST_ASSERT(c, "calloc");
	c->nent = 128;
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_GET_CPUID2, c), "KVM_GET_CPUID2");
	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			c->entries[i].ecx |= 1u << 24;
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_SET_CPUID2, c), "KVM_SET_CPUID2");
	free(c);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The @pct percentile of @n samples (sorts them). */
static double percentile(int64_t *v, int n, int pct)
{
	qsort(v, n, sizeof(v[0]), cmp_i64);
	return v[(n - 1) * pct / 100];
}

struct timer_run {
	int64_t late[2 * NR_TIMER];	/* both runs of a variant in a round */
	int n;
	uint64_t exits, busy, fired, early;
};

static bool timer_once(int pvx, struct bench_vm *v, int how, uint64_t khz,
		       struct timer_run *tr)
{
	static const char *const what[] = {
		"TSC deadline", "TIMER_SET", "TIMER_SET by TSC deadline",
	};
	struct pvx_vm_stats st;
	uint64_t b0, f0 = 0;
	struct sample s;
	int i;

	if (pvx_find_vm(pvx, v->id, &st) == 1)
		f0 = st.timers_fired;
	b0 = l1_busy_ns();
	if (!run_op(v, OP_TIMER, how, khz, NR_TIMER, NULL, &s))
		return false;
	tr->busy += l1_busy_ns() - b0;
	if (s.ret != NR_TIMER) {
		tap_diag("%s: %llu of %d expiries", what[how],
			 (unsigned long long)s.ret, NR_TIMER);
		return false;
	}
	if (pvx_find_vm(pvx, v->id, &st) == 1)
		tr->fired += st.timers_fired - f0;
	tr->exits += s.exits;
	for (i = 0; i < NR_TIMER; i++) {
		int64_t l = guest_global(v->vm, timer_late[i]);

		tr->early += l < 0;
		tr->late[tr->n++] = l;
	}
	return true;
}

/*
 * 1000 one-shot deadlines 200 us ahead, each awaited in HLT, per run:
 * pvx_clock's paths (TIMER_SET with a delta and with a TSC deadline, the
 * vector sent from pvx's hrtimer) against a stock guest's (the LAPIC
 * timer in TSC-deadline mode, whose MSR write KVM handles on its
 * fastpath), A B C C B A, in one VM.
 */
static void row_timer(int pvx)
{
	static const char *const name[NR_TIMER_VARIANTS] = {
		"lapic_tsc_deadline", "timer_set", "timer_set_tsc",
	};
	static const char *const ratio[NR_TIMER_VARIANTS] = {
		NULL, "timer_set/lapic_tsc_deadline",
		"timer_set_tsc/lapic_tsc_deadline",
	};
	struct series ex[NR_TIMER_VARIANTS] = {0}, busy[NR_TIMER_VARIANTS] = {0};
	struct series med[NR_TIMER_VARIANTS] = {0}, p99[NR_TIMER_VARIANTS] = {0};
	struct series early[NR_TIMER_VARIANTS] = {0}, fired[NR_TIMER_VARIANTS] = {0};
	struct series r_busy[NR_TIMER_VARIANTS] = {0};
	struct series r_med[NR_TIMER_VARIANTS] = {0}, r_p99[NR_TIMER_VARIANTS] = {0};
	static struct timer_run tr[NR_TIMER_VARIANTS];
	struct bench_vm v;
	struct sample s;
	int khz, r, i, k;
	bool ok;

	bench_vm_create(&v);
	vcpu_setup_idt(v.vcpu);
	vcpu_enable_tsc_deadline(v.vcpu);
	v.id = pvx_attach(pvx, v.vm->fd, PVX_F_TIMER, 0);
	khz = ioctl(v.vcpu->fd, KVM_GET_TSC_KHZ, 0);
	ok = khz > 0 && run_op(&v, OP_TIMER_INIT, 0, 0, 0, NULL, &s) && !s.ret;
	if (!ok)
		tap_diag("timer set-up: TSC %d kHz, SET_VECTOR %lld", khz,
			 (long long)s.ret);
	for (r = 0; r < reps && ok; r++) {
		memset(tr, 0, sizeof(tr));
		for (i = 0; i < 2 * NR_TIMER_VARIANTS && ok; i++) {
			k = i < NR_TIMER_VARIANTS ? i : 2 * NR_TIMER_VARIANTS - 1 - i;
			ok = timer_once(pvx, &v, k, khz, &tr[k]);
		}
		if (!ok)
			break;
		for (k = 0; k < NR_TIMER_VARIANTS; k++) {
			add(&ex[k], tr[k].exits / (2.0 * NR_TIMER));
			add(&busy[k], tr[k].busy / (2.0 * NR_TIMER));
			add(&med[k], percentile(tr[k].late, tr[k].n, 50));
			add(&p99[k], percentile(tr[k].late, tr[k].n, 99));
			add(&early[k], tr[k].early);
			add(&fired[k], tr[k].fired / 2.0);
			if (!k)
				continue;
			add(&r_busy[k], (double)tr[k].busy / tr[0].busy);
			add(&r_med[k], med[k].v[r] / med[0].v[r]);
			add(&r_p99[k], p99[k].v[r] / p99[0].v[r]);
		}
	}
	if (!tap_ok(ok, "timer: %d rounds of %d deadlines, TIMER_SET and TSC-deadline",
		    reps, NR_TIMER))
		goto out;
	for (k = 0; k < NR_TIMER_VARIANTS; k++) {
		emit("timer", "exits_per_expiry", name[k], "exits", &ex[k]);
		emit("timer", "l1_busy_ns_per_expiry", name[k],
		     "ns (TCG) of L1 CPU", &busy[k]);
		emit("timer", "lateness_median", name[k], "ns (TCG)", &med[k]);
		emit("timer", "lateness_p99", name[k], "ns (TCG)", &p99[k]);
		emit("timer", "early", name[k], "expiries", &early[k]);
		if (!k)
			continue;
		emit("timer", "pvx_timers_fired", name[k], "interrupts", &fired[k]);
		emit("timer", "l1_busy_ratio", ratio[k], "ratio", &r_busy[k]);
		emit("timer", "lateness_median_ratio", ratio[k], "ratio", &r_med[k]);
		emit("timer", "lateness_p99_ratio", ratio[k], "ratio", &r_p99[k]);
	}
out:
	vm_free(v.vm);
}

/* ------------------------------------------------------------ iommu */

/*
 * One phase of the IOMMU row: every entry mapped (@nr PVX_HC_IOMMU_MAP)
 * or unmapped again, @per entries a call; checked from the VMM (each
 * entry's status, the pages pvx has mapped now).  *@calls gets the
 * phase's @nr calls, as pvx counted them.  The statuses are set to
 * what pvx never writes first.
 */
static bool iommu_once(int pvx, struct bench_vm *v, uint64_t nr, uint64_t per,
		       struct sample *s, uint64_t *calls)
{
	bool map = nr == PVX_HC_IOMMU_MAP;
	struct pvx_vm_stats st;
	uint64_t c0, bad = 0;
	int i;

	for (i = 0; i < NR_IOMMU; i++) {
		if (map)
			guest_global(v->vm, iommu_maps[i].status) = 0x55;
		else
			guest_global(v->vm, iommu_unmaps[i].status) = 0x5555;
	}
	c0 = pvx_calls(pvx, v->id, nr);
	if (!run_op(v, OP_IOMMU, nr, per, 0, NULL, s))
		return false;
	*calls = pvx_calls(pvx, v->id, nr) - c0;
	for (i = 0; i < NR_IOMMU; i++)
		bad += map ? guest_global(v->vm, iommu_maps[i].status) != 0 :
			     guest_global(v->vm, iommu_unmaps[i].status) != 0;
	if (pvx_find_vm(pvx, v->id, &st) != 1)
		st.iommu_pages = ~0ULL;
	if (s->ret != NR_IOMMU || bad ||
	    st.iommu_pages != (map ? NR_IOMMU : 0)) {
		tap_diag("IOMMU_%s, %llu a call: %llu of %d done, %llu statuses not 0, %llu mapped",
			 map ? "MAP" : "UNMAP", (unsigned long long)per,
			 (unsigned long long)s->ret, NR_IOMMU,
			 (unsigned long long)bad,
			 (unsigned long long)st.iommu_pages);
		return false;
	}
	return true;
}

/*
 * 256 pages mapped for edu (behind VT-d, through the VMM's VFIO
 * container) by PVX_HC_IOMMU_MAP with lists of as many entries as one
 * call takes, against one call of one entry a page; each time unmapped
 * again the same way, a phase measured on its own.  A B B A in one VM,
 * after a round that pins the pages in the VMM once.
 */
static void row_iommu(int pvx)
{
	static const uint64_t nr[2] = { PVX_HC_IOMMU_MAP, PVX_HC_IOMMU_UNMAP };
	static const uint64_t per[2] = { 1, IOMMU_CHUNK };
	static const char *const phase[2] = { "map", "unmap" };
	struct series calls[2][2] = {0};
	char a[32], b[32], ab[64];
	struct sample s[2][4];
	struct abba f[2] = {0};
	struct pvx_iommu_unmap *ul;
	struct pvx_iommu_map *ml;
	uint64_t c[2][4];
	struct bench_vm v;
	struct edu e;
	bool ok = true;
	int r, i, j, p;

	if (!(pvx_get_features(pvx) & PVX_F_IOMMU)) {
		tap_skip("iommu256: pvx_host does not offer PVX_F_IOMMU");
		return;
	}
	memset(&e, 0, sizeof(e));
	if (!edu_find(&e)) {
		tap_skip("iommu256: no edu device (%04x:%04x): run-l1.sh --iommu provides one",
			 EDU_VENDOR, EDU_DEVICE);
		return;
	}
	allow_unsafe_interrupts();
	vfio_open(&e);
	bench_vm_create(&v);
	vm_add_anon_slot(v.vm, SLOT_IOMMU, GPA_IOMMU, NR_IOMMU * PAGE, 0, true);
	v.id = pvx_attach(pvx, v.vm->fd, PVX_F_IOMMU, 0);
	iommu_setup(pvx, v.id, e.container, IOVA_IOMMU, NR_IOMMU * PAGE,
		    PVX_IOMMU_READ | PVX_IOMMU_WRITE);
	ml = guest_ptr(v.vm, (uint64_t)iommu_maps);
	ul = guest_ptr(v.vm, (uint64_t)iommu_unmaps);
	for (i = 0; i < NR_IOMMU; i++) {
		ml[i].iova = IOVA_IOMMU + i * PAGE;
		ml[i].gfn = GPA_IOMMU / PAGE + i;
		ml[i].npages = 1;
		ml[i].perms = PVX_IOMMU_READ | PVX_IOMMU_WRITE;
		ul[i].iova = IOVA_IOMMU + i * PAGE;
		ul[i].npages = 1;
	}
	/* Round -1 pins the pages once: every measured map finds them in. */
	for (r = -1; r < reps && ok; r++) {
		/* A B B A, each run a map phase, then an unmap phase */
		for (i = 0; i < 8 && ok; i++) {
			p = i % 2;
			j = i / 2;
			ok = iommu_once(pvx, &v, nr[p], per[j == 1 || j == 2],
					&s[p][j], &c[p][j]);
		}
		if (!ok || r < 0)
			continue;
		for (p = 0; p < 2; p++) {
			add(&calls[p][0], (c[p][0] + c[p][3]) / 2.0);
			add(&calls[p][1], (c[p][1] + c[p][2]) / 2.0);
			add_abba(&f[p], s[p], false);
		}
	}
	if (!tap_ok(ok, "iommu256: %d rounds of 256 pages mapped and unmapped, %d a call and one",
		    reps, (int)IOMMU_CHUNK))
		goto out;
	for (p = 0; p < 2; p++) {
		snprintf(a, sizeof(a), "%s_single", phase[p]);
		snprintf(b, sizeof(b), "%s_batch", phase[p]);
		snprintf(ab, sizeof(ab), "%s/%s", b, a);
		emit("iommu256", "exits", a, "exits", &f[p].ex_a);
		emit("iommu256", "exits", b, "exits", &f[p].ex_b);
		emit("iommu256", "pvx_calls", a, "calls", &calls[p][0]);
		emit("iommu256", "pvx_calls", b, "calls", &calls[p][1]);
		emit("iommu256", "host_ns", a, "ns (TCG), two runs", &f[p].t_a);
		emit("iommu256", "host_ns", b, "ns (TCG), two runs", &f[p].t_b);
		emit("iommu256", "host_time_ratio", ab, "ratio", &f[p].ratio);
	}
out:
	vm_free(v.vm);
	vfio_close(&e);
}

static bool unload(void)
{
	int tries;

	for (tries = 0; tries < 200; tries++) {
		if (!syscall(SYS_delete_module, MODNAME, O_NONBLOCK))
			return true;
		if (errno != EAGAIN && errno != EBUSY)
			break;
		usleep(10000);
	}
	tap_diag("delete_module(%s): %m", MODNAME);
	return false;
}

static bool load(int kofd)
{
	if (syscall(SYS_finit_module, kofd, "", 0)) {
		tap_diag("finit_module(%s): %m", MODNAME);
		return false;
	}
	return true;
}

static const uint64_t kvm_hcs[2] = { KVM_HC_SCHED_YIELD_NR, HC_UNKNOWN };

/* Both KVM hypercalls in pvx_host's state @state (the variant). */
static bool hc_state(struct bench_vm *v, int state, uint64_t t[2][3],
		     struct series ex[2][3])
{
	struct sample s;
	int h;

	for (h = 0; h < 2; h++) {
		/* to self (APIC ID 0): KVM's cheapest, no-yield path */
		if (!per_call(v, kvm_hcs[h], 0, &s))
			return false;
		t[h][state] += s.host_ns;
		add(&ex[h][state], s.exits);
	}
	return true;
}

/*
 * KVM's own hypercalls, which pvx_host's hook sees first and hands on:
 * the same loop with pvx_host loaded (the VM attached, and not) and
 * unloaded, alternately in one boot.
 */
static void row_kvm_hc(int *pvxp)
{
	static const char *const var[3] = {
		"pvx_unloaded", "pvx_loaded_unattached", "pvx_loaded_attached",
	};
	static const char *const rows[2] = {
		"kvm_hc_sched_yield", "kvm_hc_unknown",
	};
	struct series ns[2][3] = {0}, ex[2][3] = {0}, ratio[2][3] = {0};
	const char *ko = getenv("PVX_HOST_KO");
	uint64_t t[2][3];
	struct bench_vm v;
	int kofd, r, h, i;
	bool ok = true;
	char what[96];

	kofd = ko ? open(ko, O_RDONLY | O_CLOEXEC) : -1;
	if (kofd < 0) {
		tap_ok(false, "kvm_hc: PVX_HOST_KO (%s) cannot be opened",
		       ko ? ko : "unset");
		return;
	}
	bench_vm_create(&v);
	for (r = 0; r < reps && ok; r++) {
		/*
		 * attached, unattached, unloaded, unloaded, unattached,
		 * attached: a drift of the machine's speed cancels out
		 */
		memset(t, 0, sizeof(t));
		v.id = pvx_attach(*pvxp, v.vm->fd, 0, 0);
		ok = hc_state(&v, 2, t, ex);
		pvx_detach_fd(*pvxp, v.vm->fd);
		ok = ok && hc_state(&v, 1, t, ex);
		close(*pvxp);
		*pvxp = -1;
		ok = ok && unload();
		ok = ok && hc_state(&v, 0, t, ex) && hc_state(&v, 0, t, ex);
		if (!load(kofd)) {
			ok = false;
			break;
		}
		*pvxp = pvx_open();
		ok = ok && hc_state(&v, 1, t, ex);
		v.id = pvx_attach(*pvxp, v.vm->fd, 0, 0);
		ok = ok && hc_state(&v, 2, t, ex);
		pvx_detach_fd(*pvxp, v.vm->fd);
		if (!ok)
			break;
		for (h = 0; h < 2; h++)
			for (i = 0; i < 3; i++) {
				add(&ns[h][i], (double)t[h][i] / (2 * NR_CALLS));
				add(&ratio[h][i], (double)t[h][i] / t[h][0]);
			}
	}
	/* Whatever failed, leave pvx_host loaded, as the boot expects. */
	if (access("/sys/module/" MODNAME, F_OK))
		load(kofd);
	if (*pvxp < 0 && !access("/sys/module/" MODNAME, F_OK))
		*pvxp = pvx_open();
	if (tap_ok(ok, "kvm_hc: %d rounds of %d KVM hypercalls with pvx_host loaded and not",
		   reps, NR_CALLS)) {
		for (h = 0; h < 2; h++) {
			for (i = 0; i < 3; i++) {
				emit(rows[h], "exits", var[i], "exits", &ex[h][i]);
				emit(rows[h], "host_ns_per_call", var[i],
				     "ns (TCG)", &ns[h][i]);
			}
			for (i = 1; i < 3; i++) {
				snprintf(what, sizeof(what), "%s/pvx_unloaded",
					 var[i]);
				emit(rows[h], "host_time_ratio", what, "ratio",
				     &ratio[h][i]);
			}
		}
	}
	close(kofd);
	vm_free(v.vm);
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : getenv("PVX_BENCH_ROWS");
	const char *e = getenv("PVX_BENCH_REPS");
	int pvx;

	if (!only)
		only = "";
	if (e && atoi(e) > 0)
		reps = atoi(e) < MAX_REPS ? atoi(e) : MAX_REPS;
	tap_init("pvx_bench: host-side rows of make bench");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_MSR_BATCH | PVX_F_PREFAULT |
				PVX_F_COPY_PAGES | PVX_F_TIMER);
	emit_meta();
	if (!*only || strstr(only, "msr"))
		row_msr(pvx);
	if (!*only || strstr(only, "sweep"))
		row_msr_sweep(pvx);
	if (!*only || strstr(only, "fresh"))
		row_prefault(pvx);
	if (!*only || strstr(only, "copy"))
		row_copy(pvx);
	if (!*only || strstr(only, "scale"))
		row_scale(pvx);
	if (!*only || strstr(only, "timer"))
		row_timer(pvx);
	/* Only by name: it needs the IOMMU L1's edu. */
	if (*only && strstr(only, "iommu"))
		row_iommu(pvx);
	/* Last: it unloads and reloads pvx_host. */
	if (!*only || strstr(only, "kvm_hc"))
		row_kvm_hc(&pvx);
	if (pvx >= 0)
		close(pvx);
	tap_finish();
}
