// SPDX-License-Identifier: GPL-2.0
/*
 * api_test: pvx_guest's C API (page copy, split-phase copy,
 * write-prefault, MSR batch, directed yield, doorbell, IOMMU map) through
 * pvx_api_test.ko, which checks each call against the real host as it
 * loads and logs one line per check.  Each of those lines becomes one TAP
 * result here; the module's summary must agree with them, and name every
 * API feature the host offers as one that a check exercised.
 *
 * Options (environment in brackets):
 *   -m DIR   load modules from DIR [PVX_MODULE_DIR]; default: modprobe
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gtest.h"

#define API_FEATURES	(PVX_F_COPY_PAGES | PVX_F_PREFAULT | PVX_F_MSR_BATCH | \
			 PVX_F_YIELD_TO | PVX_F_DOORBELL | PVX_F_SPLIT | \
			 PVX_F_IOMMU)

int main(int argc, char **argv)
{
	unsigned int checks = 0, failed = 0, lines = 0, bad = 0;
	char line[1024];
	uint64_t features, tested = 0;
	bool summary = false;
	int opt, fd, ret;

	while ((opt = getopt(argc, argv, "m:")) != -1) {
		if (opt != 'm') {
			fprintf(stderr, "usage: %s [-m moddir]\n", argv[0]);
			return KSFT_FAIL;
		}
		gt_set_module_dir(optarg);
	}
	tap_init("api_test: pvx_guest's C API through pvx_api_test.ko");
	features = gt_require_pvx(API_FEATURES,
				  "copy, prefault, MSR batch, yield, doorbell, split-phase or IOMMU");
	/* It checks at load: a copy loaded earlier must go first. */
	if (gt_module_loaded("pvx_api_test")) {
		ret = gt_rmmod("pvx_api_test");
		if (ret)
			tap_bail("rmmod pvx_api_test (loaded before): %s",
				 strerror(-ret));
	}
	fd = gt_kmsg_open();
	if (fd < 0)
		tap_bail("/dev/kmsg: %s", strerror(-fd));
	ret = gt_insmod("pvx_api_test", "");
	tap_ok(!ret, "pvx_api_test loaded (%s)", ret ? strerror(-ret) : "ok");
	while (gt_kmsg_next(fd, line, sizeof(line))) {
		const char *m;

		if (strncmp(line, "pvx_api_test: ", 14))
			continue;
		m = line + 14;
		if (sscanf(m, "%u checks, %u failed, features tested %" SCNx64,
			   &checks, &failed, &tested) == 3) {
			summary = true;
		} else if (!strncmp(m, "ok ", 3)) {
			lines++;
			tap_ok(true, "%s", m + 3);
		} else if (!strncmp(m, "FAILED ", 7)) {
			lines++;
			bad++;
			tap_ok(false, "%s", m + 7);
		}
	}
	close(fd);
	if (!ret)
		gt_rmmod("pvx_api_test");
	tap_ok(summary && !failed && checks == lines && failed == bad,
	       "summary: %u checks, %u failed; %u check lines, %u failed",
	       checks, failed, lines, bad);
	/*
	 * Every feature the host offers gets at least one check: counting
	 * checks would not say which (the copy alone has two).
	 */
	tap_ok(summary && tested == (features & API_FEATURES),
	       "every offered API feature was exercised (features %#" PRIx64 ", tested %#" PRIx64 ")",
	       (uint64_t)(features & API_FEATURES), tested);
	tap_finish();
}
