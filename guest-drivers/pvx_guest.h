/* SPDX-License-Identifier: GPL-2.0 */
/* The C API of pvx_guest for the other guest modules. */
#ifndef PVX_GUEST_H
#define PVX_GUEST_H

#include <linux/types.h>

long pvx_hypercall(unsigned int nr, unsigned long a0, unsigned long a1,
		   unsigned long a2, unsigned long a3);
u64 pvx_features(void);

#endif /* PVX_GUEST_H */
