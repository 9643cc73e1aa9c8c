/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a host keeps of a VM that pvx should have let go, seen from user
 * space: armed hrtimers (/proc/timer_list), kernel workers running pvx
 * work (their comm), tasks inside a pvx function (/proc/.../stack),
 * pinned pages (/proc/vmstat, VmLck/VmPin), and KVM's own VM directories
 * in debugfs.  Each returns -1 when the kernel does not show it.
 */
#ifndef PVX_OBSERVE_H
#define PVX_OBSERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Armed hrtimers whose function is @fn, by name or, once its module is
 * gone, by the address /proc/kallsyms gave for it before.
 */
int obs_timers_armed(const char *fn);
/* Kernel workers running a work item of a workqueue named @prefix*. */
int obs_kworkers_busy(const char *prefix);
/* Threads of process @pid named @comm (a VM's split-phase worker). */
int obs_threads_named(pid_t pid, const char *comm);
/*
 * A VM's split-phase workers named @comm that belong to its VMM @pid:
 * threads of @pid, or before 6.12 (no vhost_task: pvx_kcompat.c)
 * kthreads in @pid's cgroups.
 */
int obs_vm_workers(pid_t pid, const char *comm);
/* 1 if @fn is on the kernel stack of task @tid of @pid, 0 if not. */
int obs_task_in(pid_t pid, pid_t tid, const char *fn);
/* Pages pinned with FOLL_PIN now, machine-wide (acquired - released). */
int64_t obs_foll_pins(void);
/* A "Key:  N kB" line of /proc/<pid>/status, in kB. */
int64_t obs_status_kb(pid_t pid, const char *key);
/* KVM's debugfs directories "<pid>-<fd>": VMs of @pid KVM still has. */
int obs_kvm_vms(pid_t pid);
/* Whether /proc/modules lists module @name. */
bool obs_module_loaded(const char *name);

/*
 * /dev/pvx of a pvx_host loaded again, -1 if it did not appear within
 * 5 s (the node comes with the module's misc device).
 */
int pvx_open_after_load(void);

/*
 * fork() with a pipe from the child to the parent: *fd is its write end
 * in the child (to which 0 is returned), its read end in the parent.
 */
pid_t fork_reporting(int *fd);

#endif /* PVX_OBSERVE_H */
