/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/mon.h: the reaper's state and its modules. The reaper holds the
 * container's pid and exit status, every privileged fd and the manager's
 * pipes. It never parses container-controlled bytes and never trusts a
 * child's message before chan_recv() and its handler validated it.
 */
#ifndef VIGIL_MON_H
#define VIGIL_MON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/chan.h"
#include "common/compiler.h"
#include "common/diag.h"
#include "monitor/options.h"

struct event;
struct event_base;
struct role_progress;

/* spec 4.3: the runtime's stderr is read once, at most this much. */
#define MON_RUNTIME_STDERR_MAX 8191
/* spec 5.2: one start-pipe read consumes at most this much. */
#define MON_START_READ_MAX 8192
/* Children reaped before the container's pid is known (spec 4.3). */
#define MON_EARLY_MAX 64
/* How long the shutdown waits for the logger's drain (architecture.md). */
#define MON_DRAIN_TIMEOUT_S 10
/* Respawn backoff of a dead child, doubling up to the cap (security 37). */
#define MON_RESPAWN_MIN_MS 10
#define MON_RESPAWN_MAX_MS 1000
/*
 * A child that lived this long was no crash loop: its successor starts
 * after MON_RESPAWN_MIN_MS again (issue 8: within 50 ms of a death), so a
 * child killed from outside every 200 ms is back at once, while one that
 * dies at start backs off; past this bound a child forks at most a few
 * times a second, never a busy fork loop (security 37).
 */
#define MON_RESPAWN_RESET_MS 100
/*
 * security 35: what the reaper may leave unread in a child's channel (the
 * kernel doubles it and counts each datagram's overhead, about a hundred
 * small messages): past it a send fails with EAGAIN and the child, which
 * stopped reading, is killed as hung. The reaper never blocks on a send.
 */
#define MON_CHAN_SNDBUF (64 * 1024)
/*
 * security 34: what a child may make the reaper do per second. Messages
 * read from one child's channel, reopens that are not coalesced aside
 * (past the burst the reaper stops reading it for MON_CHAN_PAUSE_MS: the
 * child's sends fail with EAGAIN, which it treats as a loss); DIAG lines
 * printed (the rest are counted and summarised at most once per
 * MON_DIAG_SUMMARY_MS). Reopen requests read in one batch are one reopen.
 */
#define MON_CHAN_RATE 1000
#define MON_CHAN_BURST 1000
#define MON_CHAN_PAUSE_MS 50
#define MON_DIAG_RATE 10
#define MON_DIAG_BURST 50
#define MON_DIAG_SUMMARY_MS 1000
/* lazy.c: the objects that start the broker (listener, ctl, winsz, notify) */
#define MON_LAZY_MAX 4
/* spec 12: memory.events is a few short lines; /proc/<pid>/cgroup. */
#define MON_OOM_EVENTS_MAX 4096
#define MON_OOM_CGROUP_MAX 8192

/* The helper and the logger set up at this nice value while `runc
 * create` runs, back to 0 at HELLO: runc gets the CPUs first. */
#define MON_START_NICE 19

enum mon_phase {
	MON_PH_LOGGER,	 /* start-up, before the runtime is forked */
	MON_PH_RUNTIME,	 /* runtime forked: waiting for it and the HELLOs */
	MON_PH_RUNNING,	 /* pid reported, container monitored */
	MON_PH_DRAINING, /* container gone, waiting for the logger's drain */
	MON_PH_DONE,	 /* the loop has ended */
};

/* A token bucket (security 34): `rate` per second, at most `burst`. */
struct mon_rate {
	unsigned rate, burst;
	uint64_t milli;	  /* tokens x 1000 */
	uint64_t last_ms; /* when milli was last refilled */
	uint64_t dropped; /* refused since the last mon_rate_flush() */
};

struct mon_child {
	const char *role;    /* "logger" or "attach" */
	unsigned chan_role;  /* CHAN_LOGGER or CHAN_BROKER */
	pid_t pid;	     /* 0 when none runs */
	int chan;	     /* reaper's end, -1 when none */
	struct event *ev;    /* read event on chan */
	struct event *respawn;
	bool hello;	     /* HELLO received */
	bool niced;	     /* forked at MON_START_NICE */
	bool drain_sent;     /* CHAN_LOG_DRAIN sent to this instance */
	unsigned backoff_ms; /* next respawn delay */
	uint64_t started_ms; /* CLOCK_MONOTONIC ms of this instance's fork */
	/* the kernel's count of bytes it read(2), at HELLO and at death
	 * (child.c proc_rchar()), -1 when unknown */
	int64_t rchar0, rchar_end;
	uint64_t done0;	     /* the progress page's `done` at its fork */
	unsigned deaths;
	/* its last error DIAG before HELLO, escaped: why its setup failed,
	 * for the start's failure message ("" when none) */
	char setup_err[256];
	/* security 34, per instance (chanlimit.c) */
	struct mon_rate msg_rate;  /* messages read */
	struct mon_rate diag_rate; /* DIAG lines printed */
	uint64_t pauses;	   /* reading paused since the last summary */
	uint64_t reopens_coalesced; /* its reopen requests folded in */
	struct event *pause_ev;	   /* resumes reading after a pause */
	struct event *summary_ev;  /* prints what was suppressed */
#ifdef VIGIL_SECCOMP_AUDIT
	struct mon_audit *audit; /* its listener (audit.c), NULL until told */
#endif
};

struct mon_reaped {
	pid_t pid;
	int status;
};

/* spec 12: what memory.events said about the two OOM counters. */
struct mon_oom_events {
	int64_t oom, oom_kill;
	bool has_oom, has_kill; /* the line was there and parsed */
	unsigned invalid;	/* `oom`/`oom_kill` lines with no number */
};

struct mon {
	struct mon_opts *o;
	struct event_base *base;
	enum mon_phase phase;
	pid_t self;	      /* the daemon's pid */
	char short_id[13];    /* first 12 bytes of the cid */
	uid_t child_uid;      /* identity of the sandboxed children */
	gid_t child_gid;

	/* The manager's pipes (spec 5). */
	int sync_fd;
	int start_fd;	/* kept open only for --exec-attach's second read */
	int attach_fd;	/* _OCI_ATTACHPIPE, with --exec-attach (spec 5.4) */

	/* Fds open at startup, closed before the exit files (spec 2.2). */
	int *inherited;
	size_t n_inherited;

	/* oom_score_adj before we lowered it (spec 3.1 step 2). */
	char oom_saved[16];
	bool oom_changed;

	/* The k8s-file log: directory resolved once, final name (spec 9.5). */
	int log_dirfd;
	char *log_base;
	int log_fd;
	int64_t log_counted; /* size at open: counts against --log-size-max */

	/* The journal socket for the logger (spec 9.7, journal.c). */
	bool jd_tried;	     /* connect attempted; jd_fd valid from here */
	int jd_fd;	     /* -1: not connected */
	bool jd_failing;     /* a reconnect failed: warned once */

	/* Container stdio (spec 6.1): the reaper keeps the read ends. */
	int devnull;
	int out_r, out_w, err_r, err_w;

	/* The runtime child (spec 4). */
	pid_t runtime_pid;
	int runtime_status;
	bool runtime_reaped;
	/* The children's HELLOs, awaited while the runtime runs: the pid is
	 * reported only once both are sandboxed (README "How the processes
	 * fit"); a child that died in setup meanwhile, its sync message. */
	bool children_up;
	char start_err[DIAG_TEXT_MAX];

	/* The container process (spec 4.4, 10.1). */
	pid_t ctr_pid;
	int ctr_pidfd;
	struct event *ctr_ev;
	bool ctr_exited;
	int ctr_value; /* exit value as written to the exit files */
	struct mon_reaped early[MON_EARLY_MAX];
	size_t n_early;

	/* OOM detection (spec 12, oom.c); oom_ev NULL when not watching. */
	int oom_version;      /* 1 or 2 while watching */
	int oom_fd;	      /* v2 inotify, v1 eventfd */
	int oom_ctl_fd;	      /* v1 memory.oom_control, kept open */
	char *oom_dir;	      /* the container's memory cgroup */
	struct event *oom_ev;
	int64_t oom_last, oom_kill_last; /* counters already reported */

	bool timed_out;
	struct event *timeout_ev;
	struct event *drain_ev;
	struct event *sig_ev[64];
	size_t n_sig_ev;

	struct mon_child logger;
	struct mon_child broker;
	/* lazy.c: the broker is not started yet; its objects are watched */
	bool lazy_watching;
	struct event *lazy_ev[MON_LAZY_MAX];
	/* the logger's progress page (common/role.h), NULL without one */
	struct role_progress *log_progress;
	uint32_t peer_gen;    /* generation of the current logger<->broker pair */
	/* the broker's end of a pair whose logger end went out while the
	 * broker was starting (child.c peer_new()), -1 when none */
	int peer_held;
	bool drained;	      /* LOG_DRAINED accepted: never again */
	/* security 34: reopens asked in the batch being read (chanlimit.c) */
	bool reopen_pending[CHAN_SINK_MAX];
	bool stdin_closed;    /* the logger closed stdin: never handed again */
	bool att_close_sent;  /* CHAN_ATT_CLOSE sent (spec 10.2 step 5) */
	struct event *close_ev;

	/* The attach path's objects (spec 6.2, 7, 8). */
	int bundle_dirfd;
	int att_listener;
	char *att_link;	      /* <socket-dir-path>/<cuuid>, when made */
	int ctl_r, ctl_w, winsz_r, winsz_w;
	int in_r, in_w;	      /* the stdin pipe (-i without -t) */
	int cons_fd;	      /* the console socket's listener (-t) */
	char *cons_dir, *cons_path;
	struct event *cons_ev;
	int pty;	      /* the pty master, once the runtime sent it */

	/* The sd-notify relay (spec 13, notify.c); -1 when not relaying. */
	int notify_fd;	      /* bound <bundle>/notify/notify.sock */
	int notify_host;      /* connected to --sdnotify-socket */
	bool notify_failing;  /* a send failed: warned for this episode */

	int exit_status; /* the daemon's own exit status (spec 10.8) */
};

/* front.c: everything before the detach (spec 3.1 steps 1-6). */
void mon_fds_record(struct mon *);
void mon_oom_lower(struct mon *);
void mon_oom_restore(const struct mon *);
void mon_start_pipe(struct mon *);
void mon_sync_pipe(struct mon *);
void mon_child_identity(struct mon *);
/*
 * The children's uid and gid from a user and a group name; refuses an
 * unknown name and uid or gid 0. -1 with the whole message in msg.
 */
int mon_identity_resolve(const char *user, const char *group, uid_t *,
    gid_t *, char *msg, size_t msglen) VIGIL_MUST_CHECK;
void mon_detach(struct mon *);

/* paths.c: every open, create and rename, under policy (spec 9.5, 10.3). */
int mon_log_open(struct mon *) VIGIL_MUST_CHECK;
int mon_log_reopen(struct mon *) VIGIL_MUST_CHECK;
int mon_log_rotate(struct mon *) VIGIL_MUST_CHECK;
int mon_write_atomic(int dirfd, const char *name, const char *data,
    size_t len, mode_t mode, bool durable) VIGIL_MUST_CHECK;
int mon_write_atomic_path(const char *path, const char *data, size_t len,
    mode_t mode, bool durable) VIGIL_MUST_CHECK;
int mon_pidfile_parse(const char *, size_t, pid_t *) VIGIL_MUST_CHECK;
int mon_pidfile_read(const char *path, pid_t *pid, char *why, size_t whylen)
    VIGIL_MUST_CHECK;
void mon_exit_files(struct mon *);

/* journal.c: the journal socket for the logger (spec 9.7). */
int mon_journal_connect(void) VIGIL_MUST_CHECK;

/* sync.c: records to the manager (spec 5.3). */
void mon_sync_report(struct mon *, int64_t value, const char *msg,
    size_t msglen);
void mon_attach_ready(struct mon *);

/* runtime.c: the runtime child (spec 4). */
int mon_stdio_create(struct mon *) VIGIL_MUST_CHECK;
int mon_runtime_spawn(struct mon *) VIGIL_MUST_CHECK;
size_t mon_runtime_stderr(struct mon *, char *buf, size_t cap);

/* attach.c: the attach socket, FIFOs, console socket, stdin pipe. */
int mon_attach_create(struct mon *);
void mon_attach_remove(struct mon *);
int mon_console_create(struct mon *) VIGIL_MUST_CHECK;
int mon_console_accept(struct mon *);
void mon_console_remove(struct mon *);
int mon_stdin_create(struct mon *) VIGIL_MUST_CHECK;

/* notify.c: the sd-notify relay (spec 13). */
int mon_notify_create(struct mon *);
void mon_notify_relay(struct mon *, const void *lines, size_t len);

/* child.c: the sandboxed children and their channels. */
int mon_child_spawn(struct mon *, struct mon_child *) VIGIL_MUST_CHECK;
void mon_child_start(struct mon *, struct mon_child *);
void mon_child_reaped(struct mon *, struct mon_child *, int status);
void mon_child_peek(struct mon *);
void mon_child_stop(struct mon *, struct mon_child *);
void mon_logger_drain(struct mon *);
void mon_logger_sources(struct mon *);
void mon_broker_pty(struct mon *);
void mon_broker_close(struct mon *);
int mon_child_watch(struct mon *, struct mon_child *, pid_t, int chan)
    VIGIL_MUST_CHECK;
void mon_chan_read(struct mon *, struct mon_child *);
int mon_chan_dispatch(struct mon *, struct mon_child *, struct chan_msg *,
    const char **why) VIGIL_MUST_CHECK;
void mon_reopen_do(struct mon *, unsigned sink);

/* lazy.c: the attach broker on demand. */
void mon_broker_watch(struct mon *);
void mon_broker_unwatch(struct mon *);
bool mon_broker_due(struct mon *);

/* chanlimit.c: a child's flood costs the reaper little (security 34). */
uint64_t mon_now_ms(void);
void mon_rate_init(struct mon_rate *, unsigned rate, unsigned burst,
    uint64_t now_ms);
bool mon_rate_take(struct mon_rate *, uint64_t now_ms);
uint64_t mon_rate_flush(struct mon_rate *);
void mon_limits_start(struct mon *, struct mon_child *);
void mon_limits_end(struct mon_child *);
bool mon_chan_paused(const struct mon_child *);
void mon_chan_charge(struct mon *, struct mon_child *);
bool mon_diag_admit(struct mon *, struct mon_child *);
void mon_reopen_request(struct mon *, struct mon_child *, unsigned sink);
void mon_reopen_flush(struct mon *);
void mon_reopen_stop(struct mon *);

/* signals.c: signal events (spec 11, security 40-42). */
void mon_signals_early(void);
int mon_signals_init(struct mon *) VIGIL_MUST_CHECK;
/*
 * sig's disposition set to SIG_IGN (ignore) or SIG_DFL by rt_sigaction(2)
 * itself, for every number the kernel has: the C libraries' sigaction()
 * refuses the ones below SIGRTMIN they keep for their threads (glibc 32
 * and 33, musl 32 to 34), which still kill by default. -1 with errno.
 */
int mon_sig_disposition(int sig, bool ignore);
int mon_signals_forwarding(struct mon *) VIGIL_MUST_CHECK;

/* oom.c: OOM detection and the oom files (spec 10.4, 12). */
int mon_oom_cgroup_dir(const char *text, size_t len, int version,
    const char *root, char *out, size_t outlen) VIGIL_MUST_CHECK;
void mon_oom_parse_events(const char *, size_t, struct mon_oom_events *);
bool mon_oom_is_new(const struct mon_oom_events *, int64_t last_oom,
    int64_t last_kill);
int mon_oom_file_create(int dirfd) VIGIL_MUST_CHECK;
void mon_oom_watch(struct mon *);
void mon_oom_final(struct mon *);

#ifdef VIGIL_SECCOMP_AUDIT
/* audit.c: audit mode, SECCOMP_AUDIT=1 builds only (security.md). */
void mon_audit_init(void);
int mon_audit_listener(struct mon *, struct mon_child *,
    const struct chan_msg *) VIGIL_MUST_CHECK;
bool mon_audit_announced(const struct mon_child *);
void mon_audit_forget(struct mon_child *);
#endif

/* life.c: the lifecycle (spec 3.1 steps 10-16, 10). */
VIGIL_NORETURN void mon_daemon(struct mon *);
void mon_reap(struct mon *);
void mon_children_up(struct mon *);
void mon_start_failed(struct mon *, const char *fmt, ...) VIGIL_PRINTF(2, 3);
void mon_drained(struct mon *);
void mon_att_closed(struct mon *);
void mon_fail(struct mon *, const char *fmt, ...) VIGIL_PRINTF(2, 3);
int mon_exit_value(int status);

#endif
