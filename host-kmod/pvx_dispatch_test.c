// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the dispatch table.  The code under test is compiled into this
 * test module too, so the suite needs neither KVM nor a loaded pvx_host.
 */
#include <kunit/test.h>
#include <linux/string.h>
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

static const struct pvx_split_ops pvx_test_list_ops = {
	.entry_size = 24,
	.status_offset = 20,
	.status_size = 4,
};

/* Returns its first argument, as a service that fails with it would. */
static long pvx_test_echo(struct pvx_call *call)
{
	return call->args[0];
}

/*
 * pvx_split.c's, which needs a VM: here it says which ops it was given
 * and for which call.
 */
long pvx_batch_call(struct pvx_call *call, const struct pvx_split_ops *ops)
{
	return ops->entry_size * 1000 + call->args[0];
}

static const struct pvx_service_ops ops_sum = { .handler = pvx_test_sum };
static const struct pvx_service_ops ops_seven = { .handler = pvx_test_seven };
static const struct pvx_service_ops ops_list = { .batch = &pvx_test_list_ops };
static const struct pvx_service_ops ops_echo = { .handler = pvx_test_echo };

static const struct pvx_service svc_open = {
	.name = "open", .nr = PVX_HC_BASE + 1, .ops = &ops_sum,
};
static const struct pvx_service svc_a = {
	.name = "a", .nr = PVX_HC_BASE + 2, .feature = PVX_TEST_F_A,
	.ops = &ops_seven,
};
static const struct pvx_service svc_a2 = {
	.name = "a2", .nr = PVX_HC_BASE + 3, .feature = PVX_TEST_F_A,
	.ops = &ops_seven,
};
static const struct pvx_service svc_list = {
	.name = "list", .nr = PVX_HC_BASE + 4, .feature = PVX_TEST_F_B,
	.ops = &ops_list,
};
static const struct pvx_service svc_echo = {
	.name = "echo", .nr = PVX_HC_BASE + 5, .ops = &ops_echo,
};
static const struct pvx_service svc_last = {
	.name = "last", .nr = PVX_HC_BASE + PVX_HC_COUNT - 1,
	.feature = PVX_TEST_F_B, .ops = &ops_seven,
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
	static const struct pvx_service_ops ops_none = {};
	static const struct pvx_service_ops ops_both = {
		.handler = pvx_test_seven, .batch = &pvx_test_list_ops,
	};
	static struct pvx_split_ops bad_status;
	static const struct pvx_service_ops ops_bad_status = {
		.batch = &bad_status,
	};
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
	bad.ops = NULL;
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &bad), -EINVAL);
	bad.ops = &ops_none;
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &bad), -EINVAL);
	/* A handler and list ops: which one would dispatch call? */
	bad.ops = &ops_both;
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &bad), -EINVAL);

	/* A list whose statuses dispatch could not find to convert. */
	bad.ops = &ops_bad_status;
	bad_status = pvx_test_list_ops;
	bad_status.status_size = 0;
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &bad), -EINVAL);
	bad_status.status_size = 8;
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &bad), -EINVAL);
	bad_status.status_size = 4;
	bad_status.status_offset = 21;
	KUNIT_EXPECT_EQ(test, pvx_table_register(&t, &bad), -EINVAL);

	bad.ops = &ops_seven;
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

	/* A list service's call goes to pvx_batch_call() with its ops. */
	KUNIT_ASSERT_EQ(test, pvx_table_register(&t, &svc_list), 0);
	call.nr = svc_list.nr;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, PVX_TEST_F_A),
			-PVX_EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, PVX_TEST_F_B),
			24 * 1000 + 1);

	call.nr = PVX_HC_BASE + 20;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, ~0ULL),
			-PVX_ENOSYS);
	call.nr = PVX_HC_BASE + PVX_HC_COUNT;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, ~0ULL),
			-PVX_ENOSYS);
}

/*
 * The guest ABI's errors (include/uapi/linux/pvx_para.h), written out
 * here rather than taken from pvx_dispatch.c's table, so that the table
 * is checked against the header: every one but PVX_ECANCELED (the
 * guest's own) is what pvx_host's errno of the same name becomes.
 */
static const struct {
	long host, guest;
} pvx_test_abi_errs[] = {
	{ -EPERM, -PVX_EPERM },
	{ -ENOENT, -PVX_ENOENT },
	{ -EIO, -PVX_EIO },
	{ -E2BIG, -PVX_E2BIG },
	{ -EAGAIN, -PVX_EAGAIN },
	{ -EFAULT, -PVX_EFAULT },
	{ -EBUSY, -PVX_EBUSY },
	{ -EINVAL, -PVX_EINVAL },
	{ -ENOSPC, -PVX_ENOSPC },
	{ -ERANGE, -PVX_ERANGE },
	{ -EOPNOTSUPP, -PVX_EOPNOTSUPP },
	{ -EINPROGRESS, -PVX_EINPROGRESS },
	{ -ENOSYS, -PVX_ENOSYS },
};

static void pvx_test_guest_err_abi(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pvx_test_abi_errs); i++)
		KUNIT_EXPECT_EQ_MSG(test,
				    pvx_guest_err(pvx_test_abi_errs[i].host),
				    pvx_test_abi_errs[i].guest, "errno %ld",
				    pvx_test_abi_errs[i].host);
	/* KVM's own value: a guest tells "no pvx" from it. */
	KUNIT_EXPECT_EQ(test, pvx_guest_err(-ENOSYS), -1000L);
}

/* Everything else negative is the host's failure, never guessed at. */
static void pvx_test_guest_err_other(struct kunit *test)
{
	static const long other[] = {
		-ENOMEM, -EINTR, -ERESTARTSYS, -ETIMEDOUT, -EEXIST, -ENODEV,
		-EHWPOISON, -ENOTTY, -EOVERFLOW, -ECANCELED, -MAX_ERRNO,
		/* A guest value used inside by mistake: 1000 is no errno. */
		-1000, -4096, -116, -1L << 31, LONG_MIN,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(other); i++)
		KUNIT_EXPECT_EQ_MSG(test, pvx_guest_err(other[i]),
				    (long)-PVX_EIO, "errno %ld", other[i]);
}

/* Results that are not errors: counts, PVX_SIGNATURE, statuses. */
static void pvx_test_guest_err_values(struct kunit *test)
{
	static const long values[] = {
		0, 1, 2, 3, 170, 256, 1000, PVX_SIGNATURE, U32_MAX, LONG_MAX,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(values); i++)
		KUNIT_EXPECT_EQ(test, pvx_guest_err(values[i]), values[i]);
}

/*
 * RAX gets the guest's value whatever a service returns, and dispatch's
 * own refusals are converted the same way.
 */
static void pvx_test_dispatch_converts(struct kunit *test)
{
	struct pvx_call call = { .nr = svc_echo.nr };
	struct pvx_table t = {};
	unsigned int i;

	KUNIT_ASSERT_EQ(test, pvx_table_register(&t, &svc_echo), 0);
	for (i = 0; i < ARRAY_SIZE(pvx_test_abi_errs); i++) {
		call.args[0] = pvx_test_abi_errs[i].host;
		KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, 0),
				pvx_test_abi_errs[i].guest);
	}
	call.args[0] = -ENOMEM;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, 0),
			(long)-PVX_EIO);
	call.args[0] = -ERESTARTSYS;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, 0),
			(long)-PVX_EIO);
	call.args[0] = 42;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, 0), 42);

	/* Below CPL 0 nothing runs: KVM's answer, -KVM_EPERM. */
	call.cpl = 3;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, ~0ULL),
			(long)-PVX_EPERM);
	call.nr = PVX_HC_BASE + 20;
	KUNIT_EXPECT_EQ(test, pvx_table_dispatch(&t, &call, ~0ULL),
			(long)-PVX_EPERM);
}

/*
 * Every line of the hypercall list takes a slot of its own, and its name
 * is its number's, in lower case.
 */
static void pvx_test_hypercall_list(struct kunit *test)
{
#define PVX_TEST_SERVICE(NAME, name_, nr_, feature_) {	\
	.name = #name_, .nr = PVX_HC_##NAME,			\
	.feature = (feature_), .ops = &ops_seven,		\
},
	static const struct pvx_service list[] = {
		PVX_HYPERCALLS(PVX_TEST_SERVICE)
	};
#undef PVX_TEST_SERVICE
#define PVX_TEST_NAME(NAME, ...) \
	[PVX_HC_##NAME - PVX_HC_BASE] = #NAME,
	static const char *const upper[PVX_HC_COUNT] = {
		PVX_HYPERCALLS(PVX_TEST_NAME)
	};
#undef PVX_TEST_NAME
	struct pvx_table t = {};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(list); i++) {
		const char *nr_name = upper[list[i].nr - PVX_HC_BASE];

		KUNIT_EXPECT_EQ_MSG(test, pvx_table_register(&t, &list[i]), 0,
				    "%s", list[i].name);
		KUNIT_EXPECT_EQ_MSG(test, strcasecmp(list[i].name, nr_name), 0,
				    "%s is PVX_HC_%s", list[i].name, nr_name);
	}
	KUNIT_EXPECT_EQ(test, t.features, PVX_FEATURES_ALL);
	KUNIT_EXPECT_PTR_EQ(test, t.svc[PVX_HC_PROBE - PVX_HC_BASE], &list[0]);
}

static struct kunit_case pvx_dispatch_cases[] = {
	KUNIT_CASE(pvx_test_range),
	KUNIT_CASE(pvx_test_register),
	KUNIT_CASE(pvx_test_register_rejects),
	KUNIT_CASE(pvx_test_unregister_features),
	KUNIT_CASE(pvx_test_dispatch),
	KUNIT_CASE(pvx_test_guest_err_abi),
	KUNIT_CASE(pvx_test_guest_err_other),
	KUNIT_CASE(pvx_test_guest_err_values),
	KUNIT_CASE(pvx_test_dispatch_converts),
	KUNIT_CASE(pvx_test_hypercall_list),
	{}
};

static struct kunit_suite pvx_dispatch_suite = {
	.name = "pvx_dispatch",
	.test_cases = pvx_dispatch_cases,
};
kunit_test_suite(pvx_dispatch_suite);

MODULE_DESCRIPTION("KUnit tests for pvx_host");
MODULE_LICENSE("GPL");
