// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal KVM VM for pvx tests: one memslot at GPA 0, an identity map of
 * the first GiB with 2 MiB pages (all user-accessible, so ring 3 code can
 * run anywhere), a GDT with ring 0 and ring 3 segments and a copy of this
 * very binary at GPA == VA.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pvx_test.h"

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_MP	(1ULL << 1)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_NE	(1ULL << 5)
#define X86_CR0_WP	(1ULL << 16)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define X86_CR4_OSFXSR	(1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_U		(1ULL << 2)
#define PTE_PS		(1ULL << 7)

static int kvm_fd = -1;
static struct kvm_cpuid2 *kvm_cpuid;

bool host_cpu_is_amd(void)
{
	unsigned int a, b, c, d;

	__cpuid(0, a, b, c, d);
	/* "AuthenticAMD" and "HygonGenuine" both use VMMCALL. */
	return (b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163) ||
	       (b == 0x6f677948 && d == 0x6e65476e && c == 0x656e6975);
}

static struct kvm_cpuid2 *get_supported_cpuid(void)
{
	int nent = 64;

	for (;;) {
		struct kvm_cpuid2 *c;

		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		TEST_ASSERT(c, "calloc");
		c->nent = nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c))
			return c;
		TEST_ASSERT(errno == E2BIG, "KVM_GET_SUPPORTED_CPUID");
		free(c);
		nent *= 2;
	}
}

int kvm_fd_or_skip(void)
{
	int ver;

	if (kvm_fd >= 0)
		return kvm_fd;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
			tap_skip_all("/dev/kvm not available: %m");
		tap_bail("open /dev/kvm: %m");
	}
	ver = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION)
		tap_bail("KVM API version %d, want %d", ver, KVM_API_VERSION);
	guest_use_vmmcall = host_cpu_is_amd();
	tap_diag("host CPU: %s, guest hypercalls use %s",
		 guest_use_vmmcall ? "AMD" : "Intel (or other)",
		 guest_use_vmmcall ? "VMMCALL" : "VMCALL");
	kvm_cpuid = get_supported_cpuid();
	return kvm_fd;
}

static int load_main_binary(struct dl_phdr_info *info, size_t size,
			    void *data)
{
	struct vm *vm = data;
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const Elf64_Phdr *ph = &info->dlpi_phdr[i];
		uint64_t va = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		if (va + ph->p_memsz > GUEST_BIN_LIMIT)
			tap_bail("binary segment %#llx+%#llx beyond guest limit; link non-PIE at a low address",
				 (unsigned long long)va,
				 (unsigned long long)ph->p_memsz);
		/*
		 * Copy the live image rather than the file: the guest then
		 * starts with whatever the host set in its globals.
		 */
		memcpy(vm->mem + va, (void *)va, ph->p_memsz);
	}
	return 1;	/* only the main program */
}

static void setup_page_tables(struct vm *vm)
{
	uint64_t *pml4 = guest_ptr(vm, GUEST_PML4_GPA);
	uint64_t *pdpt = guest_ptr(vm, GUEST_PDPT_GPA);
	uint64_t *pd = guest_ptr(vm, GUEST_PD_GPA);
	int i;

	pml4[0] = GUEST_PDPT_GPA | PTE_P | PTE_W | PTE_U;
	pdpt[0] = GUEST_PD_GPA | PTE_P | PTE_W | PTE_U;
	for (i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_P | PTE_W | PTE_U | PTE_PS;
}

static void setup_gdt(struct vm *vm)
{
	uint64_t *gdt = guest_ptr(vm, GUEST_GDT_GPA);

	gdt[0] = 0;
	gdt[GDT_SEL_CODE64 / 8] = 0x00af9b000000ffffULL;
	gdt[GDT_SEL_DATA / 8] = 0x00cf93000000ffffULL;
	gdt[GDT_SEL_UDATA / 8] = 0x00cff3000000ffffULL;
	gdt[GDT_SEL_UCODE64 / 8] = 0x00affb000000ffffULL;
	/* 64-bit available TSS, base GUEST_TSS_GPA (< 16 MiB), limit 0x67. */
	gdt[GDT_SEL_TSS / 8] = 0x0000890000000067ULL |
			       ((GUEST_TSS_GPA & 0xffffff) << 16);
	gdt[GDT_SEL_TSS / 8 + 1] = 0;
	gdt[GDT_SEL_CODE32 / 8] = 0x00cf9b000000ffffULL;
}

struct vm *vm_create(void)
{
	struct kvm_userspace_memory_region region = { 0 };
	struct vm *vm;

	kvm_fd_or_skip();
	vm = calloc(1, sizeof(*vm));
	TEST_ASSERT(vm, "calloc");
	do {
		vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	} while (vm->fd < 0 && errno == EINTR);
	TEST_ASSERT(vm->fd >= 0, "KVM_CREATE_VM");

	vm->mem_size = GUEST_MEM_SIZE;
	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(vm->mem != MAP_FAILED, "mmap guest memory");

	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = vm->mem_size;
	region.userspace_addr = (uint64_t)vm->mem;
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region),
		    "KVM_SET_USER_MEMORY_REGION");

	dl_iterate_phdr(load_main_binary, vm);
	setup_page_tables(vm);
	setup_gdt(vm);
	return vm;
}

void vm_free(struct vm *vm)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		if (v->stats_fd >= 0)
			close(v->stats_fd);
		free(v->stats_desc);
		munmap(v->run, v->run_size);
		if (v->dirty_gfns)
			munmap(v->dirty_gfns, vm->dirty_ring_bytes);
		close(v->fd);
		free(v);
	}
	close(vm->fd);
	munmap(vm->mem, vm->mem_size);
	free(vm);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void vm_free_exit_order(struct vm *vm)
{
	int fds[1 + 2 * GUEST_MAX_VCPUS], n = 0, i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		munmap(v->run, v->run_size);
		fds[n++] = v->fd;
		if (v->stats_fd >= 0)
			fds[n++] = v->stats_fd;
	}
	fds[n++] = vm->fd;
	munmap(vm->mem, vm->mem_size);
	qsort(fds, n, sizeof(fds[0]), cmp_int);
	for (i = 0; i < n; i++)
		close(fds[i]);
	for (i = 0; i < vm->nr_vcpus; i++) {
		free(vm->vcpus[i]->stats_desc);
		free(vm->vcpus[i]);
	}
	free(vm);
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
		    bool l, bool db)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = sel & 3;
	s->s = 1;
	s->l = l;
	s->db = db;
	s->g = 1;
}

static void vcpu_setup_long_mode(struct vcpu *vcpu)
{
	struct kvm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	set_seg(&sregs.cs, GDT_SEL_CODE64, 11, true, false);
	set_seg(&sregs.ds, GDT_SEL_DATA, 3, false, true);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;

	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.base = GUEST_TSS_GPA;
	sregs.tr.limit = 0x67;
	sregs.tr.selector = GDT_SEL_TSS;
	sregs.tr.type = 11;
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.unusable = 1;

	sregs.gdt.base = GUEST_GDT_GPA;
	sregs.gdt.limit = 8 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;

	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		    X86_CR0_WP | X86_CR0_PG;
	sregs.cr3 = GUEST_PML4_GPA;
	sregs.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA;
	vcpu_set_sregs(vcpu, &sregs);
}

void vcpu_set_protected_mode(struct vcpu *vcpu)
{
	struct kvm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	set_seg(&sregs.cs, GDT_SEL_CODE32, 11, false, true);
	set_seg(&sregs.ds, GDT_SEL_DATA, 3, false, true);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	vcpu_set_sregs(vcpu, &sregs);
}

void vcpu_set_entry(struct vcpu *vcpu, void (*guest_fn)(uint64_t),
		    uint64_t arg)
{
	struct kvm_regs regs;
	uint64_t *ret_slot;

	memset(&regs, 0, sizeof(regs));
	/* As if called: RSP = 8 mod 16, return address on the stack. */
	regs.rsp = vcpu->stack_top - 8;
	ret_slot = guest_ptr(vcpu->vm, regs.rsp);
	*ret_slot = (uint64_t)guest_return_stub;
	regs.rip = (uint64_t)guest_fn;
	regs.rdi = arg;
	regs.rflags = 0x2;
	vcpu_set_regs(vcpu, &regs);
}

struct vcpu *vcpu_add(struct vm *vm, void (*guest_fn)(uint64_t), uint64_t arg)
{
	struct vcpu *vcpu;
	int mmap_size;

	if (vm->nr_vcpus >= GUEST_MAX_VCPUS)
		tap_bail("too many vCPUs");
	vcpu = calloc(1, sizeof(*vcpu));
	TEST_ASSERT(vcpu, "calloc");
	vcpu->vm = vm;
	vcpu->id = vm->nr_vcpus;
	vcpu->stats_fd = -1;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, vcpu->id);
	TEST_ASSERT(vcpu->fd >= 0, "KVM_CREATE_VCPU");

	mmap_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	TEST_ASSERT(mmap_size > 0, "KVM_GET_VCPU_MMAP_SIZE");
	vcpu->run_size = mmap_size;
	vcpu->run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap kvm_run");
	if (vm->dirty_ring_bytes)
		vcpu_map_dirty_ring(vcpu);

	/* KVM refuses EFER.LME unless the guest's CPUID has long mode. */
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_SET_CPUID2, kvm_cpuid),
		    "KVM_SET_CPUID2");

	vcpu->stack_top = GUEST_BIN_LIMIT + (vcpu->id + 1) * GUEST_STACK_SIZE;
	vm->vcpus[vm->nr_vcpus++] = vcpu;

	vcpu_setup_long_mode(vcpu);
	vcpu_set_entry(vcpu, guest_fn, arg);
	return vcpu;
}

void vcpu_get_regs(struct vcpu *vcpu, struct kvm_regs *regs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_GET_REGS, regs), "KVM_GET_REGS");
}

void vcpu_set_regs(struct vcpu *vcpu, struct kvm_regs *regs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_SET_REGS, regs), "KVM_SET_REGS");
}

void vcpu_get_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_GET_SREGS, sregs),
		    "KVM_GET_SREGS");
}

void vcpu_set_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_SET_SREGS, sregs),
		    "KVM_SET_SREGS");
}

int vcpu_run(struct vcpu *vcpu)
{
	int r;

	do {
		r = ioctl(vcpu->fd, KVM_RUN, 0);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

const char *exit_reason_str(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_UNKNOWN: return "UNKNOWN";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HYPERCALL: return "HYPERCALL";
	case KVM_EXIT_DEBUG: return "DEBUG";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN (triple fault?)";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
	case KVM_EXIT_DIRTY_RING_FULL: return "DIRTY_RING_FULL";
	}
	return "?";
}

static void print_abort(struct vcpu *vcpu, struct ucall *uc)
{
	tap_diag("vCPU %d: guest assertion failed at %s:%llu: %s",
		 vcpu->id, uc->file ? uc->file : "?",
		 (unsigned long long)uc->line, uc->expr ? uc->expr : "?");
	if (uc->nargs == 2)
		tap_diag("  left %#llx (%lld), right %#llx (%lld)",
			 (unsigned long long)uc->args[0],
			 (long long)uc->args[0],
			 (unsigned long long)uc->args[1],
			 (long long)uc->args[1]);
}

static void print_unexpected(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;

	vcpu_get_regs(vcpu, &regs);
	tap_diag("vCPU %d: unexpected exit %u (%s) at rip %#llx rsp %#llx rax %#llx",
		 vcpu->id, run->exit_reason,
		 exit_reason_str(run->exit_reason),
		 (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
		 (unsigned long long)regs.rax);
	if (run->exit_reason == KVM_EXIT_IO)
		tap_diag("  io port %#x dir %u size %u",
			 run->io.port, run->io.direction, run->io.size);
	if (run->exit_reason == KVM_EXIT_MMIO)
		tap_diag("  mmio gpa %#llx len %u write %u",
			 (unsigned long long)run->mmio.phys_addr,
			 run->mmio.len, run->mmio.is_write);
	if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		tap_diag("  hardware_entry_failure_reason %#llx",
			 (unsigned long long)
			 run->fail_entry.hardware_entry_failure_reason);
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		tap_diag("  suberror %u", run->internal.suberror);
}

uint64_t vcpu_get_ucall(struct vcpu *vcpu, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	int r;

	memset(uc, 0, sizeof(*uc));
	r = vcpu_run(vcpu);
	/* The VMM harvests the ring; the guest goes on where it was. */
	while (!r && run->exit_reason == KVM_EXIT_DIRTY_RING_FULL &&
	       vcpu->dirty_ring_full) {
		vcpu->dirty_ring_full(vcpu);
		r = vcpu_run(vcpu);
	}
	if (r) {
		tap_diag("vCPU %d: KVM_RUN: %s", vcpu->id, strerror(-r));
		uc->cmd = UCALL_UNEXPECTED;
		return uc->cmd;
	}
	if (run->exit_reason == KVM_EXIT_IO &&
	    run->io.direction == KVM_EXIT_IO_OUT) {
		if (run->io.port == RAW_PORT) {
			uc->cmd = UCALL_RAW;
			return uc->cmd;
		}
		if (run->io.port == UCALL_PORT) {
			vcpu_get_regs(vcpu, &regs);
			if (regs.rdi < vcpu->vm->mem_size - sizeof(*uc)) {
				memcpy(uc, guest_ptr(vcpu->vm, regs.rdi),
				       sizeof(*uc));
				if (uc->cmd == UCALL_ABORT)
					print_abort(vcpu, uc);
				if (uc->cmd >= UCALL_SYNC &&
				    uc->cmd <= UCALL_DONE)
					return uc->cmd;
			}
		}
	}
	print_unexpected(vcpu);
	uc->cmd = UCALL_UNEXPECTED;
	return uc->cmd;
}

static void *vcpu_thread_main(void *arg)
{
	struct vcpu *vcpu = arg;

	return vcpu->thread_fn(vcpu);
}

void vcpu_thread_start(struct vcpu *vcpu, void *(*fn)(struct vcpu *),
		       void *arg)
{
	int r;

	vcpu->thread_fn = fn;
	vcpu->thread_arg = arg;
	r = pthread_create(&vcpu->thread, NULL, vcpu_thread_main, vcpu);
	if (r)
		tap_bail("pthread_create: %s", strerror(r));
}

void *vcpu_thread_join(struct vcpu *vcpu)
{
	void *ret;
	int r;

	r = pthread_join(vcpu->thread, &ret);
	if (r)
		tap_bail("pthread_join: %s", strerror(r));
	return ret;
}

/* KVM binary stats: header, then descriptors, then the data block. */
uint64_t vcpu_stat(struct vcpu *vcpu, const char *name)
{
	struct kvm_stats_header *h = &vcpu->stats_hdr;
	size_t desc_size;
	uint32_t i;

	if (vcpu->stats_fd < 0) {
		vcpu->stats_fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);
		TEST_ASSERT(vcpu->stats_fd >= 0, "KVM_GET_STATS_FD");
		TEST_ASSERT(pread(vcpu->stats_fd, h, sizeof(*h), 0) ==
			    sizeof(*h), "read stats header");
		desc_size = sizeof(struct kvm_stats_desc) + h->name_size;
		vcpu->stats_desc = calloc(h->num_desc, desc_size);
		TEST_ASSERT(vcpu->stats_desc, "calloc");
		TEST_ASSERT(pread(vcpu->stats_fd, vcpu->stats_desc,
				  h->num_desc * desc_size,
				  h->desc_offset) ==
			    (ssize_t)(h->num_desc * desc_size),
			    "read stats descriptors");
	}
	desc_size = sizeof(struct kvm_stats_desc) + h->name_size;
	for (i = 0; i < h->num_desc; i++) {
		struct kvm_stats_desc *d = (void *)((char *)vcpu->stats_desc +
						    i * desc_size);
		uint64_t val;

		if (strncmp(d->name, name, h->name_size))
			continue;
		TEST_ASSERT(pread(vcpu->stats_fd, &val, sizeof(val),
				  h->data_offset + d->offset) ==
			    sizeof(val), "read stat");
		return val;
	}
	tap_bail("KVM vCPU stat \"%s\" not found", name);
}

bool vcpu_expect_step(struct vcpu *vcpu, uint64_t step, struct ucall *uc)
{
	uint64_t cmd = vcpu_get_ucall(vcpu, uc);

	return tap_ok(cmd == UCALL_SYNC && uc->args[0] == step,
		      "guest reached step %llu (cmd %llu, step %llu)",
		      (unsigned long long)step, (unsigned long long)cmd,
		      (unsigned long long)uc->args[0]);
}

bool vcpu_expect_refusals(struct vcpu *vcpu, uint64_t step, const char *op,
			  const struct refusal *r, int n, uint64_t untouched)
{
	struct ucall uc;
	int i;

	for (i = 0; i < n; i++) {
		if (!vcpu_expect_step(vcpu, step, &uc))
			return false;
		TAP_EQ(uc.args[1], 0, "%s, %s: no entry done", op, r[i].what);
		TAP_EQ(uc.args[2], PVX_ERR(r[i].err), "%s, %s: refused", op,
		       r[i].what);
		TAP_EQ(uc.args[3], untouched, "%s, %s: next entry untouched",
		       op, r[i].what);
	}
	return true;
}

void vm_add_slot(struct vm *vm, int slot, uint64_t gpa, uint64_t size,
		 uint32_t flags, void *mem)
{
	struct kvm_userspace_memory_region r;

	memset(&r, 0, sizeof(r));
	r.slot = slot;
	r.flags = flags;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = (uint64_t)mem;
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r),
		    "KVM_SET_USER_MEMORY_REGION");
}

uint8_t *vm_add_anon_slot(struct vm *vm, int slot, uint64_t gpa, uint64_t size,
			  uint32_t flags, bool small_pages)
{
	const uint64_t huge = 2ULL << 20;
	uint8_t *mem, *raw;
	uint64_t head;

	/*
	 * On a huge page boundary, so that THP can back all of it: 6.7 and
	 * later align large anonymous mappings so themselves, 6.1 does not.
	 */
	raw = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(raw != MAP_FAILED, "mmap");
	head = -(uintptr_t)raw & (huge - 1);
	mem = raw + head;
	if (head)
		munmap(raw, head);
	munmap(mem + size, huge - head);
	if (small_pages)
		madvise(mem, size, MADV_NOHUGEPAGE);
	vm_add_slot(vm, slot, gpa, size, flags, mem);
	return mem;
}

uint8_t *vm_add_memfd_slot(struct vm *vm, int slot, uint64_t gpa,
			   uint64_t size, uint32_t flags, int *fd)
{
	uint8_t *mem;

	*fd = memfd_create("pvx-selftest", MFD_CLOEXEC);
	TEST_ASSERT(*fd >= 0, "memfd_create");
	TEST_ASSERT(!ftruncate(*fd, size), "ftruncate");
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap memfd");
	vm_add_slot(vm, slot, gpa, size, flags, mem);
	return mem;
}

void vm_delete_slot(struct vm *vm, int slot, uint64_t gpa)
{
	/* Size 0 deletes; KVM still wants the slot's guest address. */
	vm_add_slot(vm, slot, gpa, 0, 0, NULL);
}
