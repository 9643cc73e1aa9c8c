// SPDX-License-Identifier: GPL-2.0
/*
 * Guest lists.  The whole list is copied into the host in one read before
 * any entry is validated or used: a guest that rewrites its list while the
 * host works on it (the PPC TCE-list TOCTOU bug) changes nothing.  On the
 * way back every entry's status is converted to the guest's ABI.
 */
#include <linux/errno.h>
#include <linux/overflow.h>
#include "pvx_host.h"

int pvx_list_check(u64 gpa, u32 count, size_t entry_size, u32 max_entries)
{
	size_t bytes;

	if (!count || !entry_size)
		return -EINVAL;
	if (count > max_entries)
		return -E2BIG;
	if (gpa & (PVX_LIST_ALIGN - 1))
		return -EINVAL;
	if (check_mul_overflow((size_t)count, entry_size, &bytes))
		return -E2BIG;
	if (bytes > PVX_LIST_MAX_BYTES)
		return -E2BIG;
	/* One page at most, and not straddling two. */
	if ((gpa & (PVX_LIST_MAX_BYTES - 1)) + bytes > PVX_LIST_MAX_BYTES)
		return -EINVAL;
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
		return -EFAULT;
	return 0;
}

/* The entry's status, converted in place: see pvx_guest_err(). */
static void pvx_list_status_out(void *entry, const struct pvx_split_ops *ops)
{
	void *p = entry + ops->status_offset;
	long st;

	switch (ops->status_size) {
	case sizeof(s8):
		st = pvx_guest_err(*(s8 *)p);
		/* -PVX_ENOSYS does not fit: no entry needs it. */
		*(s8 *)p = st < S8_MIN ? pvx_guest_err(-EIO) : st;
		break;
	case sizeof(s32):
		*(s32 *)p = pvx_guest_err(*(s32 *)p);
		break;
	}
}

/*
 * Writes the first @count entries of @list back to the guest, each
 * status in the guest's ABI (@list is changed).  The entries are whole
 * and the statuses what the services set, so @ops says where they are
 * (registration checked it).
 */
int pvx_list_copy_out(pvx_guest_write_fn write, void *ctx, u64 gpa,
		      void *list, u32 count, const struct pvx_split_ops *ops)
{
	u32 i;

	if (!count)
		return 0;
	for (i = 0; i < count; i++)
		pvx_list_status_out(list + i * ops->entry_size, ops);
	if (write(ctx, gpa, list, count * ops->entry_size))
		return -EFAULT;
	return 0;
}
