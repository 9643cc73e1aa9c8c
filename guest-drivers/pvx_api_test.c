// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_api_test: pvx_guest's C API against the real host, from a Linux
 * guest (split-phase and the IOMMU calls included).  Each call goes
 * through a VM exit; each check looks at the effect (bytes copied, MSR
 * value, ranges completed, refusals), not just the return value.  Results are logged one line per check for the testbed.
 */
#define pr_fmt(fmt) "pvx_api_test: " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/msr.h>
#include <uapi/linux/pvx_para.h>
#include "pvx_guest.h"

/*
 * Written into every status field before a call: no status the host
 * writes, so a check of "status 0" fails when the host wrote none rather
 * than passing on the zeroes of kzalloc().
 */
#define PVX_UNWRITTEN	0x5eed

static unsigned int pvx_checks, pvx_failed;
/* The features some check exercised: the summary says which. */
static u64 pvx_tested;

static void pvx_check(u64 feature, bool ok, const char *what, long got)
{
	pvx_tested |= feature;
	pvx_checks++;
	if (!ok)
		pvx_failed++;
	pr_info("%s %s (got %ld)\n", ok ? "ok" : "FAILED", what, got);
}

static void pvx_test_copy(void)
{
	struct page *src = alloc_page(GFP_KERNEL), *dst = alloc_page(GFP_KERNEL);
	struct pvx_copy_entry *e = kzalloc(sizeof(*e), GFP_KERNEL);
	long ret;

	if (!src || !dst || !e)
		goto out;
	memset(page_address(src), 0x5a, PAGE_SIZE);
	memset(page_address(dst), 0, PAGE_SIZE);
	e->src_gfn = page_to_pfn(src);
	e->dst_gfn = page_to_pfn(dst);
	e->status = PVX_UNWRITTEN;
	ret = pvx_copy_pages(e, 1);
	pvx_check(PVX_F_COPY_PAGES,
		  ret == 1 && e->status == 0 &&
		  !memcmp(page_address(src), page_address(dst), PAGE_SIZE),
		  "pvx_copy_pages copies a page", ret);
	e->reserved = 1;
	e->status = PVX_UNWRITTEN;
	ret = pvx_copy_pages(e, 1);
	pvx_check(PVX_F_COPY_PAGES, ret == 0 && e->status == -PVX_EINVAL,
		  "pvx_copy_pages refuses a reserved field", e->status);
out:
	kfree(e);
	if (dst)
		__free_page(dst);
	if (src)
		__free_page(src);
}

/* The same copy, split-phase: the vCPU sleeps, the host's worker copies. */
static void pvx_test_split_copy(void)
{
	struct page *src = alloc_page(GFP_KERNEL), *dst = alloc_page(GFP_KERNEL);
	struct pvx_copy_entry *e = kzalloc(sizeof(*e), GFP_KERNEL);
	struct pvx_split *c = kzalloc(sizeof(*c), GFP_KERNEL);
	long ret;

	if (!src || !dst || !e || !c)
		goto out;
	memset(page_address(src), 0xa5, PAGE_SIZE);
	memset(page_address(dst), 0, PAGE_SIZE);
	e->src_gfn = page_to_pfn(src);
	e->dst_gfn = page_to_pfn(dst);
	e->status = PVX_UNWRITTEN;
	ret = pvx_split_submit(PVX_HC_COPY_PAGES, e, 1, c);
	pvx_check(PVX_F_SPLIT, ret == -PVX_EINPROGRESS,
		  "pvx_split_submit: a copy in progress", ret);
	if (ret != -PVX_EINPROGRESS)
		goto out;
	ret = pvx_split_wait(c);
	pvx_check(PVX_F_SPLIT,
		  ret == 1 && e->status == 0 &&
		  !memcmp(page_address(src), page_address(dst), PAGE_SIZE),
		  "pvx_split_wait: the host finished it, the page is copied",
		  ret);
out:
	kfree(c);
	kfree(e);
	if (dst)
		__free_page(dst);
	if (src)
		__free_page(src);
}

/* No device was handed over: the call reaches the host and is refused. */
static void pvx_test_iommu(void)
{
	struct pvx_iommu_map *m = kzalloc(sizeof(*m), GFP_KERNEL);
	long ret;

	if (!m)
		return;
	m->iova = 0x100000;
	m->npages = 1;
	m->perms = PVX_IOMMU_READ;
	ret = pvx_iommu_map(m, 1);
	pvx_check(PVX_F_IOMMU, ret == -PVX_ENOENT,
		  "pvx_iommu_map: refused, no VFIO container set up for this VM",
		  ret);
	kfree(m);
}

static void pvx_test_prefault(void)
{
	struct page *pages = alloc_pages(GFP_KERNEL, 4);
	struct pvx_gfn_range *r = kzalloc(2 * sizeof(*r), GFP_KERNEL);
	long ret;

	if (!pages || !r)
		goto out;
	r[0].gfn = page_to_pfn(pages);
	r[0].npages = 16;
	r[1].gfn = ~0ULL - 1;
	r[1].npages = 4;
	r[0].status = PVX_UNWRITTEN;
	r[1].status = PVX_UNWRITTEN;
	ret = pvx_prefault_write(r, 2);
	pvx_check(PVX_F_PREFAULT,
		  ret == 1 && r[0].status == 0 && r[1].status == -PVX_EINVAL,
		  "pvx_prefault_write: a range done, a wrapping one refused", ret);
out:
	kfree(r);
	if (pages)
		__free_pages(pages, 4);
}

/*
 * PAT entry 6 is UC- in Linux's layout, a duplicate of entry 2 that no
 * mapping uses (each cache mode takes its first entry).  The batch makes
 * it UC (UC- when it was UC: either way stricter or the same as what a
 * mapping could ask for), the value is read back with RDMSR on the same
 * vCPU, and a second batch restores it.  Writing the value PAT already had
 * would pass with a host that writes nothing.
 */
#define PVX_PAT_SHIFT	48
#define PVX_PAT_MASK	(0xffULL << PVX_PAT_SHIFT)
#define PVX_PAT_UC	0x00ULL
#define PVX_PAT_UC_MINUS 0x07ULL

static void pvx_test_msr(void)
{
	struct pvx_msr_entry *e = kzalloc(2 * sizeof(*e), GFP_KERNEL);
	u64 pat, want, got, back;
	long ret, ret2, st0, st1;

	if (!e)
		return;
	preempt_disable();		/* the MSR is this vCPU's */
	rdmsrl(MSR_IA32_CR_PAT, pat);
	want = pat & ~PVX_PAT_MASK;
	if (((pat & PVX_PAT_MASK) >> PVX_PAT_SHIFT) == PVX_PAT_UC)
		want |= PVX_PAT_UC_MINUS << PVX_PAT_SHIFT;
	else
		want |= PVX_PAT_UC << PVX_PAT_SHIFT;
	e[0].index = MSR_IA32_CR_PAT;
	e[0].value = want;
	e[1].index = MSR_IA32_SYSENTER_CS;	/* not on the default allowlist */
	e[0].status = PVX_UNWRITTEN;
	e[1].status = PVX_UNWRITTEN;
	ret = pvx_msr_batch(e, 2);
	rdmsrl(MSR_IA32_CR_PAT, got);
	st0 = e[0].status;
	st1 = e[1].status;
	memset(e, 0, 2 * sizeof(*e));
	e[0].index = MSR_IA32_CR_PAT;
	e[0].value = pat;
	e[0].status = PVX_UNWRITTEN;
	ret2 = pvx_msr_batch(e, 1);
	rdmsrl(MSR_IA32_CR_PAT, back);
	if (back != pat)		/* whatever the host did */
		wrmsrl(MSR_IA32_CR_PAT, pat);
	preempt_enable();

	pr_info("PAT %#llx, batch wrote %#llx, read back %#llx, restored %#llx\n",
		pat, want, got, back);
	pvx_check(PVX_F_MSR_BATCH, ret == 1 && st0 == 0 && got == want,
		  "pvx_msr_batch: PAT changed, RDMSR reads the new value", ret);
	pvx_check(PVX_F_MSR_BATCH, st1 == -PVX_EPERM,
		  "pvx_msr_batch: SYSENTER_CS refused, not on the allowlist",
		  st1);
	pvx_check(PVX_F_MSR_BATCH, ret2 == 1 && e[0].status == 0 && back == pat,
		  "pvx_msr_batch: PAT restored, RDMSR reads the old value",
		  ret2);
	kfree(e);
}

static void pvx_test_yield(void)
{
	unsigned int cpu = get_cpu();
	long self = pvx_yield_to_cpu(cpu);

	put_cpu();
	pvx_check(PVX_F_YIELD_TO, self == -PVX_EINVAL,
		  "pvx_yield_to_cpu refuses the caller itself", self);
}

static void pvx_test_doorbell(void)
{
	struct pvx_doorbell *d = kzalloc(sizeof(*d), GFP_KERNEL);
	long ret;

	if (!d)
		return;
	/* A port nobody listens on: the guest is told to do the write. */
	d->addr = 0x7ff0;
	d->space = PVX_DOORBELL_PIO;
	d->len = 2;
	d->status = PVX_UNWRITTEN;
	ret = pvx_doorbell(d, 1);
	pvx_check(PVX_F_DOORBELL,
		  ret == 1 && d->status == PVX_DOORBELL_NO_LISTENER,
		  "pvx_doorbell reports an address without a listener", ret);
	kfree(d);
}

static int __init pvx_api_test_init(void)
{
	u64 f = pvx_features();

	if (f & PVX_F_COPY_PAGES)
		pvx_test_copy();
	if ((f & PVX_F_COPY_PAGES) && (f & PVX_F_SPLIT))
		pvx_test_split_copy();
	if (f & PVX_F_IOMMU)
		pvx_test_iommu();
	if (f & PVX_F_PREFAULT)
		pvx_test_prefault();
	if (f & PVX_F_MSR_BATCH)
		pvx_test_msr();
	if (f & PVX_F_YIELD_TO)
		pvx_test_yield();
	if (f & PVX_F_DOORBELL)
		pvx_test_doorbell();
	pr_info("%u checks, %u failed, features tested %#llx\n", pvx_checks,
		pvx_failed, pvx_tested);
	return 0;
}

static void __exit pvx_api_test_exit(void)
{
}

module_init(pvx_api_test_init);
module_exit(pvx_api_test_exit);

MODULE_DESCRIPTION("pvx: pvx_guest C API checks against the host");
MODULE_LICENSE("GPL");
