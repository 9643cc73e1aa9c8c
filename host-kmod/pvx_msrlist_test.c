// SPDX-License-Identifier: GPL-2.0
/* KUnit: the MSR allowlist's ranges. */
#include <kunit/test.h>
#include "pvx_msrlist.c"

static void pvx_test_msr_default(struct kunit *test)
{
	struct pvx_msr_allow *allow = pvx_msr_allow_default();

	KUNIT_ASSERT_NOT_NULL(test, allow);
	/* Each end of a range, and one past it. */
	KUNIT_EXPECT_TRUE(test, pvx_msr_allowed(allow, 0x800));
	KUNIT_EXPECT_TRUE(test, pvx_msr_allowed(allow, 0x8ff));
	KUNIT_EXPECT_FALSE(test, pvx_msr_allowed(allow, 0x7ff));
	KUNIT_EXPECT_FALSE(test, pvx_msr_allowed(allow, 0x900));
	KUNIT_EXPECT_TRUE(test, pvx_msr_allowed(allow, 0x277));
	KUNIT_EXPECT_FALSE(test, pvx_msr_allowed(allow, 0x276));
	KUNIT_EXPECT_FALSE(test, pvx_msr_allowed(allow, 0x278));
	KUNIT_EXPECT_TRUE(test, pvx_msr_allowed(allow, 0xc0000103));
	KUNIT_EXPECT_FALSE(test, pvx_msr_allowed(allow, 0xc0000104));
	/* Never on it: SYSENTER, EFER, APIC_BASE. */
	KUNIT_EXPECT_FALSE(test, pvx_msr_allowed(allow, 0x174));
	KUNIT_EXPECT_FALSE(test, pvx_msr_allowed(allow, 0xc0000080));
	KUNIT_EXPECT_FALSE(test, pvx_msr_allowed(allow, 0x1b));
	kfree(allow);
}

static void pvx_test_msr_edges(struct kunit *test)
{
	struct pvx_msr_allow allow = {
		.nr_ranges = 2,
		.ranges = { { 0xffffff00, 0x100 }, { 0, 1 } },
	};

	/* The top of the index space, without wrapping to 0. */
	KUNIT_EXPECT_TRUE(test, pvx_msr_allowed(&allow, 0xffffffff));
	KUNIT_EXPECT_TRUE(test, pvx_msr_allowed(&allow, 0));
	KUNIT_EXPECT_FALSE(test, pvx_msr_allowed(&allow, 1));
	KUNIT_EXPECT_FALSE(test, pvx_msr_allowed(&allow, 0xfffffeff));

	allow.nr_ranges = 0;
	KUNIT_EXPECT_FALSE(test, pvx_msr_allowed(&allow, 0));
}

static struct kunit_case pvx_msrlist_cases[] = {
	KUNIT_CASE(pvx_test_msr_default),
	KUNIT_CASE(pvx_test_msr_edges),
	{}
};

static struct kunit_suite pvx_msrlist_suite = {
	.name = "pvx_msrlist",
	.test_cases = pvx_msrlist_cases,
};
kunit_test_suite(pvx_msrlist_suite);
