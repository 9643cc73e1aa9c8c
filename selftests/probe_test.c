// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_HC_PROBE on an attached VM: the result, every field of the info
 * structure, partial writes, argument errors, and the counters (pvx's and
 * KVM's) that later benchmarks rely on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pvx_test.h"

#define NR_LOOP		1000
#define ATTACH_MAX_LIST	100
#define CANARY		0xa5
#define SHORT_SIZE	6
#define INFO_SIZE	sizeof(struct pvx_probe_info)

enum {
	STEP_FULL = 1,
	STEP_BIG,
	STEP_SHORT,
	STEP_ZERO_SIZE,
	STEP_NO_GPA,
	STEP_NO_GPA_SIZE,
	STEP_A2,
	STEP_A3,
	STEP_UNBACKED,
	STEP_UNASSIGNED,
	STEP_LOOP_START,
	STEP_LOOP_END,
};

/* Calls in steps FULL..UNBACKED, and the errors expected among them. */
#define NR_PROBE_STEPS	9
#define NR_PROBE_ERRORS	4

static uint8_t info_buf[256] __aligned(64);

static void guest_main(uint64_t nr_loop)
{
	uint64_t gpa = (uint64_t)info_buf;
	uint64_t i, bad = 0, last_bad = 0;

	GUEST_SYNC(STEP_FULL, guest_hypercall(PVX_HC_PROBE, gpa, INFO_SIZE, 0, 0));
	GUEST_SYNC(STEP_BIG, guest_hypercall(PVX_HC_PROBE, gpa, sizeof(info_buf), 0, 0));
	GUEST_SYNC(STEP_SHORT, guest_hypercall(PVX_HC_PROBE, gpa, SHORT_SIZE, 0, 0));
	GUEST_SYNC(STEP_ZERO_SIZE, guest_hypercall(PVX_HC_PROBE, gpa, 0, 0, 0));
	GUEST_SYNC(STEP_NO_GPA, guest_hypercall(PVX_HC_PROBE, 0, 0, 0, 0));
	GUEST_SYNC(STEP_NO_GPA_SIZE, guest_hypercall(PVX_HC_PROBE, 0, INFO_SIZE, 0, 0));
	GUEST_SYNC(STEP_A2, guest_hypercall(PVX_HC_PROBE, gpa, INFO_SIZE, 1, 0));
	GUEST_SYNC(STEP_A3, guest_hypercall(PVX_HC_PROBE, gpa, INFO_SIZE, 0, 1));
	GUEST_SYNC(STEP_UNBACKED, guest_hypercall(PVX_HC_PROBE, GUEST_UNBACKED_GPA,
						  INFO_SIZE, 0, 0));
	GUEST_SYNC(STEP_UNASSIGNED, guest_hypercall(PVX_HC_BASE + PVX_HC_COUNT - 1,
						    0, 0, 0, 0));

	GUEST_SYNC(STEP_LOOP_START);
	for (i = 0; i < nr_loop; i++) {
		uint64_t r = guest_hypercall(PVX_HC_PROBE, 0, 0, 0, 0);

		if (r != PVX_SIGNATURE) {
			bad++;
			last_bad = r;
		}
	}
	GUEST_SYNC(STEP_LOOP_END, bad, last_bad);
	GUEST_DONE();
}

static void guest_probe_once(uint64_t arg)
{
	(void)arg;
	GUEST_SYNC(STEP_FULL, guest_hypercall(PVX_HC_PROBE, (uint64_t)info_buf,
					      INFO_SIZE, 0, 0));
	GUEST_DONE();
}

static struct pvx_probe_info expected_info(uint64_t features, uint32_t max,
					   uint64_t instance)
{
	struct pvx_probe_info e;

	memset(&e, 0, sizeof(e));
	e.signature = PVX_SIGNATURE;
	e.abi_version = PVX_ABI_VERSION;
	e.features = features;
	e.hc_base = PVX_HC_BASE;
	e.hc_count = PVX_HC_COUNT;
	e.max_list_entries = max;
	e.info_size = INFO_SIZE;
	e.instance = instance;
	/* The flags of a service the VM has, only then. */
	if (features & PVX_F_TIMER)
		e.timer_flags = PVX_TIMER_CANCEL | PVX_TIMER_TSC_DEADLINE;
	return e;
}

static void fill_canary(struct vm *vm)
{
	memset(guest_ptr(vm, (uint64_t)info_buf), CANARY, sizeof(info_buf));
}

/* Index of the first byte in [from, to) that is not the canary, or -1. */
static int canary_broken(struct vm *vm, size_t from, size_t to)
{
	uint8_t *b = guest_ptr(vm, (uint64_t)info_buf);
	size_t i;

	for (i = from; i < to; i++)
		if (b[i] != CANARY)
			return i;
	return -1;
}

static bool run_step(struct vcpu *vcpu, uint64_t step, struct ucall *uc)
{
	uint64_t cmd = vcpu_get_ucall(vcpu, uc);

	if (cmd != UCALL_SYNC || uc->args[0] != step) {
		tap_ok(false, "guest reached step %llu (got cmd %llu step %llu)",
		       (unsigned long long)step, (unsigned long long)cmd,
		       (unsigned long long)uc->args[0]);
		return false;
	}
	return true;
}

/* The instance the last probe wrote; never 0. */
static uint64_t probed_instance(struct vm *vm)
{
	struct pvx_probe_info got;

	memcpy(&got, guest_ptr(vm, (uint64_t)info_buf), sizeof(got));
	tap_ok(got.instance, "probe: info.instance %#llx, not 0",
	       (unsigned long long)got.instance);
	return got.instance;
}

static void check_info_fields(struct vm *vm, const struct pvx_probe_info *e,
			      const char *what)
{
	struct pvx_probe_info got;
	int i;

	memcpy(&got, guest_ptr(vm, (uint64_t)info_buf), sizeof(got));
	TAP_EQ(got.signature, e->signature, "%s: info.signature", what);
	TAP_EQ(got.abi_version, e->abi_version, "%s: info.abi_version", what);
	TAP_EQ(got.features, e->features, "%s: info.features", what);
	TAP_EQ(got.hc_base, e->hc_base, "%s: info.hc_base", what);
	TAP_EQ(got.hc_count, e->hc_count, "%s: info.hc_count", what);
	TAP_EQ(got.max_list_entries, e->max_list_entries,
	       "%s: info.max_list_entries", what);
	TAP_EQ(got.info_size, e->info_size, "%s: info.info_size", what);
	TAP_EQ(got.instance, e->instance, "%s: info.instance, this attach's",
	       what);
	TAP_EQ(got.timer_flags, e->timer_flags, "%s: info.timer_flags", what);
	for (i = 0; i < 2; i++)
		TAP_EQ(got.reserved[i], 0, "%s: info.reserved[%d]", what, i);
}

static void check_canary(struct vm *vm, size_t from, size_t to,
			 const char *what)
{
	int at = canary_broken(vm, from, to);
	uint8_t *b = guest_ptr(vm, (uint64_t)info_buf);

	if (at < 0)
		tap_ok(true, "%s: bytes %zu..%zu untouched", what, from, to - 1);
	else
		tap_ok(false, "%s: bytes %zu..%zu untouched: byte %d is %#x, not %#x",
		       what, from, to - 1, at, b[at], CANARY);
}

int main(void)
{
	struct pvx_probe_info e;
	struct pvx_vm_stats st;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint64_t features, vm_id, first_id, instance, h0, h1, h2, e1, e2, t1, t2;
	char want_id[PVX_STATS_NAME_SIZE];
	int pvx, r, i;
	bool zero;

	tap_init("probe_test: PVX_HC_PROBE on an attached VM");
	kvm_fd_or_skip();
	pvx = pvx_open();

	r = __pvx_get_features(pvx, &features);
	tap_ok(!r, "PVX_IOC_GET_FEATURES: %s, features %#llx",
	       r ? strerror(-r) : "ok", (unsigned long long)features);
	if (r)
		features = 0;

	vm = vm_create();
	vcpu = vcpu_add(vm, guest_main, NR_LOOP);
	r = __pvx_attach(pvx, vm->fd, features, ATTACH_MAX_LIST, &vm_id);
	if (!tap_ok(!r, "attach with features %#llx, max_list_entries %d: %s, vm_id %llu",
		    (unsigned long long)features, ATTACH_MAX_LIST,
		    r ? strerror(-r) : "ok", (unsigned long long)vm_id))
		tap_finish();

	r = pvx_find_vm(pvx, vm_id, &st);
	if (tap_ok(r == 1, "stats list vm_id %llu after attach (r=%d)",
		   (unsigned long long)vm_id, r)) {
		snprintf(want_id, sizeof(want_id), "kvm-%d", getpid());
		tap_ok(!strcmp(st.kvm_stats_id, want_id),
		       "stats kvm_stats_id \"%.*s\", want \"%s\"",
		       PVX_STATS_NAME_SIZE, st.kvm_stats_id, want_id);
		TAP_EQ(st.features, features, "stats features");
		TAP_EQ(st.max_list_entries, ATTACH_MAX_LIST,
		       "stats max_list_entries");
		zero = true;
		for (i = 0; i < PVX_HC_COUNT; i++)
			if (st.hc[i].calls || st.hc[i].errors)
				zero = false;
		tap_ok(zero, "all hc counters zero right after attach");
	}

	h0 = vcpu_stat(vcpu, "hypercalls");
	fill_canary(vm);
	if (!run_step(vcpu, STEP_FULL, &uc))
		goto out;
	instance = probed_instance(vm);
	e = expected_info(features, ATTACH_MAX_LIST, instance);
	TAP_EQ(uc.args[1], PVX_SIGNATURE, "probe(gpa, sizeof info) result");
	check_info_fields(vm, &e, "full probe");
	check_canary(vm, INFO_SIZE, sizeof(info_buf), "full probe: beyond info");

	fill_canary(vm);
	if (!run_step(vcpu, STEP_BIG, &uc))
		goto out;
	TAP_EQ(uc.args[1], PVX_SIGNATURE, "probe(gpa, %zu) result",
	       sizeof(info_buf));
	tap_ok(!memcmp(guest_ptr(vm, (uint64_t)info_buf), &e, INFO_SIZE),
	       "probe with info_size %zu > sizeof info: info written",
	       sizeof(info_buf));
	check_canary(vm, INFO_SIZE, sizeof(info_buf),
		     "probe with bigger info_size: beyond sizeof(info)");

	fill_canary(vm);
	if (!run_step(vcpu, STEP_SHORT, &uc))
		goto out;
	TAP_EQ(uc.args[1], PVX_SIGNATURE, "probe(gpa, %d) result", SHORT_SIZE);
	tap_ok(!memcmp(guest_ptr(vm, (uint64_t)info_buf), &e, SHORT_SIZE),
	       "probe with info_size %d: first %d bytes written", SHORT_SIZE,
	       SHORT_SIZE);
	check_canary(vm, SHORT_SIZE, sizeof(info_buf),
		     "probe with short info_size");

	fill_canary(vm);
	if (!run_step(vcpu, STEP_ZERO_SIZE, &uc))
		goto out;
	TAP_EQ(uc.args[1], PVX_SIGNATURE, "probe(gpa, 0) result");
	check_canary(vm, 0, sizeof(info_buf), "probe with info_size 0");

	fill_canary(vm);
	if (!run_step(vcpu, STEP_NO_GPA, &uc))
		goto out;
	TAP_EQ(uc.args[1], PVX_SIGNATURE, "probe(0, 0) result");
	/* Documentation/hypercalls.rst: a size without an address is invalid. */
	if (!run_step(vcpu, STEP_NO_GPA_SIZE, &uc))
		goto out;
	TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL), "probe(0, sizeof info)");

	if (!run_step(vcpu, STEP_A2, &uc))
		goto out;
	TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL), "probe with a2 = 1");
	check_canary(vm, 0, sizeof(info_buf), "probe with a2 = 1");
	if (!run_step(vcpu, STEP_A3, &uc))
		goto out;
	TAP_EQ(uc.args[1], PVX_ERR(PVX_EINVAL), "probe with a3 = 1");
	check_canary(vm, 0, sizeof(info_buf), "probe with a3 = 1");

	if (!run_step(vcpu, STEP_UNBACKED, &uc))
		goto out;
	TAP_EQ(uc.args[1], PVX_ERR(PVX_EFAULT),
	       "probe with info_gpa %#llx outside any memslot",
	       (unsigned long long)GUEST_UNBACKED_GPA);

	if (!run_step(vcpu, STEP_UNASSIGNED, &uc))
		goto out;
	TAP_EQ(uc.args[1], PVX_ERR(PVX_ENOSYS),
	       "unassigned number PVX_HC_BASE + %d", PVX_HC_COUNT - 1);

	if (!run_step(vcpu, STEP_LOOP_START, &uc))
		goto out;
	h1 = vcpu_stat(vcpu, "hypercalls");
	e1 = vcpu_stat(vcpu, "exits");
	TAP_EQ(h1 - h0, NR_PROBE_STEPS + 1,
	       "KVM \"hypercalls\" stat delta over the single calls");

	t1 = now_ns();
	if (!run_step(vcpu, STEP_LOOP_END, &uc))
		goto out;
	t2 = now_ns();
	h2 = vcpu_stat(vcpu, "hypercalls");
	e2 = vcpu_stat(vcpu, "exits");
	tap_ok(uc.args[1] == 0, "%d probes in a loop all returned the signature (%llu did not, last %#llx)",
	       NR_LOOP, (unsigned long long)uc.args[1],
	       (unsigned long long)uc.args[2]);
	TAP_EQ(h2 - h1, NR_LOOP, "KVM \"hypercalls\" stat delta over %d probes",
	       NR_LOOP);
	tap_diag("%d probes: %llu exits (%.3f exits per probe, including the message exit), %.1f us per probe",
		 NR_LOOP, (unsigned long long)(e2 - e1),
		 (double)(e2 - e1) / NR_LOOP,
		 (double)(t2 - t1) / 1000.0 / NR_LOOP);
	tap_ok(e2 - e1 >= NR_LOOP && e2 - e1 <= NR_LOOP + NR_LOOP / 10,
	       "KVM \"exits\" delta %llu over %d probes is between %d and %d",
	       (unsigned long long)(e2 - e1), NR_LOOP, NR_LOOP,
	       NR_LOOP + NR_LOOP / 10);

	r = vcpu_get_ucall(vcpu, &uc);
	TAP_EQ(r, UCALL_DONE, "guest finished");

	r = pvx_find_vm(pvx, vm_id, &st);
	if (tap_ok(r == 1, "stats still list vm_id %llu", (unsigned long long)vm_id)) {
		TAP_EQ(st.hc[0].calls, NR_PROBE_STEPS + NR_LOOP,
		       "stats hc[PROBE].calls");
		TAP_EQ(st.hc[0].errors, NR_PROBE_ERRORS,
		       "stats hc[PROBE].errors");
		TAP_EQ(st.hc[PVX_HC_COUNT - 1].calls, 1,
		       "stats hc[%d].calls (unassigned)", PVX_HC_COUNT - 1);
		TAP_EQ(st.hc[PVX_HC_COUNT - 1].errors, 1,
		       "stats hc[%d].errors (unassigned)", PVX_HC_COUNT - 1);
		zero = true;
		for (i = 1; i < PVX_HC_COUNT - 1; i++)
			if (st.hc[i].calls || st.hc[i].errors) {
				tap_diag("hc[%d]: calls %llu errors %llu", i,
					 (unsigned long long)st.hc[i].calls,
					 (unsigned long long)st.hc[i].errors);
				zero = false;
			}
		tap_ok(zero, "stats hc[1..%d] stay zero", PVX_HC_COUNT - 2);
	}
	TAP_EQ(vcpu_stat(vcpu, "hypercalls") - h0, NR_PROBE_STEPS + 1 + NR_LOOP,
	       "KVM \"hypercalls\" stat grew by one per pvx call");

	/* max_list_entries 0 at attach means the default. */
	r = __pvx_detach_fd(pvx, vm->fd);
	tap_ok(!r, "detach: %s", r ? strerror(-r) : "ok");
	first_id = vm_id;
	r = __pvx_attach(pvx, vm->fd, features, 0, &vm_id);
	tap_ok(!r, "re-attach with max_list_entries 0: %s",
	       r ? strerror(-r) : "ok");
	tap_ok(vm_id != first_id,
	       "re-attach: a new instance (vm_id %llu, was %llu)",
	       (unsigned long long)vm_id, (unsigned long long)first_id);
	vcpu_set_entry(vcpu, guest_probe_once, 0);
	fill_canary(vm);
	if (!run_step(vcpu, STEP_FULL, &uc))
		goto out;
	tap_ok(probed_instance(vm) != instance,
	       "re-attach: the guest sees another instance (%#llx, was %#llx)",
	       (unsigned long long)probed_instance(vm),
	       (unsigned long long)instance);
	e = expected_info(features, PVX_DEFAULT_LIST_ENTRIES,
			  probed_instance(vm));
	TAP_EQ(uc.args[1], PVX_SIGNATURE, "probe after re-attach");
	check_info_fields(vm, &e, "default max_list_entries");
	r = vcpu_get_ucall(vcpu, &uc);
	TAP_EQ(r, UCALL_DONE, "guest finished");
	__pvx_detach_fd(pvx, vm->fd);
out:
	vm_free(vm);
	close(pvx);
	tap_finish();
}
