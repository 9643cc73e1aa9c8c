// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's dirty ring, from the VMM's side: enable it, map it, harvest it,
 * reset it (Documentation/virt/kvm/api.rst, KVM_CAP_DIRTY_LOG_RING); and
 * the older dirty log bitmap of a memslot.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pvx_test.h"

int __vm_enable_dirty_ring(struct vm *vm, uint32_t bytes)
{
	static const uint32_t caps[] = {
		KVM_CAP_DIRTY_LOG_RING_ACQ_REL, KVM_CAP_DIRTY_LOG_RING,
	};
	struct kvm_enable_cap cap;
	unsigned int i;
	int max;

	if (vm->nr_vcpus)
		return -EBUSY;
	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		/* The maximum ring size in bytes, 0 when not offered. */
		max = ioctl(vm->fd, KVM_CHECK_EXTENSION, caps[i]);
		if (max <= 0 || (uint32_t)max < bytes)
			continue;
		memset(&cap, 0, sizeof(cap));
		cap.cap = caps[i];
		cap.args[0] = bytes;
		if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap))
			return -errno;
		vm->dirty_ring_bytes = bytes;
		vm->dirty_ring_cap = caps[i];
		return 0;
	}
	return -ENOTSUP;
}

void vm_enable_dirty_ring(struct vm *vm, uint32_t bytes)
{
	int r = __vm_enable_dirty_ring(vm, bytes);

	if (r)
		tap_bail("enable a %u-byte dirty ring: %s", bytes, strerror(-r));
}

void vcpu_map_dirty_ring(struct vcpu *vcpu)
{
	void *ring;

	ring = mmap(NULL, vcpu->vm->dirty_ring_bytes, PROT_READ | PROT_WRITE,
		    MAP_SHARED, vcpu->fd,
		    KVM_DIRTY_LOG_PAGE_OFFSET * getpagesize());
	TEST_ASSERT(ring != MAP_FAILED, "mmap dirty ring");
	vcpu->dirty_gfns = ring;
	vcpu->dirty_fetch = 0;
}

uint32_t vcpu_harvest_dirty_ring(struct vcpu *vcpu,
				 void (*fn)(uint32_t slot, uint64_t offset,
					    void *arg), void *arg)
{
	uint32_t entries = vcpu->vm->dirty_ring_bytes / sizeof(*vcpu->dirty_gfns);
	uint32_t n = 0;

	for (;;) {
		struct kvm_dirty_gfn *e =
			&vcpu->dirty_gfns[vcpu->dirty_fetch & (entries - 1)];

		/* Acquire: slot and offset are read after the flag. */
		if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) &
		      KVM_DIRTY_GFN_F_DIRTY))
			break;
		fn(e->slot, e->offset, arg);
		/* Release: KVM may reuse the entry once it sees RESET. */
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET,
				 __ATOMIC_RELEASE);
		vcpu->dirty_fetch++;
		/* A ring that KVM overran would otherwise never end. */
		if (++n == entries)
			break;
	}
	return n;
}

int __vm_reset_dirty_rings(struct vm *vm)
{
	int r = ioctl(vm->fd, KVM_RESET_DIRTY_RINGS, 0);

	return r < 0 ? -errno : r;
}

int vm_reset_dirty_rings(struct vm *vm)
{
	int r = __vm_reset_dirty_rings(vm);

	if (r < 0)
		tap_bail("KVM_RESET_DIRTY_RINGS: %s", strerror(-r));
	return r;
}

void vm_get_dirty_log(struct vm *vm, int slot, void *bitmap)
{
	struct kvm_dirty_log log;

	memset(&log, 0, sizeof(log));
	log.slot = slot;
	log.dirty_bitmap = bitmap;
	TEST_ASSERT(!ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log),
		    "KVM_GET_DIRTY_LOG of slot %d", slot);
}
