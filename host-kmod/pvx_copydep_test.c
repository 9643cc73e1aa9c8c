// SPDX-License-Identifier: GPL-2.0
/* KUnit: which COPY_PAGES entries may be in flight together. */
#include <kunit/test.h>
#include <linux/mm_types.h>
#include "pvx_copydep.c"

/* Only the addresses matter: they name host pages, never dereferenced. */
static struct page pvx_test_pg[8];

#define PG(i)	(&pvx_test_pg[i])

static bool pvx_test_depends(const struct pvx_copy_pages *inflight, u32 n,
			     struct page *src, struct page *dst)
{
	struct pvx_copy_pages next = { .src = src, .dst = dst };

	return pvx_copy_depends(inflight, n, &next);
}

static void pvx_test_copydep_independent(struct kunit *test)
{
	const struct pvx_copy_pages inflight[] = {
		{ PG(0), PG(1) }, { PG(2), PG(3) },
	};

	KUNIT_EXPECT_FALSE(test, pvx_test_depends(inflight, 2, PG(4), PG(5)));
	/* Two reads of one page do not conflict. */
	KUNIT_EXPECT_FALSE(test, pvx_test_depends(inflight, 2, PG(0), PG(5)));
	KUNIT_EXPECT_FALSE(test, pvx_test_depends(inflight, 2, PG(2), PG(4)));
	/* Nothing in flight: nothing to wait for. */
	KUNIT_EXPECT_FALSE(test, pvx_test_depends(inflight, 0, PG(1), PG(0)));
	/* A page copied onto itself conflicts with no one but itself. */
	KUNIT_EXPECT_FALSE(test, pvx_test_depends(inflight, 2, PG(6), PG(6)));
}

static void pvx_test_copydep_raw(struct kunit *test)
{
	const struct pvx_copy_pages inflight[] = {
		{ PG(0), PG(1) }, { PG(2), PG(3) },
	};

	/* Reads what an earlier entry writes, first or last in flight. */
	KUNIT_EXPECT_TRUE(test, pvx_test_depends(inflight, 2, PG(1), PG(5)));
	KUNIT_EXPECT_TRUE(test, pvx_test_depends(inflight, 2, PG(3), PG(5)));
	/* Only the first @n count. */
	KUNIT_EXPECT_FALSE(test, pvx_test_depends(inflight, 1, PG(3), PG(5)));
}

static void pvx_test_copydep_waw(struct kunit *test)
{
	const struct pvx_copy_pages inflight[] = {
		{ PG(0), PG(1) }, { PG(2), PG(3) },
	};

	KUNIT_EXPECT_TRUE(test, pvx_test_depends(inflight, 2, PG(5), PG(1)));
	KUNIT_EXPECT_TRUE(test, pvx_test_depends(inflight, 2, PG(5), PG(3)));
}

static void pvx_test_copydep_war(struct kunit *test)
{
	const struct pvx_copy_pages inflight[] = {
		{ PG(0), PG(1) }, { PG(2), PG(3) },
	};

	/* Rewrites what an earlier entry still has to read. */
	KUNIT_EXPECT_TRUE(test, pvx_test_depends(inflight, 2, PG(5), PG(0)));
	KUNIT_EXPECT_TRUE(test, pvx_test_depends(inflight, 2, PG(5), PG(2)));
}

/* A list that shifts pages down by one: each entry rewrites a source. */
static void pvx_test_copydep_shift(struct kunit *test)
{
	struct pvx_copy_pages list[7];
	u32 i;

	for (i = 0; i < ARRAY_SIZE(list); i++) {
		list[i].src = PG(i + 1);
		list[i].dst = PG(i);
	}
	for (i = 1; i < ARRAY_SIZE(list); i++)
		KUNIT_EXPECT_TRUE(test, pvx_copy_depends(list, i, &list[i]));
	/* Shifted up: each entry reads what the one before wrote. */
	for (i = 0; i < ARRAY_SIZE(list); i++) {
		list[i].src = PG(i);
		list[i].dst = PG(i + 1);
	}
	for (i = 1; i < ARRAY_SIZE(list); i++)
		KUNIT_EXPECT_TRUE(test, pvx_copy_depends(list, i, &list[i]));
}

/*
 * Two memslots mapping one buffer give one host page two gfns: the caller
 * passes the pinned pages, so an alias is the same page here.
 */
static void pvx_test_copydep_alias(struct kunit *test)
{
	const struct pvx_copy_pages inflight[] = { { PG(0), PG(1) } };

	KUNIT_EXPECT_TRUE(test, pvx_test_depends(inflight, 1, PG(1), PG(4)));
	KUNIT_EXPECT_TRUE(test, pvx_test_depends(inflight, 1, PG(4), PG(1)));
	KUNIT_EXPECT_TRUE(test, pvx_test_depends(inflight, 1, PG(4), PG(0)));
}

static struct kunit_case pvx_copydep_cases[] = {
	KUNIT_CASE(pvx_test_copydep_independent),
	KUNIT_CASE(pvx_test_copydep_raw),
	KUNIT_CASE(pvx_test_copydep_waw),
	KUNIT_CASE(pvx_test_copydep_war),
	KUNIT_CASE(pvx_test_copydep_shift),
	KUNIT_CASE(pvx_test_copydep_alias),
	{}
};

static struct kunit_suite pvx_copydep_suite = {
	.name = "pvx_copydep",
	.test_cases = pvx_copydep_cases,
};
kunit_test_suite(pvx_copydep_suite);
