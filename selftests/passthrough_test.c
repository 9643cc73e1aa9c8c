// SPDX-License-Identifier: GPL-2.0
/*
 * Numbers outside pvx's range must reach KVM untouched: an attached VM
 * sees exactly what an unattached one sees, and pvx counts none of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pvx_test.h"

#define KVM_HC_VAPIC_POLL_IRQ	1
#define KVM_HC_SCHED_YIELD	11
#define KVM_HC_MAP_GPA_RANGE	12
#define ANY			0xbadbadbadULL	/* "whatever KVM says" */

struct hc_case {
	uint64_t nr, a0, a1, a2;
	uint64_t want;
	const char *name;
};

static const struct hc_case cases[] = {
	{ KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0, "KVM_HC_VAPIC_POLL_IRQ" },
	{ KVM_HC_SCHED_YIELD, 0, 0, 0, ANY, "KVM_HC_SCHED_YIELD(apic 0)" },
	{ KVM_HC_MAP_GPA_RANGE, GUEST_LOW_SCRATCH_GPA, 1, 0, ANY,
	  "KVM_HC_MAP_GPA_RANGE (exit not enabled)" },
	{ 0x1234, 0, 0, 0, KVM_ENOSYS_RET, "unknown 0x1234" },
	{ PVX_HC_BASE - 1, 0, 0, 0, KVM_ENOSYS_RET, "PVX_HC_BASE - 1" },
	{ PVX_HC_BASE + PVX_HC_COUNT, 0, 0, 0, KVM_ENOSYS_RET,
	  "PVX_HC_BASE + PVX_HC_COUNT" },
	/* A 64-bit caller's number is not truncated: not pvx's. */
	{ (1ULL << 32) | PVX_HC_PROBE, 0, 0, 0, KVM_ENOSYS_RET,
	  "(1 << 32) | PVX_HC_PROBE from 64-bit code" },
	{ 0xffffffffULL, 0, 0, 0, KVM_ENOSYS_RET, "0xffffffff" },
};

#define NR_CASES ARRAY_SIZE(cases)

static uint64_t results[NR_CASES];

static void guest_main(uint64_t arg)
{
	uint64_t i;

	(void)arg;
	for (i = 0; i < NR_CASES; i++)
		results[i] = guest_hypercall(cases[i].nr, cases[i].a0,
					     cases[i].a1, cases[i].a2, 0);
	GUEST_SYNC(NR_CASES);
	GUEST_DONE();
}

/* Runs the sequence in a fresh VM; returns false if the guest misbehaved. */
static bool run_seq(int pvx, bool attach, uint64_t *res, uint64_t *nr_hc,
		    uint64_t *vm_id)
{
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint64_t h0, cmd;
	bool ok = true;
	int r;

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_main, 0);
	if (attach) {
		r = __pvx_attach(pvx, vm->fd, 0, 0, vm_id);
		ok = tap_ok(!r, "attach: %s", r ? strerror(-r) : "ok");
	}
	h0 = vcpu_stat(vcpu, "hypercalls");
	cmd = vcpu_get_ucall(vcpu, &uc);
	if (!tap_ok(cmd == UCALL_SYNC && uc.args[0] == NR_CASES,
		    "%s VM: guest ran the sequence (cmd %llu)",
		    attach ? "attached" : "unattached",
		    (unsigned long long)cmd))
		ok = false;
	memcpy(res, guest_ptr(vm, (uint64_t)results), sizeof(results));
	*nr_hc = vcpu_stat(vcpu, "hypercalls") - h0;
	cmd = vcpu_get_ucall(vcpu, &uc);
	tap_ok(cmd == UCALL_DONE, "%s VM: guest done",
	       attach ? "attached" : "unattached");
	if (attach) {
		struct pvx_vm_stats st;
		bool zero = true;
		int i;

		r = pvx_find_vm(pvx, *vm_id, &st);
		if (tap_ok(r == 1, "stats list the attached VM (r=%d)", r)) {
			for (i = 0; i < PVX_HC_COUNT; i++) {
				if (!st.hc[i].calls && !st.hc[i].errors)
					continue;
				tap_diag("hc[%d]: calls %llu errors %llu", i,
					 (unsigned long long)st.hc[i].calls,
					 (unsigned long long)st.hc[i].errors);
				zero = false;
			}
			tap_ok(zero, "pvx counted none of KVM's or foreign numbers");
		}
		__pvx_detach_fd(pvx, vm->fd);
	}
	vm_free(vm);
	return ok;
}

int main(void)
{
	uint64_t plain[NR_CASES], att[NR_CASES], hc_plain, hc_att, vm_id = 0;
	unsigned int i;
	int pvx;

	tap_init("passthrough_test: KVM's hypercalls are unchanged by pvx");
	kvm_fd_or_skip();
	pvx = pvx_open();

	if (!run_seq(pvx, false, plain, &hc_plain, &vm_id) ||
	    !run_seq(pvx, true, att, &hc_att, &vm_id))
		tap_finish();

	for (i = 0; i < NR_CASES; i++) {
		const struct hc_case *c = &cases[i];

		tap_ok(plain[i] == att[i],
		       "%s (nr %#llx): attached %#llx (%lld) == unattached %#llx (%lld)",
		       c->name, (unsigned long long)c->nr,
		       (unsigned long long)att[i], (long long)att[i],
		       (unsigned long long)plain[i], (long long)plain[i]);
		if (c->want != ANY)
			TAP_EQ(att[i], c->want, "%s: value", c->name);
	}
	TAP_EQ(hc_plain, NR_CASES, "unattached VM: KVM \"hypercalls\" stat delta");
	TAP_EQ(hc_att, NR_CASES, "attached VM: KVM \"hypercalls\" stat delta");
	close(pvx);
	tap_finish();
}
