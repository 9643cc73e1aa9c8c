/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interrupts for selftest guests: an in-kernel irqchip, an IDT whose
 * vectors all enter one C handler, x2APIC, and kvmclock as the guest's
 * time base (it follows the host's CLOCK_MONOTONIC).
 */
#ifndef PVX_IRQ_H
#define PVX_IRQ_H

#include <stdint.h>
#include "pvx_test.h"

/* Host side.  vm_enable_irqchip() goes before the first vcpu_add(). */
void vm_enable_irqchip(struct vm *vm);
/* Points IDTR at guest_idt; every vector enters guest_irq_dispatch(). */
void vcpu_setup_idt(struct vcpu *vcpu);

/* Guest side. */
extern volatile uint64_t guest_irq_count;
extern volatile uint64_t guest_irq_last_vector;
extern volatile uint64_t guest_irq_last_ns;	/* kvmclock at entry */
extern volatile uint64_t guest_irq_last_tsc;	/* TSC at entry */
extern volatile uint64_t guest_irq_vec_count[256];

void guest_x2apic_enable(void);
void guest_kvmclock_enable(void);
uint64_t guest_kvmclock_ns(void);
uint64_t guest_rdmsr(uint32_t msr);
void guest_wrmsr(uint32_t msr, uint64_t val);

/* The guest's TSC, ordered after what came before it (lfence). */
static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline void guest_sti(void)
{
	asm volatile("sti" ::: "memory");
}

static inline void guest_cli(void)
{
	asm volatile("cli" ::: "memory");
}

/* STI; HLT: an interrupt that is already pending ends the HLT. */
static inline void guest_safe_halt(void)
{
	asm volatile("sti; hlt" ::: "memory");
}

#endif /* PVX_IRQ_H */
