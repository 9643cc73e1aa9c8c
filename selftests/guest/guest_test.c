// SPDX-License-Identifier: GPL-2.0
/*
 * guest_test: what pvx_guest shows of the host it found.  /sys/kernel/pvx
 * has the ABI version this guest speaks, features within the ABI's set, a
 * batch list limit, and a notification count; with notifications on,
 * every online CPU has its own "pvx" interrupt pinned to it, and the count
 * in /sys/kernel/pvx follows what /proc/interrupts shows for them.  With
 * the host's timer, notifications are really delivered: sleeps on each
 * CPU, with pvx_clock as its tick, arm the timer through pvx, and that
 * CPU's count grows by one per sleep at least; pvx_guest's own count
 * grows with /proc/interrupts, neither more nor less.
 *
 * Options (environment in brackets):
 *   -m DIR   load modules from DIR [PVX_MODULE_DIR]; default: loaded, or
 *            modprobe
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "gtest.h"

static const char *const feature_names[] = {
	"yield_to", "timer", "msr_batch", "prefault", "copy_pages", "split",
	"doorbell", "balloon",
};

static void check_sysfs(uint64_t features)
{
	uint64_t abi = 0, max_list = 0, notif = 0;
	char names[256] = "";
	size_t i;
	int ret;

	ret = gt_read_u64("/sys/kernel/pvx/abi_version", &abi);
	tap_ok(!ret && abi == PVX_ABI_VERSION,
	       "/sys/kernel/pvx/abi_version: %" PRIu64 ", this test's ABI %d",
	       abi, PVX_ABI_VERSION);
	for (i = 0; i < ARRAY_SIZE(feature_names); i++)
		if (features & (1ULL << i))
			snprintf(names + strlen(names), sizeof(names) - strlen(names),
				 " %s", feature_names[i]);
	tap_ok(features && !(features & ~PVX_FEATURES_ALL),
	       "/sys/kernel/pvx/features: %#" PRIx64 " (%s ), within the ABI's %#llx",
	       features, names, (unsigned long long)PVX_FEATURES_ALL);
	ret = gt_read_u64("/sys/kernel/pvx/max_list_entries", &max_list);
	/* A batch list lives in one page of 8-byte-aligned entries. */
	tap_ok(!ret && max_list >= 1 && max_list <= 4096 / 8,
	       "/sys/kernel/pvx/max_list_entries: %" PRIu64 " (1..512)",
	       max_list);
	ret = gt_read_u64("/sys/kernel/pvx/notifications", &notif);
	tap_ok(!ret, "/sys/kernel/pvx/notifications readable: %" PRIu64, notif);
}

/* The CPU a "pvx" irq is pinned to, from /proc/irq/N/effective_affinity_list. */
static int irq_cpu(int irq)
{
	char path[96], buf[64];

	snprintf(path, sizeof(path), "/proc/irq/%d/effective_affinity_list", irq);
	if (gt_read(path, buf, sizeof(buf)))
		return -1;
	/* Exactly one CPU, or it is not pinned. */
	return strchr(buf, ',') || strchr(buf, '-') ? -1 : atoi(buf);
}

static void check_vectors(void)
{
	int cpus[GT_MAX_CPUS], ncpus, i, irq, cpu;
	int pinned[GT_MAX_CPUS] = { 0 };
	struct dirent *de;
	char path[128], name[64];
	DIR *d;

	ncpus = gt_online_cpus(cpus, GT_MAX_CPUS);
	d = opendir("/proc/irq");
	if (!d)
		tap_bail("/proc/irq: %m");
	/* /proc/irq/N/<action name> exists for each requested handler. */
	while ((de = readdir(d))) {
		irq = atoi(de->d_name);
		if (!irq && strcmp(de->d_name, "0"))
			continue;
		snprintf(path, sizeof(path), "/proc/irq/%d/pvx", irq);
		if (access(path, F_OK))
			continue;
		cpu = irq_cpu(irq);
		snprintf(name, sizeof(name), "%d", cpu);
		tap_diag("irq %d \"pvx\": CPU %s", irq, cpu < 0 ? "(not pinned)" : name);
		if (cpu >= 0 && cpu < GT_MAX_CPUS)
			pinned[cpu]++;
	}
	closedir(d);
	for (i = 0; i < ncpus; i++)
		tap_ok(pinned[cpus[i]] >= 1,
		       "CPU %d has a pvx notification interrupt pinned to it (%d)",
		       cpus[i], pinned[cpus[i]]);
}

/*
 * The sysfs count is pvx_guest's own handler count; /proc/interrupts
 * counts the same interrupts one step earlier, so read them in between
 * two sysfs reads.
 */
static void check_counts(void)
{
	uint64_t counts[GT_MAX_CPUS], n1 = 0, n2 = 0, sum = 0;
	int cpus[GT_MAX_CPUS];
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	int i, found;

	nanosleep(&ts, NULL);
	gt_read_u64("/sys/kernel/pvx/notifications", &n1);
	found = gt_irq_counts("pvx", counts, GT_MAX_CPUS);
	gt_read_u64("/sys/kernel/pvx/notifications", &n2);
	for (i = 0; i < GT_MAX_CPUS; i++)
		sum += counts[i];
	tap_ok(found > 0, "/proc/interrupts lists pvx interrupts (%d)", found);
	tap_diag("notifications %" PRIu64 " .. %" PRIu64 ", /proc/interrupts pvx total %" PRIu64,
		 n1, n2, sum);
	/*
	 * Interrupts of CPUs that went offline since drop out of
	 * /proc/interrupts but not out of the sysfs count, so only the
	 * upper side is exact, up to one interrupt in flight per CPU.
	 */
	tap_ok(sum <= n2 + gt_online_cpus(cpus, GT_MAX_CPUS),
	       "the /proc/interrupts total (%" PRIu64 ") is no more than pvx_guest's count (%" PRIu64 ")",
	       sum, n2);
}

static uint64_t irq_sum(const uint64_t *counts)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < GT_MAX_CPUS; i++)
		sum += counts[i];
	return sum;
}

#define DELIVERY_SLEEPS	50

/*
 * Each of @n sleeps on @cpu is ended by the expiry interrupt of its tick
 * device, after which the next is armed: a pvx notification each.
 */
static void sleep_on(int cpu, int n)
{
	struct timespec ts = { 0, 1000 * 1000 };
	int i;

	if (gt_pin(cpu))
		tap_bail("pin to CPU %d: %m", cpu);
	for (i = 0; i < n; i++)
		nanosleep(&ts, NULL);
}

static void check_delivery(uint64_t features)
{
	uint64_t before[GT_MAX_CPUS] = { 0 }, after[GT_MAX_CPUS] = { 0 };
	uint64_t pa[GT_MAX_CPUS], pb[GT_MAX_CPUS], pc[GT_MAX_CPUS];
	uint64_t pd[GT_MAX_CPUS], s1 = 0, s2 = 0, lo, hi;
	int cpus[GT_MAX_CPUS], ncpus, i, ret;
	char path[128], dev[64];
	bool ticks = true;

	if (!(features & PVX_F_TIMER)) {
		tap_skip("notifications delivered: the host offers no timer to arm");
		return;
	}
	ret = gt_ensure("pvx_clock");
	if (!tap_ok(!ret, "pvx_clock loaded to arm timers (%s)",
		    ret ? strerror(-ret) : "ok"))
		return;
	ncpus = gt_online_cpus(cpus, GT_MAX_CPUS);
	for (i = 0; i < ncpus; i++) {
		snprintf(path, sizeof(path),
			 "/sys/devices/system/clockevents/clockevent%d/current_device",
			 cpus[i]);
		if (gt_read(path, dev, sizeof(dev)) || strcmp(dev, "pvx")) {
			tap_diag("CPU %d's tick is not pvx", cpus[i]);
			ticks = false;
		}
	}
	if (!tap_ok(ticks, "every CPU's tick is pvx_clock"))
		return;

	/* /proc/interrupts counts an interrupt before pvx_guest does. */
	gt_irq_counts("pvx", pa, GT_MAX_CPUS);
	gt_read_u64("/sys/kernel/pvx/notifications", &s1);
	gt_irq_counts("pvx", pb, GT_MAX_CPUS);
	for (i = 0; i < ncpus; i++) {
		gt_irq_counts("pvx", before, GT_MAX_CPUS);
		sleep_on(cpus[i], DELIVERY_SLEEPS);
		gt_irq_counts("pvx", after, GT_MAX_CPUS);
		tap_ok(after[cpus[i]] >= before[cpus[i]] + DELIVERY_SLEEPS,
		       "CPU %d: %d sleeps took as many pvx notifications there at least (%" PRIu64 " .. %" PRIu64 ")",
		       cpus[i], DELIVERY_SLEEPS, before[cpus[i]],
		       after[cpus[i]]);
	}
	gt_irq_counts("pvx", pc, GT_MAX_CPUS);
	gt_read_u64("/sys/kernel/pvx/notifications", &s2);
	gt_irq_counts("pvx", pd, GT_MAX_CPUS);
	/*
	 * With no CPU going offline in between, pvx_guest's count grew by
	 * what /proc/interrupts did between the reads inside (pb..pc), up
	 * to one interrupt per CPU still in its handler, and by no more
	 * than it did between the reads outside (pa..pd).
	 */
	lo = irq_sum(pc) - irq_sum(pb);
	hi = irq_sum(pd) - irq_sum(pa);
	tap_ok(s2 >= s1 && s2 - s1 + ncpus >= lo && s2 - s1 <= hi + ncpus,
	       "/sys/kernel/pvx/notifications grew with /proc/interrupts (%" PRIu64 ", /proc/interrupts %" PRIu64 " .. %" PRIu64 ")",
	       s2 - s1, lo, hi);
}

int main(int argc, char **argv)
{
	char notif[8] = "";
	uint64_t features;
	int opt;

	while ((opt = getopt(argc, argv, "m:")) != -1) {
		if (opt != 'm') {
			fprintf(stderr, "usage: %s [-m moddir]\n", argv[0]);
			return KSFT_FAIL;
		}
		gt_set_module_dir(optarg);
	}
	tap_init("guest_test: pvx_guest's view of the host");
	features = gt_require_pvx(0, NULL);
	check_sysfs(features);
	if (gt_read("/sys/module/pvx_guest/parameters/notifications", notif,
		    sizeof(notif)) || *notif != 'Y') {
		tap_skip("notification vectors: pvx_guest loaded with notifications=%s",
			 *notif ? notif : "?");
		tap_finish();
	}
	check_vectors();
	check_counts();
	check_delivery(features);
	tap_finish();
}
