// SPDX-License-Identifier: GPL-2.0
/*
 * edu through VFIO, and PVX_IOC_IOMMU_SETUP: see pvx_vfio.h.  The test is
 * the VMM: it binds the device to vfio-pci itself, puts its group in a
 * type1v2 container and hands pvx that container.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include "pvx_test.h"
#include "pvx_vfio.h"

static unsigned long read_hex(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return strtoul(buf, NULL, 16);
}

bool edu_find(struct edu *e)
{
	char path[PATH_MAX], link[PATH_MAX], *p;
	struct dirent *d;
	DIR *dir = opendir("/sys/bus/pci/devices");
	ssize_t n;
	bool found = false;

	if (!dir)
		return false;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", d->d_name);
		if (read_hex(path) != EDU_VENDOR)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", d->d_name);
		if (read_hex(path) != EDU_DEVICE)
			continue;
		snprintf(e->bdf, sizeof(e->bdf), "%s", d->d_name);
		found = true;
		break;
	}
	closedir(dir);
	if (!found)
		return false;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", e->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	if (!strstr(link, "vfio-pci")) {
		if (n > 0) {
			snprintf(path, sizeof(path),
				 "/sys/bus/pci/devices/%s/driver/unbind", e->bdf);
			write_file(path, e->bdf);
		}
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/driver_override", e->bdf);
		TEST_ASSERT(!write_file(path, "vfio-pci"), "driver_override");
		write_file("/sys/bus/pci/drivers_probe", e->bdf);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", e->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	tap_ok(strstr(link, "vfio-pci") != NULL, "edu %s bound to vfio-pci (%s)",
	       e->bdf, n > 0 ? link : "no driver");

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", e->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		tap_bail("edu %s has no IOMMU group: is the IOMMU on (intel_iommu=on)?",
			 e->bdf);
	link[n] = 0;
	p = strrchr(link, '/');
	e->group_nr = atoi(p ? p + 1 : link);
	return true;
}

#define UNSAFE_IRQS "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"

/*
 * QEMU's VT-d under TCG runs here without interrupt remapping (the debug
 * kernel has no IRQ_REMAP), and type1 then refuses to attach a group.
 * The test never uses edu's interrupts: allow it, and say so.
 */
void allow_unsafe_interrupts(void)
{
	char v = 0;
	int fd = open(UNSAFE_IRQS, O_RDONLY);

	if (fd < 0)
		return;
	if (read(fd, &v, 1) != 1)
		v = 0;
	close(fd);
	if (v == 'Y')
		return;
	tap_diag("no interrupt remapping in this L1: setting %s (edu's interrupts are not used)",
		 UNSAFE_IRQS);
	write_file(UNSAFE_IRQS, "1");
}

int __vfio_open(struct edu *e)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_region_info bar = { .argsz = sizeof(bar) };
	char path[64];

	e->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (e->container < 0)
		return -errno;
	snprintf(path, sizeof(path), "/dev/vfio/%d", e->group_nr);
	e->group = open(path, O_RDWR | O_CLOEXEC);
	if (e->group < 0) {
		close(e->container);
		return -errno;
	}
	TEST_ASSERT(!ioctl(e->group, VFIO_GROUP_GET_STATUS, &st),
		    "VFIO_GROUP_GET_STATUS");
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		tap_bail("VFIO group %d is not viable", e->group_nr);
	TEST_ASSERT(!ioctl(e->group, VFIO_GROUP_SET_CONTAINER, &e->container),
		    "VFIO_GROUP_SET_CONTAINER");
	TEST_ASSERT(!ioctl(e->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
		    "VFIO_SET_IOMMU(type1v2)");
	e->dev = ioctl(e->group, VFIO_GROUP_GET_DEVICE_FD, e->bdf);
	TEST_ASSERT(e->dev >= 0, "VFIO_GROUP_GET_DEVICE_FD");

	bar.index = VFIO_PCI_BAR0_REGION_INDEX;
	TEST_ASSERT(!ioctl(e->dev, VFIO_DEVICE_GET_REGION_INFO, &bar),
		    "region info BAR0");
	e->bar_size = bar.size;
	e->bar = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      e->dev, bar.offset);
	TEST_ASSERT(e->bar != MAP_FAILED, "mmap BAR0");

	/* Memory decoding and bus mastering, as a guest driver would. */
	{
		struct vfio_region_info cfg = { .argsz = sizeof(cfg) };
		uint16_t cmd;

		cfg.index = VFIO_PCI_CONFIG_REGION_INDEX;
		TEST_ASSERT(!ioctl(e->dev, VFIO_DEVICE_GET_REGION_INFO, &cfg),
			    "region info config");
		TEST_ASSERT(pread(e->dev, &cmd, 2, cfg.offset + PCI_COMMAND) == 2,
			    "read PCI_COMMAND");
		cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
		TEST_ASSERT(pwrite(e->dev, &cmd, 2, cfg.offset + PCI_COMMAND) == 2,
			    "write PCI_COMMAND");
	}
	return 0;
}

int __vfio_open_wait(struct edu *e, uint64_t timeout_ns)
{
	uint64_t t0 = now_ns();
	int r;

	while ((r = __vfio_open(e)) == -EBUSY && now_ns() - t0 < timeout_ns)
		usleep(10000);
	return r;
}

void vfio_open(struct edu *e)
{
	int r = __vfio_open_wait(e, 5000000000ULL);

	if (r)
		tap_bail("VFIO: %s", strerror(-r));
}

void vfio_close(struct edu *e)
{
	munmap(e->bar, e->bar_size);
	close(e->dev);
	close(e->group);
	close(e->container);
}

int __iommu_setup_capped(int pvx_fd, uint64_t vm_id, int container,
			 uint64_t base, uint64_t size, uint32_t perms,
			 uint32_t max_mappings, uint64_t max_pages)
{
	struct pvx_iommu_setup s;

	memset(&s, 0, sizeof(s));
	s.vm_id = vm_id;
	s.container_fd = container;
	s.perms = perms;
	s.iova_base = base;
	s.iova_size = size;
	s.max_mappings = max_mappings;
	s.max_pages = max_pages;
	return pvx_ioctl_raw(pvx_fd, PVX_IOC_IOMMU_SETUP, &s);
}

int __iommu_setup(int pvx_fd, uint64_t vm_id, int container, uint64_t base,
		  uint64_t size, uint32_t perms)
{
	return __iommu_setup_capped(pvx_fd, vm_id, container, base, size,
				    perms, 0, 0);
}

void iommu_setup(int pvx_fd, uint64_t vm_id, int container, uint64_t base,
		 uint64_t size, uint32_t perms)
{
	int r = __iommu_setup(pvx_fd, vm_id, container, base, size, perms);

	if (r)
		tap_bail("PVX_IOC_IOMMU_SETUP(vm %llu, iova %#llx+%#llx): %s",
			 (unsigned long long)vm_id, (unsigned long long)base,
			 (unsigned long long)size, strerror(-r));
}
