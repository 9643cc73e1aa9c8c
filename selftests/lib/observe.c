// SPDX-License-Identifier: GPL-2.0
/* Host-side observers of leftover VM state: see pvx_observe.h. */
#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pvx_test.h"
#include "pvx_observe.h"

#define OBS_MAX_FNS	8

/* Functions looked up while their module was loaded, by address. */
static struct {
	char name[64];
	char addr[24];
} obs_fns[OBS_MAX_FNS];

static const char *obs_fn_addr(const char *fn)
{
	char line[256], name[128], type;
	unsigned long long a;
	FILE *f;
	int i;

	for (i = 0; i < OBS_MAX_FNS && obs_fns[i].name[0]; i++)
		if (!strcmp(obs_fns[i].name, fn))
			return obs_fns[i].addr;
	if (i == OBS_MAX_FNS)
		return "";
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return "";
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %127s", &a, &type, name) != 3 ||
		    strcmp(name, fn) || !a)
			continue;
		snprintf(obs_fns[i].name, sizeof(obs_fns[i].name), "%s", fn);
		/* How %ps prints an address without a symbol. */
		snprintf(obs_fns[i].addr, sizeof(obs_fns[i].addr), "0x%llx", a);
		break;
	}
	fclose(f);
	return obs_fns[i].addr;
}

int obs_timers_armed(const char *fn)
{
	const char *addr = obs_fn_addr(fn);
	char line[512], *p;
	FILE *f = fopen("/proc/timer_list", "r");
	int n = 0;

	if (!f)
		return -1;
	/* " #0: <00000000deadbeef>, pvx_timer_fire, S:01" */
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, ">, ");
		if (!strstr(line, " #") || !p)
			continue;
		p += 3;
		if (!strncmp(p, fn, strlen(fn)) ||
		    (addr[0] && !strncmp(p, addr, strlen(addr))))
			n++;
	}
	fclose(f);
	return n;
}

static bool obs_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	return ok;
}

int obs_kworkers_busy(const char *prefix)
{
	char path[288], comm[64], want[64];
	struct dirent *de;
	DIR *d = opendir("/proc");
	int n = 0;

	if (!d)
		return -1;
	/* A worker's comm: "kworker/u2:1+pvx_split" while it runs an item. */
	snprintf(want, sizeof(want), "+%s", prefix);
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if (obs_read_line(path, comm, sizeof(comm)) &&
		    !strncmp(comm, "kworker", 7) && strstr(comm, want))
			n++;
	}
	closedir(d);
	return n;
}

int obs_threads_named(pid_t pid, const char *comm)
{
	char path[320], name[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", pid,
			 de->d_name);
		if (!obs_read_line(path, name, sizeof(name)))
			continue;
		name[strcspn(name, "\n")] = 0;
		n += !strcmp(name, comm);
	}
	closedir(d);
	return n;
}

/* kthreadd's children: "PID (comm) S 2 ..." in /proc/<pid>/stat. */
static bool obs_is_kthread(const char *pid)
{
	char path[288], line[512], *p;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (!obs_read_line(path, line, sizeof(line)))
		return false;
	p = strrchr(line, ')');
	return p && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == 2;
}

static bool obs_cgroups(const char *pid, char *buf, size_t len)
{
	char path[288];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/cgroup", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return true;
}

int obs_vm_workers(pid_t pid, const char *comm)
{
	char path[288], name[64], vmm_cg[1024], cg[1024], vmm[16];
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (!kernel_older_than(6, 12))
		return obs_threads_named(pid, comm);
	snprintf(vmm, sizeof(vmm), "%d", pid);
	if (!obs_cgroups(vmm, vmm_cg, sizeof(vmm_cg)))
		return -1;
	d = opendir("/proc");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if (!obs_read_line(path, name, sizeof(name)))
			continue;
		name[strcspn(name, "\n")] = 0;
		if (strcmp(name, comm) || !obs_is_kthread(de->d_name) ||
		    !obs_cgroups(de->d_name, cg, sizeof(cg)))
			continue;
		n += !strcmp(cg, vmm_cg);
	}
	closedir(d);
	return n;
}

int obs_task_in(pid_t pid, pid_t tid, const char *fn)
{
	char path[64], line[256];
	FILE *f;
	int found = 0, lines = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stack", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	/* "[<0>] pvx_yield_to+0x45/0xd0 [pvx_host]" */
	while (fgets(line, sizeof(line), f)) {
		lines++;
		if (strstr(line, fn))
			found = 1;
	}
	fclose(f);
	return lines ? found : -1;
}

static int64_t obs_vmstat(const char *key)
{
	char line[128];
	size_t len = strlen(key);
	int64_t v = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ' ')
			v = strtoll(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

int64_t obs_foll_pins(void)
{
	int64_t acq, rel;

	/* Folds the per-CPU deltas in: the totals are exact only then. */
	write_file("/proc/sys/vm/stat_refresh", "1");
	acq = obs_vmstat("nr_foll_pin_acquired");
	rel = obs_vmstat("nr_foll_pin_released");

	return acq < 0 || rel < 0 ? -1 : acq - rel;
}

int64_t obs_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t len = strlen(key);
	int64_t v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			v = strtoll(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

int obs_kvm_vms(pid_t pid)
{
	char prefix[32];
	struct dirent *de;
	DIR *d = opendir("/sys/kernel/debug/kvm");
	int n = 0;

	if (!d)
		return -1;
	snprintf(prefix, sizeof(prefix), "%d-", pid);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

bool obs_module_loaded(const char *name)
{
	char line[256];
	size_t len = strlen(name);
	bool found = false;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ' ')
			found = true;
	fclose(f);
	return found;
}

pid_t fork_reporting(int *fd)
{
	int p[2];
	pid_t pid;

	TEST_ASSERT(!pipe(p), "pipe");
	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	close(pid ? p[1] : p[0]);
	*fd = pid ? p[0] : p[1];
	return pid;
}

int pvx_open_after_load(void)
{
	uint64_t t0 = now_ns();
	int fd;

	do {
		fd = open(PVX_DEV, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			usleep(20000);
	} while (fd < 0 && now_ns() - t0 < 5000000000ULL);
	return fd;
}
