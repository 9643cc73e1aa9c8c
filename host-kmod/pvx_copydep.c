// SPDX-License-Identifier: GPL-2.0
/*
 * Whether a COPY_PAGES entry may go to a DMA engine while earlier entries
 * are still in flight.  The engine may run them in any order, so any page
 * both touch, at least one writing it, must wait.  Pure logic, so that
 * KUnit can check every hazard (pvx_copydep_test.c).
 */
#include "pvx_host.h"

bool pvx_copy_depends(const struct pvx_copy_pages *inflight, u32 n,
		      const struct pvx_copy_pages *next)
{
	u32 i;

	for (i = 0; i < n; i++) {
		const struct pvx_copy_pages *e = &inflight[i];

		/* Read after write, write after write, write after read. */
		if (e->dst == next->src || e->dst == next->dst ||
		    e->src == next->dst)
			return true;
	}
	return false;
}
