// SPDX-License-Identifier: GPL-2.0
/*
 * Who may act on a VM through /dev/pvx.  A VM fd is the capability to
 * attach (and detach) that VM; an id reaches only the VMs whose memory is
 * the caller's (its VMM), or every VM for CAP_SYS_ADMIN.  Two VMs: A of
 * this process, B of a child.  As root both are listed and reachable.
 * Then this process drops to an unprivileged user, keeping its open fds:
 * it must still see and reach A, and neither see B (stats) nor touch it
 * by id (detach, MSR allowlist, balloon target); the child checks that B
 * is still attached, with its target unchanged.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pvx_test.h"

#define NOBODY		65534
#define TARGET_B	77

static void guest_idle(uint64_t arg)
{
	(void)arg;
	GUEST_DONE();
}

static int set_target(int pvx, uint64_t id, uint64_t pages)
{
	struct pvx_balloon_target t = { .vm_id = id, .target_pages = pages };

	return __pvx_set_balloon_target(pvx, &t);
}

static int set_msrs(int pvx, uint64_t id)
{
	struct pvx_msr_allowlist a = { .vm_id = id, .nr_ranges = 0 };

	return __pvx_set_msr_allowlist(pvx, &a);
}

/* How many VMs the caller is shown, and whether @id is among them. */
static uint32_t listed(int pvx, uint64_t id, bool *found)
{
	struct pvx_vm_stats *recs;
	uint32_t nr = 0, i;

	*found = false;
	pvx_stats_read(pvx, &recs, &nr, NULL);
	for (i = 0; i < nr; i++)
		if (recs[i].vm_id == id)
			*found = true;
	free(recs);
	return nr;
}

/* The child: VM B, attached; then, told to, checks it is untouched. */
static int child_main(int to_parent, int from_parent)
{
	struct pvx_vm_stats st;
	uint64_t id;
	struct vm *vm;
	char c;
	int pvx, r;

	pvx = pvx_open();
	vm = vm_create();
	vcpu_add(vm, guest_idle, 0);
	r = __pvx_attach(pvx, vm->fd, PVX_F_BALLOON, 0, &id);
	if (r || set_target(pvx, id, TARGET_B))
		id = 0;
	if (write(to_parent, &id, sizeof(id)) != sizeof(id))
		return 2;
	if (read(from_parent, &c, 1) != 1)
		return 3;
	r = __pvx_find_vm(pvx, id, &st);
	if (r != 1)
		return 4;
	return st.balloon_target == TARGET_B ? 0 : 5;
}

int main(void)
{
	int to_parent[2], from_parent[2], pvx, status;
	uint64_t a_id, b_id = 0;
	uint32_t n;
	bool seen;
	struct vm *vm;
	pid_t pid;

	tap_init("authz_test: who may name a VM through /dev/pvx");
	kvm_fd_or_skip();
	if (getuid() != 0)
		tap_skip_all("needs root to create the other user's VM");
	pvx = pvx_open_features(PVX_F_BALLOON);
	if (pipe(to_parent) || pipe(from_parent))
		tap_bail("pipe: %s", strerror(errno));

	pid = fork();
	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (!pid)
		_exit(child_main(to_parent[1], from_parent[0]));
	if (read(to_parent[0], &b_id, sizeof(b_id)) != sizeof(b_id) || !b_id)
		tap_bail("the child's VM B was not attached");

	vm = vm_create();
	vcpu_add(vm, guest_idle, 0);
	a_id = pvx_attach(pvx, vm->fd, PVX_F_BALLOON, 0);

	n = listed(pvx, b_id, &seen);
	tap_ok(n >= 2 && seen, "root is shown every VM (%u, B among them)", n);

	/* Unprivileged from here on; the open fds stay. */
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		tap_bail("dropping to uid %d: %s", NOBODY, strerror(errno));
	tap_ok(geteuid() == NOBODY, "now uid %d, without CAP_SYS_ADMIN", NOBODY);

	n = listed(pvx, b_id, &seen);
	tap_ok(n == 1 && !seen, "stats: only the caller's own VM (%u listed, B %s)",
	       n, seen ? "shown" : "hidden");
	listed(pvx, a_id, &seen);
	tap_ok(seen, "stats: the caller's VM A is shown");
	TAP_EQ(set_target(pvx, b_id, 1), -ENOENT,
	       "balloon target of B by id: -ENOENT");
	TAP_EQ(set_msrs(pvx, b_id), -ENOENT,
	       "MSR allowlist of B by id: -ENOENT");
	TAP_EQ(__pvx_detach_id(pvx, b_id), -ENOENT, "detach of B by id: -ENOENT");
	TAP_EQ(set_target(pvx, a_id, 1), 0, "balloon target of A by id: ok");
	TAP_EQ(set_msrs(pvx, a_id), 0, "MSR allowlist of A by id: ok");
	TAP_EQ(__pvx_detach_id(pvx, a_id), 0, "detach of A by id: ok");

	if (write(from_parent[1], "c", 1) != 1)
		tap_bail("telling the child: %s", strerror(errno));
	if (waitpid(pid, &status, 0) != pid)
		tap_bail("waitpid: %s", strerror(errno));
	tap_ok(WIFEXITED(status) && !WEXITSTATUS(status),
	       "B is still attached, its target untouched (child status %#x)",
	       status);
	vm_free(vm);
	close(pvx);
	tap_finish();
}
