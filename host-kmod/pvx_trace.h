/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(PVX_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define PVX_TRACE_H

#include <linux/tracepoint.h>

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

	TP_printk("vm %llu vcpu %u nr %#x args %#lx %#lx %#lx %#lx ret %ld",
		  __entry->vm_id, __entry->vcpu_id, __entry->nr,
		  __entry->args[0], __entry->args[1], __entry->args[2],
		  __entry->args[3], __entry->ret)
);

#endif /* PVX_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE pvx_trace
#include <trace/define_trace.h>
