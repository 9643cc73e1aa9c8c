// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/pvx ioctls: the one place in pvxctl that knows the layout of
 * their argument structures (see pvxdev.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "pvxdev.h"

_Static_assert(PVXDEV_NAME_SIZE > PVX_STATS_NAME_SIZE,
	       "pvxdev_vm.kvm_name must hold kvm_stats_id and its NUL");

static int pvxdev_ioctl(int dev, unsigned long cmd, void *arg)
{
	return ioctl(dev, cmd, arg) ? -errno : 0;
}

size_t pvxdev_stats_header_size(void)
{
	return sizeof(struct pvx_stats);
}

size_t pvxdev_stats_record_size(void)
{
	return sizeof(struct pvx_vm_stats);
}

int pvxdev_get_features(int dev, uint64_t *features)
{
	__u64 f;
	int ret = pvxdev_ioctl(dev, PVX_IOC_GET_FEATURES, &f);

	if (!ret)
		*features = f;
	return ret;
}

int pvxdev_attach(int dev, int vm_fd, uint64_t features,
		  uint32_t max_list_entries, uint64_t *vm_id)
{
	struct pvx_attach req = {
		.vm_fd = vm_fd,
		.features = features,
		.max_list_entries = max_list_entries,
	};
	int ret = pvxdev_ioctl(dev, PVX_IOC_ATTACH, &req);

	if (!ret)
		*vm_id = req.vm_id;
	return ret;
}

int pvxdev_detach_fd(int dev, int vm_fd)
{
	struct pvx_detach req = { .vm_fd = vm_fd };

	return pvxdev_ioctl(dev, PVX_IOC_DETACH, &req);
}

int pvxdev_detach_id(int dev, uint64_t vm_id)
{
	struct pvx_detach req = {
		.vm_fd = -1,
		.flags = PVX_DETACH_BY_ID,
		.vm_id = vm_id,
	};

	return pvxdev_ioctl(dev, PVX_IOC_DETACH, &req);
}

static void pvxdev_decode_vm(struct pvxdev_vm *out,
			     const struct pvx_vm_stats *in)
{
	unsigned int i;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->vm_id = in->vm_id;
	out->features = in->features;
	n = strnlen(in->kvm_stats_id, sizeof(in->kvm_stats_id));
	memcpy(out->kvm_name, in->kvm_stats_id, n);
	out->max_list_entries = in->max_list_entries;
	for (i = 0; i < PVX_HC_COUNT; i++) {
		out->hc[i].calls = in->hc[i].calls;
		out->hc[i].errors = in->hc[i].errors;
	}
	for (i = 0; i < PVX_YIELD_NR_RESULTS; i++)
		out->yield[i] = in->yield[i];
	out->timers_fired = in->timers_fired;
	out->balloon_pages = in->balloon_pages;
	out->guest_resets = in->guest_resets;
	out->split_inflight = in->split_inflight;
	out->prefault_limited = in->prefault_limited;
	out->lock_waits = in->lock_waits;
	out->lock_boosts = in->lock_boosts;
	out->lock_refused = in->lock_refused;
	out->lock_none = in->lock_none;
	out->lock_zero_count = in->lock_zero_count;
	out->lock_unreadable = in->lock_unreadable;
	out->has_balloon_target = in->balloon_target != PVX_BALLOON_NO_TARGET;
	out->balloon_target = in->balloon_target;
	out->iommu_pages = in->iommu_pages;
}

int pvxdev_read_stats(int dev, struct pvxdev_stats *st)
{
	struct pvx_vm_stats *raw = NULL;
	struct pvx_stats req;
	unsigned int room = 0, i;
	/* A revision 1 host takes no record size: it has reserved zeroes. */
	__u32 record_size = sizeof(*raw);
	int ret;

	memset(st, 0, sizeof(*st));
	/* VMs come and go: grow the buffer until it holds them all. */
	for (;;) {
		memset(&req, 0, sizeof(req));
		req.buf = (uintptr_t)raw;
		req.nr_vms = room;
		req.record_size = record_size;
		ret = pvxdev_ioctl(dev, PVX_IOC_STATS, &req);
		if (ret == -EINVAL && record_size) {
			record_size = 0;
			continue;
		}
		if (ret)
			goto out;
		if (req.nr_vms <= room)
			break;
		room = req.nr_vms + 4;
		free(raw);
		raw = calloc(room, sizeof(*raw));
		if (!raw)
			return -ENOMEM;
	}

	st->nr_vms = req.nr_vms;
	st->live_vms = req.live_vms;
	/*
	 * The host's record size, or (revision 1) none: then the fields
	 * after PVX_VM_STATS_SIZE_V1 read as zero, as calloc left them.
	 */
	st->header_size = sizeof(req);
	st->record_size = record_size ? req.record_size : PVX_VM_STATS_SIZE_V1;
	st->sizes_from_module = record_size != 0;
	if (st->nr_vms) {
		st->vms = calloc(st->nr_vms, sizeof(*st->vms));
		if (!st->vms) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < st->nr_vms; i++) {
		struct pvx_vm_stats rec = { 0 };

		/* Revision 1 records lie PVX_VM_STATS_SIZE_V1 apart. */
		memcpy(&rec, (char *)raw + (size_t)i * (record_size ?: PVX_VM_STATS_SIZE_V1),
		       record_size ? sizeof(rec) : PVX_VM_STATS_SIZE_V1);
		pvxdev_decode_vm(&st->vms[i], &rec);
	}
out:
	free(raw);
	return ret;
}

void pvxdev_free_stats(struct pvxdev_stats *st)
{
	free(st->vms);
	st->vms = NULL;
	st->nr_vms = 0;
}

int pvxdev_set_balloon_target(int dev, uint64_t vm_id, uint64_t target_pages,
			      bool *notified)
{
	struct pvx_balloon_target req = {
		.vm_id = vm_id,
		.target_pages = target_pages,
	};
	int ret = pvxdev_ioctl(dev, PVX_IOC_SET_BALLOON_TARGET, &req);

	if (!ret)
		*notified = req.notified;
	return ret;
}
