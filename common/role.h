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

/* What one read of the logger takes at most (logger.h LOG_READ_MAX), and
 * the size the reaper gives the container's output pipes (README
 * "Performance": a read takes what the pipe holds). */
#define ROLE_LOG_READ_MAX 262144

/*
 * The logger's progress (issue 8, security 36), in one page the reaper
 * maps shared before it forks the first logger; the broker unmaps it at
 * once. The logger keeps it current as it goes. The reaper reads it only
 * once a logger has died, to say how many bytes of output died with it
 * (read but not yet logged), then marks them accounted; a respawned
 * logger carries on from it: it cuts a record its predecessor left torn at
 * the end of the log and resumes the size counters. Untrusted like any
 * child's word: a logger can write any value here, so the reaper only
 * prints numbers from it, and a new logger cuts at most one write buffer,
 * which the logger could do to its own log anyway.
 */
struct role_progress {
	uint64_t read;	       /* container bytes read, by every logger */
	uint64_t done;	       /* of those: logged, skipped by a limit, or
				  counted as lost */
	uint64_t sink_dev;     /* the k8s-file log being written ... */
	uint64_t sink_ino;     /* ... 0: none yet */
	int64_t sink_end;      /* its size after the last whole write */
	int64_t counted;       /* --log-size-max counters at sink_end */
	int64_t global_counted;
	uint32_t reading;      /* inside a read: its bytes are not in `read` */
	uint32_t pad;
};

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
	/* the logger only: shared with the reaper, NULL if it has none */
	struct role_progress *progress;
};

/* logger/: reads container output, writes the log sinks. */
VIGIL_NORETURN void log_main(const struct role_conf *);
/* attach/: the attach socket's clients, stdin, ctl/winsz, pty resize. */
VIGIL_NORETURN void att_main(const struct role_conf *);

#endif
