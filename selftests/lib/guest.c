// SPDX-License-Identifier: GPL-2.0
/*
 * Code that runs in the guest.  No libc here: see pvx_test.h.
 */
#include "pvx_test.h"

bool guest_use_vmmcall;

void guest_ucall(uint64_t cmd, const char *file, uint64_t line,
		 const char *expr, uint64_t nargs, uint64_t a0, uint64_t a1,
		 uint64_t a2, uint64_t a3)
{
	/* On the guest stack, which is identity-mapped like the rest. */
	struct ucall uc;

	uc.cmd = cmd;
	uc.nargs = nargs;
	uc.args[0] = a0;
	uc.args[1] = a1;
	uc.args[2] = a2;
	uc.args[3] = a3;
	uc.file = file;
	uc.line = line;
	uc.expr = expr;
	asm volatile("outb %%al, %%dx"
		     : : "a"(0), "d"(UCALL_PORT), "D"(&uc) : "memory");
}

void guest_halt_forever(void)
{
	/* Without an in-kernel irqchip HLT exits to the host every time. */
	for (;;)
		asm volatile("hlt" ::: "memory");
}

/* A guest entry function that returns lands here. */
void guest_fn_returned(void);
void guest_fn_returned(void)
{
	GUEST_DONE();
}

/*
 * guest_return_stub is the return address planted on a fresh vCPU stack;
 * realign the stack as a call would have.
 */
asm(".pushsection .text\n"
	".globl guest_return_stub\n"
	"guest_return_stub:\n"
	"	andq $-16, %rsp\n"
	"	call guest_fn_returned\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	".popsection\n");

/*
 * iretq to CPL 3: SS, RSP, RFLAGS (IF clear, IOPL 3 so the message
 * channel's OUT keeps working), CS, RIP.
 */
asm(".pushsection .text\n"
	".globl guest_enter_user\n"
	"guest_enter_user:\n"
	"	pushq $0x1b\n"		/* GDT_SEL_UDATA | 3 */
	"	pushq %rsi\n"
	"	pushq $0x3002\n"
	"	pushq $0x23\n"		/* GDT_SEL_UCODE64 | 3 */
	"	pushq %rdi\n"
	"	iretq\n"
	".popsection\n");
