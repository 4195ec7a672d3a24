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
 * rlimits, no_new_privs. Returns -1 with the failed step in err.
 */
int sandbox_drop(const struct sandbox_conf *, int *chan_out, char *err,
    size_t errlen) VIGIL_MUST_CHECK;

/*
 * Step 6: installs the SIGSYS reporter (one prebuilt CHAN_TRAP on chan_fd,
 * then _exit) and loads the role's allowlist with SCMP_ACT_TRAP for
 * everything else. Call it last, after the event base is built.
 */
int sandbox_seccomp(const char *role, int chan_fd, char *err, size_t errlen)
    VIGIL_MUST_CHECK;

/*
 * sandbox_seccomp() with a profile text instead of a role's embedded one:
 * for tests, which load a small allowlist of their own.
 */
int sandbox_seccomp_text(const char *text, int chan_fd, char *err,
    size_t errlen) VIGIL_MUST_CHECK;

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
