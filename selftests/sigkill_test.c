// SPDX-License-Identifier: GPL-2.0
/*
 * A VMM killed while its vCPU issues pvx hypercalls never detaches: KVM's
 * destruction of the VM must be enough for pvx to free its state.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_observe.h"

#define SYNC_EVERY	256

static void guest_loop(uint64_t arg)
{
	uint64_t n = 0, bad = 0;

	(void)arg;
	for (;;) {
		if (guest_hypercall(PVX_HC_PROBE, 0, 0, 0, 0) != PVX_SIGNATURE)
			bad++;
		if (++n % SYNC_EVERY == 0)
			GUEST_SYNC(n, bad);
	}
}

enum {
	VMM_SIMPLE,		/* vCPU runs in the main thread */
	VMM_THREADED,		/* vCPU thread, as QEMU does */
	VMM_STATS,		/* vCPU thread, plus an open vCPU stats fd */
	VMM_NO_VM_FD,		/* as VMM_STATS, VM fd closed once running */
	NR_VARIANTS,
};

static const char * const variant_name[] = {
	"vCPU in the main thread",
	"vCPU in its own thread",
	"vCPU thread and a vCPU stats fd",
	"vCPU thread, stats fd, VM fd already closed",
};

static void *child_vcpu_loop(struct vcpu *vcpu)
{
	struct ucall uc;

	for (;;)
		if (vcpu_get_ucall(vcpu, &uc) != UCALL_SYNC)
			_exit(1);
	return NULL;
}

/* The doomed VMM: reports its vm_id once the guest runs, then loops. */
static void child(int pvx, int wfd, int variant)
{
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint64_t id = 0;
	ssize_t w;

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_loop, 0);
	if (__pvx_attach(pvx, vm->fd, 0, 0, &id))
		id = 0;
	if (vcpu_get_ucall(vcpu, &uc) != UCALL_SYNC || uc.args[1])
		id = 0;
	if (variant >= VMM_STATS)
		vcpu_stat(vcpu, "hypercalls");
	/* The VM then lives on through the vCPU and stats fds only. */
	if (variant == VMM_NO_VM_FD)
		close(vm->fd);
	w = write(wfd, &id, sizeof(id));
	if (w != sizeof(id) || !id)
		_exit(1);
	if (variant == VMM_SIMPLE)
		child_vcpu_loop(vcpu);
	vcpu_thread_start(vcpu, child_vcpu_loop, NULL);
	for (;;)
		pause();
}

static void one_round(int pvx, int variant, uint64_t live_base)
{
	struct pvx_vm_stats st;
	struct pollfd pfd;
	uint64_t id = 0, t0, ms;
	char want_id[PVX_STATS_NAME_SIZE];
	const char *v = variant_name[variant];
	int p[2], r, status;
	pid_t pid;
	bool gone;

	TEST_ASSERT(!pipe(p), "pipe");
	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		close(p[0]);
		child(pvx, p[1], variant);
	}
	close(p[1]);

	pfd.fd = p[0];
	pfd.events = POLLIN;
	r = poll(&pfd, 1, 60000);
	if (r == 1 && read(p[0], &id, sizeof(id)) != sizeof(id))
		id = 0;
	close(p[0]);
	if (!tap_ok(id != 0, "%s: child VMM attached and its guest probes (vm_id %llu)",
		    v, (unsigned long long)id)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return;
	}

	r = pvx_find_vm(pvx, id, &st);
	if (tap_ok(r == 1, "%s: STATS lists the child's VM (r=%d)", v, r)) {
		snprintf(want_id, sizeof(want_id), "kvm-%d", pid);
		tap_ok(!strcmp(st.kvm_stats_id, want_id),
		       "%s: kvm_stats_id \"%.*s\", want \"%s\" (the child's pid)",
		       v, PVX_STATS_NAME_SIZE, st.kvm_stats_id, want_id);
		tap_ok(st.hc[0].calls >= SYNC_EVERY && !st.hc[0].errors,
		       "%s: child's probes counted: calls %llu errors %llu", v,
		       (unsigned long long)st.hc[0].calls,
		       (unsigned long long)st.hc[0].errors);
	}
	TAP_EQ(pvx_live_vms(pvx), live_base + 1,
	       "%s: live_vms with the child's VM", v);

	/* Let it run on a little so the kill lands in the hypercall loop. */
	usleep(100000);
	kill(pid, SIGKILL);
	r = waitpid(pid, &status, 0);
	tap_ok(r == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	       "%s: child reaped, killed by SIGKILL (status %#x)", v, status);

	t0 = now_ns();
	do {
		gone = pvx_find_vm(pvx, id, NULL) == 0 &&
		       pvx_live_vms(pvx) == live_base;
		ms = (now_ns() - t0) / 1000000;
		if (!gone)
			usleep(20000);
	} while (!gone && ms < 10000);
	tap_ok(gone, "%s: VM state freed after the kill: unlisted, live_vms %llu == baseline %llu (waited %llu ms)",
	       v, (unsigned long long)pvx_live_vms(pvx),
	       (unsigned long long)live_base, (unsigned long long)ms);
	if (!gone)
		tap_diag("vm_id %llu still listed: %d; KVM debugfs dirs of pid %d: %d (0: KVM destroyed the VM, -1: no debugfs)",
			 (unsigned long long)id, pvx_find_vm(pvx, id, NULL),
			 pid, obs_kvm_vms(pid));
}

int main(void)
{
	struct pvx_vm_stats *recs;
	uint64_t live_base;
	uint32_t nr_base;
	int pvx, r, variant;

	tap_init("sigkill_test: SIGKILLed VMM with an attached, busy VM");
	kvm_fd_or_skip();
	pvx = pvx_open();

	for (variant = 0; variant < NR_VARIANTS; variant++) {
		/* A leak in one round must not fail the next ones too. */
		r = __pvx_stats_read(pvx, &recs, &nr_base, &live_base);
		if (!tap_ok(!r, "STATS baseline: %u attached, live_vms %llu",
			    nr_base, (unsigned long long)live_base))
			tap_finish();
		free(recs);
		one_round(pvx, variant, live_base);
	}
	close(pvx);
	tap_finish();
}
