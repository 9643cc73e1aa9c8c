// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for pvxdev.c that answers from canned data, so that test.sh
 * can check pvxctl's output (table, JSON, --watch) on a machine without
 * pvx_host.  Linked into pvxctl-fake only, never into pvxctl.
 *
 * Two attached VMs: vm 1 of process 100 (every feature, 42 doorbell
 * calls, a balloon target) and vm 2 of process 200 (yield_to, timer and
 * a bit pvxctl does not know, no balloon target).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pvxdev.h"

#define FAKE_UNKNOWN_BIT (1ULL << 40)

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
	(void)dev;
	*features = PVX_FEATURES_ALL;
	return 0;
}

int pvxdev_attach(int dev, int vm_fd, uint64_t features,
		  uint32_t max_list_entries, uint64_t *vm_id)
{
	(void)dev;
	(void)vm_fd;
	(void)max_list_entries;
	if (features & ~PVX_FEATURES_ALL)
		return -EOPNOTSUPP;
	*vm_id = 3;
	return 0;
}

int pvxdev_detach_fd(int dev, int vm_fd)
{
	(void)dev;
	(void)vm_fd;
	return -ENOENT;
}

int pvxdev_detach_id(int dev, uint64_t vm_id)
{
	(void)dev;
	return vm_id == 1 || vm_id == 2 ? 0 : -ENOENT;
}

int pvxdev_read_stats(int dev, struct pvxdev_stats *st)
{
	struct pvxdev_vm *vm;

	(void)dev;
	memset(st, 0, sizeof(*st));
	st->vms = calloc(2, sizeof(*st->vms));
	if (!st->vms)
		return -ENOMEM;
	st->nr_vms = 2;
	st->live_vms = 3;
	st->header_size = pvxdev_stats_header_size();
	st->record_size = pvxdev_stats_record_size();

	vm = &st->vms[0];
	vm->vm_id = 1;
	vm->features = PVX_FEATURES_ALL;
	snprintf(vm->kvm_name, sizeof(vm->kvm_name), "kvm-100");
	vm->max_list_entries = 256;
	vm->hc[PVX_HC_PROBE - PVX_HC_BASE].calls = 2;
	vm->hc[PVX_HC_DOORBELL - PVX_HC_BASE].calls = 42;
	vm->hc[PVX_HC_DOORBELL - PVX_HC_BASE].errors = 1;
	vm->hc[20].calls = 5;	/* a number pvxctl has no name for */
	vm->yield[PVX_YIELD_DONE] = 7;
	vm->timers_fired = 9;
	vm->prefault_limited = 3;
	vm->balloon_pages = 1024;
	vm->has_balloon_target = true;
	vm->balloon_target = 65536;

	vm = &st->vms[1];
	vm->vm_id = 2;
	vm->features = PVX_F_YIELD_TO | PVX_F_TIMER | FAKE_UNKNOWN_BIT;
	snprintf(vm->kvm_name, sizeof(vm->kvm_name), "kvm-200");
	vm->max_list_entries = 64;
	vm->balloon_target = PVX_BALLOON_NO_TARGET;
	return 0;
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
	(void)dev;
	(void)target_pages;
	if (vm_id != 1 && vm_id != 2)
		return -ENOENT;
	if (vm_id == 2)
		return -EOPNOTSUPP;
	*notified = true;
	return 0;
}
