// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_MSR_BATCH: 64 WRMSRs in one exit, checked with KVM_GET_MSRS from
 * the VMM, against a plain WRMSR loop that exits once per write.  The
 * batch stops at the first entry the allowlist, KVM or the VMM's MSR
 * filter refuses, with that entry's status, the entries before it
 * applied and the ones after it untouched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_irq.h"

#define NR_MSRS		8
#define ROUNDS		8
#define NR_ENTRIES	(NR_MSRS * ROUNDS)
#define MSR_PAT		0x277
#define MSR_CORE_THREAD_COUNT	0x35	/* filtered for reads by QEMU */
#define MSR_SYSENTER_CS	0x174	/* not on the default allowlist */
#define MSR_X2APIC_ID	0x802	/* read-only: KVM refuses the write */
#define STATUS_CANARY	0x7777

/* x2APIC registers: intercepted, so every guest WRMSR is an exit. */
static const uint32_t msrs[NR_MSRS] = {
	0x808,	/* TPR */
	0x832,	/* LVT timer */
	0x833,	/* LVT thermal */
	0x834,	/* LVT perf */
	0x835,	/* LVT LINT0 */
	0x836,	/* LVT LINT1 */
	0x837,	/* LVT error */
	0x83e,	/* timer divide */
};

enum {
	STEP_ERRORS = 1,
	STEP_LOOP_START,
	STEP_LOOP_END,
	STEP_BATCH_START,
	STEP_BATCH_END,
	STEP_STOP_ALLOWLIST,
	STEP_STOP_KVM,
	STEP_STOP_FILTER,
	STEP_NARROWED,
};

static struct pvx_msr_entry batch[PVX_LIST_MAX_BYTES / sizeof(struct pvx_msr_entry)]
	__attribute__((aligned(4096)));

static uint64_t msr_value(unsigned int round, unsigned int i)
{
	static const uint8_t tdcr[ROUNDS] = { 0, 1, 2, 3, 8, 9, 10, 11 };

	if (msrs[i] == 0x808)
		return 0x10 * round;
	if (msrs[i] == 0x83e)
		return tdcr[round];
	return 0x10000 | (0x40 + round * NR_MSRS + i);	/* masked LVT */
}

static uint64_t msr_batch(void *list, uint64_t count)
{
	return guest_hypercall(PVX_HC_MSR_BATCH, (uint64_t)list, count, 0, 0);
}

static void fill(unsigned int first_round)
{
	unsigned int r, i;

	for (r = 0; r < ROUNDS; r++)
		for (i = 0; i < NR_MSRS; i++) {
			struct pvx_msr_entry *e = &batch[r * NR_MSRS + i];

			e->index = msrs[i];
			e->value = msr_value((first_round + r) % ROUNDS, i);
			e->status = STATUS_CANARY;
		}
}

static void guest_main(uint64_t arg)
{
	unsigned int r, i;

	(void)arg;
	guest_x2apic_enable();

	fill(0);
	GUEST_SYNC(STEP_ERRORS, msr_batch(batch, 0),
		   msr_batch((char *)batch + 4, 1),
		   msr_batch(batch, PVX_LIST_MAX_BYTES / sizeof(batch[0]) + 1));

	/* The same 64 writes, once as WRMSRs, once as one batch. */
	GUEST_SYNC(STEP_LOOP_START);
	for (r = 0; r < ROUNDS; r++)
		for (i = 0; i < NR_MSRS; i++)
			guest_wrmsr(msrs[i], msr_value((r + 3) % ROUNDS, i));
	GUEST_SYNC(STEP_LOOP_END);

	fill(0);
	GUEST_SYNC(STEP_BATCH_START);
	r = msr_batch(batch, NR_ENTRIES);
	GUEST_SYNC(STEP_BATCH_END, r);

	/* Entry 5 is not on the allowlist. */
	fill(2);
	batch[5].index = MSR_SYSENTER_CS;
	GUEST_SYNC(STEP_STOP_ALLOWLIST, msr_batch(batch, 16));

	/* Entry 3 is a write KVM itself refuses (the real WRMSR would #GP). */
	fill(4);
	batch[3].index = MSR_X2APIC_ID;
	GUEST_SYNC(STEP_STOP_KVM, msr_batch(batch, 16));

	/* Entry 1 is PAT, which the VMM's MSR filter denies by now. */
	fill(6);
	batch[1].index = MSR_PAT;
	batch[1].value = 0x0007040600070406ULL;
	GUEST_SYNC(STEP_STOP_FILTER, msr_batch(batch, 4));

	/* The VMM narrowed the allowlist to the TPR alone. */
	fill(1);
	GUEST_SYNC(STEP_NARROWED, msr_batch(batch, 2));
	GUEST_DONE();
}

static uint64_t get_msr(struct vcpu *vcpu, uint32_t index)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e.index = index;
	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) != 1)
		tap_bail("KVM_GET_MSRS(%#x) failed", index);
	return m.e.data;
}

static struct pvx_msr_entry *guest_batch(struct vm *vm)
{
	return guest_ptr(vm, (uint64_t)batch);
}

/* Entries [0, stop) applied with status 0, @stop refused, the rest untouched. */
static void check_stopped(struct vcpu *vcpu, const char *what, uint64_t ret,
			  unsigned int stop, int32_t status, unsigned int count,
			  unsigned int first_round)
{
	struct pvx_msr_entry *b = guest_batch(vcpu->vm);
	unsigned int i, bad_status = 0, untouched_bad = 0;

	TAP_EQ(ret, stop, "%s: returns the %u entries written", what, stop);
	for (i = 0; i < stop; i++)
		bad_status += b[i].status != 0;
	TAP_EQ(bad_status, 0, "%s: written entries have status 0", what);
	TAP_EQ((uint64_t)(int64_t)b[stop].status, (uint64_t)(int64_t)status,
	       "%s: entry %u has the refusal's status", what, stop);
	for (i = stop + 1; i < count; i++)
		untouched_bad += b[i].status != STATUS_CANARY;
	TAP_EQ(untouched_bad, 0, "%s: entries after it untouched", what);
	/* The entry just before the stop is the last one applied. */
	if (stop)
		TAP_EQ(get_msr(vcpu, msrs[(stop - 1) % NR_MSRS]),
		       msr_value(first_round, (stop - 1) % NR_MSRS),
		       "%s: entry %u applied (KVM_GET_MSRS)", what, stop - 1);
}

/*
 * @type (KVM_MSR_FILTER_READ or _WRITE) accesses to @msr denied,
 * everything else allowed; NULL: all allowed.
 */
static void set_msr_filter(struct vm *vm, const uint32_t *msr, uint32_t type)
{
	static uint8_t deny_bitmap[1];	/* bit clear: denied */
	struct kvm_msr_filter f;

	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	if (msr) {
		f.ranges[0].flags = type;
		f.ranges[0].nmsrs = 1;
		f.ranges[0].base = *msr;
		f.ranges[0].bitmap = deny_bitmap;
	}
	TEST_ASSERT(!ioctl(vm->fd, KVM_X86_SET_MSR_FILTER, &f),
		    "KVM_X86_SET_MSR_FILTER");
}

static void test_allowlist_ioctl(int pvx, uint64_t id)
{
	struct pvx_msr_allowlist a;

	memset(&a, 0, sizeof(a));
	a.vm_id = id;
	a.nr_ranges = PVX_MSR_RANGES_MAX + 1;
	TAP_EQ(__pvx_set_msr_allowlist(pvx, &a), -E2BIG,
	       "allowlist with too many ranges refused");
	a.nr_ranges = 1;
	a.ranges[0].base = 0xffffff00;
	a.ranges[0].count = 0x200;
	TAP_EQ(__pvx_set_msr_allowlist(pvx, &a), -EINVAL,
	       "allowlist range wrapping past 2^32 refused");
	a.ranges[0].count = 0;
	TAP_EQ(__pvx_set_msr_allowlist(pvx, &a), -EINVAL,
	       "empty allowlist range refused");
	a.ranges[0].base = 0x808;
	a.ranges[0].count = 1;
	a.reserved[1] = 1;
	TAP_EQ(__pvx_set_msr_allowlist(pvx, &a), -EINVAL,
	       "allowlist with a reserved field set refused");
	a.reserved[1] = 0;
	a.vm_id = id + 1000;
	TAP_EQ(__pvx_set_msr_allowlist(pvx, &a), -ENOENT,
	       "allowlist for an unknown VM refused");
	a.vm_id = id;
	TAP_EQ(__pvx_set_msr_allowlist(pvx, &a), 0,
	       "allowlist narrowed to the TPR");
}

static void test_batch(int pvx)
{
	uint64_t id, e0, h0, loop_exits, loop_hc, batch_exits, batch_hc;
	struct pvx_msr_entry *b;
	struct vcpu *vcpu;
	struct ucall uc;
	unsigned int i, bad;
	struct vm *vm;

	vm = vm_create();
	vm_enable_irqchip(vm);
	vcpu = vcpu_add(vm, guest_main, 0);
	/*
	 * The filter QEMU installs on every VM where the kernel has MSR
	 * filters (reads of MSR_CORE_THREAD_COUNT go to QEMU): writes stay
	 * allowed, so the batches below apply in full, on 6.1 too.
	 */
	set_msr_filter(vm, &(const uint32_t){ MSR_CORE_THREAD_COUNT },
		       KVM_MSR_FILTER_READ);
	id = pvx_attach(pvx, vm->fd, PVX_F_MSR_BATCH, 0);
	b = guest_batch(vm);

	if (vcpu_expect_step(vcpu, STEP_ERRORS, &uc)) {
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL), "empty list refused");
		TAP_EQ(uc.args[2], PVX_ERR(PVX_EINVAL), "misaligned list refused");
		TAP_EQ(uc.args[3], PVX_ERR(PVX_E2BIG), "list over a page refused");
	}

	if (!vcpu_expect_step(vcpu, STEP_LOOP_START, &uc))
		goto out;
	e0 = vcpu_stat(vcpu, "exits");
	h0 = vcpu_stat(vcpu, "hypercalls");
	if (!vcpu_expect_step(vcpu, STEP_LOOP_END, &uc))
		goto out;
	loop_exits = vcpu_stat(vcpu, "exits") - e0;
	loop_hc = vcpu_stat(vcpu, "hypercalls") - h0;

	if (!vcpu_expect_step(vcpu, STEP_BATCH_START, &uc))
		goto out;
	e0 = vcpu_stat(vcpu, "exits");
	h0 = vcpu_stat(vcpu, "hypercalls");
	if (!vcpu_expect_step(vcpu, STEP_BATCH_END, &uc))
		goto out;
	batch_exits = vcpu_stat(vcpu, "exits") - e0;
	batch_hc = vcpu_stat(vcpu, "hypercalls") - h0;

	TAP_EQ(uc.args[1], NR_ENTRIES, "batch wrote all %d entries", NR_ENTRIES);
	for (i = 0, bad = 0; i < NR_ENTRIES; i++)
		bad += b[i].status != 0;
	TAP_EQ(bad, 0, "every entry's status is 0");
	for (i = 0, bad = 0; i < NR_MSRS; i++) {
		uint64_t got = get_msr(vcpu, msrs[i]);

		if (got != msr_value(ROUNDS - 1, i)) {
			tap_diag("MSR %#x = %#llx, want %#llx", msrs[i],
				 (unsigned long long)got,
				 (unsigned long long)msr_value(ROUNDS - 1, i));
			bad++;
		}
	}
	TAP_EQ(bad, 0, "KVM_GET_MSRS shows the batch's last value of each MSR");

	tap_diag("64 writes: WRMSR loop %llu exits (%llu hypercalls), batch %llu exits (%llu hypercalls); both counts include the closing message's exit",
		 (unsigned long long)loop_exits, (unsigned long long)loop_hc,
		 (unsigned long long)batch_exits, (unsigned long long)batch_hc);
	tap_ok(loop_exits >= NR_ENTRIES, "WRMSR loop: an exit per write (%llu)",
	       (unsigned long long)loop_exits);
	TAP_EQ(batch_hc, 1, "batch: one hypercall");
	tap_ok(batch_exits * 8 <= loop_exits,
	       "batch: %llu exits against %llu for the loop",
	       (unsigned long long)batch_exits, (unsigned long long)loop_exits);

	if (vcpu_expect_step(vcpu, STEP_STOP_ALLOWLIST, &uc))
		check_stopped(vcpu, "MSR off the allowlist", uc.args[1], 5,
			      -PVX_EPERM, 16, 2);
	if (vcpu_expect_step(vcpu, STEP_STOP_KVM, &uc))
		check_stopped(vcpu, "write KVM refuses", uc.args[1], 3,
			      -PVX_EINVAL, 16, 4);

	set_msr_filter(vm, &(const uint32_t){ MSR_PAT }, KVM_MSR_FILTER_WRITE);
	if (vcpu_expect_step(vcpu, STEP_STOP_FILTER, &uc))
		check_stopped(vcpu, "MSR denied by the VMM's filter", uc.args[1],
			      1, -PVX_EPERM, 4, 6);

	set_msr_filter(vm, NULL, 0);
	test_allowlist_ioctl(pvx, id);
	if (vcpu_expect_step(vcpu, STEP_NARROWED, &uc))
		check_stopped(vcpu, "narrowed allowlist", uc.args[1], 1,
			      -PVX_EPERM, 2, 1);
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "guest done");
out:
	vm_free(vm);
}

static void guest_gate(uint64_t arg)
{
	(void)arg;
	fill(0);
	GUEST_SYNC(1, msr_batch(batch, 1));
	GUEST_DONE();
}

static void test_feature_gate(int pvx)
{
	struct ucall uc;
	struct vm *vm;

	vm = vm_create();
	vcpu_add(vm, guest_gate, 0);
	pvx_attach(pvx, vm->fd, 0, 0);
	if (vcpu_expect_step(vm->vcpus[0], 1, &uc))
		TAP_EQ(uc.args[1], PVX_ERR(PVX_EOPNOTSUPP),
		       "VM attached without PVX_F_MSR_BATCH: -EOPNOTSUPP");
	vm_free(vm);
}

int main(void)
{
	int pvx;

	tap_init("msr_test: PVX_HC_MSR_BATCH");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_MSR_BATCH);
	test_feature_gate(pvx);
	test_batch(pvx);
	close(pvx);
	tap_finish();
}
