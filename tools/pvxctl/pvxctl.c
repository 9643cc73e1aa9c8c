// SPDX-License-Identifier: GPL-2.0
/*
 * pvxctl: attach running VMMs to pvx, detach them, read pvx's counters,
 * ask a guest's balloon for memory.
 *
 * "attach --pid" works on an unmodified VMM: it finds the process's KVM VM
 * fd (anon_inode:kvm-vm), takes a copy of it with pidfd_getfd(2) (which
 * needs ptrace rights over the VMM) and hands that to /dev/pvx.  pvx holds
 * no reference on the fd, so the copy is closed straight away.
 *
 * Exit status: 0 done, 1 failed, 2 the command line was wrong.  The ioctl
 * structures are pvxdev.c's business; this file never sees them.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "pvxdev.h"
#include "version.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#ifndef PVXCTL_VERSION
#define PVXCTL_VERSION "unknown"
#endif

#define PVX_DEV "/dev/pvx"
#define PVX_SYSFS_MODULE "/sys/module/pvx_host"

/*
 * The JSON output's schema.  1 was the hand-written output before it had a
 * version; 2 names features, and carries "schema", "pvxctl" and "abi";
 * 3 names hypercalls as the ABI's list does (prefault_write,
 * balloon_inflate, balloon_deflate: were prefault, inflate, deflate).
 */
#define JSON_SCHEMA 3

#define EXIT_USAGE 2

static const struct feature {
	const char *name;
	uint64_t bit;
	const char *what;
} features[] = {
	{ "yield_to", PVX_F_YIELD_TO, "yield to a preempted lock holder" },
	{ "timer", PVX_F_TIMER, "one-shot timers by hypercall" },
	{ "msr_batch", PVX_F_MSR_BATCH, "MSR writes in batches" },
	{ "prefault", PVX_F_PREFAULT, "make guest pages present and writable" },
	{ "copy_pages", PVX_F_COPY_PAGES, "copy guest pages" },
	{ "split", PVX_F_SPLIT, "split-phase prefault and copy" },
	{ "doorbell", PVX_F_DOORBELL, "ioeventfd doorbells by hypercall" },
	{ "balloon", PVX_F_BALLOON, "balloon by page ranges" },
	{ "iommu", PVX_F_IOMMU, "IOMMU mappings for a passed-through device" },
	{ "lockhint", PVX_F_LOCKHINT, "yield to preempted vCPUs in a critical section" },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NR_FEATURES ARRAY_SIZE(features)

/* By nr - PVX_HC_BASE: the names the ABI's list gives (<linux/pvx_para.h>). */
#define HC_NAME(NAME, name, ...) \
	[PVX_HC_##NAME - PVX_HC_BASE] = #name,
static const char *const hc_names[PVX_HC_COUNT] = {
	PVX_HYPERCALLS(HC_NAME)
};
#undef HC_NAME

static const char *const yield_names[PVX_YIELD_NR_RESULTS] = {
	[PVX_YIELD_DONE] = "done",
	[PVX_YIELD_NOT_PREEMPTED] = "not_preempted",
	[PVX_YIELD_DECLINED] = "declined",
	[PVX_YIELD_RATE_LIMITED] = "rate_limited",
};

/* Options, by bit number in a command's allowed set. */
enum {
	O_PID,
	O_FD,
	O_ID,
	O_FEATURES,
	O_MAX_LIST,
	O_JSON,
	O_TARGET_MB,
	O_TARGET_PAGES,
	O_NO_TARGET,
	O_WATCH,
	O_INTERVAL,
	O_COUNT,
	O_DRY_RUN,
	O_LIST,
	O_MASK,
	O_HELP,
	O_NR
};

#define OPT(o)		(1U << (o))
#define OPT_VAL_BASE	0x100

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, OPT_VAL_BASE + O_PID },
	{ "fd", required_argument, NULL, OPT_VAL_BASE + O_FD },
	{ "id", required_argument, NULL, OPT_VAL_BASE + O_ID },
	{ "features", required_argument, NULL, OPT_VAL_BASE + O_FEATURES },
	{ "max-list", required_argument, NULL, OPT_VAL_BASE + O_MAX_LIST },
	{ "json", no_argument, NULL, OPT_VAL_BASE + O_JSON },
	{ "target-mb", required_argument, NULL, OPT_VAL_BASE + O_TARGET_MB },
	{ "target-pages", required_argument, NULL,
	  OPT_VAL_BASE + O_TARGET_PAGES },
	{ "no-target", no_argument, NULL, OPT_VAL_BASE + O_NO_TARGET },
	{ "watch", no_argument, NULL, OPT_VAL_BASE + O_WATCH },
	{ "interval", required_argument, NULL, OPT_VAL_BASE + O_INTERVAL },
	{ "count", required_argument, NULL, OPT_VAL_BASE + O_COUNT },
	{ "dry-run", no_argument, NULL, OPT_VAL_BASE + O_DRY_RUN },
	{ "list", no_argument, NULL, OPT_VAL_BASE + O_LIST },
	{ "mask", no_argument, NULL, OPT_VAL_BASE + O_MASK },
	{ "help", no_argument, NULL, OPT_VAL_BASE + O_HELP },
	{ 0 }
};

/* The command line, parsed. */
struct args {
	const struct command *cmd;
	unsigned int given;		/* OPT() of each option seen */
	pid_t *pids;
	unsigned int nr_pids;
	int want_fd;
	uint64_t vm_id;
	uint64_t features;		/* unless features_all */
	int features_all;		/* none given, or "all": what the host offers */
	uint32_t max_list;
	uint64_t target;		/* balloon target in pages */
	double interval;		/* seconds */
	uint64_t count;			/* 0: no limit */
};

struct command {
	const char *name;
	const char *summary;
	const char *synopsis;
	const char *options;
	unsigned int allowed;
	int (*run)(struct args *a);
};

static const struct command *find_command(const char *name);
static const struct command commands[];

static const char *dev_path(void)
{
	const char *p = getenv("PVXCTL_DEVICE");

	return p && *p ? p : PVX_DEV;
}

/* A wrong command line: say what, point at the help, exit status 2. */
static int usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pvxctl%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pvxctl %s%s--help'.\n", cmd ? cmd->name : "",
		cmd ? " " : "");
	return EXIT_USAGE;
}

/* --- features --------------------------------------------------------- */

/* Names joined by ',', unknown bits in hex; "none" for 0. */
static const char *format_features(uint64_t mask, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int i;
	uint64_t rest = mask;

	buf[0] = '\0';
	if (!mask) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (i = 0; i < NR_FEATURES; i++) {
		if (!(mask & features[i].bit))
			continue;
		rest &= ~features[i].bit;
		used += snprintf(buf + used, used < len ? len - used : 0,
				 "%s%s", used ? "," : "", features[i].name);
	}
	for (i = 0; i < 64; i++) {
		if (!(rest & (1ULL << i)))
			continue;
		used += snprintf(buf + used, used < len ? len - used : 0,
				 "%s%#llx", used ? "," : "", 1ULL << i);
	}
	return buf;
}

#define FEATURES_BUF 256

static int parse_u64(const char *s, uint64_t *val)
{
	char *end;

	/* strtoull() takes "-1" and leading blanks: a count never has them */
	if (!*s || *s == '-' || *s == '+' || (*s >= '\t' && *s <= ' '))
		return -1;
	errno = 0;
	*val = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

/*
 * "timer,yield_to", "0x1ff", "0", "all", "none", or a mix of names and
 * numbers joined by ','.  Names may be spelt with '-' for '_'.
 */
static int parse_features(const struct command *cmd, const char *spec,
			  uint64_t *mask, int *all)
{
	char *copy, *tok, *save = NULL;
	char list[FEATURES_BUF];
	unsigned int i;
	int ret = 0;

	*mask = 0;
	*all = 0;
	if (!strcmp(spec, "all")) {
		*all = 1;
		return 0;
	}
	copy = strdup(spec);
	if (!copy) {
		perror("pvxctl");
		return 1;
	}
	for (save = copy; (tok = strsep(&save, ","));) {
		uint64_t val;
		char *c;

		if (!*tok) {
			ret = usage_error(cmd, "empty item in --features '%s'",
					  spec);
			break;
		}
		if (!parse_u64(tok, &val)) {
			*mask |= val;
			continue;
		}
		for (c = tok; *c; c++)
			if (*c == '-')
				*c = '_';
		if (!strcmp(tok, "none"))
			continue;
		for (i = 0; i < NR_FEATURES; i++)
			if (!strcmp(tok, features[i].name))
				break;
		if (i == NR_FEATURES) {
			format_features(PVX_FEATURES_ALL, list, sizeof(list));
			ret = usage_error(cmd,
					  "unknown feature '%s' in --features (known: %s; or all, none, a mask such as 0x1ff)",
					  tok, list);
			break;
		}
		*mask |= features[i].bit;
	}
	free(copy);
	return ret;
}

static struct json_object *features_json(uint64_t mask)
{
	struct json_object *arr = json_object_new_array();
	char hex[24];
	unsigned int i;
	uint64_t rest = mask;

	for (i = 0; i < NR_FEATURES; i++) {
		if (!(mask & features[i].bit))
			continue;
		rest &= ~features[i].bit;
		json_object_array_add(arr,
				      json_object_new_string(features[i].name));
	}
	for (i = 0; i < 64; i++) {
		if (!(rest & (1ULL << i)))
			continue;
		snprintf(hex, sizeof(hex), "%#llx", 1ULL << i);
		json_object_array_add(arr, json_object_new_string(hex));
	}
	return arr;
}

static void json_print(struct json_object *obj)
{
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

/* The top of every JSON document pvxctl prints. */
static struct json_object *json_head(void)
{
	struct json_object *root = json_object_new_object();

	json_object_object_add(root, "schema", json_object_new_int(JSON_SCHEMA));
	json_object_object_add(root, "pvxctl",
			       json_object_new_string(PVXCTL_VERSION));
	return root;
}

/* --- errors ----------------------------------------------------------- */

enum dev_op { OP_FEATURES, OP_ATTACH, OP_DETACH_ID, OP_DETACH_FD, OP_STATS,
	      OP_BALLOON };

/* What an errno from pvx_host means for that ioctl, or NULL. */
static const char *dev_errno_hint(enum dev_op op, int err)
{
	switch (err) {
	case ENOTTY:
		return "this pvx_host does not know the ioctl: it is older than pvxctl; load the pvx_host built with this pvxctl";
	case EPERM:
	case EACCES:
		return "pvx_host did not authorize this request";
	case ENOMEM:
		return "pvx_host is out of memory";
	}
	switch (op) {
	case OP_FEATURES:
		break;
	case OP_ATTACH:
		switch (err) {
		case EBUSY:
			return "that VM is attached already (pvxctl stats lists it)";
		case EOPNOTSUPP:
			return "pvx_host does not offer a feature asked for (pvxctl features lists those it does)";
		case EINVAL:
			return "pvx_host refused the request: the fd is not a VM of this kernel's KVM, --max-list is above its limit, or pvxctl and pvx_host are of different versions";
		case EBADF:
			return "the VM fd went away";
		}
		break;
	case OP_DETACH_ID:
		if (err == ENOENT)
			return "no VM of that id is attached (pvxctl stats lists them)";
		if (err == EINVAL)
			return "pvx_host refused the request: pvxctl and pvx_host are of different versions?";
		break;
	case OP_DETACH_FD:
		if (err == ENOENT)
			return "that VM is not attached to pvx";
		if (err == EINVAL)
			return "pvx_host refused the request: the fd is not a VM of this kernel's KVM, or pvxctl and pvx_host are of different versions";
		break;
	case OP_STATS:
		if (err == EINVAL)
			return "pvx_host refused this pvxctl's request: pvxctl and pvx_host are of different versions?";
		if (err == EFAULT)
			return "pvx_host could not write the records: pvxctl and pvx_host disagree on their size?";
		break;
	case OP_BALLOON:
		switch (err) {
		case ENOENT:
			return "no VM of that id is attached (pvxctl stats lists them)";
		case ENOSPC:
			return "above pvx_host's balloon_limit_mb or the VM's RAM";
		case EOPNOTSUPP:
			return "VM attached without the balloon feature";
		case EINVAL:
			return "pvx_host refused the request: pvxctl and pvx_host are of different versions?";
		}
		break;
	}
	return NULL;
}

static void dev_error(enum dev_op op, int err, const char *fmt, ...)
{
	const char *hint = dev_errno_hint(op, err);
	va_list ap;

	fputs("pvxctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s%s%s%s\n", strerror(err), hint ? " (" : "",
		hint ? hint : "", hint ? ")" : "");
}

static int open_pvx(void)
{
	const char *path = dev_path();
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	switch (errno) {
	case ENOENT:
		if (!access(PVX_SYSFS_MODULE, F_OK))
			fprintf(stderr,
				"pvxctl: %s does not exist, though the pvx_host module is loaded (did udev not make the node?)\n",
				path);
		else
			fprintf(stderr,
				"pvxctl: %s does not exist: the pvx_host module is not loaded (run 'modprobe pvx_host')\n",
				path);
		break;
	case ENXIO:
	case ENODEV:
		fprintf(stderr,
			"pvxctl: %s: no device behind the node: the pvx_host module is not loaded (run 'modprobe pvx_host')\n",
			path);
		break;
	case EACCES:
	case EPERM:
		if (geteuid())
			fprintf(stderr,
				"pvxctl: %s: %s: pvxctl must run as root\n",
				path, strerror(errno));
		else
			fprintf(stderr,
				"pvxctl: %s: %s, though running as root (a security module's policy?)\n",
				path, strerror(errno));
		break;
	default:
		fprintf(stderr, "pvxctl: %s: %s\n", path, strerror(errno));
	}
	return -1;
}

/* --- processes -------------------------------------------------------- */

/* The process's name, or "?": for messages only. */
static const char *proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static int no_such_process(pid_t pid)
{
	fprintf(stderr, "pvxctl: no such process: %d\n", pid);
	return -1;
}

/* The VMM's fd number of its KVM VM, or -1; want_fd >= 0 picks one. */
static int find_vm_fd(pid_t pid, int want_fd)
{
	char dir[64], path[PATH_MAX], target[256], comm[32];
	struct dirent *de;
	int found = -1, count = 0;
	struct stat sb;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d", pid);
	if (stat(dir, &sb))
		return no_such_process(pid);
	proc_comm(pid, comm, sizeof(comm));

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT || errno == ESRCH)
			return no_such_process(pid);
		if (errno == EACCES || errno == EPERM)
			fprintf(stderr,
				"pvxctl: process %d (%s): cannot list its fds: %s\n",
				pid, comm, geteuid() ?
				"not root (pvxctl must run as root)" :
				"no CAP_SYS_PTRACE over it");
		else
			fprintf(stderr, "pvxctl: %s: %s\n", dir,
				strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		ssize_t n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:kvm-vm"))
			continue;
		if (want_fd >= 0 && fd != want_fd)
			continue;
		found = fd;
		count++;
	}
	closedir(d);

	if (!count && want_fd >= 0) {
		fprintf(stderr,
			"pvxctl: process %d (%s): fd %d is not a KVM VM\n",
			pid, comm, want_fd);
		return -1;
	}
	if (!count) {
		fprintf(stderr,
			"pvxctl: process %d (%s) has no KVM VM (no anon_inode:kvm-vm among its fds): not a VMM, or its VM not created yet\n",
			pid, comm);
		return -1;
	}
	if (count > 1) {
		fprintf(stderr,
			"pvxctl: process %d (%s) has %d KVM VMs: choose one with --fd\n",
			pid, comm, count);
		return -1;
	}
	return found;
}

/* A copy of the VMM's KVM VM fd in this process, or -1. */
static int grab_vm_fd(pid_t pid, int want_fd)
{
	int remote, pidfd, fd;
	char comm[32];

	remote = find_vm_fd(pid, want_fd);
	if (remote < 0)
		return -1;

	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		if (errno == ESRCH)
			return no_such_process(pid);
		fprintf(stderr, "pvxctl: pidfd_open(%d): %s\n", pid,
			strerror(errno));
		return -1;
	}
	fd = syscall(SYS_pidfd_getfd, pidfd, remote, 0);
	if (fd < 0) {
		int err = errno;

		proc_comm(pid, comm, sizeof(comm));
		if (err == EPERM)
			fprintf(stderr,
				"pvxctl: process %d (%s): cannot take its VM fd: %s (pidfd_getfd needs ptrace rights over it; Yama's ptrace_scope or a security module may withhold them)\n",
				pid, comm, geteuid() ?
				"not root (pvxctl must run as root)" :
				"no CAP_SYS_PTRACE over it");
		else if (err == ESRCH)
			no_such_process(pid);
		else
			fprintf(stderr,
				"pvxctl: pidfd_getfd(%d, %d): %s%s\n", pid,
				remote, strerror(err), err == EBADF ?
				" (the process closed its VM fd)" : "");
	}
	close(pidfd);
	return fd;
}

/* --- commands --------------------------------------------------------- */

static int cmd_features(struct args *a)
{
	char list[FEATURES_BUF];
	struct json_object *root, *arr, *o;
	uint64_t mask;
	unsigned int i;
	int dev, ret;

	if ((a->given & OPT(O_LIST)) && (a->given & OPT(O_MASK)))
		return usage_error(a->cmd, "--list and --mask conflict");
	if ((a->given & OPT(O_JSON)) && (a->given & OPT(O_MASK)))
		return usage_error(a->cmd, "--json and --mask conflict");

	if (a->given & OPT(O_LIST)) {
		if (!(a->given & OPT(O_JSON))) {
			printf("%-12s %3s %6s  %s\n", "feature", "bit", "mask",
			       "service");
			for (i = 0; i < NR_FEATURES; i++)
				printf("%-12s %3d %#6llx  %s\n",
				       features[i].name,
				       __builtin_ctzll(features[i].bit),
				       (unsigned long long)features[i].bit,
				       features[i].what);
			return 0;
		}
		root = json_head();
		arr = json_object_new_array();
		for (i = 0; i < NR_FEATURES; i++) {
			o = json_object_new_object();
			json_object_object_add(o, "name",
				json_object_new_string(features[i].name));
			json_object_object_add(o, "mask",
				json_object_new_uint64(features[i].bit));
			json_object_object_add(o, "service",
				json_object_new_string(features[i].what));
			json_object_array_add(arr, o);
		}
		json_object_object_add(root, "known", arr);
		json_print(root);
		return 0;
	}

	dev = open_pvx();
	if (dev < 0)
		return 1;
	ret = pvxdev_get_features(dev, &mask);
	close(dev);
	if (ret) {
		dev_error(OP_FEATURES, -ret, "PVX_IOC_GET_FEATURES");
		return 1;
	}
	if (a->given & OPT(O_MASK)) {
		printf("%#" PRIx64 "\n", mask);
	} else if (a->given & OPT(O_JSON)) {
		root = json_head();
		json_object_object_add(root, "features", features_json(mask));
		json_object_object_add(root, "features_mask",
				       json_object_new_uint64(mask));
		json_print(root);
	} else {
		printf("%s\n", format_features(mask, list, sizeof(list)));
	}
	return 0;
}

static int cmd_attach(struct args *a)
{
	char list[FEATURES_BUF], comm[32];
	unsigned int i, ok = 0;
	uint64_t vm_id, want = a->features, offered;
	int dev = -1, vm_fd, ret;

	if (!a->nr_pids)
		return usage_error(a->cmd, "needs --pid");
	if (a->want_fd >= 0 && a->nr_pids > 1)
		return usage_error(a->cmd, "--fd goes with a single --pid");

	if (a->given & OPT(O_DRY_RUN)) {
		if (a->features_all)
			printf("dry run: features all pvx_host offers");
		else
			printf("dry run: features %s (%#" PRIx64 ")",
			       format_features(a->features, list,
					       sizeof(list)), a->features);
		printf(", max-list ");
		if (a->max_list)
			printf("%u\n", a->max_list);
		else
			printf("pvx_host's default\n");
		fflush(stdout);
		for (i = 0; i < a->nr_pids; i++) {
			vm_fd = find_vm_fd(a->pids[i], a->want_fd);
			if (vm_fd < 0)
				continue;
			printf("process %d (%s): KVM VM fd %d: would attach\n",
			       a->pids[i], proc_comm(a->pids[i], comm,
						     sizeof(comm)), vm_fd);
			ok++;
		}
		return ok == a->nr_pids ? 0 : 1;
	}

	dev = open_pvx();
	if (dev < 0)
		return 1;
	if (a->features_all) {
		ret = pvxdev_get_features(dev, &want);
		if (ret) {
			dev_error(OP_FEATURES, -ret, "PVX_IOC_GET_FEATURES");
			close(dev);
			return 1;
		}
	}
	for (i = 0; i < a->nr_pids; i++) {
		pid_t pid = a->pids[i];

		vm_fd = grab_vm_fd(pid, a->want_fd);
		if (vm_fd < 0)
			continue;
		ret = pvxdev_attach(dev, vm_fd, want, a->max_list, &vm_id);
		close(vm_fd);
		if (ret == -EOPNOTSUPP && !pvxdev_get_features(dev, &offered) &&
		    (want & ~offered)) {
			fprintf(stderr,
				"pvxctl: attach process %d: pvx_host does not offer %s",
				pid, format_features(want & ~offered, list,
						     sizeof(list)));
			fprintf(stderr, " (it offers: %s)\n",
				format_features(offered, list, sizeof(list)));
			continue;
		}
		if (ret) {
			dev_error(OP_ATTACH, -ret, "attach process %d", pid);
			continue;
		}
		printf("attached process %d as vm %" PRIu64 ", features %s\n",
		       pid, vm_id, format_features(want, list, sizeof(list)));
		ok++;
	}
	close(dev);
	if (a->nr_pids > 1 && ok < a->nr_pids)
		fprintf(stderr, "pvxctl: attached %u of %u processes\n", ok,
			a->nr_pids);
	return ok == a->nr_pids ? 0 : 1;
}

static int cmd_detach(struct args *a)
{
	unsigned int i, ok = 0;
	int dev, vm_fd, ret;

	if (!(a->given & (OPT(O_ID) | OPT(O_PID))))
		return usage_error(a->cmd, "needs --id or --pid");
	if ((a->given & OPT(O_ID)) && (a->given & OPT(O_PID)))
		return usage_error(a->cmd, "--id and --pid conflict: give one");
	if ((a->given & OPT(O_FD)) && !(a->given & OPT(O_PID)))
		return usage_error(a->cmd, "--fd goes with --pid");
	if (a->want_fd >= 0 && a->nr_pids > 1)
		return usage_error(a->cmd, "--fd goes with a single --pid");

	dev = open_pvx();
	if (dev < 0)
		return 1;
	if (a->given & OPT(O_ID)) {
		ret = pvxdev_detach_id(dev, a->vm_id);
		close(dev);
		if (ret) {
			dev_error(OP_DETACH_ID, -ret, "detach vm %" PRIu64,
				  a->vm_id);
			return 1;
		}
		printf("detached vm %" PRIu64 "\n", a->vm_id);
		return 0;
	}
	for (i = 0; i < a->nr_pids; i++) {
		vm_fd = grab_vm_fd(a->pids[i], a->want_fd);
		if (vm_fd < 0)
			continue;
		ret = pvxdev_detach_fd(dev, vm_fd);
		close(vm_fd);
		if (ret) {
			dev_error(OP_DETACH_FD, -ret, "detach process %d",
				  a->pids[i]);
			continue;
		}
		printf("detached process %d\n", a->pids[i]);
		ok++;
	}
	close(dev);
	if (a->nr_pids > 1 && ok < a->nr_pids)
		fprintf(stderr, "pvxctl: detached %u of %u processes\n", ok,
			a->nr_pids);
	return ok == a->nr_pids ? 0 : 1;
}

static const char *hc_name(unsigned int i, char *buf, size_t len)
{
	if (hc_names[i])
		return hc_names[i];
	snprintf(buf, len, "%#x", PVX_HC_BASE + i);
	return buf;
}

/* The pid in KVM's "kvm-<pid>", or 0. */
static pid_t kvm_name_pid(const char *name)
{
	uint64_t pid;

	if (strncmp(name, "kvm-", 4) || parse_u64(name + 4, &pid) ||
	    !pid || pid > INT_MAX)
		return 0;
	return pid;
}

/* Is @vm one that --pid asked for (or was no --pid given)? */
static int vm_selected(const struct args *a, const struct pvxdev_vm *vm)
{
	pid_t pid = kvm_name_pid(vm->kvm_name);
	unsigned int i;

	if (!a->nr_pids)
		return 1;
	for (i = 0; i < a->nr_pids; i++)
		if (pid == a->pids[i])
			return 1;
	return 0;
}

static void print_table(const struct args *a, const struct pvxdev_stats *st)
{
	char name[16], list[FEATURES_BUF];
	unsigned int v, i;

	printf("attached VMs: %u, VM states alive: %" PRIu64 "\n",
	       st->nr_vms, st->live_vms);
	for (v = 0; v < st->nr_vms; v++) {
		const struct pvxdev_vm *vm = &st->vms[v];

		if (!vm_selected(a, vm))
			continue;
		printf("\nvm %" PRIu64 " (%s) features %s max-list %u\n",
		       vm->vm_id, vm->kvm_name,
		       format_features(vm->features, list, sizeof(list)),
		       vm->max_list_entries);
		printf("  %-15s %14s %14s\n", "hypercall", "calls", "errors");
		for (i = 0; i < PVX_HC_COUNT; i++) {
			if (!vm->hc[i].calls && !hc_names[i])
				continue;
			printf("  %-15s %14" PRIu64 " %14" PRIu64 "\n",
			       hc_name(i, name, sizeof(name)),
			       vm->hc[i].calls, vm->hc[i].errors);
		}
		printf("  yields:");
		for (i = 0; i < PVX_YIELD_NR_RESULTS; i++)
			printf(" %s %" PRIu64, yield_names[i], vm->yield[i]);
		printf("\n  timers fired: %" PRIu64 "\n", vm->timers_fired);
		printf("  prefault calls over the budget: %" PRIu64 "\n",
		       vm->prefault_limited);
		printf("  lock waits: %" PRIu64 " boosted %" PRIu64
		       " refused %" PRIu64 " none %" PRIu64
		       "; passed over: count zero %" PRIu64
		       " unreadable %" PRIu64 "\n",
		       vm->lock_waits, vm->lock_boosts, vm->lock_refused,
		       vm->lock_none, vm->lock_zero_count,
		       vm->lock_unreadable);
		printf("  balloon: %" PRIu64 " pages", vm->balloon_pages);
		if (!vm->has_balloon_target)
			printf(", no target\n");
		else
			printf(", target %" PRIu64 "\n", vm->balloon_target);
		printf("  iommu: %" PRIu64 " pages mapped\n", vm->iommu_pages);
		printf("  guest resets: %" PRIu64 "\n", vm->guest_resets);
		printf("  split-phase in workers: %" PRIu64 "\n",
		       vm->split_inflight);
	}
}

static struct json_object *vm_json(const struct pvxdev_vm *vm)
{
	struct json_object *o = json_object_new_object(), *hc, *c, *y;
	pid_t pid = kvm_name_pid(vm->kvm_name);
	char name[16];
	unsigned int i;

	json_object_object_add(o, "vm_id", json_object_new_uint64(vm->vm_id));
	json_object_object_add(o, "kvm", json_object_new_string(vm->kvm_name));
	json_object_object_add(o, "pid", pid ? json_object_new_int(pid) : NULL);
	json_object_object_add(o, "features", features_json(vm->features));
	json_object_object_add(o, "features_mask",
			       json_object_new_uint64(vm->features));
	json_object_object_add(o, "max_list",
			       json_object_new_uint64(vm->max_list_entries));
	hc = json_object_new_object();
	for (i = 0; i < PVX_HC_COUNT; i++) {
		if (!vm->hc[i].calls && !hc_names[i])
			continue;
		c = json_object_new_object();
		json_object_object_add(c, "calls",
				       json_object_new_uint64(vm->hc[i].calls));
		json_object_object_add(c, "errors",
				       json_object_new_uint64(vm->hc[i].errors));
		json_object_object_add(hc, hc_name(i, name, sizeof(name)), c);
	}
	json_object_object_add(o, "hypercalls", hc);
	y = json_object_new_object();
	for (i = 0; i < PVX_YIELD_NR_RESULTS; i++)
		json_object_object_add(y, yield_names[i],
				       json_object_new_uint64(vm->yield[i]));
	json_object_object_add(o, "yields", y);
	json_object_object_add(o, "timers_fired",
			       json_object_new_uint64(vm->timers_fired));
	json_object_object_add(o, "prefault_limited",
			       json_object_new_uint64(vm->prefault_limited));
	y = json_object_new_object();
	json_object_object_add(y, "waits", json_object_new_uint64(vm->lock_waits));
	json_object_object_add(y, "boosted", json_object_new_uint64(vm->lock_boosts));
	json_object_object_add(y, "refused", json_object_new_uint64(vm->lock_refused));
	json_object_object_add(y, "none", json_object_new_uint64(vm->lock_none));
	json_object_object_add(y, "zero_count",
			       json_object_new_uint64(vm->lock_zero_count));
	json_object_object_add(y, "unreadable",
			       json_object_new_uint64(vm->lock_unreadable));
	json_object_object_add(o, "lock_waits", y);
	json_object_object_add(o, "balloon_pages",
			       json_object_new_uint64(vm->balloon_pages));
	/* No target: JSON null, not the all-ones marker. */
	json_object_object_add(o, "balloon_target", vm->has_balloon_target ?
			       json_object_new_uint64(vm->balloon_target) :
			       NULL);
	json_object_object_add(o, "iommu_pages",
			       json_object_new_uint64(vm->iommu_pages));
	json_object_object_add(o, "guest_resets",
			       json_object_new_uint64(vm->guest_resets));
	json_object_object_add(o, "split_inflight",
			       json_object_new_uint64(vm->split_inflight));
	return o;
}

static void print_json(const struct args *a, const struct pvxdev_stats *st,
		       const char *stamp)
{
	struct json_object *root = json_head(), *abi, *vms;
	unsigned int v;

	json_object_object_add(root, "time", json_object_new_string(stamp));
	/* So that a reader can tell records of another layout. */
	abi = json_object_new_object();
	json_object_object_add(abi, "stats_size",
			       json_object_new_uint64(st->header_size));
	json_object_object_add(abi, "vm_record_size",
			       json_object_new_uint64(st->record_size));
	json_object_object_add(abi, "sizes_from", json_object_new_string(
			       st->sizes_from_module ? "pvx_host" : "pvxctl"));
	json_object_object_add(root, "abi", abi);
	json_object_object_add(root, "attached",
			       json_object_new_uint64(st->nr_vms));
	json_object_object_add(root, "live",
			       json_object_new_uint64(st->live_vms));
	vms = json_object_new_array();
	for (v = 0; v < st->nr_vms; v++)
		if (vm_selected(a, &st->vms[v]))
			json_object_array_add(vms, vm_json(&st->vms[v]));
	json_object_object_add(root, "vms", vms);
	json_print(root);
}

/* Each --pid that no attached VM has: said on stderr; 0 when none. */
static int missing_pids(const struct args *a, const struct pvxdev_stats *st)
{
	unsigned int i, v, missing = 0;

	for (i = 0; i < a->nr_pids; i++) {
		for (v = 0; v < st->nr_vms; v++)
			if (kvm_name_pid(st->vms[v].kvm_name) == a->pids[i])
				break;
		if (v < st->nr_vms)
			continue;
		fprintf(stderr, "pvxctl: no attached VM of process %d\n",
			a->pids[i]);
		missing++;
	}
	return missing;
}

/* lock-free, so safe to set from a signal handler */
static atomic_int stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/*
 * SIGINT and SIGTERM end --watch between two snapshots.  They are blocked
 * but in the wait, so that one arriving while a snapshot is read or
 * printed is seen at the next wait, never lost.
 */
static void watch_signals(sigset_t *waitmask)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGTERM);
}

/* Sleep @secs, or less if a stop signal comes. */
static void watch_wait(double secs, const sigset_t *waitmask)
{
	struct timespec end, now, left;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)secs;
	end.tv_nsec += (long)((secs - floor(secs)) * 1e9);
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while (!stop_signal) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			break;
		ppoll(NULL, 0, &left, waitmask);
	}
}

static int cmd_stats(struct args *a)
{
	int watch = !!(a->given & OPT(O_WATCH));
	struct pvxdev_stats st;
	sigset_t waitmask;
	char stamp[32];
	uint64_t n = 0;
	int dev, ret = 0, err;
	struct tm tm;
	time_t now;

	if (!watch && (a->given & (OPT(O_INTERVAL) | OPT(O_COUNT))))
		return usage_error(a->cmd, "--interval and --count go with --watch");

	dev = open_pvx();
	if (dev < 0)
		return 1;
	if (watch)
		watch_signals(&waitmask);
	while (!stop_signal) {
		err = pvxdev_read_stats(dev, &st);
		if (err) {
			dev_error(OP_STATS, -err, "PVX_IOC_STATS");
			ret = 1;
			break;
		}
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (!n && missing_pids(a, &st) && !watch)
			ret = 1;
		if (a->given & OPT(O_JSON)) {
			print_json(a, &st, stamp);
		} else {
			if (watch)
				printf("%s--- %s\n", n ? "\n" : "", stamp);
			print_table(a, &st);
		}
		fflush(stdout);
		pvxdev_free_stats(&st);
		n++;
		if (!watch || (a->count && n >= a->count))
			break;
		watch_wait(a->interval, &waitmask);
	}
	close(dev);
	return ret;
}

/* The pvx id of the VM process @pid created (KVM names it "kvm-<pid>"). */
static int vm_id_of_pid(int dev, pid_t pid, uint64_t *id)
{
	struct pvxdev_stats st;
	unsigned int i, found = 0;
	int err;

	err = pvxdev_read_stats(dev, &st);
	if (err) {
		dev_error(OP_STATS, -err, "PVX_IOC_STATS");
		return -1;
	}
	for (i = 0; i < st.nr_vms; i++) {
		if (kvm_name_pid(st.vms[i].kvm_name) == pid) {
			*id = st.vms[i].vm_id;
			found++;
		}
	}
	pvxdev_free_stats(&st);
	if (found == 1)
		return 0;
	if (!found)
		fprintf(stderr, "pvxctl: no attached VM of process %d\n", pid);
	else
		fprintf(stderr,
			"pvxctl: process %d has %u attached VMs: use --id\n",
			pid, found);
	return -1;
}

static int cmd_balloon(struct args *a)
{
	unsigned int targets = a->given & (OPT(O_TARGET_MB) |
					   OPT(O_TARGET_PAGES) |
					   OPT(O_NO_TARGET));
	uint64_t id = a->vm_id;
	bool notified;
	int dev, ret = 1, err;

	if (!(a->given & (OPT(O_ID) | OPT(O_PID))))
		return usage_error(a->cmd, "needs --id or --pid");
	if ((a->given & OPT(O_ID)) && (a->given & OPT(O_PID)))
		return usage_error(a->cmd, "--id and --pid conflict: give one");
	if (a->nr_pids > 1)
		return usage_error(a->cmd, "takes a single --pid");
	if (!targets)
		return usage_error(a->cmd,
				   "needs --target-mb, --target-pages or --no-target");
	if (targets & (targets - 1))
		return usage_error(a->cmd,
				   "--target-mb, --target-pages and --no-target conflict: give one");

	dev = open_pvx();
	if (dev < 0)
		return 1;
	if (a->nr_pids && vm_id_of_pid(dev, a->pids[0], &id))
		goto out;
	err = pvxdev_set_balloon_target(dev, id, a->target, &notified);
	if (err) {
		dev_error(OP_BALLOON, -err, "balloon target for vm %" PRIu64,
			  id);
		goto out;
	}
	if (a->target == PVX_BALLOON_NO_TARGET)
		printf("vm %" PRIu64 ": balloon target withdrawn", id);
	else
		printf("vm %" PRIu64 ": balloon target %" PRIu64 " pages", id,
		       a->target);
	printf(notified ? ", guest notified\n" :
	       "; the guest takes no events: it sees the target when it asks\n");
	ret = 0;
out:
	close(dev);
	return ret;
}

/* --- help ------------------------------------------------------------- */

static void print_usage(FILE *out)
{
	const struct command *c;

	fprintf(out,
		"usage: pvxctl COMMAND [OPTIONS]\n"
		"       pvxctl --help | --version\n"
		"\n"
		"Attach running KVM VMMs to pvx, detach them, read pvx's counters,\n"
		"ask a guest's balloon for memory.\n"
		"\n"
		"commands:\n");
	for (c = commands; c->name; c++)
		fprintf(out, "  %-9s %s\n", c->name, c->summary);
	fprintf(out,
		"\n"
		"'pvxctl COMMAND --help' tells a command's options; pvxctl(8) tells more.\n"
		"Exit status: 0 done, 1 failed, 2 wrong command line.\n");
}

static void print_command_help(const struct command *c, FILE *out)
{
	fprintf(out, "usage: %s\n\n%c%s.\n", c->synopsis,
		toupper((unsigned char)c->summary[0]), c->summary + 1);
	if (c->options)
		fprintf(out, "\noptions:\n%s", c->options);
	fprintf(out, "  -h, --help          show this help\n");
}

static int cmd_help(struct args *a)
{
	(void)a;
	print_usage(stdout);
	return 0;
}

static void print_version(void)
{
	printf("pvxctl %s\n", PVXCTL_VERSION);
	printf("built for PVX_IOC_STATS records of %zu bytes (header %zu)\n",
	       pvxdev_stats_record_size(), pvxdev_stats_header_size());
}

static const struct command commands[] = {
	{
		"attach", "attach the KVM VM of running VMM processes to pvx",
		"pvxctl attach --pid PID[,PID...] [--pid PID...] [--fd N]\n"
		"                     [--features LIST|MASK] [--max-list N] [--dry-run]",
		"  --pid PID[,PID...]  the VMM processes (repeatable); each is attached,\n"
		"                      and the exit status is 0 only if all were\n"
		"  --fd N              the VMM's fd of its VM, if it has several\n"
		"                      (one --pid only)\n"
		"  --features LIST     features by name, joined by ',' (yield_to,timer),\n"
		"                      or a mask (0x1ff), 'all' or 'none'; default: all\n"
		"                      pvx_host offers (pvxctl features --list)\n"
		"  --max-list N        cap on entries per batch hypercall (0: default)\n"
		"  --dry-run           check the arguments and find the VMs, attach none\n",
		OPT(O_PID) | OPT(O_FD) | OPT(O_FEATURES) | OPT(O_MAX_LIST) |
		OPT(O_DRY_RUN),
		cmd_attach,
	},
	{
		"detach", "detach a VM from pvx",
		"pvxctl detach --id VM_ID\n"
		"       pvxctl detach --pid PID[,PID...] [--fd N]",
		"  --id VM_ID          the VM by pvx's id (pvxctl stats)\n"
		"  --pid PID[,PID...]  the VM of each VMM process (repeatable)\n"
		"  --fd N              the VMM's fd of its VM, if it has several\n",
		OPT(O_ID) | OPT(O_PID) | OPT(O_FD),
		cmd_detach,
	},
	{
		"stats", "show pvx's counters of the attached VMs",
		"pvxctl stats [--pid PID[,PID...]] [--json]\n"
		"                    [--watch [--interval SEC] [--count N]]",
		"  --pid PID[,PID...]  only the VMs of these VMM processes\n"
		"  --json              JSON (schema 3, see pvxctl(8)), one line each\n"
		"  --watch             again every interval until SIGINT or SIGTERM\n"
		"  --interval SEC      seconds between two snapshots (default 1)\n"
		"  --count N           stop after N snapshots\n",
		OPT(O_PID) | OPT(O_JSON) | OPT(O_WATCH) | OPT(O_INTERVAL) |
		OPT(O_COUNT),
		cmd_stats,
	},
	{
		"balloon", "set the balloon target of an attached VM",
		"pvxctl balloon --id VM_ID | --pid PID\n"
		"                      --target-mb N | --target-pages N | --no-target",
		"  --id VM_ID          the VM by pvx's id\n"
		"  --pid PID           the VM of that VMM process\n"
		"  --target-mb N       the guest should hold N MiB in its balloon\n"
		"  --target-pages N    ... N pages\n"
		"  --no-target         withdraw the target\n",
		OPT(O_ID) | OPT(O_PID) | OPT(O_TARGET_MB) |
		OPT(O_TARGET_PAGES) | OPT(O_NO_TARGET),
		cmd_balloon,
	},
	{
		"features", "show the features pvx_host offers, by name",
		"pvxctl features [--mask | --json] [--list]",
		"  --mask              as a hex mask\n"
		"  --json              as JSON\n"
		"  --list              every feature this pvxctl knows (needs no\n"
		"                      pvx_host)\n",
		OPT(O_MASK) | OPT(O_JSON) | OPT(O_LIST),
		cmd_features,
	},
	{
		"help", "show this help, or a command's (pvxctl help attach)",
		"pvxctl help [COMMAND]",
		NULL,
		0,
		cmd_help,
	},
	{ NULL }
};

static const struct command *find_command(const char *name)
{
	const struct command *c;

	for (c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* --- command line ----------------------------------------------------- */

static int add_pids(struct args *a, const char *spec)
{
	char *copy = strdup(spec), *tok, *save = NULL;
	unsigned int i;
	uint64_t val;
	pid_t *p;
	int ret = 0;

	if (!copy) {
		perror("pvxctl");
		return 1;
	}
	for (save = copy; (tok = strsep(&save, ","));) {
		if (parse_u64(tok, &val) || !val || val > INT_MAX) {
			ret = usage_error(a->cmd, "not a process id: '%s'%s",
					  tok, *tok ? "" : " (in a list)");
			break;
		}
		for (i = 0; i < a->nr_pids; i++)
			if (a->pids[i] == (pid_t)val)
				break;
		if (i < a->nr_pids) {
			ret = usage_error(a->cmd, "process %s given twice", tok);
			break;
		}
		p = realloc(a->pids, (a->nr_pids + 1) * sizeof(*p));
		if (!p) {
			perror("pvxctl");
			ret = 1;
			break;
		}
		a->pids = p;
		a->pids[a->nr_pids++] = val;
	}
	free(copy);
	return ret;
}

static int bad_number(const struct args *a, const char *opt, const char *s,
		      const char *what)
{
	return usage_error(a->cmd, "--%s: not %s: '%s'", opt, what, s);
}

/* One option's value into @a; 0, or an exit status. */
static int take_option(struct args *a, int o, const char *arg)
{
	const char *name = long_opts[o].name;
	long page_size = sysconf(_SC_PAGESIZE);
	uint64_t val;
	char *end;

	switch (o) {
	case O_PID:
		return add_pids(a, arg);
	case O_FD:
		if (parse_u64(arg, &val) || val > INT_MAX)
			return bad_number(a, name, arg, "an fd number");
		a->want_fd = val;
		return 0;
	case O_ID:
		if (parse_u64(arg, &a->vm_id))
			return bad_number(a, name, arg, "a VM id");
		return 0;
	case O_FEATURES:
		return parse_features(a->cmd, arg, &a->features,
				      &a->features_all);
	case O_MAX_LIST:
		if (parse_u64(arg, &val) || val > UINT32_MAX)
			return bad_number(a, name, arg, "an entry count");
		a->max_list = val;
		return 0;
	case O_TARGET_MB:
		if (parse_u64(arg, &val) || val > (UINT32_MAX >> 1))
			return bad_number(a, name, arg, "a size in MiB");
		a->target = (val << 20) / page_size;
		return 0;
	case O_TARGET_PAGES:
		/* all-ones is PVX_BALLOON_NO_TARGET, --no-target's */
		if (parse_u64(arg, &a->target) ||
		    a->target == PVX_BALLOON_NO_TARGET)
			return bad_number(a, name, arg, "a page count");
		return 0;
	case O_NO_TARGET:
		a->target = PVX_BALLOON_NO_TARGET;
		return 0;
	case O_INTERVAL:
		errno = 0;
		a->interval = strtod(arg, &end);
		if (errno || !*arg || *end || !isfinite(a->interval) ||
		    a->interval < 0.01 || a->interval > 86400)
			return bad_number(a, name, arg,
					  "seconds from 0.01 to 86400");
		return 0;
	case O_COUNT:
		if (parse_u64(arg, &a->count) || !a->count)
			return bad_number(a, name, arg, "a count from 1");
		return 0;
	}
	return 0;
}

static int parse_command_line(struct args *a, int argc, char **argv)
{
	const char *opt;
	int c, o;

	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		opt = argv[optind - 1];
		if (c == 'h')
			c = OPT_VAL_BASE + O_HELP;
		if (c == ':')
			return usage_error(a->cmd, "option '%s' needs a value",
					   opt);
		if (c == '?') {
			if (optopt && optopt < OPT_VAL_BASE)
				return usage_error(a->cmd,
						   "unknown option '-%c'",
						   optopt);
			return usage_error(a->cmd, "unknown option '%s'", opt);
		}
		o = c - OPT_VAL_BASE;
		if (o == O_HELP) {
			print_command_help(a->cmd, stdout);
			exit(0);
		}
		if (!(a->cmd->allowed & OPT(o)))
			return usage_error(a->cmd,
					   "option --%s does not go with %s",
					   long_opts[o].name, a->cmd->name);
		if ((a->given & OPT(o)) && o != O_PID)
			return usage_error(a->cmd, "option --%s given twice",
					   long_opts[o].name);
		a->given |= OPT(o);
		c = take_option(a, o, optarg);
		if (c)
			return c;
	}
	if (a->cmd->run == cmd_help) {
		const struct command *about;

		if (optind == argc)
			return 0;
		about = find_command(argv[optind]);
		if (!about)
			return usage_error(NULL, "no command '%s'",
					   argv[optind]);
		if (optind + 1 < argc)
			return usage_error(a->cmd, "unexpected argument '%s'",
					   argv[optind + 1]);
		print_command_help(about, stdout);
		exit(0);
	}
	if (optind < argc)
		return usage_error(a->cmd, "unexpected argument '%s'%s",
				   argv[optind],
				   a->given & OPT(O_PID) ?
				   " (several processes: --pid A,B or --pid A --pid B)" :
				   "");
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = {
		.want_fd = -1,
		.features_all = 1,
		.interval = 1,
	};
	int ret;

	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		if (argc > 2)
			return usage_error(NULL, "unexpected argument '%s'",
					   argv[2]);
		print_version();
		return 0;
	}
	if (argv[1][0] == '-')
		return usage_error(NULL, "unknown option '%s' (options go after the command)",
				   argv[1]);
	a.cmd = find_command(argv[1]);
	if (!a.cmd)
		return usage_error(NULL, "no command '%s'", argv[1]);

	ret = parse_command_line(&a, argc, argv);
	if (!ret)
		ret = a.cmd->run(&a);
	free(a.pids);
	return ret;
}
