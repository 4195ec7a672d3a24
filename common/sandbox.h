/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/sandbox.h: the steps a sandboxed child takes right after fork
 * (architecture.md "Sandbox"), in their order. Only children call this;
 * the reaper carries no filter (the runtime would inherit it).
 */
#ifndef VIGIL_SANDBOX_H
#define VIGIL_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/compiler.h"

struct sandbox_conf {
	const char *role;  /* profile name: "logger" or "attach" */
	const char *title; /* ps title, e.g. "conmon: logger 0123456789ab" */
	int chan_fd;	   /* the child's channel to the reaper: kept */
	pid_t reaper;	   /* expected parent, checked after PDEATHSIG */
	uid_t uid;	   /* identity taken when running as root */
	gid_t gid;
	bool keep_ids;	   /* keep the current uid/gid (journald logger) */
	unsigned nofile;   /* RLIMIT_NOFILE for the role */
};

/* Called once by main() before anything else: remembers argv's area. */
void sandbox_title_init(int argc, char **argv);

/*
 * Steps 1-5: moves chan_fd to fd 3 (the new number is returned through
 * conf->chan_fd's copy in *chan_out), closes every other fd >= 3, retitles,
 * drops capabilities/ids/groups, not dumpable, PDEATHSIG + parent check,
 * rlimits, no_new_privs, then a Landlock domain granting no filesystem
 * access (skipped only where the kernel has no Landlock). From then on
 * the child opens no path, even before its filter is loaded. Returns -1
 * with the failed step in err.
 */
int sandbox_drop(const struct sandbox_conf *, int *chan_out, char *err,
    size_t errlen) VIGIL_MUST_CHECK;

/*
 * The running kernel's Landlock ABI version (>= 1), or -1 with errno;
 * sandbox_landlock_absent(errno) tells a kernel without Landlock, which
 * the children tolerate, from a failure, which stops them.
 */
int sandbox_landlock_abi(void) VIGIL_MUST_CHECK;
bool sandbox_landlock_absent(int err);

/*
 * Step 6: installs the SIGSYS reporter (one prebuilt CHAN_TRAP on chan_fd,
 * then _exit) and loads the role's allowlist with SCMP_ACT_TRAP for
 * everything else. Call it last, after the event base is built.
 */
int sandbox_seccomp(const char *role, int chan_fd, char *err, size_t errlen)
    VIGIL_MUST_CHECK;

/*
 * In the reaper, before its first child: the filters of every role,
 * compiled once in a short-lived process of its own, whose libseccomp
 * heap dies with it. A child then only loads its program: neither it nor
 * the reaper keeps libseccomp's scattered heap pages, which would stay
 * dirty in every container (bench figure 1). On any failure nothing is
 * kept and each child compiles its text itself, reporting any error.
 */
void sandbox_prepare(void);

/*
 * sandbox_prepare()'s helper started early, so it compiles while the
 * runtime runs (bench figure 3: off the create -> pid path);
 * sandbox_prepare() then only collects the programs.
 */
void sandbox_prepare_start(int nice);

/*
 * Start-up's leftovers go back to the kernel: the stack below the
 * caller's frame, which is dead, and the heap's free pages (the
 * launcher's /proc/self/fd scan, the children's /proc reads), all dirtied
 * once by options, fork, the runtime and the sandbox. An idle process then
 * keeps only what its loop uses (bench figure 1). Called before the
 * children fork and once each process settles into its event loop.
 */
void sandbox_trim(void);

/*
 * sandbox_seccomp() with a profile text instead of a role's embedded one:
 * for tests, which load a small allowlist of their own.
 */
int sandbox_seccomp_text(const char *text, int chan_fd, char *err,
    size_t errlen) VIGIL_MUST_CHECK;

enum sandbox_export {
	SANDBOX_EXPORT_PFC, /* libseccomp's readable pseudo filter code */
	SANDBOX_EXPORT_BPF, /* the raw program, as the kernel holds it */
};

/*
 * Writes to fd the filter a `role` child loads, built by the same code as
 * the child's (its embedded text, attributes and rules): the PFC for
 * --export-seccomp-pfc, the BPF for `make audit-seccomp`. -1 with err.
 */
int sandbox_filter_export(const char *role, int fd, enum sandbox_export,
    char *err, size_t errlen) VIGIL_MUST_CHECK;

#ifdef VIGIL_SECCOMP_AUDIT
/*
 * SECCOMP_AUDIT=1 builds only (security.md "Seccomp policy", audit mode;
 * make install refuses them): every filter's default action is a user
 * notification, answered by the reaper (monitor/audit.c), and the child
 * announces its listener's fd number (CHAN_LISTENER) right before the
 * load. Set by the reaper before it forks (VIGIL_SECCOMP_MEASURE), `on`
 * makes the children load a filter without any rule, so the reaper sees
 * every call they make (make measure-seccomp).
 */
void sandbox_audit_measure(bool on);
#endif

#endif
