// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the dispatch table.  The code under test is compiled into this
 * test module too, so the suite needs neither KVM nor a loaded pvx_host.
 */
#include <kunit/test.h>
#include "pvx_dispatch.c"

#define PVX_TEST_F_A	BIT_ULL(3)
#define PVX_TEST_F_B	BIT_ULL(5)

static long pvx_test_sum(struct pvx_call *call)
{
	return call->args[0] + call->args[1] + call->args[2] + call->args[3];
}

static long pvx_test_seven(struct pvx_call *call)
{
	return 7;
}

static const struct pvx_service svc_open = {
	.name = "open", .nr = PVX_HC_BASE + 1, .handler = pvx_test_sum,
};
static const struct pvx_service svc_a = {
	.name = "a", .nr = PVX_HC_BASE + 2, .feature = PVX_TEST_F_A,
	.handler = pvx_test_seven,
};
static const struct pvx_service svc_a2 = {
	.name = "a2", .nr = PVX_HC_BASE + 3, .feature = PVX_TEST_F_A,
	.handler = pvx_test_seven,
};
static const struct pvx_service svc_last = {
	.name = "last", .nr = PVX_HC_BASE + PVX_HC_COUNT - 1,
	.feature = PVX_TEST_F_B, .handler = pvx_test_seven,
};

static void pvx_test_range(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, pvx_nr_in_range(PVX_HC_BASE));
	KUNIT_EXPECT_TRUE(test, pvx_nr_in_range(PVX_HC_BASE + PVX_HC_COUNT - 1));
	KUNIT_EXPECT_FALSE(test, pvx_nr_in_range(PVX_HC_BASE - 1));
	KUNIT_EXPECT_FALSE(test, pvx_nr_in_range(PVX_HC_BASE + PVX_HC_COUNT));
	KUNIT_EXPECT_FALSE(test, pvx_nr_in_range(0));
	/* A 64-bit caller's high bits are part of the number. */
	KUNIT_EXPECT_FALSE(test, pvx_nr_in_range((1UL << 32) | PVX_HC_BASE));
}

static void pvx_test_register(struct kunit *test)
{
	struct pvx_table t = {};

	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &svc_open), 0);
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &svc_a), 0);
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &svc_last), 0);
	KUNIT_EXPECT_EQ(test, t.features, PVX_TEST_F_A | PVX_TEST_F_B);
	KUNIT_EXPECT_PTR_EQ(test, t.svc[2], &svc_a);
}

static void pvx_test_register_rejects(struct kunit *test)
{
	struct pvx_service bad = svc_a;
	struct pvx_table t = {};

	KUNIT_ASSERT_EQ(test, pvx_table_register(&t, &svc_a), 0);

	/* A second service for the same number, or the same one again. */
	bad.name = "dup";
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &bad), -EEXIST);
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &svc_a), -EEXIST);
	KUNIT_EXPECT_PTR_EQ(test, t.svc[2], &svc_a);

	bad.nr = PVX_HC_BASE + PVX_HC_COUNT;
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &bad), -EINVAL);
	bad.nr = PVX_HC_BASE - 1;
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &bad), -EINVAL);

	bad.nr = PVX_HC_BASE + 10;
	bad.handler = NULL;
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &bad), -EINVAL);

	bad.handler = pvx_test_seven;
	bad.feature = PVX_TEST_F_A | PVX_TEST_F_B;
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &bad), -EINVAL);
	KUNIT_EXPECT_NULL(test, t.svc[10]);
	KUNIT_EXPECT_EQ(test, t.features, PVX_TEST_F_A);
}

static void pvx_test_unregister_features(struct kunit *test)
{
	struct pvx_table t = {};

	KUNIT_ASSERT_EQ(test, pvx_table_register(&t, &svc_a), 0);
	KUNIT_ASSERT_EQ(test, pvx_table_register(&t, &svc_a2), 0);
	KUNIT_ASSERT_EQ(test, pvx_table_register(&t, &svc_last), 0);

	/* A shared bit stays while one of its services remains. */
	pvx_table_unregister(&t, &svc_a);
	KUNIT_EXPECT_EQ(test, t.features, PVX_TEST_F_A | PVX_TEST_F_B);
	pvx_table_unregister(&t, &svc_a2);
	KUNIT_EXPECT_EQ(test, t.features, PVX_TEST_F_B);

	/* Unregistering what is not registered changes nothing. */
	pvx_table_unregister(&t, &svc_a);
	KUNIT_EXPECT_EQ(test, t.features, PVX_TEST_F_B);
	KUNIT_EXPECT_PTR_EQ(test, t.svc[PVX_HC_COUNT - 1], &svc_last);
}

static void pvx_test_dispatch(struct kunit *test)
{
	struct pvx_call call = { .args = { 1, 2, 3, 4 } };
	struct pvx_table t = {};

	KUNIT_ASSERT_EQ(test, pvx_table_register(&t, &svc_open), 0);
	KUNIT_ASSERT_EQ(test, pvx_table_register(&t, &svc_a), 0);

	call.nr = svc_open.nr;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, 0), 10);

	call.nr = svc_a.nr;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, 0),
			-PVX_EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, PVX_TEST_F_B),
			-PVX_EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, PVX_TEST_F_A), 7);

	call.nr = PVX_HC_BASE + 20;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, ~0ULL),
			-PVX_ENOSYS);
	call.nr = PVX_HC_BASE + PVX_HC_COUNT;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, ~0ULL),
			-PVX_ENOSYS);
}

static struct kunit_case pvx_dispatch_cases[] = {
	KUNIT_CASE(pvx_test_range),
	KUNIT_CASE(pvx_test_register),
	KUNIT_CASE(pvx_test_register_rejects),
	KUNIT_CASE(pvx_test_unregister_features),
	KUNIT_CASE(pvx_test_dispatch),
	{}
};

static struct kunit_suite pvx_dispatch_suite = {
	.name = "pvx_dispatch",
	.test_cases = pvx_dispatch_cases,
};
kunit_test_suite(pvx_dispatch_suite);

MODULE_DESCRIPTION("KUnit tests for pvx_host");
MODULE_LICENSE("GPL");
