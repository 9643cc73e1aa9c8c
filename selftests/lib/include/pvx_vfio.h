/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A device passed through with VFIO, for the IOMMU service: QEMU's "edu"
 * (run-l1.sh --iommu: behind VT-d), bound to vfio-pci, its group in a
 * type1v2 container, BAR0 mapped; and PVX_IOC_IOMMU_SETUP, which hands
 * pvx that container and an IOVA window.
 */
#ifndef PVX_VFIO_H
#define PVX_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8

struct edu {
	char bdf[256];
	int group_nr;
	int container, group, dev;
	uint8_t *bar;
	size_t bar_size;
};

/*
 * Finds edu and binds it to vfio-pci (one TAP check); false if there is
 * none.  Bails out if it has no IOMMU group.
 */
bool edu_find(struct edu *e);
/*
 * Lets type1 attach a group without interrupt remapping, which the
 * testbed's VT-d does not have (edu's interrupts are never used).
 */
void allow_unsafe_interrupts(void);
/*
 * The container with edu's group in it, the device fd, BAR0 mapped,
 * memory decoding and bus mastering on.  The __ form returns 0 or the
 * -errno of opening the container or the group (-EBUSY: a dead VMM's
 * VFIO state is still on its way out) and bails out on what follows;
 * the _wait form tries again while -EBUSY, for up to @timeout_ns; the
 * other waits 5 s and bails out on any error.
 */
int __vfio_open(struct edu *e);
int __vfio_open_wait(struct edu *e, uint64_t timeout_ns);
void vfio_open(struct edu *e);
void vfio_close(struct edu *e);

/*
 * PVX_IOC_IOMMU_SETUP: @container and the IOVA window [@base, @base +
 * @size) for VM @vm_id, at most @max_mappings entries and @max_pages
 * pages in force (0: the defaults).  The __ forms return 0 or -errno;
 * the other bails out on error.
 */
int __iommu_setup_capped(int pvx_fd, uint64_t vm_id, int container,
			 uint64_t base, uint64_t size, uint32_t perms,
			 uint32_t max_mappings, uint64_t max_pages);
int __iommu_setup(int pvx_fd, uint64_t vm_id, int container, uint64_t base,
		  uint64_t size, uint32_t perms);
void iommu_setup(int pvx_fd, uint64_t vm_id, int container, uint64_t base,
		 uint64_t size, uint32_t perms);

#endif /* PVX_VFIO_H */
