/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_spinlock_t: a ticket lock that knows its holder's CPU, so that a
 * waiter whose holder was preempted by the host can give the holder its
 * time (PVX_HC_YIELD_TO) instead of spinning out its own time slice.
 */
#ifndef PVX_SPINLOCK_H
#define PVX_SPINLOCK_H

#include <linux/atomic.h>
#include <linux/types.h>

typedef struct pvx_spinlock {
	atomic_t next;		/* next ticket to hand out */
	atomic_t owner;		/* ticket being served */
	int holder;		/* CPU holding the lock, or -1 */
} pvx_spinlock_t;

#define PVX_SPINLOCK_INIT { ATOMIC_INIT(0), ATOMIC_INIT(0), -1 }

static inline void pvx_spin_lock_init(pvx_spinlock_t *lock)
{
	atomic_set(&lock->next, 0);
	atomic_set(&lock->owner, 0);
	lock->holder = -1;
}

/* Disables preemption, as spin_lock() does. */
void pvx_spin_lock(pvx_spinlock_t *lock);
void pvx_spin_unlock(pvx_spinlock_t *lock);

struct pvx_spin_stats {
	u64 slowpaths;		/* acquisitions that had to wait */
	u64 yields;		/* directed yields that boosted the holder */
	u64 yields_refused;	/* yields the host answered otherwise */
};

void pvx_spin_stats(struct pvx_spin_stats *sum);

#endif /* PVX_SPINLOCK_H */
