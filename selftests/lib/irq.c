// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt support for selftest guests: see pvx_irq.h.  Every IDT vector
 * points at its own tiny stub that pushes the vector number and jumps to
 * one common entry, which saves the caller-saved registers and calls
 * guest_irq_dispatch().  Exceptions are not expected: a fault ends up in
 * the same handler and is reported as an ABORT.
 */
#include <string.h>
#include <sys/ioctl.h>
#include "pvx_irq.h"

#define MSR_IA32_APICBASE	0x1b
#define APICBASE_ENABLE		(1ULL << 11)
#define APICBASE_X2APIC		(1ULL << 10)
#define MSR_X2APIC_TPR		0x808
#define MSR_X2APIC_EOI		0x80b
#define MSR_X2APIC_SVR		0x80f
#define APIC_SVR_ENABLE		0x100
#define SPURIOUS_VECTOR		0xff
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01

struct idt_gate {
	uint16_t offset0;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset1;
	uint32_t offset2;
	uint32_t zero;
};

struct pvclock_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};

static struct idt_gate guest_idt[256] __attribute__((aligned(16)));
static struct pvclock_time_info guest_pvclock __attribute__((aligned(64)));

volatile uint64_t guest_irq_count;
volatile uint64_t guest_irq_last_vector;
volatile uint64_t guest_irq_last_ns;
volatile uint64_t guest_irq_last_tsc;
volatile uint64_t guest_irq_vec_count[256];

/* 256 stubs of 16 bytes each: push the vector, jump to the common entry. */
asm(".pushsection .text\n"
    ".align 16\n"
    ".globl guest_irq_stubs\n"
    "guest_irq_stubs:\n"
    ".set vec, 0\n"
    ".rept 256\n"
    ".align 16\n"
    "	pushq $vec\n"
    "	jmp guest_irq_common\n"
    ".set vec, vec + 1\n"
    ".endr\n"
    "guest_irq_common:\n"
    /* Vectors 8, 10-14, 17 push an error code: not expected here. */
    "	pushq %rax; pushq %rcx; pushq %rdx; pushq %rsi; pushq %rdi\n"
    "	pushq %r8; pushq %r9; pushq %r10; pushq %r11; pushq %rbp\n"
    "	movq 80(%rsp), %rdi\n"
    "	movq %rsp, %rbp\n"
    "	andq $-16, %rsp\n"
    "	call guest_irq_dispatch\n"
    "	movq %rbp, %rsp\n"
    "	popq %rbp; popq %r11; popq %r10; popq %r9; popq %r8\n"
    "	popq %rdi; popq %rsi; popq %rdx; popq %rcx; popq %rax\n"
    "	addq $8, %rsp\n"
    "	iretq\n"
    ".popsection\n");

extern char guest_irq_stubs[];

uint64_t guest_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

void guest_wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)) : "memory");
}

void guest_irq_dispatch(uint64_t vector);
void guest_irq_dispatch(uint64_t vector)
{
	if (vector < 32) {
		guest_ucall(UCALL_ABORT, __FILE__, __LINE__,
			    "unexpected exception in guest", 1, vector, 0, 0, 0);
		guest_halt_forever();
	}
	guest_irq_last_tsc = guest_rdtsc();
	guest_irq_last_ns = guest_kvmclock_ns();
	guest_irq_last_vector = vector;
	guest_irq_vec_count[vector & 0xff]++;
	guest_irq_count++;
	if (vector != SPURIOUS_VECTOR)
		guest_wrmsr(MSR_X2APIC_EOI, 0);
}

void guest_x2apic_enable(void)
{
	guest_wrmsr(MSR_IA32_APICBASE, guest_rdmsr(MSR_IA32_APICBASE) |
		    APICBASE_ENABLE | APICBASE_X2APIC);
	guest_wrmsr(MSR_X2APIC_SVR, APIC_SVR_ENABLE | SPURIOUS_VECTOR);
	guest_wrmsr(MSR_X2APIC_TPR, 0);
}

void guest_kvmclock_enable(void)
{
	guest_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)&guest_pvclock | 1);
}

/* The pvclock formula (Documentation/virt/kvm/x86/msr.rst). */
uint64_t guest_kvmclock_ns(void)
{
	volatile struct pvclock_time_info *p = &guest_pvclock;
	uint32_t version;
	uint64_t delta, ns;

	do {
		version = p->version;
		asm volatile("" ::: "memory");
		delta = guest_rdtsc() - p->tsc_timestamp;
		if (p->tsc_shift < 0)
			delta >>= -p->tsc_shift;
		else
			delta <<= p->tsc_shift;
		ns = p->system_time +
		     (uint64_t)(((unsigned __int128)delta *
				 p->tsc_to_system_mul) >> 32);
		asm volatile("" ::: "memory");
	} while ((version & 1) || version != p->version);
	return ns;
}

void vm_enable_irqchip(struct vm *vm)
{
	if (vm->nr_vcpus)
		tap_bail("vm_enable_irqchip() after vcpu_add()");
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0),
		    "KVM_CREATE_IRQCHIP");
}

void vcpu_setup_idt(struct vcpu *vcpu)
{
	struct idt_gate *idt = guest_ptr(vcpu->vm, (uint64_t)guest_idt);
	struct kvm_sregs sregs;
	int v;

	for (v = 0; v < 256; v++) {
		uint64_t addr = (uint64_t)guest_irq_stubs + v * 16;

		memset(&idt[v], 0, sizeof(idt[v]));
		idt[v].offset0 = addr & 0xffff;
		idt[v].offset1 = (addr >> 16) & 0xffff;
		idt[v].offset2 = addr >> 32;
		idt[v].selector = GDT_SEL_CODE64;
		idt[v].type_attr = 0x8e;	/* present, DPL 0, interrupt gate */
	}
	vcpu_get_sregs(vcpu, &sregs);
	sregs.idt.base = (uint64_t)guest_idt;
	sregs.idt.limit = sizeof(guest_idt) - 1;
	vcpu_set_sregs(vcpu, &sregs);
}
