// SPDX-License-Identifier: GPL-2.0
/*
 * Guest lists.  The whole list is copied into the host in one read before
 * any entry is validated or used: a guest that rewrites its list while the
 * host works on it (the PPC TCE-list TOCTOU bug) changes nothing.
 */
#include <linux/errno.h>
#include <linux/overflow.h>
#include "pvx_host.h"

int pvx_list_check(u64 gpa, u32 count, size_t entry_size, u32 max_entries)
{
	size_t bytes;

	if (!count || !entry_size)
		return -PVX_EINVAL;
	if (count > max_entries)
		return -PVX_E2BIG;
	if (gpa & (PVX_LIST_ALIGN - 1))
		return -PVX_EINVAL;
	if (check_mul_overflow((size_t)count, entry_size, &bytes))
		return -PVX_E2BIG;
	if (bytes > PVX_LIST_MAX_BYTES)
		return -PVX_E2BIG;
	/* One page at most, and not straddling two. */
	if ((gpa & (PVX_LIST_MAX_BYTES - 1)) + bytes > PVX_LIST_MAX_BYTES)
		return -PVX_EINVAL;
	return 0;
}

int pvx_list_copy_in(pvx_guest_read_fn read, void *ctx, u64 gpa, u32 count,
		     size_t entry_size, u32 max_entries, void *buf)
{
	int ret;

	ret = pvx_list_check(gpa, count, entry_size, max_entries);
	if (ret)
		return ret;

	if (read(ctx, gpa, buf, count * entry_size))
		return -PVX_EFAULT;
	return 0;
}
