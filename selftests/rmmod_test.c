// SPDX-License-Identifier: GPL-2.0
/*
 * Unloading pvx_host under load: two vCPUs of an attached VM hammer
 * PVX_HC_PROBE while the module goes away.  They must then get -KVM_ENOSYS
 * and keep running; after the module is loaded again (from $PVX_HOST_KO)
 * and the VM re-attached, probes must succeed again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_observe.h"

#define NR_VCPUS	2
#define SYNC_EVERY	128
#define PROGRESS	200	/* probes each vCPU must make per phase */
#define MODNAME		"pvx_host"

struct hammer {
	uint64_t sig, enosys, other, last_other, iters;
} __aligned(64);

static struct hammer counts[NR_VCPUS];
static bool stop;
static bool vcpu_failed[NR_VCPUS], vcpu_exited[NR_VCPUS];

static void guest_hammer(uint64_t id)
{
	/* The hypercall's memory clobber keeps these in guest RAM. */
	struct hammer *c = &counts[id];
	uint64_t r;

	while (!READ_ONCE(stop)) {
		r = guest_hypercall(PVX_HC_PROBE, 0, 0, 0, 0);
		if (r == PVX_SIGNATURE) {
			c->sig++;
		} else if (r == KVM_ENOSYS_RET) {
			c->enosys++;
		} else {
			c->other++;
			c->last_other = r;
		}
		if (++c->iters % SYNC_EVERY == 0)
			GUEST_SYNC(c->sig, c->enosys, c->other);
	}
	GUEST_DONE();
}

static void *vcpu_thread(struct vcpu *vcpu)
{
	struct ucall uc;
	uint64_t cmd;

	do {
		cmd = vcpu_get_ucall(vcpu, &uc);
	} while (cmd == UCALL_SYNC);
	WRITE_ONCE(vcpu_failed[vcpu->id], cmd != UCALL_DONE);
	WRITE_ONCE(vcpu_exited[vcpu->id], true);
	return NULL;
}

static struct hammer read_counts(struct vm *vm, int i)
{
	struct hammer h;

	memcpy(&h, guest_ptr(vm, (uint64_t)&counts[i]), sizeof(h));
	return h;
}

enum { F_SIG, F_ENOSYS };

static uint64_t field(const struct hammer *h, int f)
{
	return f == F_SIG ? h->sig : h->enosys;
}

/* Waits until every vCPU's counter f passed base[i] + PROGRESS. */
static bool wait_progress(struct vm *vm, int f, const struct hammer *base,
			  uint64_t timeout_ms, uint64_t *ms)
{
	uint64_t t0 = now_ns();
	int i, done;

	for (;;) {
		done = 0;
		for (i = 0; i < NR_VCPUS; i++) {
			struct hammer h = read_counts(vm, i);

			if (field(&h, f) >= field(&base[i], f) + PROGRESS)
				done++;
			if (READ_ONCE(vcpu_exited[i]))
				return false;
		}
		*ms = (now_ns() - t0) / 1000000;
		if (done == NR_VCPUS)
			return true;
		if (*ms > timeout_ms)
			return false;
		usleep(10000);
	}
}

static void print_counts(struct vm *vm, const char *when)
{
	int i;

	for (i = 0; i < NR_VCPUS; i++) {
		struct hammer h = read_counts(vm, i);

		tap_diag("%s: vCPU %d: signature %llu, -1000 %llu, other %llu (last %#llx)",
			 when, i, (unsigned long long)h.sig,
			 (unsigned long long)h.enosys,
			 (unsigned long long)h.other,
			 (unsigned long long)h.last_other);
	}
}

int main(void)
{
	struct hammer base[NR_VCPUS], snap[NR_VCPUS];
	struct pvx_vm_stats st;
	struct vcpu *vcpus[NR_VCPUS];
	struct vm *vm;
	const char *ko = getenv("PVX_HOST_KO");
	uint64_t vm_id, ms, t0;
	int pvx, r, i, tries, kofd;
	bool ok, unloaded = false;

	tap_init("rmmod_test: unload and reload pvx_host under hypercall load");
	kvm_fd_or_skip();
	if (!ko || !*ko)
		tap_skip_all("PVX_HOST_KO is not set: cannot reload pvx_host afterwards");
	kofd = open(ko, O_RDONLY | O_CLOEXEC);
	if (!tap_ok(kofd >= 0, "open PVX_HOST_KO=%s: %s", ko,
		    kofd >= 0 ? "ok" : strerror(errno)))
		tap_finish();
	pvx = pvx_open();

	vm = vm_create();
	for (i = 0; i < NR_VCPUS; i++)
		vcpus[i] = vcpu_add(vm, guest_hammer, i);
	r = __pvx_attach(pvx, vm->fd, 0, 0, &vm_id);
	if (!tap_ok(!r, "attach: %s", r ? strerror(-r) : "ok"))
		tap_finish();
	for (i = 0; i < NR_VCPUS; i++)
		vcpu_thread_start(vcpus[i], vcpu_thread, NULL);

	memset(base, 0, sizeof(base));
	ok = wait_progress(vm, F_SIG, base, 60000, &ms);
	tap_ok(ok, "both vCPUs probe successfully before the unload (%llu ms)",
	       (unsigned long long)ms);
	print_counts(vm, "before unload");
	if (!ok)
		goto stop;

	/* Our /dev/pvx fd holds a module reference. */
	close(pvx);
	pvx = -1;
	t0 = now_ns();
	for (tries = 1;; tries++) {
		r = syscall(SYS_delete_module, MODNAME, O_NONBLOCK);
		if (!r)
			break;
		r = -errno;
		if ((r != -EAGAIN && r != -EBUSY && r != -EWOULDBLOCK) ||
		    now_ns() - t0 > 20000000000ULL)
			break;
		usleep(50000);
	}
	ms = (now_ns() - t0) / 1000000;
	unloaded = !r;
	tap_ok(unloaded, "delete_module(%s) while vCPUs hammer: %s after %d tries, %llu ms",
	       MODNAME, r ? strerror(-r) : "ok", tries,
	       (unsigned long long)ms);
	if (!unloaded)
		goto stop;
	tap_ok(!obs_module_loaded(MODNAME), "%s gone from /proc/modules", MODNAME);

	for (i = 0; i < NR_VCPUS; i++)
		snap[i] = read_counts(vm, i);
	ok = wait_progress(vm, F_ENOSYS, snap, 60000, &ms);
	print_counts(vm, "after unload");
	tap_ok(ok, "both vCPUs keep running and get -1000 after the unload (%llu ms)",
	       (unsigned long long)ms);
	for (i = 0; i < NR_VCPUS; i++) {
		struct hammer h = read_counts(vm, i);

		/* One probe may have been in flight when we sampled. */
		tap_ok(h.sig <= snap[i].sig + 1,
		       "vCPU %d: no signature after the unload (%llu -> %llu)",
		       i, (unsigned long long)snap[i].sig,
		       (unsigned long long)h.sig);
		tap_ok(!h.other, "vCPU %d: no result other than signature or -1000 (%llu, last %#llx)",
		       i, (unsigned long long)h.other,
		       (unsigned long long)h.last_other);
	}

	r = syscall(SYS_finit_module, kofd, "", 0);
	tap_ok(!r, "finit_module(%s): %s", ko, r ? strerror(errno) : "ok");
	if (r)
		goto stop;
	unloaded = false;
	pvx = pvx_open_after_load();
	if (!tap_ok(pvx >= 0, "%s back after reload: %s", PVX_DEV,
		    pvx >= 0 ? "ok" : strerror(errno)))
		goto stop;
	r = __pvx_attach(pvx, vm->fd, 0, 0, &vm_id);
	tap_ok(!r, "re-attach to the new module instance: %s, vm_id %llu",
	       r ? strerror(-r) : "ok", (unsigned long long)vm_id);
	for (i = 0; i < NR_VCPUS; i++)
		snap[i] = read_counts(vm, i);
	ok = wait_progress(vm, F_SIG, snap, 60000, &ms);
	print_counts(vm, "after reload");
	tap_ok(ok, "both vCPUs probe successfully again (%llu ms)",
	       (unsigned long long)ms);

stop:
	guest_global(vm, stop) = true;
	for (i = 0; i < NR_VCPUS; i++) {
		vcpu_thread_join(vcpus[i]);
		tap_ok(!READ_ONCE(vcpu_failed[i]), "vCPU %d finished cleanly", i);
	}
	if (pvx >= 0) {
		r = pvx_find_vm(pvx, vm_id, &st);
		if (tap_ok(r == 1, "new instance lists the VM (r=%d)", r))
			tap_ok(st.hc[0].calls >= PROGRESS && !st.hc[0].errors,
			       "new instance counted the probes: calls %llu errors %llu",
			       (unsigned long long)st.hc[0].calls,
			       (unsigned long long)st.hc[0].errors);
		__pvx_detach_fd(pvx, vm->fd);
		close(pvx);
	}
	if (unloaded) {
		/* Leave the module loaded for whatever runs next. */
		r = syscall(SYS_finit_module, kofd, "", 0);
		tap_diag("reload after failure: %s", r ? strerror(errno) : "ok");
	}
	close(kofd);
	vm_free(vm);
	tap_finish();
}
