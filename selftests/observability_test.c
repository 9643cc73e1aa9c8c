// SPDX-License-Identifier: GPL-2.0
/*
 * What an administrator sees: the pvx:pvx_hypercall tracepoint records a
 * guest's call (VM, vCPU, number, arguments, result), and `pvxctl stats`
 * shows the VM's counters, as a table and as JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pvx_test.h"

#define TRACEFS		"/sys/kernel/tracing"
#define EVENT		TRACEFS "/events/pvx/pvx_hypercall/enable"
#define FORMAT		TRACEFS "/events/pvx/pvx_hypercall/format"
#define MARK_ARG	0x5eed1234ULL
#define NR_CALLS	7

static void guest_main(uint64_t arg)
{
	int i;

	(void)arg;
	/* Errors must show in trace and stats as well as successes. */
	guest_hypercall(PVX_HC_BASE + 60, 0, 0, 0, 0);
	guest_hypercall(PVX_HC_PROBE, 0, 0, 0, MARK_ARG);
	for (i = 0; i < NR_CALLS; i++)
		guest_hypercall(PVX_HC_PROBE, 0, 0, 0, 0);
	GUEST_DONE();
}

/* The whole output of a command or file, NUL-terminated; caller frees. */
static char *slurp(FILE *f)
{
	size_t len = 0, room = 1 << 16;
	char *buf = malloc(room);
	size_t n;

	TEST_ASSERT(buf, "malloc");
	while ((n = fread(buf + len, 1, room - len - 1, f)) > 0) {
		len += n;
		if (room - len < 4096) {
			room *= 2;
			buf = realloc(buf, room);
			TEST_ASSERT(buf, "realloc");
		}
	}
	buf[len] = '\0';
	return buf;
}

static int count_lines_with(const char *text, const char *a, const char *b)
{
	const char *line = text;
	int n = 0;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char tmp[512];

		if (len >= sizeof(tmp))
			len = sizeof(tmp) - 1;
		memcpy(tmp, line, len);
		tmp[len] = '\0';
		if (strstr(tmp, a) && (!b || strstr(tmp, b)))
			n++;
		line = end ? end + 1 : NULL;
	}
	return n;
}

static const char *pvxctl_path(void)
{
	const char *p = getenv("PVXCTL");

	if (p)
		return p;
	return access("/pvx/pvxctl", X_OK) ? "../tools/pvxctl/pvxctl" : "/pvx/pvxctl";
}

/* Drops the blanks outside strings: JSON without its layout. */
static void squeeze(char *s)
{
	bool in_string = false;
	char *d = s;

	for (; *s; s++) {
		if (*s == '"' && (d == s || s[-1] != '\\'))
			in_string = !in_string;
		if (!in_string && (*s == ' ' || *s == '\n' || *s == '\t'))
			continue;
		*d++ = *s;
	}
	*d = 0;
}

int main(void)
{
	char want[128], want_err[128], want_mark[128], cmd[256];
	struct ucall uc;
	char *trace, *out;
	struct vm *vm;
	uint64_t id;
	int pvx, r;
	FILE *f;

	tap_init("observability_test: tracepoint and pvxctl stats");
	kvm_fd_or_skip();
	pvx = pvx_open();

	if (access(EVENT, F_OK))
		mount("nodev", TRACEFS, "tracefs", 0, NULL);
	r = write_file(EVENT, "1");
	if (!tap_ok(!r, "enable %s: %s", EVENT, r ? strerror(-r) : "ok"))
		tap_finish();
	write_file(TRACEFS "/trace", "");

	vm = vm_create();
	vcpu_add(vm, guest_main, 0);
	id = pvx_attach(pvx, vm->fd, 0, 0);
	tap_ok(vcpu_get_ucall(vm->vcpus[0], &uc) == UCALL_DONE, "guest done");
	write_file(EVENT, "0");

	f = fopen(TRACEFS "/trace", "r");
	TEST_ASSERT(f, "open trace");
	trace = slurp(f);
	fclose(f);
	/*
	 * The kernel's %#lx prints 0 as 0x0.  A number is shown by its name
	 * in the ABI's list, one without a name in hex.
	 */
	snprintf(want, sizeof(want), "vm %llu vcpu 0 nr probe args 0x0 0x0 0x0 0x0 ret %d",
		 (unsigned long long)id, (int)PVX_SIGNATURE);
	snprintf(want_mark, sizeof(want_mark),
		 "vm %llu vcpu 0 nr probe args 0x0 0x0 0x0 %#llx ret -22",
		 (unsigned long long)id, MARK_ARG);
	snprintf(want_err, sizeof(want_err), "vm %llu vcpu 0 nr %#x args 0x0 0x0 0x0 0x0 ret -1000",
		 (unsigned long long)id, PVX_HC_BASE + 60);
	if (count_lines_with(trace, "pvx_hypercall:", want) != NR_CALLS) {
		char *first = strstr(trace, "pvx_hypercall:");

		tap_diag("first trace event: %.160s", first ? first : "(none)");
	}
	TAP_EQ(count_lines_with(trace, "pvx_hypercall:", want), NR_CALLS,
	       "trace has each probe: \"%s\"", want);
	TAP_EQ(count_lines_with(trace, "pvx_hypercall:", want_err), 1,
	       "trace has the unassigned number: \"%s\"", want_err);
	TAP_EQ(count_lines_with(trace, "pvx_hypercall:", want_mark), 1,
	       "trace has the refused probe and its argument: \"%s\"",
	       want_mark);
	free(trace);

	/* What perf and trace-cmd read: the names' numbers, not enum names. */
	f = fopen(FORMAT, "r");
	TEST_ASSERT(f, "open " FORMAT);
	trace = slurp(f);
	fclose(f);
	snprintf(want, sizeof(want), "{ %u, \"iommu_unmap\" }", PVX_HC_IOMMU_UNMAP);
	tap_ok(strstr(trace, want) && !strstr(trace, "PVX_HC_"),
	       "format names the numbers: %s, no PVX_HC_ left", want);
	free(trace);

	snprintf(cmd, sizeof(cmd), "%s stats --json", pvxctl_path());
	f = popen(cmd, "r");
	TEST_ASSERT(f, "popen");
	out = slurp(f);
	r = pclose(f);
	tap_ok(r == 0, "`%s` exits 0 (status %#x)", cmd, r);
	/* Whatever spacing the JSON writer chooses. */
	squeeze(out);
	snprintf(want, sizeof(want), "{\"vm_id\":%llu,\"kvm\":\"kvm-%d\"",
		 (unsigned long long)id, getpid());
	tap_ok(strstr(out, want) != NULL, "JSON lists the VM: %s", want);
	snprintf(want, sizeof(want), "\"probe\":{\"calls\":%d,\"errors\":1}",
		 NR_CALLS + 1);
	tap_ok(strstr(out, want) != NULL, "JSON counts the probes: %s", want);
	snprintf(want, sizeof(want), "\"%#x\":{\"calls\":1,\"errors\":1}",
		 PVX_HC_BASE + 60);
	tap_ok(strstr(out, want) != NULL, "JSON counts the failed call: %s", want);
	free(out);

	snprintf(cmd, sizeof(cmd), "%s stats", pvxctl_path());
	f = popen(cmd, "r");
	TEST_ASSERT(f, "popen");
	out = slurp(f);
	pclose(f);
	snprintf(want, sizeof(want), "vm %llu (kvm-%d)", (unsigned long long)id,
		 getpid());
	tap_ok(strstr(out, want) != NULL, "table lists the VM: %s", want);
	tap_ok(count_lines_with(out, "probe", " 8 ") == 1,
	       "table row: probe, 8 calls");
	free(out);

	vm_free(vm);
	close(pvx);
	tap_finish();
}
