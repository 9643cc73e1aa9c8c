/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(PVX_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define PVX_TRACE_H

#include <linux/tracepoint.h>
#include <uapi/linux/pvx_para.h>

/*
 * The hypercalls' names, from PVX_HYPERCALLS: each entry brings its own
 * comma, and the list is expanded before __print_symbolic() takes its
 * arguments apart.  The enum values are given to the format file, so that
 * perf and trace-cmd read numbers.
 */
#define PVX_TRACE_HC_ENUM(NAME, ...) \
	TRACE_DEFINE_ENUM(PVX_HC_##NAME);
#define PVX_TRACE_HC_SYMBOL(NAME, name, ...) \
	, { PVX_HC_##NAME, #name }
#define pvx_trace_expand(macro, args...) macro(args)
#define pvx_trace_hc_name(nr) \
	pvx_trace_expand(__print_symbolic, nr PVX_HYPERCALLS(PVX_TRACE_HC_SYMBOL))

PVX_HYPERCALLS(PVX_TRACE_HC_ENUM)

TRACE_EVENT(pvx_hypercall,
	TP_PROTO(u64 vm_id, unsigned int vcpu_id, u32 nr,
		 const unsigned long *args, long ret),
	TP_ARGS(vm_id, vcpu_id, nr, args, ret),

	TP_STRUCT__entry(
		__field(u64, vm_id)
		__field(unsigned int, vcpu_id)
		__field(u32, nr)
		__array(unsigned long, args, 4)
		__field(long, ret)
	),

	TP_fast_assign(
		__entry->vm_id = vm_id;
		__entry->vcpu_id = vcpu_id;
		__entry->nr = nr;
		memcpy(__entry->args, args, sizeof(__entry->args));
		__entry->ret = ret;
	),

	TP_printk("vm %llu vcpu %u nr %s args %#lx %#lx %#lx %#lx ret %ld",
		  __entry->vm_id, __entry->vcpu_id,
		  pvx_trace_hc_name(__entry->nr),
		  __entry->args[0], __entry->args[1], __entry->args[2],
		  __entry->args[3], __entry->ret)
);

#endif /* PVX_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE pvx_trace
#include <trace/define_trace.h>
