// SPDX-License-Identifier: GPL-2.0
/*
 * Unloading pvx_host while a timer injection still runs: the injection's
 * reference drop is the VM's last one (its VMM closed every fd meanwhile),
 * so KVM destroys the VM from pvx's work item, and the module is unloaded
 * before that work item has returned.  Unload must wait for it; freeing
 * the module text under it oopses when it resumes.
 *
 * The window is widened with pvx_host's test-build knob
 * test_inject_delay_ms: the injection sleeps that long before its
 * reference drop and twice as long after it.  Without the knob (a module
 * not built by "make stage") there is no test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_irq.h"

#define MODNAME		"pvx_host"
#define KNOB		"/sys/module/pvx_host/parameters/test_inject_delay_ms"
#define DELAY_MS	1000
#define VEC		0xec
#define MS		1000000ULL

static void guest_arm(uint64_t arg)
{
	(void)arg;
	guest_x2apic_enable();
	guest_hypercall(PVX_HC_SET_VECTOR, VEC, 0, 0, 0);
	GUEST_SYNC(1, guest_hypercall(PVX_HC_TIMER_SET, 1 * MS, 0, 0, 0));
	GUEST_DONE();
}

/* Waits up to @ms for a kernel message holding both strings. */
static bool kmsg_wait(int fd, const char *a, const char *b, unsigned int ms)
{
	uint64_t end = now_ns() + ms * MS;
	char rec[1024];
	ssize_t n;

	while (now_ns() < end) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EAGAIN) {
			usleep(10000);
			continue;
		}
		if (n <= 0)
			continue;	/* EPIPE: records were overwritten */
		rec[n] = 0;
		if (strstr(rec, a) && strstr(rec, b))
			return true;
	}
	return false;
}

int main(void)
{
	const char *ko = getenv("PVX_HOST_KO");
	char want[64], buf[32];
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint64_t vm_id, t0;
	int pvx, r, kofd, kmsg, tries;
	bool destroyed;

	tap_init("unload_test: unload while a timer injection destroys its VM");
	kvm_fd_or_skip();
	if (!ko || !*ko)
		tap_skip_all("PVX_HOST_KO is not set: cannot reload pvx_host afterwards");
	if (read_file(KNOB, buf, sizeof(buf)) < 0)
		tap_skip_all("%s missing: pvx_host not built by make stage", KNOB);
	kofd = open(ko, O_RDONLY | O_CLOEXEC);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (!tap_ok(kofd >= 0 && kmsg >= 0, "open %s and /dev/kmsg", ko))
		tap_finish();
	lseek(kmsg, 0, SEEK_END);
	pvx = pvx_open_features(PVX_F_TIMER);
	r = write_file(KNOB, "1000");
	if (!tap_ok(!r, "test_inject_delay_ms = %d", DELAY_MS))
		tap_finish();

	vm = vm_create();
	vm_enable_irqchip(vm);
	vcpu = vcpu_add(vm, guest_arm, 0);
	vcpu_setup_idt(vcpu);
	r = __pvx_attach(pvx, vm->fd, PVX_F_TIMER, 0, &vm_id);
	if (!tap_ok(!r, "attach: %s", r ? strerror(-r) : "ok"))
		tap_finish();
	if (vcpu_expect_step(vcpu, 1, &uc))
		TAP_EQ(uc.args[1], 0, "1 ms timer armed");

	/*
	 * The timer fires at once; its injection holds a VM reference for
	 * DELAY_MS.  Close every fd of the VM meanwhile: the injection's
	 * drop destroys it.
	 */
	usleep(100 * 1000);
	vm_free(vm);
	close(pvx);
	snprintf(want, sizeof(want), "(kvm-%d) destroyed by KVM", getpid());
	destroyed = kmsg_wait(kmsg, "pvx: vm ", want, 10000);
	tap_ok(destroyed, "the injection's reference drop destroyed the VM (\"%s\")",
	       want);

	/* The injection sleeps 2 * DELAY_MS after the drop: unload now. */
	t0 = now_ns();
	for (tries = 1;; tries++) {
		r = syscall(SYS_delete_module, MODNAME, O_NONBLOCK);
		if (!r || (errno != EAGAIN && errno != EBUSY) ||
		    now_ns() - t0 > 5000 * MS)
			break;
		usleep(20000);
	}
	tap_ok(!r, "delete_module(%s) with the injection still running: %s (%llu ms)",
	       MODNAME, r ? strerror(errno) : "ok",
	       (unsigned long long)((now_ns() - t0) / MS));
	/*
	 * Unload returns only after the work item did: a module that did not
	 * wait oopses right here, when the item resumes in freed text.
	 */
	tap_ok(now_ns() - t0 >= 1500 * MS || !destroyed,
	       "unload waited for the injection to return (%llu ms)",
	       (unsigned long long)((now_ns() - t0) / MS));
	usleep(2 * DELAY_MS * 1000);

	r = syscall(SYS_finit_module, kofd, "", 0);
	tap_ok(!r, "finit_module(%s): %s", ko, r ? strerror(errno) : "ok");
	close(kofd);
	close(kmsg);
	tap_finish();
}
