// SPDX-License-Identifier: GPL-2.0
/*
 * balloon_test: pvx_balloon's pages are PageOffline while ballooned, as
 * virtio_balloon's are, so that kdump's makedumpfile, hibernation and
 * /proc/kcore skip memory whose contents the host took.  /proc/kpageflags
 * tells (KPF_OFFLINE): inflating N pages makes exactly N more frames
 * offline, deflating them (whole blocks, and a part of a 2 MiB block)
 * brings the count back, and the frames given back are usable memory
 * with no "Bad page" from the allocator (the page type shares the
 * mapcount field that the allocator checks on free).  At every step the
 * host holds exactly the pages the guest's balloon does.
 *
 * Ballooned single pages migrate (balloon compaction, as
 * virtio_balloon's): a memory block of ZONE_MOVABLE taken offline moves
 * every one of them out, none is lost, and the host's record follows each
 * move (a deflate of a moved page finds its record: host_forgot stays 0).
 *
 * Under memory pressure the balloon gives memory back: a process that
 * allocates more than is left beside a big balloon survives, and so does
 * one that allocates while the balloon is still inflating.
 *
 * Options (environment in brackets):
 *   -m DIR   load modules from DIR [PVX_MODULE_DIR]; default: loaded, or
 *            modprobe
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "gtest.h"

#define KPF_OFFLINE	23	/* include/uapi/linux/kernel-page-flags.h */
#define BDIR		"/sys/kernel/pvx_balloon"

/* Frames with KPF_OFFLINE set in /proc/kpageflags; -errno on failure. */
static long offline_frames(void)
{
	uint64_t buf[4096];
	long n = 0;
	ssize_t got;
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((got = read(fd, buf, sizeof(buf))) > 0) {
		for (size_t i = 0; i < (size_t)got / sizeof(buf[0]); i++)
			n += (buf[i] >> KPF_OFFLINE) & 1;
	}
	if (got < 0)
		n = -errno;
	close(fd);
	return n;
}

/* Sets the balloon's target (the write returns when it is reached). */
static int balloon_to(uint64_t pages)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRIu64, pages);
	return gt_write(BDIR "/target_pages", s);
}

static uint64_t balloon_pages(void)
{
	uint64_t v = UINT64_MAX;

	gt_read_u64(BDIR "/pages", &v);
	return v;
}

/* Kernel log lines holding @needle since @fd was opened (non-blocking). */
static int kmsg_count(int fd, const char *needle)
{
	char line[1024];
	int n = 0;

	while (gt_kmsg_next(fd, line, sizeof(line)))
		n += strstr(line, needle) != NULL;
	return n;
}

/* A /proc/meminfo field, in pages; 0 if missing. */
static uint64_t meminfo_pages(const char *key)
{
	char line[256];
	unsigned long long kb = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			if (sscanf(line + n + 1, "%llu", &kb) != 1)
				kb = 0;
			break;
		}
	fclose(f);
	return kb / 4;
}

static uint64_t balloon_u64(const char *file)
{
	char path[128];
	uint64_t v = 0;

	snprintf(path, sizeof(path), BDIR "/%s", file);
	gt_read_u64(path, &v);
	return v;
}

/*
 * A child that touches @pages pages of anonymous memory and exits 0;
 * returns its pid.
 */
static pid_t hog(uint64_t pages)
{
	pid_t pid = fork();
	size_t len = pages * 4096;
	char *p;

	TEST_ASSERT(pid >= 0, "fork");
	if (pid)
		return pid;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	_exit(0);
}

/* How @pid ended, for a message; true if it exited 0. */
static bool reap(pid_t pid, char *how, size_t len)
{
	int st = 0;

	if (waitpid(pid, &st, 0) != pid)
		snprintf(how, len, "waitpid: %s", strerror(errno));
	else if (WIFSIGNALED(st))
		snprintf(how, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(how, len, "exit %d", WEXITSTATUS(st));
	return WIFEXITED(st) && !WEXITSTATUS(st);
}

/* The balloon at most of the free memory, then a process wants more. */
static void test_oom_full(void)
{
	uint64_t avail = meminfo_pages("MemAvailable"), before, left;
	uint64_t oom0 = balloon_u64("oom_deflated");
	char how[64];
	bool ok;

	TEST_ASSERT(avail > 4 * 16384, "MemAvailable %" PRIu64 " pages", avail);
	balloon_to(avail - 16384);
	before = balloon_pages();
	ok = reap(hog(32768), how, sizeof(how));
	left = balloon_pages();
	tap_ok(ok, "OOM beside a full balloon: the process survives (%s; balloon %" PRIu64 " of %" PRIu64 " available pages)",
	       how, before, avail);
	tap_ok(balloon_u64("oom_deflated") > oom0 && left < before,
	       "OOM beside a full balloon: the balloon deflated (%" PRIu64 " -> %" PRIu64 " pages, oom_deflated %" PRIu64 " -> %" PRIu64 ")",
	       before, left, oom0, balloon_u64("oom_deflated"));
	tap_ok(balloon_u64("target_pages") <= left,
	       "OOM beside a full balloon: the target follows (%" PRIu64 " <= %" PRIu64 "), the balloon does not take it again",
	       balloon_u64("target_pages"), left);
	balloon_to(0);
}

/* A process allocates while the worker inflates towards all of memory. */
static void test_oom_inflating(void)
{
	uint64_t avail = meminfo_pages("MemAvailable");
	uint64_t oom0 = balloon_u64("oom_deflated");
	char how[64], how2[64];
	pid_t inflater, pid;
	bool ok;
	int i;

	inflater = fork();
	TEST_ASSERT(inflater >= 0, "fork");
	if (!inflater)
		_exit(balloon_to(avail) ? 1 : 0);
	/* Under way: a quarter of the memory in the balloon. */
	for (i = 0; i < 3000 && balloon_pages() < avail / 4; i++)
		usleep(10000);
	pid = hog(avail / 2);
	ok = reap(pid, how, sizeof(how));
	reap(inflater, how2, sizeof(how2));
	tap_ok(ok, "OOM while the balloon inflates: the process survives (%s; balloon %" PRIu64 " pages, oom_deflated %" PRIu64 " -> %" PRIu64 ")",
	       how, balloon_pages(), oom0, balloon_u64("oom_deflated"));
	balloon_to(0);
}

/* The balloon as it is: offline frames and the host's record agree. */
static void check_held(long base, const char *what)
{
	uint64_t pages = balloon_pages(), host = UINT64_MAX;
	long off = offline_frames();
	int ret = gt_read_u64(BDIR "/host_pages", &host);

	tap_ok(off >= 0 && off - base == (long)pages,
	       "%s: %ld frames offline, %ld before the balloon + %" PRIu64 " ballooned",
	       what, off, base, pages);
	tap_ok(!ret && host == pages,
	       "%s: the host holds %" PRIu64 " pages, the balloon %" PRIu64 " (%d)",
	       what, host, pages, ret);
}

static void step(long base, uint64_t target, const char *what)
{
	int ret = balloon_to(target);
	uint64_t pages = balloon_pages();

	tap_ok(!ret && pages == target, "%s: target %" PRIu64 ", balloon holds %" PRIu64 " (%d)",
	       what, target, pages, ret);
	check_held(base, what);
}



#define MEMDIR	"/sys/devices/system/memory"

/*
 * Ballooned frames in each memory block, from /proc/kpageflags: @counts
 * gets one count per block (at most @max), the return is the number of
 * blocks, or -errno.
 */
static long offline_by_block(uint64_t block_pages, long *counts, long max)
{
	uint64_t buf[4096], pfn = 0;
	long nr = 0;
	ssize_t got;
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	memset(counts, 0, max * sizeof(*counts));
	while ((got = read(fd, buf, sizeof(buf))) > 0) {
		for (size_t i = 0; i < (size_t)got / sizeof(buf[0]); i++, pfn++) {
			long b = pfn / block_pages;

			if (b >= max)
				continue;
			counts[b] += (buf[i] >> KPF_OFFLINE) & 1;
			if (b + 1 > nr)
				nr = b + 1;
		}
	}
	close(fd);
	return got < 0 ? -errno : nr;
}

static bool block_is(long b, const char *file, const char *want)
{
	char path[96], buf[64];

	snprintf(path, sizeof(path), MEMDIR "/memory%ld/%s", b, file);
	return !gt_read(path, buf, sizeof(buf)) && !strcmp(buf, want);
}

static int block_set(long b, const char *state)
{
	char path[96];

	snprintf(path, sizeof(path), MEMDIR "/memory%ld/state", b);
	return gt_write(path, state);
}

/*
 * Ballooned pages move: single pages (a target that grows by less than a
 * 2 MiB block at a time takes them one by one) are movable, and taking a
 * memory block of ZONE_MOVABLE offline (the testbed's L2 boots with
 * movablecore=) migrates every page in it, through the balloon's
 * migration callback for ballooned ones.  Compaction moves them the same
 * way, but only those low in a zone, which this VM's initramfs fills.
 */
static void test_migration(long base)
{
	uint64_t moved0 = balloon_u64("migrated"), forgot0 = balloon_u64("host_forgot");
	uint64_t target = 0, before, moved, block_bytes = 0, block_pages;
	long counts[512], nr, b, best = -1;
	char buf[64];
	int i, ret;

	if (gt_read(MEMDIR "/block_size_bytes", buf, sizeof(buf)))
		tap_bail("no " MEMDIR ": memory hotplug is off in this guest kernel");
	block_bytes = strtoull(buf, NULL, 16);
	block_pages = block_bytes / 4096;
	for (i = 0; i < 16; i++) {
		target += 500;
		balloon_to(target);
	}
	before = balloon_pages();
	tap_ok(before == target, "migration: %" PRIu64 " single pages ballooned (target %" PRIu64 ")",
	       before, target);
	/*
	 * The ZONE_MOVABLE block with the most ballooned pages that goes
	 * offline: the kernel refuses some (-EINVAL seen for the top block
	 * of this L2's RAM, where the firmware keeps its tables), and the
	 * next one is tried.
	 */
	nr = offline_by_block(block_pages, counts, 512);
	for (;;) {
		best = -1;
		for (b = 0; b < nr; b++)
			if (counts[b] > 0 && block_is(b, "state", "online") &&
			    block_is(b, "valid_zones", "Movable") &&
			    (best < 0 || counts[b] > counts[best]))
				best = b;
		if (best < 0)
			break;
		ret = block_set(best, "offline");
		if (!ret)
			break;
		tap_diag("memory%ld (%ld ballooned pages) does not go offline: %s",
			 best, counts[best], strerror(-ret));
		counts[best] = 0;
	}
	tap_ok(best >= 0, "migration: a ZONE_MOVABLE memory block holding ballooned pages went offline (memory%ld: %ld of them)",
	       best, best >= 0 ? counts[best] : 0);
	if (best < 0) {
		tap_diag("boot the guest with movablecore= for this check");
		step(base, 0, "migration: deflate all");
		return;
	}
	moved = balloon_u64("migrated");
	moved = moved >= moved0 ? moved - moved0 : 0;
	tap_ok(moved >= (uint64_t)counts[best],
	       "migration: its %ld ballooned pages moved (migrated +%" PRIu64 ")",
	       counts[best], moved);
	tap_ok(balloon_pages() == before, "migration: the balloon still holds %" PRIu64 " pages (%" PRIu64 ")",
	       before, balloon_pages());
	nr = offline_by_block(block_pages, counts, 512);
	tap_ok(nr > best && !counts[best], "migration: none left in memory%ld (%ld)",
	       best, nr > best ? counts[best] : -1L);
	check_held(base, "migration");
	ret = block_set(best, "online_movable");
	tap_ok(!ret, "migration: memory%ld online again (%d)", best, ret);
	step(base, 0, "migration: deflate all");
	tap_ok(balloon_u64("host_forgot") == forgot0,
	       "migration: every moved page's record was the host's (host_forgot %" PRIu64 " -> %" PRIu64 ")",
	       forgot0, balloon_u64("host_forgot"));
}

int main(int argc, char **argv)
{
	const size_t len = 64UL << 20;
	long base;
	int c, kmsg;
	char *p;

	while ((c = getopt(argc, argv, "m:")) != -1) {
		if (c == 'm')
			gt_set_module_dir(optarg);
	}
	tap_init("balloon_test: pvx_balloon's pages are offline while ballooned");
	gt_require_pvx(PVX_F_BALLOON, "the pvx balloon");
	if (gt_ensure("pvx_balloon"))
		tap_bail("pvx_balloon does not load though the host offers the balloon");
	if (balloon_pages() != 0)
		tap_bail("the balloon holds %" PRIu64 " pages already", balloon_pages());
	base = offline_frames();
	if (base < 0)
		tap_bail("/proc/kpageflags: %s", strerror(-base));
	tap_diag("%ld frames offline before the balloon", base);
	kmsg = gt_kmsg_open();

	/* Whole 2 MiB blocks as far as the allocator has them. */
	step(base, 4096, "inflate");
	/* Part of a block back: the block is cut into single pages. */
	step(base, 4096 - 300, "deflate inside a block");
	step(base, 4096 + 77, "inflate single pages");
	step(base, 0, "deflate all");

	test_migration(base);
	test_oom_full();
	test_oom_inflating();
	step(base, 0, "after the OOMs");

	/* What came back is memory like any other. */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	tap_ok(p != MAP_FAILED, "64 MiB allocated and touched after the deflate");
	if (p != MAP_FAILED) {
		memset(p, 0x5a, len);
		munmap(p, len);
	}
	tap_ok(kmsg >= 0 && kmsg_count(kmsg, "Bad page") == 0,
	       "no \"Bad page\" in the kernel log while the balloon moved");
	if (kmsg >= 0)
		close(kmsg);
	tap_finish();
}
