// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/pvx helpers: each __pvx_*() returns -errno instead of judging, so
 * tests can check error paths with the same calls; its pvx_*() twin bails
 * out instead, for set-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "pvx_test.h"

int pvx_open(void)
{
	int fd = open(PVX_DEV, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	/*
	 * Not a skip: the testbed loads pvx_host before running tests, so a
	 * missing node means the module failed to load or to register.
	 */
	tap_ok(false, "open %s: %m", PVX_DEV);
	if (errno == ENOENT)
		tap_diag("%s is missing: pvx_host.ko is not loaded (insmod it first; see dmesg for load errors)",
			 PVX_DEV);
	tap_finish();
}

/*
 * A test of services that this kernel refuses: it checks the refusal
 * (attaching with them fails as for an unknown bit) and skips the rest.
 */
static void pvx_refused_finish(int fd, uint64_t refused)
{
	struct vm *vm = vm_create();
	uint64_t vm_id;

	TAP_EQ(__pvx_attach(fd, vm->fd, refused, 0, &vm_id), -EOPNOTSUPP,
	       "features %#llx refused on this kernel: attach with them fails",
	       (unsigned long long)refused);
	vm_free(vm);
	close(fd);
	tap_skip("what needs features %#llx: refused on Linux 7.3",
		 (unsigned long long)refused);
	tap_finish();
}

int pvx_open_features(uint64_t features)
{
	uint64_t offered = 0;
	int fd = pvx_open();
	int r = __pvx_get_features(fd, &offered);

	if (!r && (offered & features) != features && !kernel_older_than(7, 3) &&
	    !(features & ~offered & ~PVX_REFUSED_73))
		pvx_refused_finish(fd, features & ~offered);
	if (r || (offered & features) != features)
		tap_bail("host does not offer features %#llx (offers %#llx)",
			 (unsigned long long)features,
			 (unsigned long long)offered);
	return fd;
}

int pvx_ioctl_raw(int pvx_fd, unsigned long req, void *arg)
{
	return ioctl(pvx_fd, req, arg) ? -errno : 0;
}

/* The bailing half of a pair whose request names the VM by its id. */
static void bail_on_id(int r, const char *req, uint64_t vm_id)
{
	if (r)
		tap_bail("%s of vm_id %llu: %s", req, (unsigned long long)vm_id,
			 strerror(-r));
}

int __pvx_get_features(int pvx_fd, uint64_t *features)
{
	return pvx_ioctl_raw(pvx_fd, PVX_IOC_GET_FEATURES, features);
}

uint64_t pvx_get_features(int pvx_fd)
{
	uint64_t features;
	int r = __pvx_get_features(pvx_fd, &features);

	if (r)
		tap_bail("PVX_IOC_GET_FEATURES: %s", strerror(-r));
	return features;
}

int __pvx_attach(int pvx_fd, int vm_fd, uint64_t features,
		 uint32_t max_list_entries, uint64_t *vm_id)
{
	struct pvx_attach a;
	int r;

	memset(&a, 0, sizeof(a));
	a.vm_fd = vm_fd;
	a.features = features;
	a.max_list_entries = max_list_entries;
	r = pvx_ioctl_raw(pvx_fd, PVX_IOC_ATTACH, &a);
	if (!r && vm_id)
		*vm_id = a.vm_id;
	return r;
}

uint64_t pvx_attach(int pvx_fd, int vm_fd, uint64_t features,
		    uint32_t max_list_entries)
{
	uint64_t vm_id;
	int r = __pvx_attach(pvx_fd, vm_fd, features, max_list_entries, &vm_id);

	if (r)
		tap_bail("PVX_IOC_ATTACH of VM fd %d, features %#llx: %s", vm_fd,
			 (unsigned long long)features, strerror(-r));
	return vm_id;
}

int __pvx_detach_fd(int pvx_fd, int vm_fd)
{
	struct pvx_detach d;

	memset(&d, 0, sizeof(d));
	d.vm_fd = vm_fd;
	return pvx_ioctl_raw(pvx_fd, PVX_IOC_DETACH, &d);
}

void pvx_detach_fd(int pvx_fd, int vm_fd)
{
	int r = __pvx_detach_fd(pvx_fd, vm_fd);

	if (r)
		tap_bail("PVX_IOC_DETACH of VM fd %d: %s", vm_fd, strerror(-r));
}

int __pvx_detach_id(int pvx_fd, uint64_t vm_id)
{
	struct pvx_detach d;

	memset(&d, 0, sizeof(d));
	d.vm_fd = -1;
	d.flags = PVX_DETACH_BY_ID;
	d.vm_id = vm_id;
	return pvx_ioctl_raw(pvx_fd, PVX_IOC_DETACH, &d);
}

void pvx_detach_id(int pvx_fd, uint64_t vm_id)
{
	bail_on_id(__pvx_detach_id(pvx_fd, vm_id), "PVX_IOC_DETACH", vm_id);
}

int __pvx_stats_read(int pvx_fd, struct pvx_vm_stats **recs, uint32_t *nr,
		     uint64_t *live)
{
	uint32_t room = 8;

	/* VMs may come and go between calls: grow until everything fits. */
	for (;;) {
		struct pvx_vm_stats *buf = calloc(room, sizeof(*buf));
		struct pvx_stats s;
		int r;

		if (!buf)
			return -ENOMEM;
		memset(&s, 0, sizeof(s));
		s.buf = (uint64_t)buf;
		s.nr_vms = room;
		s.record_size = sizeof(*buf);
		r = pvx_ioctl_raw(pvx_fd, PVX_IOC_STATS, &s);
		if (r) {
			free(buf);
			return r;
		}
		if (s.nr_vms <= room) {
			*recs = buf;
			*nr = s.nr_vms;
			if (live)
				*live = s.live_vms;
			return 0;
		}
		free(buf);
		room = s.nr_vms + 8;
	}
}

void pvx_stats_read(int pvx_fd, struct pvx_vm_stats **recs, uint32_t *nr,
		    uint64_t *live)
{
	int r = __pvx_stats_read(pvx_fd, recs, nr, live);

	if (r)
		tap_bail("PVX_IOC_STATS: %s", strerror(-r));
}

int __pvx_find_vm(int pvx_fd, uint64_t vm_id, struct pvx_vm_stats *out)
{
	struct pvx_vm_stats *recs;
	uint32_t nr, i;
	int r, found = 0;

	r = __pvx_stats_read(pvx_fd, &recs, &nr, NULL);
	if (r)
		return r;
	for (i = 0; i < nr; i++) {
		if (recs[i].vm_id != vm_id)
			continue;
		if (out)
			*out = recs[i];
		found = 1;
		break;
	}
	free(recs);
	return found;
}

int pvx_find_vm(int pvx_fd, uint64_t vm_id, struct pvx_vm_stats *out)
{
	int r = __pvx_find_vm(pvx_fd, vm_id, out);

	if (r < 0)
		tap_bail("PVX_IOC_STATS: %s", strerror(-r));
	return r;
}

uint64_t pvx_live_vms(int pvx_fd)
{
	struct pvx_vm_stats *recs;
	uint64_t live;
	uint32_t nr;

	pvx_stats_read(pvx_fd, &recs, &nr, &live);
	free(recs);
	return live;
}

int __pvx_set_msr_allowlist(int pvx_fd, struct pvx_msr_allowlist *a)
{
	return pvx_ioctl_raw(pvx_fd, PVX_IOC_SET_MSR_ALLOWLIST, a);
}

void pvx_set_msr_allowlist(int pvx_fd, struct pvx_msr_allowlist *a)
{
	bail_on_id(__pvx_set_msr_allowlist(pvx_fd, a),
		   "PVX_IOC_SET_MSR_ALLOWLIST", a->vm_id);
}

int __pvx_set_balloon_target(int pvx_fd, struct pvx_balloon_target *t)
{
	return pvx_ioctl_raw(pvx_fd, PVX_IOC_SET_BALLOON_TARGET, t);
}

void pvx_set_balloon_target(int pvx_fd, struct pvx_balloon_target *t)
{
	bail_on_id(__pvx_set_balloon_target(pvx_fd, t),
		   "PVX_IOC_SET_BALLOON_TARGET", t->vm_id);
}
