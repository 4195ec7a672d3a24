/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/role.h: the one interface between the reaper and the roles it
 * forks (no exec). The reaper fills a struct role_conf and calls the
 * role's entry point in the child; the entry point never returns. Nothing
 * else of a role is visible to another role (architecture.md "Layout").
 */
#ifndef VIGIL_ROLE_H
#define VIGIL_ROLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/compiler.h"

struct role_conf {
	int chan_fd;	      /* the child's end of its channel to the reaper */
	pid_t reaper;	      /* the reaper's pid, for the parent-death check */
	uid_t uid;	      /* unprivileged identity when running as root */
	gid_t gid;
	const char *short_id; /* first 12 bytes of the cid, for the title */
	int64_t log_size_max; /* --log-size-max, <= 0: none (spec 9.3) */
	int64_t log_global_size_max; /* --log-global-size-max (spec 9.3) */
	bool no_sync_log;     /* --no-sync-log: no fsync at drain (spec 9.6) */
	bool stdin_pipe;      /* -i without -t: a stdin pipe (spec 6.1, 7.4) */
	bool terminal;	      /* -t: a pty master will come (spec 6.2) */
	bool leave_stdin_open; /* --leave-stdin-open (spec 7.4) */
	/* spec 9.7: the journald sink's fields; pointers into the reaper's
	 * memory, valid in the forked child. Set only with -l journald. */
	bool journald;	      /* a journald sink comes: keep the ids */
	const char *cid;      /* the full cid, longer than 12 bytes */
	const char *log_tag;  /* --log-tag, or NULL */
	const char *name;     /* --name, or NULL */
	char *const *log_labels; /* --log-label LABEL=VALUE, checked */
	size_t n_log_labels;
	bool no_partial_flag; /* --no-container-partial-message */
};

/* logger/: reads container output, writes the log sinks. */
VIGIL_NORETURN void log_main(const struct role_conf *);
/* attach/: the attach socket's clients, stdin, ctl/winsz, pty resize. */
VIGIL_NORETURN void att_main(const struct role_conf *);

#endif
