// SPDX-License-Identifier: GPL-2.0
/*
 * pvx serves only attached VMs: before attach and after detach a probe
 * must look exactly as on a host without pvx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pvx_test.h"

#define CANARY 0x5a

static uint8_t info_buf[128];

static void guest_main(uint64_t arg)
{
	(void)arg;
	for (;;)
		GUEST_SYNC(guest_hypercall(PVX_HC_PROBE, (uint64_t)info_buf,
					   sizeof(struct pvx_probe_info), 0, 0));
}

static uint64_t probe_once(struct vcpu *vcpu, const char *phase)
{
	struct ucall uc;
	uint64_t cmd;

	memset(guest_ptr(vcpu->vm, (uint64_t)info_buf), CANARY,
	       sizeof(info_buf));
	cmd = vcpu_get_ucall(vcpu, &uc);
	if (!tap_ok(cmd == UCALL_SYNC, "%s: guest reported (cmd %llu)", phase,
		    (unsigned long long)cmd))
		tap_finish();
	return uc.args[0];
}

static bool info_untouched(struct vm *vm)
{
	uint8_t *b = guest_ptr(vm, (uint64_t)info_buf);
	size_t i;

	for (i = 0; i < sizeof(info_buf); i++)
		if (b[i] != CANARY)
			return false;
	return true;
}

int main(void)
{
	struct vcpu *vcpu;
	struct vm *vm;
	uint64_t ret, vm_id, h0;
	int pvx, r;

	tap_init("unattached_test: probe before attach, after attach, after detach");
	kvm_fd_or_skip();
	pvx = pvx_open();

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_main, 0);

	h0 = vcpu_stat(vcpu, "hypercalls");
	ret = probe_once(vcpu, "never attached");
	TAP_EQ(ret, KVM_ENOSYS_RET, "never-attached VM: probe");
	tap_ok(info_untouched(vm), "never-attached VM: info buffer untouched");
	TAP_EQ(vcpu_stat(vcpu, "hypercalls") - h0, 1,
	       "never-attached VM: KVM still counts the hypercall");
	r = pvx_find_vm(pvx, 0, NULL);
	tap_ok(r == 0, "no stats record with vm_id 0 (r=%d)", r);

	r = __pvx_attach(pvx, vm->fd, 0, 0, &vm_id);
	if (!tap_ok(!r, "attach: %s", r ? strerror(-r) : "ok"))
		tap_finish();
	ret = probe_once(vcpu, "attached");
	TAP_EQ(ret, PVX_SIGNATURE, "attached VM: probe");
	TAP_EQ(*(uint32_t *)guest_ptr(vm, (uint64_t)info_buf), PVX_SIGNATURE,
	       "attached VM: info.signature written");

	r = __pvx_detach_fd(pvx, vm->fd);
	tap_ok(!r, "detach: %s", r ? strerror(-r) : "ok");
	ret = probe_once(vcpu, "detached");
	TAP_EQ(ret, KVM_ENOSYS_RET, "detached VM: probe");
	tap_ok(info_untouched(vm), "detached VM: info buffer untouched");
	r = pvx_find_vm(pvx, vm_id, NULL);
	tap_ok(r == 0, "detached VM not in stats (r=%d)", r);

	/* Attach again and detach by id this time. */
	r = __pvx_attach(pvx, vm->fd, 0, 0, &vm_id);
	tap_ok(!r, "re-attach: %s", r ? strerror(-r) : "ok");
	ret = probe_once(vcpu, "re-attached");
	TAP_EQ(ret, PVX_SIGNATURE, "re-attached VM: probe");
	r = __pvx_detach_id(pvx, vm_id);
	tap_ok(!r, "detach by id: %s", r ? strerror(-r) : "ok");
	ret = probe_once(vcpu, "detached by id");
	TAP_EQ(ret, KVM_ENOSYS_RET, "VM detached by id: probe");

	vm_free(vm);
	close(pvx);
	tap_finish();
}
