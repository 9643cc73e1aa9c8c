// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_DOORBELL: the VMM registers 32 MMIO ioeventfds (half with
 * length 0, as QEMU does for virtio notify registers) and one port
 * ioeventfd.  The guest rings them all with plain writes, then with one
 * hypercall; each eventfd must count exactly one signal per round, from
 * 32 exits down to one.  An address with no listener reports the
 * fallback status; invalid entries stop the batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "pvx_test.h"

#define NR_MMIO		32
#define MMIO_BASE	0x38000000ULL	/* mapped by the guest, no memslot */
#define MMIO_NONE	0x38100000ULL	/* no listener either */
#define PORT		0x7000
#define NR_ENTRIES	(NR_MMIO + 2)

enum {
	STEP_PLAIN_START = 1,
	STEP_PLAIN_END,
	STEP_BELL_START,
	STEP_BELL_END,
	STEP_INVALID,
};

static struct pvx_doorbell bells[NR_ENTRIES] __attribute__((aligned(64)));

static uint64_t ring(uint64_t count)
{
	return guest_hypercall(PVX_HC_DOORBELL, (uint64_t)bells, count, 0, 0);
}

static void fill(void)
{
	int i;

	for (i = 0; i < NR_MMIO; i++) {
		bells[i].addr = MMIO_BASE + i * 8;
		bells[i].value = i;
		bells[i].space = PVX_DOORBELL_MMIO;
		bells[i].len = i < NR_MMIO / 2 ? 2 : 4;
		bells[i].reserved0 = 0;
		bells[i].status = 0x7777;
	}
	bells[NR_MMIO].addr = PORT;
	bells[NR_MMIO].value = 1;
	bells[NR_MMIO].space = PVX_DOORBELL_PIO;
	bells[NR_MMIO].len = 2;
	bells[NR_MMIO].status = 0x7777;
	bells[NR_MMIO + 1].addr = MMIO_NONE;
	bells[NR_MMIO + 1].value = 1;
	bells[NR_MMIO + 1].space = PVX_DOORBELL_MMIO;
	bells[NR_MMIO + 1].len = 4;
	bells[NR_MMIO + 1].status = 0x7777;
}

static void guest_main(uint64_t arg)
{
	uint64_t r, bad_status = 0;
	int i;

	(void)arg;
	GUEST_SYNC(STEP_PLAIN_START);
	for (i = 0; i < NR_MMIO; i++) {
		if (i < NR_MMIO / 2)
			*(volatile uint16_t *)(MMIO_BASE + i * 8) = i;
		else
			*(volatile uint32_t *)(MMIO_BASE + i * 8) = i;
	}
	asm volatile("outw %w0, %w1" :: "a"(1), "Nd"(PORT));
	GUEST_SYNC(STEP_PLAIN_END);

	fill();
	GUEST_SYNC(STEP_BELL_START);
	r = ring(NR_ENTRIES);
	for (i = 0; i <= NR_MMIO; i++)
		bad_status += bells[i].status != PVX_DOORBELL_DELIVERED;
	GUEST_SYNC(STEP_BELL_END, r, bad_status, bells[NR_MMIO + 1].status);

	for (i = 0; i < 4; i++) {
		fill();
		if (i == 0)
			bells[0].len = 3;
		else if (i == 1)
			bells[0].space = PVX_DOORBELL_PIO, bells[0].addr = 0x10000;
		else if (i == 2)
			bells[0].space = PVX_DOORBELL_PIO, bells[0].len = 8;
		else
			bells[0].reserved0 = 1;
		r = ring(2);
		GUEST_SYNC(STEP_INVALID, r, (uint64_t)(int64_t)bells[0].status,
			   bells[1].status);
	}
	GUEST_DONE();
}

/* What the guest's four bad batches get, in its order. */
static const struct refusal bad_bells[4] = {
	{ "length 3", PVX_EINVAL },
	{ "port above 0xffff", PVX_EINVAL },
	{ "8-byte port write", PVX_EINVAL },
	{ "reserved field set", PVX_EINVAL },
};

static int add_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, bool pio)
{
	struct kvm_ioeventfd io;
	int fd = eventfd(0, EFD_NONBLOCK);

	TEST_ASSERT(fd >= 0, "eventfd");
	memset(&io, 0, sizeof(io));
	io.addr = addr;
	io.len = len;
	io.fd = fd;
	io.flags = pio ? KVM_IOEVENTFD_FLAG_PIO : 0;
	TEST_ASSERT(!ioctl(vm->fd, KVM_IOEVENTFD, &io), "KVM_IOEVENTFD");
	return fd;
}

/* How many eventfds were signalled exactly once since the last call. */
static int signalled_once(const int *fds, int n)
{
	int i, ok = 0;

	for (i = 0; i < n; i++) {
		uint64_t v = 0;

		if (read(fds[i], &v, sizeof(v)) == sizeof(v) && v == 1)
			ok++;
	}
	return ok;
}

int main(void)
{
	uint64_t e0, plain_exits, bell_exits, bell_hc;
	int fds[NR_MMIO + 1], pvx, i;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	tap_init("doorbell_test: PVX_HC_DOORBELL");
	kvm_fd_or_skip();
	pvx = pvx_open_features(PVX_F_DOORBELL);

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_main, 0);
	for (i = 0; i < NR_MMIO; i++)
		fds[i] = add_ioeventfd(vm, MMIO_BASE + i * 8,
				       i < NR_MMIO / 2 ? 0 : 4, false);
	fds[NR_MMIO] = add_ioeventfd(vm, PORT, 2, true);
	pvx_attach(pvx, vm->fd, PVX_F_DOORBELL, 0);

	if (!vcpu_expect_step(vcpu, STEP_PLAIN_START, &uc))
		tap_finish();
	e0 = vcpu_stat(vcpu, "exits");
	if (!vcpu_expect_step(vcpu, STEP_PLAIN_END, &uc))
		tap_finish();
	plain_exits = vcpu_stat(vcpu, "exits") - e0;
	TAP_EQ(signalled_once(fds, NR_MMIO + 1), NR_MMIO + 1,
	       "plain writes: every ioeventfd signalled once");

	if (!vcpu_expect_step(vcpu, STEP_BELL_START, &uc))
		tap_finish();
	e0 = vcpu_stat(vcpu, "exits");
	bell_hc = vcpu_stat(vcpu, "hypercalls");
	if (vcpu_expect_step(vcpu, STEP_BELL_END, &uc)) {
		TAP_EQ(uc.args[1], NR_ENTRIES, "doorbell processed every entry");
		TAP_EQ(uc.args[2], 0, "listened entries: status delivered");
		TAP_EQ(uc.args[3], PVX_DOORBELL_NO_LISTENER,
		       "entry without a listener: fallback status");
	}
	bell_exits = vcpu_stat(vcpu, "exits") - e0;
	bell_hc = vcpu_stat(vcpu, "hypercalls") - bell_hc;
	TAP_EQ(signalled_once(fds, NR_MMIO + 1), NR_MMIO + 1,
	       "doorbell: every ioeventfd signalled once");
	tap_diag("%d MMIO + 1 port notifications: %llu exits as plain writes, %llu with one doorbell (%llu hypercalls); each count includes the closing message's exit",
		 NR_MMIO, (unsigned long long)plain_exits,
		 (unsigned long long)bell_exits, (unsigned long long)bell_hc);
	tap_ok(plain_exits >= NR_MMIO + 1,
	       "plain writes: an exit per notification (%llu)",
	       (unsigned long long)plain_exits);
	TAP_EQ(bell_hc, 1, "doorbell: one hypercall");
	tap_ok(bell_exits * 8 <= plain_exits, "doorbell: %llu exits against %llu",
	       (unsigned long long)bell_exits, (unsigned long long)plain_exits);

	vcpu_expect_refusals(vcpu, STEP_INVALID, "doorbell", bad_bells,
			     ARRAY_SIZE(bad_bells), 0x7777);
	TAP_EQ(signalled_once(fds, NR_MMIO + 1), 0,
	       "refused batches signalled nothing");
	tap_ok(vcpu_get_ucall(vcpu, &uc) == UCALL_DONE, "guest done");
	vm_free(vm);
	for (i = 0; i <= NR_MMIO; i++)
		close(fds[i]);
	close(pvx);
	tap_finish();
}
