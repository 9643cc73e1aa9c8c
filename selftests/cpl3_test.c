// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercalls from CPL 3 must fail with -KVM_EPERM, for pvx's numbers as
 * for KVM's, and pvx must count its refusal as a call and an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pvx_test.h"

#define KVM_HC_VAPIC_POLL_IRQ	1
#define CANARY			0x3c

enum { STEP_KERNEL = 1, STEP_USER };

static uint8_t info_buf[128];
static uint8_t user_stack[16384] __aligned(16);

static void guest_user(void)
{
	uint64_t r1, r2, r3;

	r1 = guest_hypercall(PVX_HC_PROBE, (uint64_t)info_buf,
			     sizeof(struct pvx_probe_info), 0, 0);
	r2 = guest_hypercall(KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0);
	r3 = guest_hypercall(PVX_HC_PROBE, 0, 0, 0, 0);
	GUEST_SYNC(STEP_USER, r1, r2, r3);
	GUEST_DONE();
}

static void guest_main(uint64_t arg)
{
	(void)arg;
	GUEST_SYNC(STEP_KERNEL, guest_hypercall(PVX_HC_PROBE, 0, 0, 0, 0));
	/* RSP = 8 mod 16 at entry, as after a call. */
	guest_enter_user(guest_user,
			 (uint64_t)user_stack + sizeof(user_stack) - 8);
}

int main(void)
{
	struct kvm_sregs sregs;
	struct pvx_vm_stats st;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint64_t cmd, vm_id, h0;
	uint8_t *b;
	size_t i;
	bool untouched;
	int pvx, r;

	tap_init("cpl3_test: hypercalls from ring 3");
	kvm_fd_or_skip();
	pvx = pvx_open();

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_main, 0);
	r = __pvx_attach(pvx, vm->fd, 0, 0, &vm_id);
	if (!tap_ok(!r, "attach: %s", r ? strerror(-r) : "ok"))
		tap_finish();
	memset(guest_ptr(vm, (uint64_t)info_buf), CANARY, sizeof(info_buf));
	h0 = vcpu_stat(vcpu, "hypercalls");

	cmd = vcpu_get_ucall(vcpu, &uc);
	if (!tap_ok(cmd == UCALL_SYNC && uc.args[0] == STEP_KERNEL,
		    "guest reported from CPL 0 (cmd %llu)",
		    (unsigned long long)cmd))
		tap_finish();
	TAP_EQ(uc.args[1], PVX_SIGNATURE, "CPL 0 probe");

	cmd = vcpu_get_ucall(vcpu, &uc);
	if (!tap_ok(cmd == UCALL_SYNC && uc.args[0] == STEP_USER,
		    "guest reported from CPL 3 (cmd %llu)",
		    (unsigned long long)cmd))
		tap_finish();
	vcpu_get_sregs(vcpu, &sregs);
	tap_ok((sregs.cs.selector & 3) == 3 && sregs.cs.dpl == 3,
	       "guest really runs at CPL 3 (cs %#x, dpl %u)",
	       sregs.cs.selector, sregs.cs.dpl);
	TAP_EQ(uc.args[1], KVM_EPERM_RET, "CPL 3 probe(info_gpa)");
	TAP_EQ(uc.args[2], KVM_EPERM_RET, "CPL 3 KVM_HC_VAPIC_POLL_IRQ");
	TAP_EQ(uc.args[3], KVM_EPERM_RET, "CPL 3 probe(0)");

	b = guest_ptr(vm, (uint64_t)info_buf);
	untouched = true;
	for (i = 0; i < sizeof(info_buf); i++)
		if (b[i] != CANARY)
			untouched = false;
	tap_ok(untouched, "CPL 3 probe wrote nothing to info_gpa");

	cmd = vcpu_get_ucall(vcpu, &uc);
	TAP_EQ(cmd, UCALL_DONE, "guest done");

	TAP_EQ(vcpu_stat(vcpu, "hypercalls") - h0, 4,
	       "KVM \"hypercalls\" stat delta (1 at CPL 0, 3 at CPL 3)");
	r = pvx_find_vm(pvx, vm_id, &st);
	if (tap_ok(r == 1, "stats list the VM (r=%d)", r)) {
		TAP_EQ(st.hc[0].calls, 3, "stats hc[PROBE].calls (1 CPL 0 + 2 CPL 3)");
		TAP_EQ(st.hc[0].errors, 2, "stats hc[PROBE].errors (the CPL 3 ones)");
	}

	pvx_detach_fd(pvx, vm->fd);
	vm_free(vm);
	close(pvx);
	tap_finish();
}
