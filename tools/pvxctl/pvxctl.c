// SPDX-License-Identifier: GPL-2.0
/*
 * pvxctl: attach running VMMs to pvx, detach them, read pvx's counters,
 * ask a guest's balloon for memory.
 *
 * "attach --pid" works on an unmodified VMM: it finds the process's KVM VM
 * fd (anon_inode:kvm-vm), takes a copy of it with pidfd_getfd(2) (which
 * needs ptrace rights over the VMM) and hands that to /dev/pvx.  pvx holds
 * no reference on the fd, so the copy is closed straight away.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/pvx.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define PVX_DEV "/dev/pvx"

static const char *const hc_names[PVX_HC_COUNT] = {
	[PVX_HC_PROBE - PVX_HC_BASE] = "probe",
	[PVX_HC_YIELD_TO - PVX_HC_BASE] = "yield_to",
	[PVX_HC_SET_VECTOR - PVX_HC_BASE] = "set_vector",
	[PVX_HC_TIMER_SET - PVX_HC_BASE] = "timer_set",
	[PVX_HC_MSR_BATCH - PVX_HC_BASE] = "msr_batch",
	[PVX_HC_PREFAULT_WRITE - PVX_HC_BASE] = "prefault",
	[PVX_HC_COPY_PAGES - PVX_HC_BASE] = "copy_pages",
	[PVX_HC_SPLIT_COLLECT - PVX_HC_BASE] = "split_collect",
	[PVX_HC_DOORBELL - PVX_HC_BASE] = "doorbell",
	[PVX_HC_BALLOON_INFLATE - PVX_HC_BASE] = "inflate",
	[PVX_HC_BALLOON_DEFLATE - PVX_HC_BASE] = "deflate",
	[PVX_HC_BALLOON_STATS - PVX_HC_BASE] = "balloon_stats",
	[PVX_HC_IOMMU_MAP - PVX_HC_BASE] = "iommu_map",
	[PVX_HC_IOMMU_UNMAP - PVX_HC_BASE] = "iommu_unmap",
};

static const char *const yield_names[PVX_YIELD_NR_RESULTS] = {
	[PVX_YIELD_DONE] = "done",
	[PVX_YIELD_NOT_PREEMPTED] = "not_preempted",
	[PVX_YIELD_DECLINED] = "declined",
	[PVX_YIELD_RATE_LIMITED] = "rate_limited",
};

static void print_usage(FILE *out)
{
	fprintf(out,
		"usage: pvxctl features\n"
		"       pvxctl attach --pid PID [--fd N] [--features MASK] [--max-list N]\n"
		"       pvxctl detach --id VM_ID | --pid PID [--fd N]\n"
		"       pvxctl stats [--json]\n"
		"       pvxctl balloon --id VM_ID | --pid PID  --target-mb N | --target-pages N | --no-target\n");
}

static int open_pvx(void)
{
	int fd = open(PVX_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "pvxctl: %s: %s (is pvx_host loaded?)\n",
			PVX_DEV, strerror(errno));
	return fd;
}

static int parse_u64(const char *s, uint64_t *val)
{
	char *end;

	errno = 0;
	*val = strtoull(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "pvxctl: not a number: '%s'\n", s);
		return -1;
	}
	return 0;
}

/* The VMM's fd number of its KVM VM, or -1; want_fd >= 0 picks one. */
static int find_vm_fd(pid_t pid, int want_fd)
{
	char dir[64], path[PATH_MAX], target[256];
	struct dirent *de;
	int found = -1, count = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "pvxctl: %s: %s\n", dir, strerror(errno));
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

	if (!count) {
		fprintf(stderr, "pvxctl: process %d has no KVM VM fd%s\n", pid,
			want_fd >= 0 ? " with that number" : "");
		return -1;
	}
	if (count > 1) {
		fprintf(stderr,
			"pvxctl: process %d has %d KVM VMs: choose one with --fd\n",
			pid, count);
		return -1;
	}
	return found;
}

static int grab_vm_fd(pid_t pid, int want_fd)
{
	int remote, pidfd, fd;

	remote = find_vm_fd(pid, want_fd);
	if (remote < 0)
		return -1;

	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		fprintf(stderr, "pvxctl: pidfd_open(%d): %s\n", pid,
			strerror(errno));
		return -1;
	}
	fd = syscall(SYS_pidfd_getfd, pidfd, remote, 0);
	if (fd < 0)
		fprintf(stderr, "pvxctl: pidfd_getfd(%d, %d): %s\n", pid,
			remote, strerror(errno));
	close(pidfd);
	return fd;
}

static int cmd_features(void)
{
	uint64_t features;
	int dev = open_pvx();

	if (dev < 0)
		return 1;
	if (ioctl(dev, PVX_IOC_GET_FEATURES, &features)) {
		perror("pvxctl: PVX_IOC_GET_FEATURES");
		return 1;
	}
	printf("%#" PRIx64 "\n", features);
	return 0;
}

static int cmd_attach(pid_t pid, int want_fd, uint64_t features,
		      uint64_t max_list)
{
	struct pvx_attach req = { 0 };
	int dev, vm_fd, ret = 1;

	if (pid <= 0) {
		fprintf(stderr, "pvxctl: attach needs --pid\n");
		return 2;
	}
	dev = open_pvx();
	if (dev < 0)
		return 1;
	if (features == UINT64_MAX &&
	    ioctl(dev, PVX_IOC_GET_FEATURES, &features)) {
		perror("pvxctl: PVX_IOC_GET_FEATURES");
		goto out_dev;
	}
	vm_fd = grab_vm_fd(pid, want_fd);
	if (vm_fd < 0)
		goto out_dev;

	req.vm_fd = vm_fd;
	req.features = features;
	req.max_list_entries = max_list;
	if (ioctl(dev, PVX_IOC_ATTACH, &req)) {
		fprintf(stderr, "pvxctl: attach process %d: %s\n", pid,
			strerror(errno));
	} else {
		printf("attached process %d as vm %" PRIu64
		       ", features %#" PRIx64 "\n", pid, (uint64_t)req.vm_id,
		       (uint64_t)req.features);
		ret = 0;
	}
	close(vm_fd);
out_dev:
	close(dev);
	return ret;
}

static int cmd_detach(pid_t pid, int want_fd, uint64_t id, int by_id)
{
	struct pvx_detach req = { .vm_fd = -1 };
	int dev, ret = 1;

	if (!by_id && pid <= 0) {
		fprintf(stderr, "pvxctl: detach needs --id or --pid\n");
		return 2;
	}
	dev = open_pvx();
	if (dev < 0)
		return 1;
	if (by_id) {
		req.flags = PVX_DETACH_BY_ID;
		req.vm_id = id;
	} else {
		req.vm_fd = grab_vm_fd(pid, want_fd);
		if (req.vm_fd < 0)
			goto out;
	}
	if (ioctl(dev, PVX_IOC_DETACH, &req))
		perror("pvxctl: detach");
	else
		ret = 0;
	if (req.vm_fd >= 0)
		close(req.vm_fd);
out:
	close(dev);
	return ret;
}

static const char *hc_name(unsigned int i, char *buf, size_t len)
{
	if (hc_names[i])
		return hc_names[i];
	snprintf(buf, len, "%#x", PVX_HC_BASE + i);
	return buf;
}

static void print_table(const struct pvx_stats *st,
			const struct pvx_vm_stats *vms, unsigned int n)
{
	char name[16];
	unsigned int v, i;

	printf("attached VMs: %u, VM states alive: %" PRIu64 "\n",
	       st->nr_vms, (uint64_t)st->live_vms);
	for (v = 0; v < n; v++) {
		const struct pvx_vm_stats *vm = &vms[v];

		printf("\nvm %" PRIu64 " (%s) features %#" PRIx64
		       " max-list %u\n", (uint64_t)vm->vm_id,
		       vm->kvm_stats_id, (uint64_t)vm->features,
		       vm->max_list_entries);
		printf("  %-12s %14s %14s\n", "hypercall", "calls", "errors");
		for (i = 0; i < PVX_HC_COUNT; i++) {
			if (!vm->hc[i].calls && !hc_names[i])
				continue;
			printf("  %-12s %14" PRIu64 " %14" PRIu64 "\n",
			       hc_name(i, name, sizeof(name)),
			       (uint64_t)vm->hc[i].calls,
			       (uint64_t)vm->hc[i].errors);
		}
		printf("  yields:");
		for (i = 0; i < PVX_YIELD_NR_RESULTS; i++)
			printf(" %s %" PRIu64, yield_names[i],
			       (uint64_t)vm->yield[i]);
		printf("\n  timers fired: %" PRIu64 "\n",
		       (uint64_t)vm->timers_fired);
		printf("  balloon: %" PRIu64 " pages", (uint64_t)vm->balloon_pages);
		if (vm->balloon_target == PVX_BALLOON_NO_TARGET)
			printf(", no target\n");
		else
			printf(", target %" PRIu64 "\n",
			       (uint64_t)vm->balloon_target);
		printf("  iommu: %" PRIu64 " pages mapped\n",
		       (uint64_t)vm->iommu_pages);
	}
}

static void print_json(const struct pvx_stats *st,
		       const struct pvx_vm_stats *vms, unsigned int n)
{
	char name[16];
	unsigned int v, i;
	int first;

	printf("{\"attached\": %u, \"live\": %" PRIu64 ", \"vms\": [",
	       st->nr_vms, (uint64_t)st->live_vms);
	for (v = 0; v < n; v++) {
		const struct pvx_vm_stats *vm = &vms[v];

		/* kvm_stats_id is "kvm-<pid>": nothing to escape. */
		printf("%s{\"vm_id\": %" PRIu64, v ? ", " : "",
		       (uint64_t)vm->vm_id);
		printf(", \"kvm\": \"%s\"", vm->kvm_stats_id);
		printf(", \"features\": %" PRIu64, (uint64_t)vm->features);
		printf(", \"max_list\": %u", vm->max_list_entries);
		printf(", \"hypercalls\": {");
		first = 1;
		for (i = 0; i < PVX_HC_COUNT; i++) {
			if (!vm->hc[i].calls && !hc_names[i])
				continue;
			printf("%s\"%s\": {\"calls\": %" PRIu64
			       ", \"errors\": %" PRIu64 "}", first ? "" : ", ",
			       hc_name(i, name, sizeof(name)),
			       (uint64_t)vm->hc[i].calls,
			       (uint64_t)vm->hc[i].errors);
			first = 0;
		}
		printf("}, \"yields\": {");
		for (i = 0; i < PVX_YIELD_NR_RESULTS; i++)
			printf("%s\"%s\": %" PRIu64, i ? ", " : "",
			       yield_names[i], (uint64_t)vm->yield[i]);
		printf("}, \"timers_fired\": %" PRIu64,
		       (uint64_t)vm->timers_fired);
		printf(", \"balloon_pages\": %" PRIu64,
		       (uint64_t)vm->balloon_pages);
		printf(", \"iommu_pages\": %" PRIu64,
		       (uint64_t)vm->iommu_pages);
		/* No target: JSON null, not the all-ones marker. */
		if (vm->balloon_target == PVX_BALLOON_NO_TARGET)
			printf(", \"balloon_target\": null}");
		else
			printf(", \"balloon_target\": %" PRIu64 "}",
			       (uint64_t)vm->balloon_target);
	}
	printf("]}\n");
}

/* Every attached VM's record, in *vms (malloc()ed); 0 or -1. */
static int read_stats(int dev, struct pvx_stats *st, struct pvx_vm_stats **vms)
{
	unsigned int room = 0;

	*vms = NULL;
	/* VMs come and go: grow the buffer until it holds them all. */
	for (;;) {
		memset(st, 0, sizeof(*st));
		st->buf = (uintptr_t)*vms;
		st->nr_vms = room;
		if (ioctl(dev, PVX_IOC_STATS, st)) {
			perror("pvxctl: PVX_IOC_STATS");
			break;
		}
		if (st->nr_vms <= room)
			return 0;
		room = st->nr_vms + 4;
		free(*vms);
		*vms = calloc(room, sizeof(**vms));
		if (!*vms) {
			perror("pvxctl");
			return -1;
		}
	}
	free(*vms);
	*vms = NULL;
	return -1;
}

static int cmd_stats(int json)
{
	struct pvx_vm_stats *vms;
	struct pvx_stats st;
	int dev, ret = 1;

	dev = open_pvx();
	if (dev < 0)
		return 1;
	if (!read_stats(dev, &st, &vms)) {
		if (json)
			print_json(&st, vms, st.nr_vms);
		else
			print_table(&st, vms, st.nr_vms);
		ret = 0;
	}
	free(vms);
	close(dev);
	return ret;
}

/* The pvx id of the VM process @pid created (KVM names it "kvm-<pid>"). */
static int vm_id_of_pid(int dev, pid_t pid, uint64_t *id)
{
	struct pvx_vm_stats *vms;
	struct pvx_stats st;
	char name[PVX_STATS_NAME_SIZE];
	unsigned int i, found = 0;

	if (read_stats(dev, &st, &vms))
		return -1;
	snprintf(name, sizeof(name), "kvm-%d", pid);
	for (i = 0; i < st.nr_vms; i++) {
		if (!strcmp(vms[i].kvm_stats_id, name)) {
			*id = vms[i].vm_id;
			found++;
		}
	}
	free(vms);
	if (found == 1)
		return 0;
	if (!found)
		fprintf(stderr, "pvxctl: no attached VM of process %d\n", pid);
	else
		fprintf(stderr, "pvxctl: process %d has %u attached VMs: use --id\n",
			pid, found);
	return -1;
}

static int cmd_balloon(pid_t pid, uint64_t id, int by_id, uint64_t target)
{
	struct pvx_balloon_target req = { 0 };
	int dev, ret = 1;

	if ((!by_id && pid <= 0) || (by_id && pid > 0)) {
		fprintf(stderr, "pvxctl: balloon needs --id or --pid\n");
		return 2;
	}
	if (target == UINT64_MAX - 1) {
		fprintf(stderr,
			"pvxctl: balloon needs --target-mb, --target-pages or --no-target\n");
		return 2;
	}
	dev = open_pvx();
	if (dev < 0)
		return 1;
	if (!by_id && vm_id_of_pid(dev, pid, &id))
		goto out;
	req.vm_id = id;
	req.target_pages = target;
	if (ioctl(dev, PVX_IOC_SET_BALLOON_TARGET, &req)) {
		fprintf(stderr, "pvxctl: balloon target for vm %" PRIu64 ": %s%s\n",
			id, strerror(errno),
			errno == ENOSPC ? " (above pvx_host's balloon_limit_mb or the VM's RAM)" :
			errno == EOPNOTSUPP ? " (VM attached without the balloon feature)" : "");
		goto out;
	}
	if (target == PVX_BALLOON_NO_TARGET)
		printf("vm %" PRIu64 ": balloon target withdrawn", id);
	else
		printf("vm %" PRIu64 ": balloon target %" PRIu64 " pages", id,
		       target);
	printf(req.notified ? ", guest notified\n" :
	       "; the guest takes no events: it sees the target when it asks\n");
	ret = 0;
out:
	close(dev);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "fd", required_argument, NULL, 'f' },
		{ "id", required_argument, NULL, 'i' },
		{ "features", required_argument, NULL, 'F' },
		{ "max-list", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "target-mb", required_argument, NULL, 'M' },
		{ "target-pages", required_argument, NULL, 'P' },
		{ "no-target", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t features = UINT64_MAX, max_list = 0, id = 0, val;
	/* UINT64_MAX is PVX_BALLOON_NO_TARGET: one less means "not given". */
	uint64_t target = UINT64_MAX - 1;
	long page_size = sysconf(_SC_PAGESIZE);
	int c, json = 0, by_id = 0, want_fd = -1;
	pid_t pid = 0;
	const char *cmd;

	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_u64(optarg, &val) || !val || val > INT_MAX)
				return 2;
			pid = val;
			break;
		case 'f':
			if (parse_u64(optarg, &val) || val > INT_MAX)
				return 2;
			want_fd = val;
			break;
		case 'i':
			if (parse_u64(optarg, &id))
				return 2;
			by_id = 1;
			break;
		case 'F':
			if (parse_u64(optarg, &features))
				return 2;
			break;
		case 'm':
			if (parse_u64(optarg, &max_list) || max_list > UINT32_MAX)
				return 2;
			break;
		case 'j':
			json = 1;
			break;
		case 'M':
			if (parse_u64(optarg, &val) || val > (UINT32_MAX >> 1))
				return 2;
			target = (val << 20) / page_size;
			break;
		case 'P':
			if (parse_u64(optarg, &target) || target >= UINT64_MAX - 1)
				return 2;
			break;
		case 'N':
			target = PVX_BALLOON_NO_TARGET;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 2;
		}
	}

	if (!strcmp(cmd, "features"))
		return cmd_features();
	if (!strcmp(cmd, "attach"))
		return cmd_attach(pid, want_fd, features, max_list);
	if (!strcmp(cmd, "detach"))
		return cmd_detach(pid, want_fd, id, by_id);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(json);
	if (!strcmp(cmd, "balloon"))
		return cmd_balloon(pid, id, by_id, target);
	print_usage(stderr);
	return 2;
}
