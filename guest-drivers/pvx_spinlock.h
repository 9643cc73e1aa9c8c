/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_spinlock_t: a ticket lock that knows which CPU each ticket belongs
 * to, so that a waiter can give its time (PVX_HC_YIELD_TO) to the CPU
 * whose turn it is when the host preempted that CPU, whether it holds
 * the lock already or was just handed it, instead of spinning out its
 * own time slice; and, after its bound, halt until its turn comes.
 */
#ifndef PVX_SPINLOCK_H
#define PVX_SPINLOCK_H

#include <linux/atomic.h>
#include <linux/types.h>

/* Tickets named at once; more waiters than that go unnamed (no yield). */
#define PVX_SPIN_SLOTS		8

typedef struct pvx_spinlock {
	atomic_t next;		/* next ticket to hand out */
	atomic_t owner;		/* ticket being served */
	/*
	 * By ticket % PVX_SPIN_SLOTS: the ticket in the upper 32 bits, its
	 * CPU + 1 in bits 0-30 (0: nobody), PVX_SPIN_HALTED in bit 31.
	 */
	atomic64_t slot[PVX_SPIN_SLOTS];
} pvx_spinlock_t;

#define PVX_SPINLOCK_INIT { ATOMIC_INIT(0), ATOMIC_INIT(0) }

static inline void pvx_spin_lock_init(pvx_spinlock_t *lock)
{
	int i;

	atomic_set(&lock->next, 0);
	atomic_set(&lock->owner, 0);
	for (i = 0; i < PVX_SPIN_SLOTS; i++)
		atomic64_set(&lock->slot[i], 0);
}

/* Disables preemption, as spin_lock() does. */
void pvx_spin_lock(pvx_spinlock_t *lock);
void pvx_spin_unlock(pvx_spinlock_t *lock);

struct pvx_spin_stats {
	u64 slowpaths;		/* acquisitions that had to wait */
	u64 yields;		/* directed yields that boosted the holder */
	u64 yields_refused;	/* yields the host answered otherwise */
	u64 halts;		/* waiters that halted until their turn */
	u64 kicks;		/* unlocks that woke the next waiter */
};

void pvx_spin_stats(struct pvx_spin_stats *sum);

#endif /* PVX_SPINLOCK_H */
