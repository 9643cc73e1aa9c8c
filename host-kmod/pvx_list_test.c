// SPDX-License-Identifier: GPL-2.0
/* KUnit: guest list validation, copy-in and write-back. */
#include <kunit/test.h>
#include <linux/string.h>
/* The write-back's statuses are the guest's: the test names them. */
#define PVX_GUEST_ERRORS
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

static int pvx_fake_write(void *ctx, u64 gpa, const void *buf, size_t len)
{
	struct pvx_fake_guest *g = ctx;

	g->last_gpa = gpa;
	g->last_len = len;
	if (g->fail || gpa > sizeof(g->mem) || len > sizeof(g->mem) - gpa)
		return -EFAULT;
	memcpy(g->mem + gpa, buf, len);
	return 0;
}

static void pvx_test_list_check(struct kunit *test)
{
	const u32 max = PVX_MAX_LIST_ENTRIES;

	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 1, 16, max), 0);
	/* A whole page, exactly. */
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 256, 16, max), 0);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 512, 8, max), 0);

	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 0, 16, max), -EINVAL);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 1, 0, max), -EINVAL);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1004, 1, 16, max), -EINVAL);
	/* Straddles two pages. */
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1ff8, 2, 8, max), -EINVAL);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1008, 256, 16, max),
			-EINVAL);
	/* More than a page, or than the VM's limit. */
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 257, 16, max), -E2BIG);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 9, 8, 8), -E2BIG);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, U32_MAX, 16, U32_MAX),
			-E2BIG);
	KUNIT_EXPECT_EQ(test, pvx_list_check(0x1000, 2, SIZE_MAX / 2 + 1,
					     max), -E2BIG);
	/* The top of the address space does not wrap to page 0. */
	KUNIT_EXPECT_EQ(test, pvx_list_check(U64_MAX & ~7ULL, 2, 8, max),
			-EINVAL);
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
			-EINVAL);
	KUNIT_EXPECT_EQ(test, g->reads, 0);

	g->fail = true;
	KUNIT_EXPECT_EQ(test, pvx_list_copy_in(pvx_fake_read, g, 0x1000, 2, 8,
					       PVX_MAX_LIST_ENTRIES, buf),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, g->reads, 1);

	/* Outside guest memory. */
	g->fail = false;
	KUNIT_EXPECT_EQ(test, pvx_list_copy_in(pvx_fake_read, g, 0x10000, 2,
					       8, PVX_MAX_LIST_ENTRIES, buf),
			-EFAULT);
}

/*
 * Each status the guest reads back is its ABI's value, whatever errno
 * the service stored, in a 4-byte field and in a 1-byte one (the IOMMU
 * map entry's); the rest of the entries is written as it was.
 */
static void pvx_test_list_copy_out(struct kunit *test)
{
	static const struct pvx_split_ops ops32 = {
		PVX_LIST_ENTRY(struct pvx_gfn_range, status),
	};
	static const struct pvx_split_ops ops8 = {
		PVX_LIST_ENTRY(struct pvx_iommu_map, status),
	};
	/* Each fits in the 1-byte status too (pvx_iommu.c sees to it). */
	static const s32 in[] = {
		0, PVX_DOORBELL_NO_LISTENER, -EINVAL, -EAGAIN, -ENOSYS,
		-ENOMEM, -ETIMEDOUT, -EINPROGRESS,
	};
	static const s32 out32[] = {
		0, PVX_DOORBELL_NO_LISTENER, -PVX_EINVAL, -PVX_EAGAIN,
		-PVX_ENOSYS, -PVX_EIO, -PVX_EIO, -PVX_EINPROGRESS,
	};
	/* -PVX_ENOSYS does not fit in 8 bits. */
	static const s8 out8[] = {
		0, PVX_DOORBELL_NO_LISTENER, -PVX_EINVAL, -PVX_EAGAIN,
		-PVX_EIO, -PVX_EIO, -PVX_EIO, -PVX_EINPROGRESS,
	};
	struct pvx_gfn_range r[ARRAY_SIZE(in)], *gr;
	struct pvx_iommu_map m[ARRAY_SIZE(in)], *gm;
	struct pvx_fake_guest *g;
	unsigned int i;

	g = kunit_kzalloc(test, sizeof(*g), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, g);
	for (i = 0; i < ARRAY_SIZE(in); i++) {
		r[i] = (struct pvx_gfn_range){ .gfn = 7 + i, .npages = i,
					       .status = in[i] };
		/* As pvx_iommu.c stores its statuses: s8. */
		m[i] = (struct pvx_iommu_map){ .iova = 9 + i, .npages = i,
					       .status = in[i] };
	}

	KUNIT_EXPECT_EQ(test, pvx_list_copy_out(pvx_fake_write, g, 0x1000, r,
						ARRAY_SIZE(r), &ops32), 0);
	KUNIT_EXPECT_EQ(test, g->last_len, sizeof(r));
	gr = (struct pvx_gfn_range *)(g->mem + 0x1000);
	for (i = 0; i < ARRAY_SIZE(in); i++) {
		KUNIT_EXPECT_EQ_MSG(test, gr[i].status, out32[i], "entry %u",
				    i);
		KUNIT_EXPECT_EQ(test, gr[i].gfn, 7 + i);
		KUNIT_EXPECT_EQ(test, gr[i].npages, i);
	}

	KUNIT_EXPECT_EQ(test, pvx_list_copy_out(pvx_fake_write, g, 0x2000, m,
						ARRAY_SIZE(m), &ops8), 0);
	gm = (struct pvx_iommu_map *)(g->mem + 0x2000);
	for (i = 0; i < ARRAY_SIZE(in); i++) {
		KUNIT_EXPECT_EQ_MSG(test, gm[i].status, out8[i], "entry %u",
				    i);
		KUNIT_EXPECT_EQ(test, gm[i].iova, 9 + i);
	}

	/* Nothing processed: nothing written. */
	g->last_len = 0;
	KUNIT_EXPECT_EQ(test, pvx_list_copy_out(pvx_fake_write, g, 0x1000, r,
						0, &ops32), 0);
	KUNIT_EXPECT_EQ(test, g->last_len, 0);

	g->fail = true;
	KUNIT_EXPECT_EQ(test, pvx_list_copy_out(pvx_fake_write, g, 0x1000, r,
						1, &ops32), -EFAULT);
}

static struct kunit_case pvx_list_cases[] = {
	KUNIT_CASE(pvx_test_list_check),
	KUNIT_CASE(pvx_test_list_copy),
	KUNIT_CASE(pvx_test_list_copy_errors),
	KUNIT_CASE(pvx_test_list_copy_out),
	{}
};

static struct kunit_suite pvx_list_suite = {
	.name = "pvx_list",
	.test_cases = pvx_list_cases,
};
kunit_test_suite(pvx_list_suite);
