// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_host: paravirtual hypercall services for KVM guests.
 *
 * The compat layer hands every hypercall in pvx's number range to
 * pvx_handle_hypercall().  Calls from VMs that were not attached go back
 * to KVM, which answers -KVM_ENOSYS as it always did.
 */
#define pr_fmt(fmt) "pvx: " fmt

#include <linux/module.h>
#include "pvx_host.h"
#include "pvx_version.h"

#define CREATE_TRACE_POINTS
#include "pvx_trace.h"

/*
 * The tracepoint's format file gets each PVX_HC_<NAME> replaced by its
 * value in decimal, in place: a name shorter than that (10 digits) would
 * not be replaced, and warns at load.
 */
#define PVX_TRACE_HC_CHECK(NAME, ...) \
	static_assert(sizeof("PVX_HC_" #NAME) - 1 >= 10);
PVX_HYPERCALLS(PVX_TRACE_HC_CHECK)
#undef PVX_TRACE_HC_CHECK

static struct pvx_table pvx_table;

/* PVX_HYPERCALLS, each line with the service its file gives. */
#define PVX_SERVICE(NAME, name_, nr_, feature_) {		\
	.name = #name_,						\
	.nr = PVX_HC_##NAME,					\
	.feature = (feature_),					\
	.ops = &pvx_svc_##name_,				\
},
static const struct pvx_service pvx_services[] = {
	PVX_HYPERCALLS(PVX_SERVICE)
};
#undef PVX_SERVICE

u64 pvx_supported_features(void)
{
	return pvx_table.features & ~pvx_iommu_refused_features() &
	       ~pvx_compat_refused_features();
}

static void pvx_count(struct pvx_vm *vm, u32 nr, long ret)
{
	struct pvx_counter *c = &vm->hc[nr - PVX_HC_BASE];

	atomic64_inc(&c->calls);
	if (ret < 0)
		atomic64_inc(&c->errors);
}

bool pvx_handle_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
			  const unsigned long *args, bool op_64_bit, int cpl,
			  unsigned long *ret)
{
	struct pvx_call call = {
		.vcpu = vcpu,
		.nr = nr,
		.op_64_bit = op_64_bit,
		.cpl = cpl,
	};
	long result;
	int idx;

	idx = pvx_vm_read_lock();
	call.vm = pvx_vm_lookup(pvx_compat_vcpu_kvm(vcpu));
	if (!call.vm) {
		pvx_vm_read_unlock(idx);
		return false;
	}
	memcpy(call.args, args, sizeof(call.args));

	/* In the guest's ABI: the trace shows what the guest got. */
	result = pvx_table_dispatch(&pvx_table, &call, call.vm->features);

	pvx_count(call.vm, call.nr, result);
	trace_pvx_hypercall(call.vm->id, pvx_compat_vcpu_id(vcpu), call.nr,
			    call.args, result);
	pvx_vm_read_unlock(idx);

	*ret = result;
	return true;
}

static void pvx_services_unregister(unsigned int n)
{
	while (n--)
		pvx_table_unregister(&pvx_table, &pvx_services[n]);
}

static int pvx_services_register(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(pvx_services); i++) {
		ret = pvx_table_register(&pvx_table, &pvx_services[i]);
		if (ret) {
			pr_err("service %s (nr %#x) not registered: %d\n",
			       pvx_services[i].name, pvx_services[i].nr, ret);
			pvx_services_unregister(i);
			return ret;
		}
	}
	return 0;
}

static int __init pvx_init(void)
{
	int ret;

	pvx_copy_engine_init();
	ret = pvx_services_register();
	if (ret)
		goto err_services;

	ret = pvx_vm_init();
	if (ret)
		goto err_vm;

	ret = pvx_split_init();
	if (ret)
		goto err_split;

	ret = pvx_iommu_init();
	if (ret)
		goto err_iommu;

	ret = pvx_compat_lifetime_hook_install();
	if (ret)
		goto err_lifetime_hook;

	ret = pvx_compat_hypercall_hook_install();
	if (ret)
		goto err_hypercall_hook;

	ret = pvx_dev_init();
	if (ret)
		goto err_dev;

	pr_info("ready: hypercalls %#x-%#x, features %#llx\n", PVX_HC_BASE,
		PVX_HC_BASE + PVX_HC_COUNT - 1, pvx_table.features);
	return 0;

err_dev:
	pvx_compat_hypercall_hook_remove();
err_hypercall_hook:
	pvx_compat_lifetime_hook_remove();
err_lifetime_hook:
	pvx_iommu_exit();
err_iommu:
	pvx_split_exit();
err_split:
	pvx_vm_exit();
err_vm:
	pvx_services_unregister(ARRAY_SIZE(pvx_services));
err_services:
	pvx_copy_engine_exit();
	return ret;
}

static void __exit pvx_exit(void)
{
	pvx_dev_exit();
	pvx_compat_hypercall_hook_remove();
	pvx_vm_detach_all();
	pvx_split_exit();
	pvx_vm_exit();
	pvx_compat_lifetime_hook_remove();
	pvx_iommu_exit();
	pvx_vm_barrier();
	pvx_services_unregister(ARRAY_SIZE(pvx_services));
	pvx_copy_engine_exit();
	pr_info("unloaded\n");
}

module_init(pvx_init);
module_exit(pvx_exit);

MODULE_DESCRIPTION("pvx: paravirtual hypercall services for KVM guests");
MODULE_LICENSE("GPL");
MODULE_SOFTDEP("pre: kvm");
MODULE_VERSION(PVX_VERSION);
