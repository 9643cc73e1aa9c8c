// SPDX-License-Identifier: GPL-2.0
/*
 * A 32-bit caller (protected mode, no paging): like KVM, pvx must use only
 * the low 32 bits of the number and arguments and return a 32-bit result.
 * The host plants garbage in the high halves with KVM_SET_REGS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pvx_test.h"

#define KVM_HC_VAPIC_POLL_IRQ	1
#define INFO_GPA		GUEST_LOW_SCRATCH_GPA
#define INFO_SIZE		sizeof(struct pvx_probe_info)
#define CANARY			0x77
#define HI(x)			((uint64_t)(x) << 32)

/* Hypercall, report through a bare OUT (RAX intact), repeat. */
asm(".pushsection .text\n"
	".code32\n"
	".globl compat32_vmmcall\n"
	"compat32_vmmcall:\n"
	"1:	vmmcall\n"
	"	outb %al, $0xe9\n"	/* RAW_PORT */
	"	jmp 1b\n"
	".globl compat32_vmcall\n"
	"compat32_vmcall:\n"
	"1:	vmcall\n"
	"	outb %al, $0xe9\n"
	"	jmp 1b\n"
	".code64\n"
	".popsection\n");

extern char compat32_vmmcall[], compat32_vmcall[];

static void guest_unused(uint64_t arg)
{
	(void)arg;
	GUEST_DONE();
}

static bool call32(struct vcpu *vcpu, uint64_t rax, uint64_t rbx,
		   uint64_t rcx, uint64_t rdx, uint64_t rsi, uint64_t *ret)
{
	struct kvm_regs regs;
	struct ucall uc;
	uint64_t cmd;

	memset(&regs, 0, sizeof(regs));
	regs.rip = (uint64_t)(guest_use_vmmcall ? compat32_vmmcall :
			      compat32_vmcall);
	regs.rflags = 0x2;
	regs.rax = rax;
	regs.rbx = rbx;
	regs.rcx = rcx;
	regs.rdx = rdx;
	regs.rsi = rsi;
	vcpu_set_regs(vcpu, &regs);
	cmd = vcpu_get_ucall(vcpu, &uc);
	if (!tap_ok(cmd == UCALL_RAW, "32-bit guest reported (cmd %llu)",
		    (unsigned long long)cmd))
		return false;
	vcpu_get_regs(vcpu, &regs);
	*ret = regs.rax;
	return true;
}

int main(void)
{
	struct pvx_probe_info got;
	struct kvm_sregs sregs;
	struct pvx_vm_stats st;
	struct vcpu *vcpu;
	struct vm *vm;
	uint64_t ret, vm_id;
	uint8_t *b;
	size_t i;
	bool untouched;
	int pvx, r;

	tap_init("compat32_test: hypercalls from 32-bit protected mode");
	kvm_fd_or_skip();
	pvx = pvx_open();

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_unused, 0);
	vcpu_set_protected_mode(vcpu);
	vcpu_get_sregs(vcpu, &sregs);
	tap_ok(!sregs.cs.l && sregs.cs.db && !(sregs.efer & (1 << 10)),
	       "vCPU in 32-bit protected mode (cs.l %u cs.db %u efer %#llx)",
	       sregs.cs.l, sregs.cs.db, (unsigned long long)sregs.efer);

	r = __pvx_attach(pvx, vm->fd, 0, 0, &vm_id);
	if (!tap_ok(!r, "attach: %s", r ? strerror(-r) : "ok"))
		tap_finish();

	b = guest_ptr(vm, INFO_GPA);
	memset(b, CANARY, 256);
	if (!call32(vcpu, HI(0xdeadbeef) | PVX_HC_PROBE,
		    HI(0xcafe0000) | INFO_GPA, HI(0xffffffff) | INFO_SIZE,
		    HI(0xffffffff), HI(0x80000000), &ret))
		tap_finish();
	TAP_EQ(ret, PVX_SIGNATURE,
	       "probe with garbage in the high halves: full RAX");
	memcpy(&got, b, sizeof(got));
	TAP_EQ(got.signature, PVX_SIGNATURE, "info.signature at low gpa %#llx",
	       (unsigned long long)INFO_GPA);
	TAP_EQ(got.abi_version, PVX_ABI_VERSION, "info.abi_version");
	TAP_EQ(got.hc_base, PVX_HC_BASE, "info.hc_base");
	TAP_EQ(got.hc_count, PVX_HC_COUNT, "info.hc_count");
	TAP_EQ(got.max_list_entries, PVX_DEFAULT_LIST_ENTRIES,
	       "info.max_list_entries");
	TAP_EQ(got.info_size, INFO_SIZE, "info.info_size");
	untouched = true;
	for (i = INFO_SIZE; i < 256; i++)
		if (b[i] != CANARY)
			untouched = false;
	tap_ok(untouched, "bytes beyond the info untouched");

	if (!call32(vcpu, HI(0xffffffff) | (PVX_HC_BASE + PVX_HC_COUNT - 1),
		    0, 0, 0, 0, &ret))
		tap_finish();
	TAP_EQ(ret, (uint32_t)-PVX_ENOSYS,
	       "unassigned pvx number: 32-bit -PVX_ENOSYS");

	if (!call32(vcpu, PVX_HC_PROBE, 0, 0, HI(0xffffffff) | 1, 0, &ret))
		tap_finish();
	TAP_EQ(ret, (uint32_t)-PVX_EINVAL,
	       "probe with a2 low half 1: 32-bit -PVX_EINVAL");

	if (!call32(vcpu, HI(0x12345678) | KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0,
		    &ret))
		tap_finish();
	TAP_EQ(ret, 0, "KVM_HC_VAPIC_POLL_IRQ with high garbage (KVM's own)");

	r = pvx_find_vm(pvx, vm_id, &st);
	if (tap_ok(r == 1, "stats list the VM (r=%d)", r)) {
		TAP_EQ(st.hc[0].calls, 2, "stats hc[PROBE].calls");
		TAP_EQ(st.hc[0].errors, 1, "stats hc[PROBE].errors");
		TAP_EQ(st.hc[PVX_HC_COUNT - 1].calls, 1, "stats hc[%d].calls",
		       PVX_HC_COUNT - 1);
	}

	r = __pvx_detach_fd(pvx, vm->fd);
	tap_ok(!r, "detach: %s", r ? strerror(-r) : "ok");
	if (!call32(vcpu, HI(0xdeadbeef) | PVX_HC_PROBE, 0, 0, 0, 0, &ret))
		tap_finish();
	TAP_EQ(ret, (uint32_t)-1000, "detached: 32-bit -KVM_ENOSYS");

	vm_free(vm);
	close(pvx);
	tap_finish();
}
