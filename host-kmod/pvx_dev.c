// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/pvx: the VMM's side.  Attaching needs an open KVM VM fd, which is
 * itself the capability to drive that VM.  What names a VM by its id
 * reaches only the VMs of the caller's own memory, or every VM for the
 * host's admin (pvx_vm.c).  So the node may be opened by the group a
 * distribution gives its VMMs (60-pvx.rules: group kvm, as /dev/kvm).
 */
#define pr_fmt(fmt) "pvx: " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include "pvx_host.h"

static long pvx_ioctl_attach(struct pvx_attach __user *uarg)
{
	struct pvx_attach req;
	struct file *file;
	struct kvm *kvm;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved0 ||
	    memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;
	if (req.features & ~pvx_supported_features())
		return -EOPNOTSUPP;
	if (req.max_list_entries > PVX_MAX_LIST_ENTRIES)
		return -EINVAL;

	/* The file holds the VM until the attach is answered. */
	file = fget(req.vm_fd);
	if (!file)
		return -EBADF;
	kvm = pvx_compat_kvm_from_file(file);
	ret = kvm ? pvx_vm_attach(kvm, &req, &req.vm_id) : -EINVAL;
	if (!ret && put_user(req.vm_id, &uarg->vm_id)) {
		pvx_vm_detach_kvm(kvm);
		ret = -EFAULT;
	}
	fput(file);
	return ret;
}

static long pvx_ioctl_detach(struct pvx_detach __user *uarg)
{
	struct pvx_detach req;
	struct file *file;
	struct kvm *kvm;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.reserved0 || memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;
	if (req.flags & ~PVX_DETACH_BY_ID)
		return -EINVAL;

	if (req.flags & PVX_DETACH_BY_ID)
		return pvx_vm_detach_id(req.vm_id);

	file = fget(req.vm_fd);
	if (!file)
		return -EBADF;
	kvm = pvx_compat_kvm_from_file(file);
	ret = kvm ? pvx_vm_detach_kvm(kvm) : -EINVAL;
	fput(file);
	return ret;
}

static long pvx_ioctl_stats(struct pvx_stats __user *uarg)
{
	struct pvx_stats req;
	u32 nr_vms;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved32 ||
	    memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;
	/* Revision 1 callers know the records up to iommu_pages. */
	BUILD_BUG_ON(offsetof(struct pvx_vm_stats, prefault_limited) !=
		     PVX_VM_STATS_SIZE_V1);
	if (!req.record_size)
		req.record_size = PVX_VM_STATS_SIZE_V1;
	if (req.record_size < PVX_VM_STATS_SIZE_V1 || req.record_size % 8)
		return -EINVAL;

	ret = pvx_vm_stats(u64_to_user_ptr(req.buf), req.nr_vms,
			   req.record_size, &nr_vms);
	if (ret)
		return ret;

	req.nr_vms = nr_vms;
	req.live_vms = pvx_vm_live();
	req.record_size = sizeof(struct pvx_vm_stats);
	if (copy_to_user(uarg, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

static long pvx_ioctl_set_msr_allowlist(struct pvx_msr_allowlist __user *uarg)
{
	struct pvx_msr_allowlist req;
	struct pvx_msr_allow *allow;
	unsigned int i;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;
	if (req.nr_ranges > PVX_MSR_RANGES_MAX)
		return -E2BIG;
	for (i = 0; i < req.nr_ranges; i++) {
		const struct pvx_msr_range *r = &req.ranges[i];

		if (!r->count || r->base + r->count - 1 < r->base)
			return -EINVAL;
	}

	allow = kzalloc(sizeof(*allow), GFP_KERNEL_ACCOUNT);
	if (!allow)
		return -ENOMEM;
	allow->nr_ranges = req.nr_ranges;
	memcpy(allow->ranges, req.ranges,
	       req.nr_ranges * sizeof(req.ranges[0]));
	return pvx_vm_set_msr_allow(req.vm_id, allow);
}

static long pvx_ioctl_set_balloon_target(struct pvx_balloon_target __user *uarg)
{
	struct pvx_balloon_target req;
	struct pvx_vm *vm;
	bool notified;
	int idx, ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.notified ||
	    memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;

	vm = pvx_vm_get_id(req.vm_id, &idx);
	if (!vm)
		return -ENOENT;
	ret = pvx_balloon_set_target(vm, req.target_pages, &notified);
	pvx_vm_put_id(vm, idx);
	if (ret)
		return ret;
	return put_user(notified, &uarg->notified);
}

static long pvx_ioctl_iommu_setup(struct pvx_iommu_setup __user *uarg)
{
	struct pvx_iommu_setup req;
	struct pvx_vm *vm;
	int idx, ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;

	vm = pvx_vm_get_id(req.vm_id, &idx);
	if (!vm)
		return -ENOENT;
	ret = pvx_iommu_setup(vm, &req);
	pvx_vm_put_id(vm, idx);
	return ret;
}

static long pvx_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case PVX_IOC_GET_FEATURES:
		return put_user(pvx_supported_features(), (u64 __user *)uarg);
	case PVX_IOC_ATTACH:
		return pvx_ioctl_attach(uarg);
	case PVX_IOC_DETACH:
		return pvx_ioctl_detach(uarg);
	case PVX_IOC_STATS:
		return pvx_ioctl_stats(uarg);
	case PVX_IOC_SET_MSR_ALLOWLIST:
		return pvx_ioctl_set_msr_allowlist(uarg);
	case PVX_IOC_SET_BALLOON_TARGET:
		return pvx_ioctl_set_balloon_target(uarg);
	case PVX_IOC_IOMMU_SETUP:
		return pvx_ioctl_iommu_setup(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations pvx_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = pvx_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/*
 * A fixed misc minor, so that /dev/pvx exists before pvx_host is loaded
 * and opening it loads the module: depmod writes the devname alias into
 * modules.devname, kmod-static-nodes (systemd-tmpfiles) creates the node
 * at boot, and the kernel's char-major-10-N request loads us on the
 * first open.  247 is in 243-254, which Documentation/admin-guide/
 * devices.txt reserves for local use (include/linux/miscdevice.h assigns
 * none of them); a minor there is not registered upstream, so another
 * local driver may have it: then misc_register() says -EBUSY and we take
 * a dynamic minor, as before (/dev/pvx works, only its autoload does not).
 */
#define PVX_MISC_MINOR 247

MODULE_ALIAS_MISCDEV(PVX_MISC_MINOR);
MODULE_ALIAS("devname:pvx");

static struct miscdevice pvx_miscdev = {
	.minor = PVX_MISC_MINOR,
	.name = "pvx",
	.fops = &pvx_fops,
	.mode = 0660,
};

int pvx_dev_init(void)
{
	int ret;

	pvx_miscdev.minor = PVX_MISC_MINOR;
	ret = misc_register(&pvx_miscdev);
	if (ret != -EBUSY)
		return ret;
	pr_warn("misc minor %d is taken: /dev/pvx gets a dynamic minor and does not autoload pvx_host\n",
		PVX_MISC_MINOR);
	pvx_miscdev.minor = MISC_DYNAMIC_MINOR;
	return misc_register(&pvx_miscdev);
}

void pvx_dev_exit(void)
{
	misc_deregister(&pvx_miscdev);
}
