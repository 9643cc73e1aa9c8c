// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the guest-side kselftests.  Static binaries: the guest may
 * be a busybox initramfs with no libc and no kmod, so modules are loaded
 * with finit_module() from a directory when one is given.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "gtest.h"

static const char *module_dir;

void gt_set_module_dir(const char *dir)
{
	module_dir = dir;
}

const char *gt_module_dir(void)
{
	if (!module_dir) {
		const char *e = getenv("PVX_MODULE_DIR");

		module_dir = e && *e ? e : "";
	}
	return module_dir;
}

bool gt_module_loaded(const char *mod)
{
	char path[256];
	struct stat st;

	/* Also there for a built-in module that has parameters. */
	snprintf(path, sizeof(path), "/sys/module/%s", mod);
	return stat(path, &st) == 0;
}

int gt_insmod(const char *mod, const char *params)
{
	const char *dir = gt_module_dir();
	char path[512];
	int fd, ret;

	if (*dir) {
		snprintf(path, sizeof(path), "%s/%s.ko", dir, mod);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			tap_diag("open %s: %s", path, strerror(-ret));
			return ret;
		}
		ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
		close(fd);
		return ret;
	}
	snprintf(path, sizeof(path), "modprobe %s %s", mod, params);
	ret = system(path);
	if (ret == -1)
		return -errno;
	if (!WIFEXITED(ret) || WEXITSTATUS(ret))
		return gt_module_loaded(mod) ? 0 : -ENOENT;
	return 0;
}

int gt_rmmod(const char *mod)
{
	return syscall(SYS_delete_module, mod, O_NONBLOCK) ? -errno : 0;
}

int gt_ensure(const char *mod)
{
	if (gt_module_loaded(mod))
		return 0;
	return gt_insmod(mod, "");
}

uint64_t gt_require_pvx(uint64_t feature, const char *what)
{
	bool nohost = false;
	uint64_t features;
	char line[1024];
	int fd, ret;

	if (!gt_module_loaded("pvx_guest")) {
		/*
		 * pvx_guest refuses to load without a pvx host and says why
		 * in one line: that line, and nothing else, means skip.
		 */
		fd = gt_kmsg_open();
		ret = gt_insmod("pvx_guest", "");
		while (fd >= 0 && gt_kmsg_next(fd, line, sizeof(line)))
			if (!strncmp(line, "pvx: no pvx host", 16) ||
			    !strncmp(line, "pvx: not running on KVM", 23))
				nohost = true;
		if (fd >= 0)
			close(fd);
		if (ret && nohost)
			tap_skip_all("this VM has no pvx host (pvx_guest: %s)",
				     strerror(-ret));
		if (ret)
			tap_bail("cannot load pvx_guest from %s: %s",
				 *gt_module_dir() ? gt_module_dir() :
				 "modprobe", strerror(-ret));
	}
	if (gt_read_u64("/sys/kernel/pvx/features", &features))
		tap_bail("pvx_guest is loaded but /sys/kernel/pvx/features is unreadable");
	if (feature && !(features & feature))
		tap_skip_all("the pvx host offers this VM no %s (features %#" PRIx64 ")",
			     what, features);
	return features;
}

int gt_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = 0;
	return 0;
}

int gt_read_u64(const char *path, uint64_t *val)
{
	char buf[64], *end;
	int ret = gt_read(path, buf, sizeof(buf));

	if (ret)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	return errno || end == buf ? -EINVAL : 0;
}

int gt_write(const char *path, const char *s)
{
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int gt_online_cpus(int *cpus, int max)
{
	char buf[1024], *p;
	int n = 0;

	if (gt_read("/sys/devices/system/cpu/online", buf, sizeof(buf)))
		return 0;
	for (p = strtok(buf, ","); p; p = strtok(NULL, ",")) {
		int a, b;

		if (sscanf(p, "%d-%d", &a, &b) != 2)
			b = a = atoi(p);
		for (; a <= b && n < max; a++)
			cpus[n++] = a;
	}
	return n;
}

int gt_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int gt_irq_counts(const char *name, uint64_t *counts, int max)
{
	int col_cpu[GT_MAX_CPUS], ncol = 0, found = 0;
	char line[8192], *tok, *save;
	FILE *f;

	memset(counts, 0, max * sizeof(*counts));
	f = fopen("/proc/interrupts", "re");
	if (!f)
		return -errno;
	/* The header names the columns: only online CPUs have one. */
	if (fgets(line, sizeof(line), f))
		for (tok = strtok_r(line, " \t\n", &save); tok && ncol < GT_MAX_CPUS;
		     tok = strtok_r(NULL, " \t\n", &save))
			col_cpu[ncol++] = atoi(tok + 3);
	while (fgets(line, sizeof(line), f)) {
		uint64_t v[GT_MAX_CPUS];
		char *last = NULL;
		int i;

		tok = strtok_r(line, " \t\n", &save);
		if (!tok || !isdigit((unsigned char)*tok))
			continue;
		for (i = 0; i < ncol; i++) {
			tok = strtok_r(NULL, " \t\n", &save);
			if (!tok)
				break;
			v[i] = strtoull(tok, NULL, 10);
		}
		if (i < ncol)
			continue;
		while ((tok = strtok_r(NULL, " \t\n", &save)))
			last = tok;
		if (!last || strcmp(last, name))
			continue;
		found++;
		for (i = 0; i < ncol; i++)
			if (col_cpu[i] < max)
				counts[col_cpu[i]] += v[i];
	}
	fclose(f);
	return found;
}

int gt_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	lseek(fd, 0, SEEK_END);
	return fd;
}

bool gt_kmsg_next(int fd, char *line, size_t len)
{
	char rec[8192], *msg, *nl;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			return false;
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		snprintf(line, len, "%s", msg);
		return true;
	}
}

uint64_t ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000ULL + ts->tv_nsec;
}

void ns_ts(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = ns / 1000000000ULL;
	ts->tv_nsec = ns % 1000000000ULL;
}

uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *e = getenv(name);

	return e && *e ? strtoull(e, NULL, 0) : dflt;
}
