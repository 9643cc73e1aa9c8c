// SPDX-License-Identifier: GPL-2.0
/* KUnit: guest list validation and copy-in. */
#include <kunit/test.h>
#include <linux/string.h>
#include "pvx_list.c"

/* A fake guest: 3 pages of "guest-physical" memory at gpa 0. */
struct pvx_fake_guest {
	u8 mem[3 * 4096];
	unsigned int reads;
	u64 last_gpa;
	size_t last_len;
	bool fail;
	/* Like a racing vCPU, overwrite what was just read, every time. */
	bool scribble;
};

static int pvx_fake_read(void *ctx, u64 gpa, void *buf, size_t len)
{
	struct pvx_fake_guest *g = ctx;

	g->reads++;
	g->last_gpa = gpa;
	g->last_len = len;
	if (g->fail || gpa > sizeof(g->mem) || len > sizeof(g->mem) - gpa)
		return -EFAULT;
	memcpy(buf, g->mem + gpa, len);
	if (g->scribble)
		memset(g->mem + gpa, 0xff, len);
	return 0;
}

static void pvx_test_list_check(struct kunit *test)
{
	const u32 max = PVX_MAX_LIST_ENTRIES;

	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 1, 16, max), 0);
	/* A whole page, exactly. */
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 256, 16, max), 0);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 512, 8, max), 0);

	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 0, 16, max), -PVX_EINVAL);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 1, 0, max), -PVX_EINVAL);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1004, 1, 16, max), -PVX_EINVAL);
	/* Straddles two pages. */
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1ff8, 2, 8, max), -PVX_EINVAL);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1008, 256, 16, max),
			-PVX_EINVAL);
	/* More than a page, or than the VM's limit. */
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 257, 16, max), -PVX_E2BIG);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 9, 8, 8), -PVX_E2BIG);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, U32_MAX, 16, U32_MAX),
			-PVX_E2BIG);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 2, SIZE_MAX / 2 + 1,
					     max), -PVX_E2BIG);
	/* The top of the address space does not wrap to page 0. */
	KUNIT_EXPECT_EQ(test, pvx_list_check(U64_MAX & ~7ULL, 2, 8, max),
			-PVX_EINVAL);
	KUNIT_EXPECT_EQ(test, pvx_list_check(U64_MAX & ~4095ULL, 1, 8, max),
			0);
}

static void pvx_test_list_copy(struct kunit *test)
{
	struct pvx_fake_guest *g;
	u64 buf[4] = {};
	unsigned int i;

	g = kunit_kzalloc(test, sizeof(*g), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, g);
	for (i = 0; i < 4; i++)
		((u64 *)(g->mem + 0x1010))[i] = 100 + i;

	/*
	 * The guest rewrites its list as soon as the host has read it.  What
	 * the caller gets must still be the list as it was at that one read:
	 * reading it again, or entry by entry, would hand over the rewrite.
	 */
	g->scribble = true;
	KUNIT_EXPECT_EQ(test, pvx_list_copy_in(pvx_fake_read, g, 0x1010, 4, 8,
					       PVX_MAX_LIST_ENTRIES, buf), 0);
	KUNIT_EXPECT_EQ(test, g->reads, 1);
	KUNIT_EXPECT_EQ(test, g->last_gpa, 0x1010);
	KUNIT_EXPECT_EQ(test, g->last_len, 32);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, buf[i], 100 + i);
	/* The rewrite did happen, after the host's read. */
	KUNIT_EXPECT_EQ(test, ((u64 *)(g->mem + 0x1010))[3], U64_MAX);
}

static void pvx_test_list_copy_errors(struct kunit *test)
{
	struct pvx_fake_guest *g;
	u64 buf[2] = { 1, 2 };

	g = kunit_kzalloc(test, sizeof(*g), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, g);

	/* Invalid lists are refused before the guest is read at all. */
	KUNIT_EXPECT_EQ(test, pvx_list_copy_in(pvx_fake_read, g, 0x1004, 2, 8,
					       PVX_MAX_LIST_ENTRIES, buf),
			-PVX_EINVAL);
	KUNIT_EXPECT_EQ(test, g->reads, 0);

	g->fail = true;
	KUNIT_EXPECT_EQ(test, pvx_list_copy_in(pvx_fake_read, g, 0x1000, 2, 8,
					       PVX_MAX_LIST_ENTRIES, buf),
			-PVX_EFAULT);
	KUNIT_EXPECT_EQ(test, g->reads, 1);

	/* Outside guest memory. */
	g->fail = false;
	KUNIT_EXPECT_EQ(test, pvx_list_copy_in(pvx_fake_read, g, 0x10000, 2,
					       8, PVX_MAX_LIST_ENTRIES, buf),
			-PVX_EFAULT);
}

static struct kunit_case pvx_list_cases[] = {
	KUNIT_CASE(pvx_test_list_check),
	KUNIT_CASE(pvx_test_list_copy),
	KUNIT_CASE(pvx_test_list_copy_errors),
	{}
};

static struct kunit_suite pvx_list_suite = {
	.name = "pvx_list",
	.test_cases = pvx_list_cases,
};
kunit_test_suite(pvx_list_suite);
