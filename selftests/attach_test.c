// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/pvx VMM ABI: every error path of attach and detach, ids, the
 * stats listing, and that a VM destroyed without detach leaves nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "pvx_test.h"

static int pvx;

static void guest_main(uint64_t arg)
{
	(void)arg;
	GUEST_SYNC(guest_hypercall(PVX_HC_PROBE, 0, 0, 0, 0));
	GUEST_DONE();
}

static const char *err_name(int r)
{
	static char buf[64];

	if (!r)
		return "success";
	snprintf(buf, sizeof(buf), "%s (%d)", strerrorname_np(-r) ?: "?", r);
	return buf;
}

static void expect_err(int r, int want_errno, const char *what)
{
	char want[64];

	snprintf(want, sizeof(want), "%s", err_name(-want_errno));
	tap_ok(r == -want_errno, "%s: got %s, want %s", what, err_name(r),
	       want);
}

static int attach_raw(struct pvx_attach *a)
{
	return pvx_ioctl_raw(pvx, PVX_IOC_ATTACH, a);
}

static void attach_fails(int fd, int want_errno, const char *what)
{
	struct pvx_attach a;
	int r;

	memset(&a, 0, sizeof(a));
	a.vm_fd = fd;
	r = attach_raw(&a);
	expect_err(r, want_errno, what);
	if (!r)
		__pvx_detach_id(pvx, a.vm_id);
}

static int detach_raw(struct pvx_detach *d)
{
	return pvx_ioctl_raw(pvx, PVX_IOC_DETACH, d);
}

/* Destruction may finish after close() returns; allow it a moment. */
static bool wait_gone(uint64_t vm_id, uint64_t live_base, uint64_t *ms)
{
	uint64_t t0 = now_ns();

	for (;;) {
		bool gone = pvx_find_vm(pvx, vm_id, NULL) == 0 &&
			    pvx_live_vms(pvx) == live_base;

		*ms = (now_ns() - t0) / 1000000;
		if (gone)
			return true;
		if (*ms > 5000)
			return false;
		usleep(10000);
	}
}

/* The id of the record at @off of @buf: what a stride puts there. */
static uint64_t id_at(const uint8_t *buf, size_t off)
{
	uint64_t id;

	memcpy(&id, buf + off, sizeof(id));
	return id;
}

/*
 * PVX_IOC_STATS's record_size: 0 asks for the first revision's records
 * (PVX_VM_STATS_SIZE_V1 apart), a larger size gets its tail zeroed, and
 * sizes a host cannot honour are refused.
 */
static void test_record_size(int pvx, uint64_t id1, uint64_t id2)
{
	size_t big = sizeof(struct pvx_vm_stats) + 16, len = 3 * big;
	uint8_t *buf = malloc(len);
	struct pvx_stats s;
	uint64_t a, b;
	size_t i;
	int r, zero;

	TEST_ASSERT(buf, "malloc");
	memset(buf, 0xee, len);
	memset(&s, 0, sizeof(s));
	s.buf = (uint64_t)buf;
	s.nr_vms = 2;
	r = pvx_ioctl_raw(pvx, PVX_IOC_STATS, &s);
	TAP_EQ(r, 0, "STATS, record_size 0 (revision 1)");
	TAP_EQ(s.record_size, sizeof(struct pvx_vm_stats),
	       "STATS reports the host's record size");
	a = id_at(buf, 0);
	b = id_at(buf, PVX_VM_STATS_SIZE_V1);
	tap_ok((a == id1 && b == id2) || (a == id2 && b == id1),
	       "revision 1: records %d bytes apart (ids %#llx, %#llx)",
	       PVX_VM_STATS_SIZE_V1, (unsigned long long)a,
	       (unsigned long long)b);
	TAP_EQ(buf[2 * PVX_VM_STATS_SIZE_V1], 0xee,
	       "revision 1: nothing written past two such records");

	memset(buf, 0xee, len);
	memset(&s, 0, sizeof(s));
	s.buf = (uint64_t)buf;
	s.nr_vms = 2;
	s.record_size = big;
	r = pvx_ioctl_raw(pvx, PVX_IOC_STATS, &s);
	TAP_EQ(r, 0, "STATS, record_size %zu (larger than the host's)", big);
	b = id_at(buf, big);
	tap_ok(b == id1 || b == id2, "larger records: the second at %zu (id %#llx)",
	       big, (unsigned long long)b);
	for (i = sizeof(struct pvx_vm_stats), zero = 1; i < big; i++)
		zero &= buf[i] == 0 && buf[big + i] == 0;
	tap_ok(zero, "larger records: the host zeroed what it does not know");

	memset(&s, 0, sizeof(s));
	s.buf = (uint64_t)buf;
	s.nr_vms = 2;
	s.record_size = PVX_VM_STATS_SIZE_V1 - 8;
	TAP_EQ(pvx_ioctl_raw(pvx, PVX_IOC_STATS, &s), -EINVAL,
	       "STATS: record_size below revision 1's refused");
	s.record_size = PVX_VM_STATS_SIZE_V1 + 4;
	TAP_EQ(pvx_ioctl_raw(pvx, PVX_IOC_STATS, &s), -EINVAL,
	       "STATS: record_size not a multiple of 8 refused");
	s.record_size = 0;
	s.reserved32 = 1;
	TAP_EQ(pvx_ioctl_raw(pvx, PVX_IOC_STATS, &s), -EINVAL,
	       "STATS: reserved32 not zero refused");
	free(buf);
}

/*
 * 7.3's KVM exports what these services need only to kvm-amd and
 * kvm-intel (Documentation/design.rst, Kernels): each is not offered,
 * and an attach asking for it fails as for an unknown bit.
 */
static void test_refused_73(int vm_fd, uint64_t offered)
{
	struct pvx_attach a;
	int bit;

	TAP_EQ(offered & PVX_REFUSED_73, 0,
	       "7.3: timer, split, balloon, msr_batch, doorbell not offered");
	for (bit = 0; bit < 64; bit++) {
		if (!(PVX_REFUSED_73 & (1ULL << bit)))
			continue;
		memset(&a, 0, sizeof(a));
		a.vm_fd = vm_fd;
		a.features = 1ULL << bit;
		expect_err(attach_raw(&a), EOPNOTSUPP,
			   "7.3: attach with a refused feature");
	}
}

int main(void)
{
	struct pvx_vm_stats *recs, rec1, rec2;
	struct pvx_attach a;
	struct pvx_detach d;
	struct pvx_stats s;
	struct vm *vm1, *vm2, *vm4, *vm5;
	struct vcpu *vcpu2, *vcpu4, *vcpu5;
	struct ucall uc;
	uint64_t features, bad_feature, id1, id2, id3, id4, id5;
	uint64_t nr_base, live_base, ms;
	char want_id[PVX_STATS_NAME_SIZE];
	uint32_t nr;
	int r, pipefd[2], nullfd, kvmfd, i;
	bool gone;

	tap_init("attach_test: /dev/pvx attach, detach and stats");
	kvmfd = kvm_fd_or_skip();
	pvx = pvx_open();

	r = __pvx_get_features(pvx, &features);
	tap_ok(!r && !(features & ~PVX_FEATURES_ALL),
	       "GET_FEATURES: %s, %#llx, within PVX_FEATURES_ALL %#llx",
	       err_name(r), (unsigned long long)features,
	       (unsigned long long)PVX_FEATURES_ALL);
	for (i = 63; i >= 0 && (features & (1ULL << i)); i--)
		;
	bad_feature = 1ULL << i;

	r = __pvx_stats_read(pvx, &recs, &nr, &live_base);
	if (!tap_ok(!r, "STATS baseline: %s, %u attached, live_vms %llu",
		    err_name(r), nr, (unsigned long long)live_base))
		tap_finish();
	free(recs);
	nr_base = nr;

	vm1 = vm_create();
	vm2 = vm_create();
	vcpu2 = vcpu_add(vm2, guest_main, 0);

	/* fds that are not VM fds */
	attach_fails(1000, EBADF, "attach fd 1000 (not open)");
	attach_fails(-1, EBADF, "attach fd -1");
	TEST_ASSERT(!pipe(pipefd), "pipe");
	attach_fails(pipefd[0], EINVAL, "attach a pipe");
	nullfd = open("/dev/null", O_RDWR);
	TEST_ASSERT(nullfd >= 0, "open /dev/null");
	attach_fails(nullfd, EINVAL, "attach /dev/null");
	attach_fails(kvmfd, EINVAL, "attach the /dev/kvm system fd");
	attach_fails(vcpu2->fd, EINVAL, "attach a vCPU fd");
	attach_fails(pvx, EINVAL, "attach the /dev/pvx fd");

	/* malformed requests on a good VM fd */
	memset(&a, 0, sizeof(a));
	a.vm_fd = vm1->fd;
	a.flags = 1;
	expect_err(attach_raw(&a), EINVAL, "attach with flags 1");
	memset(&a, 0, sizeof(a));
	a.vm_fd = vm1->fd;
	a.reserved0 = 1;
	expect_err(attach_raw(&a), EINVAL, "attach with reserved0 1");
	for (i = 0; i < 6; i++) {
		memset(&a, 0, sizeof(a));
		a.vm_fd = vm1->fd;
		a.reserved[i] = 1ULL << 40;
		expect_err(attach_raw(&a), EINVAL, i == 5 ?
			   "attach with reserved[5] set" :
			   "attach with reserved[] set");
	}
	memset(&a, 0, sizeof(a));
	a.vm_fd = vm1->fd;
	a.features = bad_feature;
	expect_err(attach_raw(&a), EOPNOTSUPP, "attach with unsupported feature bit");
	if (!kernel_older_than(7, 3))
		test_refused_73(vm1->fd, features);
	memset(&a, 0, sizeof(a));
	a.vm_fd = vm1->fd;
	a.max_list_entries = PVX_DEFAULT_LIST_ENTRIES + 1;
	expect_err(attach_raw(&a), EINVAL, "attach with max_list_entries 513");
	TAP_EQ(pvx_live_vms(pvx), live_base, "failed attaches left no state (live_vms)");

	/* good attaches */
	r = __pvx_attach(pvx, vm1->fd, features, PVX_DEFAULT_LIST_ENTRIES, &id1);
	tap_ok(!r && id1, "attach vm1 with max_list_entries 512: %s, vm_id %llu",
	       err_name(r), (unsigned long long)id1);
	expect_err(__pvx_attach(pvx, vm1->fd, features, 0, NULL), EBUSY,
		   "attach vm1 again");
	r = __pvx_attach(pvx, vm2->fd, 0, 7, &id2);
	tap_ok(!r && id2 && id2 != id1, "attach vm2: %s, vm_id %llu (vm1 %llu)",
	       err_name(r), (unsigned long long)id2, (unsigned long long)id1);

	/* stats with room for one record only */
	recs = calloc(2, sizeof(*recs));
	TEST_ASSERT(recs, "calloc");
	memset(recs, 0xee, 2 * sizeof(*recs));
	memset(&s, 0, sizeof(s));
	s.buf = (uint64_t)recs;
	s.nr_vms = 1;
	r = pvx_ioctl_raw(pvx, PVX_IOC_STATS, &s);
	tap_ok(!r && s.nr_vms == nr_base + 2,
	       "STATS with room 1: %s, nr_vms %u, want %llu", err_name(r),
	       s.nr_vms, (unsigned long long)nr_base + 2);
	TAP_EQ(s.live_vms, live_base + 2, "STATS live_vms with 2 attached");
	tap_ok(recs[1].vm_id == 0xeeeeeeeeeeeeeeeeULL,
	       "STATS with room 1 wrote one record only (2nd vm_id %#llx)",
	       (unsigned long long)recs[1].vm_id);
	free(recs);
	test_record_size(pvx, id1, id2);

	snprintf(want_id, sizeof(want_id), "kvm-%d", getpid());
	r = pvx_find_vm(pvx, id1, &rec1);
	if (tap_ok(r == 1, "STATS lists vm1 (r=%d)", r)) {
		tap_ok(!strcmp(rec1.kvm_stats_id, want_id),
		       "vm1 kvm_stats_id \"%.*s\", want \"%s\"",
		       PVX_STATS_NAME_SIZE, rec1.kvm_stats_id, want_id);
		TAP_EQ(rec1.features, features, "vm1 features");
		TAP_EQ(rec1.max_list_entries, PVX_DEFAULT_LIST_ENTRIES,
		       "vm1 max_list_entries");
	}
	r = pvx_find_vm(pvx, id2, &rec2);
	if (tap_ok(r == 1, "STATS lists vm2 (r=%d)", r)) {
		tap_ok(!strcmp(rec2.kvm_stats_id, want_id),
		       "vm2 kvm_stats_id \"%.*s\", want \"%s\"",
		       PVX_STATS_NAME_SIZE, rec2.kvm_stats_id, want_id);
		TAP_EQ(rec2.max_list_entries, 7, "vm2 max_list_entries");
	}

	/* the attached VM is really served */
	r = vcpu_get_ucall(vcpu2, &uc);
	tap_ok(r == UCALL_SYNC && uc.args[0] == PVX_SIGNATURE,
	       "vm2 guest probe: cmd %d, result %#llx", r,
	       (unsigned long long)uc.args[0]);
	r = vcpu_get_ucall(vcpu2, &uc);
	TAP_EQ(r, UCALL_DONE, "vm2 guest done");

	/* detach errors */
	memset(&d, 0, sizeof(d));
	d.vm_fd = vm1->fd;
	d.reserved0 = 1;
	expect_err(detach_raw(&d), EINVAL, "detach with reserved0 1");
	for (i = 0; i < 2; i++) {
		memset(&d, 0, sizeof(d));
		d.vm_fd = vm1->fd;
		d.reserved[i] = 1;
		expect_err(detach_raw(&d), EINVAL, "detach with reserved[] set");
	}
	memset(&d, 0, sizeof(d));
	d.flags = 1ULL << 7;
	d.vm_fd = vm1->fd;
	expect_err(detach_raw(&d), EINVAL, "detach with unknown flag bit 7");
	tap_ok(pvx_find_vm(pvx, id1, NULL) == 1,
	       "vm1 still attached after the bad detaches");

	/* detach by fd and by id */
	expect_err(__pvx_detach_fd(pvx, vm1->fd), 0, "detach vm1 by fd");
	expect_err(__pvx_detach_fd(pvx, vm1->fd), ENOENT, "detach vm1 by fd again");
	expect_err(__pvx_detach_id(pvx, id1), ENOENT, "detach vm1 by id after detach");
	expect_err(__pvx_detach_id(pvx, id2), 0, "detach vm2 by id");
	expect_err(__pvx_detach_id(pvx, id2), ENOENT, "detach vm2 by id again");
	expect_err(__pvx_detach_fd(pvx, vm2->fd), ENOENT, "detach vm2 by fd after detach");
	expect_err(__pvx_detach_id(pvx, 0), ENOENT, "detach id 0");
	tap_ok(pvx_find_vm(pvx, id1, NULL) == 0 && pvx_find_vm(pvx, id2, NULL) == 0,
	       "STATS lists neither after detach");
	TAP_EQ(pvx_live_vms(pvx), live_base, "live_vms back to baseline after detach");

	/* attach after detach gets a fresh id */
	r = __pvx_attach(pvx, vm1->fd, 0, 0, &id3);
	tap_ok(!r && id3 && id3 != id1 && id3 != id2,
	       "re-attach vm1: %s, new vm_id %llu", err_name(r),
	       (unsigned long long)id3);

	/* destroy without detach: vm1 bare, vm4 with a vCPU that ran */
	vm_free(vm1);
	gone = wait_gone(id3, live_base, &ms);
	tap_ok(gone,
	       "vm1 destroyed without detach: unlisted, live_vms back to %llu (after %llu ms)",
	       (unsigned long long)live_base, (unsigned long long)ms);

	vm4 = vm_create();
	vcpu4 = vcpu_add(vm4, guest_main, 0);
	r = __pvx_attach(pvx, vm4->fd, 0, 0, &id4);
	tap_ok(!r, "attach vm4: %s", err_name(r));
	r = vcpu_get_ucall(vcpu4, &uc);
	tap_ok(r == UCALL_SYNC && uc.args[0] == PVX_SIGNATURE,
	       "vm4 guest probe: %#llx", (unsigned long long)uc.args[0]);
	vcpu_stat(vcpu4, "hypercalls");	/* a stats fd also pins the VM */
	vm_free(vm4);
	gone = wait_gone(id4, live_base, &ms);
	tap_ok(gone,
	       "vm4 (vCPU, stats fd) destroyed without detach (waited %llu ms)",
	       (unsigned long long)ms);

	/*
	 * Exit order: the VM fd is closed first and the VM lives on through
	 * its vCPU (and stats) fds, which drop the last reference.
	 */
	vm5 = vm_create();
	vcpu5 = vcpu_add(vm5, guest_main, 0);
	r = __pvx_attach(pvx, vm5->fd, 0, 0, &id5);
	tap_ok(!r, "attach vm5: %s", err_name(r));
	vcpu_stat(vcpu5, "hypercalls");
	close(vm5->fd);
	vm5->fd = -1;
	r = vcpu_get_ucall(vcpu5, &uc);
	tap_ok(r == UCALL_SYNC && uc.args[0] == PVX_SIGNATURE,
	       "vm5 probe after its VM fd was closed (vCPU fd keeps it alive): %#llx",
	       (unsigned long long)uc.args[0]);
	vm_free_exit_order(vm5);
	gone = wait_gone(id5, live_base, &ms);
	tap_ok(gone,
	       "vm5 freed when its last vCPU/stats fd closed after the VM fd (waited %llu ms)",
	       (unsigned long long)ms);
	if (!gone)
		tap_diag("vm5 still listed: %d, live_vms %llu",
			 pvx_find_vm(pvx, id5, NULL),
			 (unsigned long long)pvx_live_vms(pvx));

	vm_free(vm2);
	TAP_EQ(pvx_live_vms(pvx), live_base, "live_vms at baseline at the end");

	close(pipefd[0]);
	close(pipefd[1]);
	close(nullfd);
	close(pvx);
	tap_finish();
}
