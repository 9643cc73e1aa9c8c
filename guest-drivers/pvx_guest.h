/* SPDX-License-Identifier: GPL-2.0 */
/* The C API of pvx_guest for the other guest modules. */
#ifndef PVX_GUEST_H
#define PVX_GUEST_H

#include <linux/types.h>

struct notifier_block;

long pvx_hypercall(unsigned int nr, unsigned long a0, unsigned long a1,
		   unsigned long a2, unsigned long a3);
u64 pvx_features(void);

/* Called in hard interrupt context on the notified CPU. */
int pvx_register_notifier(struct notifier_block *nb);
int pvx_unregister_notifier(struct notifier_block *nb);

/* The calling CPU's one-shot timer (PVX_F_TIMER). */
long pvx_timer_arm(u64 delta_ns);
long pvx_timer_cancel(void);

#endif /* PVX_GUEST_H */
