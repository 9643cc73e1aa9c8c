// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_guest: the guest's side of pvx.  Probes the host once at load and
 * refuses to load (with one line saying why) when the host has no pvx, so
 * that nothing built on it can hang waiting for a host that is not there.
 *
 * /sys/kernel/pvx/ shows what the host offers this VM.
 */
#define pr_fmt(fmt) "pvx: " fmt

#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <asm/kvm_para.h>
#include <uapi/linux/pvx.h>
#include "pvx_guest.h"

static struct pvx_probe_info pvx_info;
static struct kobject *pvx_kobj;

long pvx_hypercall(unsigned int nr, unsigned long a0, unsigned long a1,
		   unsigned long a2, unsigned long a3)
{
	return kvm_hypercall4(nr, a0, a1, a2, a3);
}
EXPORT_SYMBOL_GPL(pvx_hypercall);

u64 pvx_features(void)
{
	return pvx_info.features;
}
EXPORT_SYMBOL_GPL(pvx_features);

static int pvx_probe_host(void)
{
	struct pvx_probe_info *info;
	long ret;

	if (!kvm_para_available()) {
		pr_info("not running on KVM: disabled\n");
		return -ENODEV;
	}

	/* The host writes by guest-physical address: use linear-map memory. */
	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;

	ret = pvx_hypercall(PVX_HC_PROBE, __pa(info), sizeof(*info), 0, 0);
	if (ret == -PVX_ENOSYS) {
		pr_info("no pvx host (probe returned %ld): disabled\n", ret);
		ret = -ENODEV;
	} else if (ret != PVX_SIGNATURE) {
		pr_info("hypercall %#x answered %#lx, not pvx: disabled\n",
			PVX_HC_PROBE, ret);
		ret = -ENODEV;
	} else if (info->signature != PVX_SIGNATURE ||
		   info->abi_version != PVX_ABI_VERSION) {
		pr_info("host speaks pvx ABI %u (signature %#x), need %u: disabled\n",
			info->abi_version, info->signature, PVX_ABI_VERSION);
		ret = -ENODEV;
	} else {
		pvx_info = *info;
		ret = 0;
	}
	kfree(info);
	return ret;
}

static ssize_t abi_version_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", pvx_info.abi_version);
}

static ssize_t features_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%#llx\n", pvx_info.features);
}

static ssize_t max_list_entries_show(struct kobject *kobj,
				     struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", pvx_info.max_list_entries);
}

static struct kobj_attribute pvx_attr_abi_version = __ATTR_RO(abi_version);
static struct kobj_attribute pvx_attr_features = __ATTR_RO(features);
static struct kobj_attribute pvx_attr_max_list = __ATTR_RO(max_list_entries);

static struct attribute *pvx_attrs[] = {
	&pvx_attr_abi_version.attr,
	&pvx_attr_features.attr,
	&pvx_attr_max_list.attr,
	NULL,
};

static const struct attribute_group pvx_attr_group = {
	.attrs = pvx_attrs,
};

static int __init pvx_guest_init(void)
{
	int ret;

	ret = pvx_probe_host();
	if (ret)
		return ret;

	pvx_kobj = kobject_create_and_add("pvx", kernel_kobj);
	if (!pvx_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(pvx_kobj, &pvx_attr_group);
	if (ret)
		goto err_sysfs;

	pr_info("host pvx ABI %u, features %#llx, max list %u\n",
		pvx_info.abi_version, pvx_info.features,
		pvx_info.max_list_entries);
	return 0;

err_sysfs:
	kobject_put(pvx_kobj);
	return ret;
}

static void __exit pvx_guest_exit(void)
{
	sysfs_remove_group(pvx_kobj, &pvx_attr_group);
	kobject_put(pvx_kobj);
}

module_init(pvx_guest_init);
module_exit(pvx_guest_exit);

MODULE_DESCRIPTION("pvx: guest core (probe, hypercall wrappers)");
MODULE_LICENSE("GPL");
