// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_COPY_PAGES: 48 pages copied guest-physical to guest-physical in
 * one exit; the contents are checked from the VMM, and KVM's dirty log
 * must show exactly the destination pages.  Then the entries the host must
 * refuse, each stopping the batch with its status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pvx_test.h"

#define PAGE		4096ULL
#define NPAGES		64
#define NCOPY		48
#define SLOT_BYTES	(NPAGES * PAGE)
#define GPA_SRC		0x20000000ULL
#define GPA_DST		0x20400000ULL
#define GPA_RO		0x20800000ULL
#define GPA_NONE	0x30000000ULL
#define SLOT_DST	2

enum {
	STEP_COPY_START = 1,
	STEP_COPY_END,
	STEP_REFUSED,
};

static struct pvx_copy_entry list[NCOPY] __attribute__((aligned(64)));

static uint64_t copy_pages(uint64_t count)
{
	return guest_hypercall(PVX_HC_COPY_PAGES, (uint64_t)list, count, 0, 0);
}

/* Source page i goes to destination page NPAGES - 1 - i. */
static void guest_main(uint64_t arg)
{
	uint64_t i, r;

	(void)arg;
	for (i = 0; i < NCOPY; i++) {
		list[i].src_gfn = GPA_SRC / PAGE + i;
		list[i].dst_gfn = GPA_DST / PAGE + NPAGES - 1 - i;
		list[i].status = 0x7777;
		list[i].reserved = 0;
	}
	GUEST_SYNC(STEP_COPY_START);
	r = copy_pages(NCOPY);
	GUEST_SYNC(STEP_COPY_END, r);

	for (i = 0; i < 4; i++) {
		list[0].src_gfn = GPA_SRC / PAGE;
		list[0].dst_gfn = GPA_DST / PAGE;
		list[0].reserved = 0;
		list[1] = list[0];
		list[1].status = 0x7777;
		if (i == 0)
			list[0].src_gfn = GPA_NONE / PAGE;
		else if (i == 1)
			list[0].dst_gfn = GPA_RO / PAGE;
		else if (i == 2)
			list[0].reserved = 1;
		else
			list[0].dst_gfn = ~0ULL;
		r = copy_pages(2);
		GUEST_SYNC(STEP_REFUSED, i, r,
			   ((uint64_t)(uint32_t)list[0].status << 32) |
			   (uint32_t)list[1].status);
	}
	GUEST_DONE();
}

static uint64_t dirty_log(struct vm *vm)
{
	struct kvm_dirty_log log;
	uint64_t bitmap = 0;

	memset(&log, 0, sizeof(log));
	log.slot = SLOT_DST;
	log.dirty_bitmap = &bitmap;
	TEST_REQUIRE_SYS(!ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log),
			 "KVM_GET_DIRTY_LOG");
	return bitmap;
}

int main(void)
{
	uint64_t e0, h0, id, dirty, want_dirty = 0;
	uint8_t *src, *dst;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int pvx, r, i, bad;

	tap_init("copy_test: PVX_HC_COPY_PAGES");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_COPY_PAGES);

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_main, 0);
	src = vm_add_anon_slot(vm, 1, GPA_SRC, SLOT_BYTES, 0, false);
	dst = vm_add_anon_slot(vm, SLOT_DST, GPA_DST, SLOT_BYTES, KVM_MEM_LOG_DIRTY_PAGES, false);
	vm_add_anon_slot(vm, 3, GPA_RO, SLOT_BYTES, KVM_MEM_READONLY, false);
	for (i = 0; i < NPAGES; i++)
		memset(src + i * PAGE, 0x10 + i, PAGE);
	r = pvx_attach(pvx, vm->fd, PVX_F_COPY_PAGES, 0, &id);
	if (r)
		tap_bail("attach: %s", strerror(-r));

	if (!vcpu_expect_step(vcpu, STEP_COPY_START, &uc))
		tap_finish();
	TAP_EQ(dirty_log(vm), 0, "destination slot clean before the copy");
	e0 = vcpu_stat(vcpu, "exits");
	h0 = vcpu_stat(vcpu, "hypercalls");
	if (vcpu_expect_step(vcpu, STEP_COPY_END, &uc))
		TAP_EQ(uc.args[1], NCOPY, "all %d pages copied", NCOPY);
	tap_diag("%d pages copied: %llu exits, %llu hypercalls (including the closing message's exit)",
		 NCOPY, (unsigned long long)(vcpu_stat(vcpu, "exits") - e0),
		 (unsigned long long)(vcpu_stat(vcpu, "hypercalls") - h0));
	TAP_EQ(vcpu_stat(vcpu, "hypercalls") - h0, 1, "one hypercall for the batch");

	for (i = 0, bad = 0; i < NCOPY; i++) {
		const uint8_t *d = dst + (NPAGES - 1 - i) * PAGE;
		int j;

		for (j = 0; j < (int)PAGE; j++)
			if (d[j] != 0x10 + i) {
				bad++;
				break;
			}
	}
	TAP_EQ(bad, 0, "every destination page holds its source's bytes");
	for (i = 0, bad = 0; i < NPAGES - NCOPY; i++)
		bad += dst[i * PAGE] != 0;
	TAP_EQ(bad, 0, "pages not named in the list untouched");

	for (i = NPAGES - NCOPY; i < NPAGES; i++)
		want_dirty |= 1ULL << i;
	dirty = dirty_log(vm);
	TAP_EQ(dirty, want_dirty, "dirty log shows exactly the destination pages");

	for (i = 0; i < 4; i++) {
		static const struct {
			const char *what;
			int32_t status;
		} want[4] = {
			{ "source outside every memslot", -PVX_EFAULT },
			{ "destination in a read-only memslot", -PVX_EFAULT },
			{ "reserved field set", -PVX_EINVAL },
			{ "destination gfn beyond any address", -PVX_EFAULT },
		};

		if (!vcpu_expect_step(vcpu, STEP_REFUSED, &uc))
			break;
		TAP_EQ(uc.args[2], 0, "%s: nothing copied", want[i].what);
		TAP_EQ((int32_t)(uc.args[3] >> 32), want[i].status,
		       "%s: refused", want[i].what);
		TAP_EQ((uint32_t)uc.args[3], 0x7777,
		       "%s: entry after it untouched", want[i].what);
	}
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "guest done");
	vm_free(vm);
	close(pvx);
	tap_finish();
}
