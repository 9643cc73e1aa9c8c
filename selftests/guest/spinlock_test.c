// SPDX-License-Identifier: GPL-2.0
/*
 * spinlock_test: pvx_locktorture against pvx_spinlock, spinning only
 * (yield=0) and with directed yield (yield=1), same VM, same load.
 * Every CPU's thread must have taken locks, and on two or more CPUs they
 * must have contended (slow paths), or mutual exclusion was never put to
 * the test; it must hold in both (no lost updates); spinning only must
 * never yield; with yield=1, waiters on a preempted holder must have
 * yielded to it.  Only counts are judged: acquisitions/s depend on how
 * much the host overcommits this VM (and under TCG, guest time is not
 * real time), so they are printed, never compared.
 *
 * Options (environment in brackets):
 *   -m DIR   load modules from DIR [PVX_MODULE_DIR]; default: loaded, or
 *            modprobe
 *   -s SEC   seconds per run [PVX_LOCKTORTURE_SECONDS]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gtest.h"

#define YIELD_PARAM	"/sys/module/pvx_spinlock/parameters/yield"

struct lt_result {
	unsigned int cpus, locks, secs, threads;
	unsigned long long acq, rate, worst_us, slow, yields, refused, fewest;
	long long lost;
};

static const char lt_fmt[] =
	"pvx_locktorture: %u CPUs, %u locks, %u s: %llu acquisitions (%llu/s), lost updates %lld, worst wait %llu us, slow paths %llu, yields %llu (refused %llu), %u threads, fewest acquisitions %llu";

/* One pvx_locktorture run with pvx_spinlock's yield set to @yield. */
static bool run_torture(int yield, unsigned int secs, struct lt_result *r)
{
	char params[64], line[1024];
	bool found = false;
	int fd, ret;

	ret = gt_write(YIELD_PARAM, yield ? "1" : "0");
	if (!tap_ok(!ret, "yield=%d: set %s (%s)", yield, YIELD_PARAM,
		    ret ? strerror(-ret) : "ok"))
		return false;
	fd = gt_kmsg_open();
	if (fd < 0)
		tap_bail("/dev/kmsg: %s", strerror(-fd));
	snprintf(params, sizeof(params), "seconds=%u", secs);
	ret = gt_insmod("pvx_locktorture", params);
	while (gt_kmsg_next(fd, line, sizeof(line)))
		if (sscanf(line, lt_fmt, &r->cpus, &r->locks, &r->secs,
			   &r->acq, &r->rate, &r->lost, &r->worst_us,
			   &r->slow, &r->yields, &r->refused, &r->threads,
			   &r->fewest) == 12)
			found = true;
	close(fd);
	if (!ret)
		gt_rmmod("pvx_locktorture");
	tap_ok(!ret && found, "yield=%d: pvx_locktorture ran and reported (%s)",
	       yield, ret ? strerror(-ret) : found ? "ok" : "no report line");
	if (found)
		tap_diag("yield=%d: %u CPUs, %u locks, %u s: %llu acquisitions (%llu/s), lost updates %lld, worst wait %llu us, slow paths %llu, yields %llu (refused %llu), %u threads, fewest acquisitions %llu",
			 yield, r->cpus, r->locks, r->secs, r->acq, r->rate,
			 r->lost, r->worst_us, r->slow, r->yields, r->refused,
			 r->threads, r->fewest);
	return !ret && found;
}

/* What must hold whether waiters spin or yield. */
static void check_run(int yield, const struct lt_result *r)
{
	tap_ok(r->threads == r->cpus && r->fewest > 0,
	       "yield=%d: each of %u CPUs' threads took locks (%u threads, fewest acquisitions %llu)",
	       yield, r->cpus, r->threads, r->fewest);
	if (r->cpus < 2)
		tap_skip("yield=%d: contention: one CPU, nobody to contend with",
			 yield);
	else
		tap_ok(r->slow > 0,
		       "yield=%d: threads contended for the locks (slow paths %llu)",
		       yield, r->slow);
	tap_ok(!r->lost, "yield=%d: no lost updates (%lld of %llu)", yield,
	       r->lost, r->acq);
}

int main(int argc, char **argv)
{
	unsigned int secs = env_u64("PVX_LOCKTORTURE_SECONDS", 3);
	struct lt_result spin = { 0 }, yld = { 0 };
	char saved[8] = "";
	uint64_t features;
	bool ok0, ok1;
	int opt, ret;

	while ((opt = getopt(argc, argv, "m:s:")) != -1) {
		switch (opt) {
		case 'm':
			gt_set_module_dir(optarg);
			break;
		case 's':
			secs = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-m moddir] [-s seconds]\n",
				argv[0]);
			return KSFT_FAIL;
		}
	}
	tap_init("spinlock_test: pvx_spinlock under pvx_locktorture, spinning and yielding");
	if (!secs)
		tap_bail("-s must be positive");
	features = gt_require_pvx(0, NULL);
	ret = gt_ensure("pvx_spinlock");
	tap_ok(!ret, "pvx_spinlock loaded (%s)", ret ? strerror(-ret) : "ok");
	if (ret)
		tap_finish();
	/* A run left behind by an interrupted test would block ours. */
	if (gt_module_loaded("pvx_locktorture"))
		gt_rmmod("pvx_locktorture");
	gt_read(YIELD_PARAM, saved, sizeof(saved));

	ok0 = run_torture(0, secs, &spin);
	ok1 = run_torture(1, secs, &yld);
	if (*saved)
		gt_write(YIELD_PARAM, saved);

	if (ok0) {
		check_run(0, &spin);
		tap_ok(!spin.yields && !spin.refused,
		       "yield=0: spinning only never yields (yields %llu, refused %llu)",
		       spin.yields, spin.refused);
	}
	if (ok1) {
		check_run(1, &yld);
		if (!(features & PVX_F_YIELD_TO))
			tap_skip("yield=1: yields: the host offers this VM no directed yield");
		else if (yld.cpus < 2)
			tap_skip("yield=1: yields: one CPU, no lock holder to yield to");
		else
			tap_ok(yld.yields > 0,
			       "yield=1: waiters yielded to preempted holders (yields %llu, refused %llu, slow paths %llu)",
			       yld.yields, yld.refused, yld.slow);
	}
	tap_finish();
}
