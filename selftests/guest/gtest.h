/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the guest-side kselftests: they run inside a VM, find the pvx
 * guest modules, read what the modules report (sysfs, /proc/interrupts,
 * the kernel log) and print TAP through ../lib/tap.c.
 */
#ifndef PVX_GTEST_H
#define PVX_GTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/pvx.h>
#include "pvx_test.h"

#define GT_MAX_CPUS	256

/*
 * Where the modules come from: -m DIR on the command line, else
 * $PVX_MODULE_DIR, else modprobe.
 */
void gt_set_module_dir(const char *dir);
const char *gt_module_dir(void);

bool gt_module_loaded(const char *mod);
/* Loads @mod with @params (may be ""); 0 or -errno. */
int gt_insmod(const char *mod, const char *params);
int gt_rmmod(const char *mod);
/* Loads @mod unless it is loaded; 0 or -errno. */
int gt_ensure(const char *mod);

/*
 * pvx_guest loaded and the host offers @feature (0: any pvx host).  Skips
 * the whole test when the VM truly cannot have it (the host answered that
 * it has no pvx, or offers the VM no @feature); bails out on anything else.
 */
uint64_t gt_require_pvx(uint64_t feature, const char *what);

/* sysfs/procfs: 0 or -errno.  Trailing newline stripped. */
int gt_read(const char *path, char *buf, size_t len);
int gt_read_u64(const char *path, uint64_t *val);
int gt_write(const char *path, const char *s);

/* Online CPUs in ascending order; returns how many. */
int gt_online_cpus(int *cpus, int max);
int gt_pin(int cpu);

/*
 * Per-CPU count of the interrupts named @name in /proc/interrupts, summed
 * over all such lines; @counts indexed by CPU number (offline CPUs 0).
 */
int gt_irq_counts(const char *name, uint64_t *counts, int max);

/*
 * Kernel log records that appear after gt_kmsg_open(): call it before the
 * action, then gt_kmsg_next() until it returns false.  @line gets the
 * message text without the record header.
 */
int gt_kmsg_open(void);
bool gt_kmsg_next(int fd, char *line, size_t len);

uint64_t ts_ns(const struct timespec *ts);
void ns_ts(uint64_t ns, struct timespec *ts);
uint64_t env_u64(const char *name, uint64_t dflt);

#endif /* PVX_GTEST_H */
