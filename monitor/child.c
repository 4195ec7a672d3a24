/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/child.c: the sandboxed logger seen from the reaper: fork, the
 * channel's handler table, fd hand-over, death and respawn. Every message
 * is validated by chan_recv() and then by its handler's state and field
 * checks; a bad one kills the child, never the reaper (style.md).
 * A death is one warning: why, and for the logger the output bytes lost
 * with it, counted from the kernel's read count and the logger's progress
 * page, never from the output itself (security 36); nothing is written
 * into the container's log for it (README "Respawn": no marker record).
 */
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <seccomp.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/errtext.h"
#include "common/fault.h"
#include "common/io.h"
#include "common/num.h"
#include "common/role.h"
#include "common/sandbox.h"
#include "monitor/mon.h"

/* /proc/<pid>/io: seven short lines. */
#define MON_PROC_IO_MAX 512
/* Messages handled per wake-up: one bounded unit of work (style.md). */
#define MON_CHAN_BATCH 32

static void chan_cb(evutil_socket_t, short, void *);
static void chan_closed(struct mon_child *);
static void respawn_cb(evutil_socket_t, short, void *);
static void last_words(struct mon *, struct mon_child *);

static void
kill_child(struct mon_child *c, const char *why)
{
	if (c->pid <= 0)
		return;
	diag_warnx("%s: %s; killing it", c->role, why);
	(void)kill(c->pid, SIGKILL); /* reaped by mon_reap() */
}

static int
send_to(struct mon *m, struct mon_child *c, unsigned type, const void *p,
    size_t len, int fd)
{
	int err;

	if (c->chan < 0 || !c->hello)
		return -1;
	if (chan_send(c->chan, type, p, len, fd) == 0)
		return 0;
	err = errno;
	/* security 35: a child that does not read its channel is hung; what
	 * else it sent is not read, so it is killed once */
	kill_child(c, err == EAGAIN ? "channel full, it stopped reading" :
	    errtext(err));
	/* a closed channel is a child already gone: its TRAP report or last
	 * DIAG may still be queued, and says why (security 39) */
	if (err != EAGAIN)
		last_words(m, c);
	chan_closed(c);
	return -1;
}

static void
send_sink(struct mon *m)
{
	struct chan_log_sink s = { .sink = CHAN_SINK_K8S,
		.counted = m->log_counted };

	if (m->log_fd >= 0)
		(void)send_to(m, &m->logger, CHAN_LOG_SINK, &s, sizeof(s),
		    m->log_fd); /* failure killed the child */
}

/*
 * spec 9.7: a fresh connection to the journal. A failure is a warning
 * once per episode; the logger goes on counting lost entries and asks
 * again at most every LOG_JD_RECONNECT_MS (security 5). True when new.
 */
static bool
jd_connect(struct mon *m)
{
	int fd = mon_journal_connect();

	if (fd < 0) {
		if (!m->jd_failing)
			diag_warn("Failed to connect to the journal; "
			    "journal entries are lost until it answers:");
		m->jd_failing = true;
		return false;
	}
	if (m->jd_fd >= 0)
		(void)close(m->jd_fd); /* its peer is gone: nothing to flush */
	m->jd_fd = fd;
	m->jd_failing = false;
	return true;
}

/*
 * spec 9.7, architecture.md: the reaper connects the journal socket (the
 * logger never creates one), once, before the first logger reads, and
 * keeps it for a respawned logger.
 */
static void
send_jd_sink(struct mon *m)
{
	struct chan_log_sink s = { .sink = CHAN_SINK_JOURNALD };

	if (!m->o->journald)
		return;
	if (!m->jd_tried) {
		m->jd_tried = true;
		m->jd_fd = -1;
		(void)jd_connect(m); /* failure said; the logger asks again */
	}
	if (m->jd_fd >= 0)
		(void)send_to(m, &m->logger, CHAN_LOG_SINK, &s, sizeof(s),
		    m->jd_fd); /* failure killed the child */
}

static int
send_source(struct mon *m, unsigned stream, unsigned flags, int fd)
{
	struct chan_log_source src = { .stream = stream, .flags = flags };

	if (fd < 0)
		return 0;
	return send_to(m, &m->logger, CHAN_LOG_SOURCE, &src, sizeof(src), fd);
}

/*
 * Hands the container's output to the logger (spec 3.1 step 15): the pty
 * master as stdout with a terminal (spec 6.2 step 4), else the stdout
 * pipe; the stderr pipe always (it carries the runtime's own messages).
 */
void
mon_logger_sources(struct mon *m)
{
	if (m->phase < MON_PH_RUNNING)
		return;
	if (m->pty >= 0) {
		if (send_source(m, CHAN_STREAM_STDOUT, CHAN_SOURCE_PTY,
		    m->pty) < 0)
			return;
	} else if (send_source(m, CHAN_STREAM_STDOUT, 0, m->out_r) < 0) {
		return;
	}
	(void)send_source(m, CHAN_STREAM_STDERR, 0, m->err_r);
}

void
mon_logger_drain(struct mon *m)
{
	struct mon_child *c = &m->logger;

	if (c->drain_sent || send_to(m, c, CHAN_LOG_DRAIN, NULL, 0, -1) < 0)
		return; /* sent at HELLO of a respawned logger */
	c->drain_sent = true;
}

static void
send_att_fd(struct mon *m, unsigned kind, int fd)
{
	struct chan_att_fd f = { .kind = kind };

	if (fd >= 0)
		(void)send_to(m, &m->broker, CHAN_ATT_FD, &f, sizeof(f), fd);
}

/* spec 6.2 step 5: the pty reaches the broker when the runtime sent it. */
void
mon_broker_pty(struct mon *m)
{
	send_att_fd(m, CHAN_ATT_FD_PTY, m->pty);
}

/* spec 10.2 step 5: after the drain, deliver, close clients, acknowledge. */
void
mon_broker_close(struct mon *m)
{
	struct mon_child *c = &m->broker;

	m->att_close_sent = true;
	if (c->pid > 0 && !c->hello)
		return; /* on_hello() sends it; close_ev bounds the wait */
	if (c->pid <= 0 || send_to(m, c, CHAN_ATT_CLOSE, NULL, 0, -1) < 0)
		mon_att_closed(m); /* no broker: its clients already saw EOF */
}

static void
peer_drop_held(struct mon *m)
{
	if (m->peer_held >= 0)
		(void)close(m->peer_held); /* its broker never came: unused */
	m->peer_held = -1;
}

/*
 * architecture.md: a new logger<->broker pair whenever either is new.
 * A broker about to be forked (on demand, lazy.c, or respawned: `starting`)
 * gets a pair before its fork: the logger takes its end at once and keeps
 * what it reads from then on (logger/clients.c, the hand-over backlog);
 * the reaper holds the other end for the broker's HELLO. The broker first
 * accepts every client that waits and hands each over, then says
 * ATT_HANDOVER_DONE (attach/peer.c); the logger gives those clients the
 * backlog before live output. So a client that connected before the
 * broker existed misses nothing the container wrote meanwhile (spec 7.3).
 */
static void
peer_new(struct mon *m, bool starting)
{
	struct chan_peer p;
	int sv[2];

	if (!m->logger.hello ||
	    (!m->broker.hello && m->broker.pid <= 0 && !starting))
		return;
	if (m->broker.hello && m->peer_held >= 0) {
		p = (struct chan_peer){ .generation = m->peer_gen };
		(void)send_to(m, &m->broker, CHAN_PEER, &p, sizeof(p),
		    m->peer_held); /* failure killed the broker */
		peer_drop_held(m);
		return;
	}
	if (m->peer_held >= 0)
		return; /* the logger has its end; a broker is on its way */
	if (chan_pair(sv) < 0) {
		diag_warn("Failed to create the logger-broker channel");
		return;
	}
	p = (struct chan_peer){ .generation = ++m->peer_gen };
	if (send_to(m, &m->logger, CHAN_PEER, &p, sizeof(p), sv[0]) < 0) {
		(void)close(sv[1]); /* the logger was killed: none to pair */
	} else if (!m->broker.hello) {
		m->peer_held = sv[1];
		sv[1] = -1;
	} else {
		(void)send_to(m, &m->broker, CHAN_PEER, &p, sizeof(p), sv[1]);
	}
	(void)close(sv[0]); /* the children hold their ends */
	if (sv[1] >= 0)
		(void)close(sv[1]);
}

static void
welcome_logger(struct mon *m)
{
	struct chan_att_fd f = { .kind = CHAN_ATT_FD_LISTENER };
	struct chan_att_fd in = { .kind = CHAN_ATT_FD_STDIN };

	/* README "The broker on demand": polled, never accepted on (the
	 * logger's filter has no accept), so that output read once a client
	 * waits for a broker is kept for it */
	if (m->att_listener >= 0)
		(void)send_to(m, &m->logger, CHAN_ATT_FD, &f, sizeof(f),
		    m->att_listener);
	/* spec 6.4: the logger writes the clients' input (with -t to the
	 * pty master, its source); a logger respawned after stdin closed
	 * never gets it again */
	if (!m->stdin_closed && m->in_w >= 0)
		(void)send_to(m, &m->logger, CHAN_ATT_FD, &in, sizeof(in),
		    m->in_w);
	send_sink(m);
	send_jd_sink(m);
	mon_logger_sources(m);
	if (m->phase == MON_PH_DRAINING)
		mon_logger_drain(m);
}

static void
welcome_broker(struct mon *m)
{
	send_att_fd(m, CHAN_ATT_FD_LISTENER, m->att_listener);
	send_att_fd(m, CHAN_ATT_FD_CTL, m->ctl_r);
	send_att_fd(m, CHAN_ATT_FD_WINSZ, m->winsz_r);
	send_att_fd(m, CHAN_ATT_FD_PTY, m->pty); /* for resizes only */
	/* spec 13: a respawned broker gets the same socket again */
	send_att_fd(m, CHAN_ATT_FD_NOTIFY, m->notify_fd);
}

/*
 * How many bytes a child has taken with read(2): the kernel's counter in
 * /proc/<pid>/io (a number, never the data), readable until the child is
 * reaped; -1 when unknown. Once sandboxed the logger reads nothing but
 * container output with read(2) (its channel and pair use recvmsg), so
 * from its HELLO on the count grows by exactly the output it took, also
 * by a read it is killed inside, which its own counters cannot tell.
 */
static int64_t
proc_rchar(pid_t pid)
{
	char path[32], buf[MON_PROC_IO_MAX], *e;
	int64_t v;
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = io_read(fd, buf, sizeof(buf) - 1);
	(void)close(fd); /* read-only: nothing to flush */
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	e = strchr(buf, '\n');
	if (strncmp(buf, "rchar: ", 7) != 0 || e == NULL)
		return -1;
	*e = '\0';
	if (num_parse(buf + 7, 10, 0, INT64_MAX, &v) < 0)
		return -1;
	return v;
}

/* A logger that has died: its read count, before mon_reap() reaps it. */
void
mon_child_peek(struct mon *m)
{
	struct mon_child *c = &m->logger;
	siginfo_t si;

	if (c->pid <= 0)
		return;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)c->pid, &si,
	    WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == c->pid)
		c->rchar_end = proc_rchar(c->pid);
}

static int
on_hello(struct mon *m, struct mon_child *c, const struct chan_msg *msg)
{
	const struct chan_hello *h = &msg->u.hello;

	if (c->hello || h->role != c->chan_role ||
	    h->version != CHAN_VERSION || h->pid != c->pid)
		return -1;
#if defined(VIGIL_SECCOMP_AUDIT) && !defined(VIGIL_VALGRIND)
	if (!mon_audit_announced(c))
		return -1; /* its notifications would wait for ever */
#endif
	c->hello = true;
	if (c->niced && setpriority(PRIO_PROCESS, (id_t)c->pid, 0) < 0)
		diag_warn("Failed to restore the %s's priority", c->role);
	c->niced = false;
	if (c == &m->logger) {
		peer_drop_held(m); /* its end went to a dead logger */
		/* before it is given a source to read (security 36) */
		c->rchar0 = proc_rchar(c->pid);
		welcome_logger(m);
	} else {
		welcome_broker(m);
	}
	peer_new(m, false);
	/* after its pair: a client waiting since before it started is
	 * accepted and handed over, and gets the drained output, before
	 * the close */
	if (c == &m->broker && m->att_close_sent)
		(void)send_to(m, &m->broker, CHAN_ATT_CLOSE, NULL, 0, -1);
	/* the broker starts on demand (lazy.c): the pid is never held for
	 * it, and a broker started this early is not waited for */
	if (!m->children_up && m->phase <= MON_PH_RUNTIME && c == &m->logger)
		mon_children_up(m);
	return 0;
}

/* security 33: DIAG text is printed escaped and cut, never raw. */
static int
on_diag(struct mon *m, struct mon_child *c,
    const struct chan_msg *msg)
{
	char out[DIAG_TEXT_MAX];
	size_t o = 0;
	unsigned level = msg->u.raw[0];

	if (!mon_diag_admit(m, c))
		return 0; /* security 34: counted, summarised later */
	for (size_t i = 1; i < msg->len && o + 5 < sizeof(out); i++) {
		unsigned char ch = msg->u.raw[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			out[o++] = (char)ch;
		} else {
			int n = snprintf(out + o, sizeof(out) - o, "\\x%02x",
			    ch);
			o += n > 0 ? (size_t)n : 0;
		}
	}
	if (!c->hello && level == DIAG_ERROR)
		(void)snprintf(c->setup_err, sizeof(c->setup_err), "%.*s",
		    (int)o, out);
	if (diag_enabled((enum diag_level)level)) {
		char line[DIAG_TEXT_MAX + 32];
		int n = snprintf(line, sizeof(line), "%s: %.*s", c->role,
		    (int)o, out);
		diag_emit((enum diag_level)level, line,
		    n > 0 ? (size_t)n : 0);
	}
	return 0;
}

/* security.md: the reaper names the forbidden call. */
static int
on_trap(struct mon *m VIGIL_UNUSED, struct mon_child *c,
    const struct chan_msg *msg)
{
	char *name = seccomp_syscall_resolve_num_arch(msg->u.trap.arch,
	    msg->u.trap.nr);

	diag_warnx("%s: forbidden system call %s", c->role,
	    name != NULL ? name : "(unknown)");
	if (name == NULL)
		diag_warnx("%s: system call number %d, arch 0x%x", c->role,
		    (int)msg->u.trap.nr, (unsigned)msg->u.trap.arch);
	free(name);
	return 0;
}

/* spec 8.4, 9.3-9.5: the reaper opens; the logger only gets the fd. */
void
mon_reopen_do(struct mon *m, unsigned sink)
{
	if (sink == CHAN_SINK_JOURNALD) {
		if (jd_connect(m))
			send_jd_sink(m);
		return;
	}
	if (m->log_fd < 0)
		return; /* spec 8.4: with no k8s-file driver it does nothing */
	if ((m->o->log_rotate ? mon_log_rotate(m) : mon_log_reopen(m)) < 0) {
		/* keep the old file; retry after another limit's worth */
		diag_warn("Failed to reopen log file %s:", m->o->k8s_path);
		m->log_counted = 0;
	}
	send_sink(m);
}

static int
on_reopen(struct mon *m, struct mon_child *c,
    const struct chan_msg *msg)
{
	unsigned sink = msg->u.log_reopen.sink;

	/* security 5: a journal reconnect only for the logger, only with
	 * -l journald */
	if (sink == CHAN_SINK_JOURNALD &&
	    (c != &m->logger || !m->o->journald || !m->jd_tried))
		return -1;
	if (sink != CHAN_SINK_K8S && sink != CHAN_SINK_JOURNALD)
		return -1;
	mon_reopen_request(m, c, sink); /* security 34: coalesced */
	return 0;
}

static int
on_drained(struct mon *m, struct mon_child *c, const struct chan_msg *msg)
{
	const struct chan_log_drained *d = &msg->u.log_drained;

	/* security 31: only while a drain is pending, and once */
	if (!c->drain_sent || m->phase != MON_PH_DRAINING || m->drained)
		return -1;
	m->drained = true;
	if (d->bytes_lost > 0)
		diag_warnx("logger: %llu bytes of output could not be logged",
		    (unsigned long long)d->bytes_lost);
	if (d->sync_errno != 0)
		diag_warnx("logger: failed to sync the log: %s",
		    errtext(d->sync_errno));
	mon_drained(m);
	return 0;
}

static int
on_peer_lost(struct mon *m, struct mon_child *c, const struct chan_msg *msg)
{
	/* a stale generation was answered already; the warnings share the
	 * child's DIAG budget (security 34) */
	if (msg->u.peer.generation != m->peer_gen)
		return 0;
	if (mon_diag_admit(m, c))
		diag_warnx("%s: bad message from its peer; new pair", c->role);
	peer_new(m, false);
	return 0;
}

/* spec 7.4: the container reads EOF once nobody holds the write end. */
static int
on_stdin_closed(struct mon *m, struct mon_child *c VIGIL_UNUSED,
    const struct chan_msg *msg VIGIL_UNUSED)
{
	/* security 31: once, and only with a stdin pipe (-i without -t) */
	if (m->stdin_closed || m->in_w < 0)
		return -1;
	m->stdin_closed = true;
	if (m->in_w >= 0)
		(void)close(m->in_w); /* architecture.md: never handed again */
	m->in_w = -1;
	return 0;
}

static int
on_att_closed(struct mon *m, struct mon_child *c VIGIL_UNUSED,
    const struct chan_msg *msg VIGIL_UNUSED)
{
	if (!m->att_close_sent)
		return -1;
	mon_att_closed(m);
	return 0;
}

/*
 * spec 13, security 6: chan_msg_check() has checked every line against
 * the fixed list already; lines from a broker the reaper never gave the
 * socket are a protocol violation.
 */
static int
on_notify(struct mon *m, struct mon_child *c VIGIL_UNUSED,
    const struct chan_msg *msg)
{
	if (m->notify_fd < 0)
		return -1;
	mon_notify_relay(m, msg->u.raw, msg->len);
	return 0;
}

typedef int (*mon_handler)(struct mon *, struct mon_child *,
    const struct chan_msg *);

/* What the reaper accepts from each role (after OpenSSH's monitor table). */
static const mon_handler logger_handlers[CHAN_TYPE_MAX] = {
	[CHAN_HELLO] = on_hello,
	[CHAN_DIAG] = on_diag,
	[CHAN_TRAP] = on_trap,
	[CHAN_LOG_REOPEN] = on_reopen,
	[CHAN_LOG_DRAINED] = on_drained,
	[CHAN_PEER_LOST] = on_peer_lost,
	[CHAN_ATT_STDIN_CLOSED] = on_stdin_closed,
#ifdef VIGIL_SECCOMP_AUDIT
	[CHAN_LISTENER] = mon_audit_listener,
#endif
};

static const mon_handler broker_handlers[CHAN_TYPE_MAX] = {
	[CHAN_HELLO] = on_hello,
	[CHAN_DIAG] = on_diag,
	[CHAN_TRAP] = on_trap,
	[CHAN_LOG_REOPEN] = on_reopen,
	[CHAN_PEER_LOST] = on_peer_lost,
	[CHAN_ATT_CLOSED] = on_att_closed,
	[CHAN_NOTIFY] = on_notify,
#ifdef VIGIL_SECCOMP_AUDIT
	[CHAN_LISTENER] = mon_audit_listener,
#endif
};

static void
chan_closed(struct mon_child *c)
{
	if (c->ev != NULL) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->chan >= 0)
		(void)close(c->chan); /* the child's death is seen by reaping */
	c->chan = -1;
	mon_limits_end(c);
}

static void
violation(struct mon_child *c, const char *why)
{
	char what[96];

	(void)snprintf(what, sizeof(what), "protocol violation: %s", why);
	kill_child(c, what);
	chan_closed(c);
}

/*
 * One validated message of c: field checks, then the role's handler,
 * which checks the state. 0, or -1 with *why: the child must die.
 */
int
mon_chan_dispatch(struct mon *m, struct mon_child *c, struct chan_msg *msg,
    const char **why)
{
	const mon_handler *handlers = c == &m->logger ? logger_handlers :
	    broker_handlers;

	/* no type a child may send carries an fd (the table) */
	if (msg->fd >= 0) {
		(void)close(msg->fd);
		msg->fd = -1;
	}
	/* security 33: field values, before any handler sees them */
	if (chan_msg_check(msg->type, msg->u.raw, msg->len, why) < 0)
		return -1;
	if (handlers[msg->type] == NULL ||
	    handlers[msg->type](m, c, msg) < 0) {
		*why = chan_specs[msg->type].name;
		return -1;
	}
	return 0;
}

static void
chan_read_batch(struct mon *m, struct mon_child *c)
{
	static struct chan_msg msg; /* chan.h: not on the stack */
	const char *why = NULL;

	for (int i = 0; i < MON_CHAN_BATCH && c->chan >= 0; i++) {
		int rc;

		if (mon_chan_paused(c))
			return;
		rc = chan_recv(c->chan, c->chan_role, &msg, &why);
		if (rc == 0) {
			chan_closed(c);
			return;
		}
		if (rc < 0) {
			if (errno == EAGAIN)
				return;
			/* a child that died with unread messages: ECONNRESET
			 * first, then what it sent (its TRAP report) */
			if (errno == ECONNRESET)
				continue;
			violation(c, errno == EPROTO ? why : errtext(errno));
			return;
		}
		/* security 34: a reopen is charged only when coalesced */
		if (msg.type != CHAN_LOG_REOPEN)
			mon_chan_charge(m, c);
		if (mon_chan_dispatch(m, c, &msg, &why) < 0) {
			violation(c, why);
			return;
		}
	}
}

/*
 * Reads and dispatches what c sent, one bounded batch (style.md), within
 * its budget (security 34); then the reopens the batch asked for. A bad
 * message kills c (security 30-33).
 */
void
mon_chan_read(struct mon *m, struct mon_child *c)
{
	chan_read_batch(m, c);
	mon_reopen_flush(m);
}

static struct mon_child *
child_of_chan(struct mon *m, int fd)
{
	return m->logger.chan == fd ? &m->logger : &m->broker;
}

static void
chan_cb(evutil_socket_t fd, short what VIGIL_UNUSED, void *arg)
{
	struct mon *m = arg;

	mon_chan_read(m, child_of_chan(m, fd));
}

static VIGIL_NORETURN void
child_main(struct mon *m, struct mon_child *c, int chan)
{
	struct role_conf rc = {
		.chan_fd = chan,
		.reaper = m->self,
		.uid = m->child_uid,
		.gid = m->child_gid,
		.short_id = m->short_id,
		.log_size_max = m->o->log_size_max,
		.log_global_size_max = m->o->log_global_size_max,
		.no_sync_log = m->o->no_sync_log,
		/* a logger respawned after stdin closed never gets it again */
		.stdin_pipe = m->o->stdin_ && !m->o->terminal &&
		    !m->stdin_closed,
		.terminal = m->o->terminal,
		.leave_stdin_open = m->o->leave_stdin_open,
		.journald = m->o->journald,
		.cid = m->o->cid,
		.log_tag = m->o->log_tag,
		.name = m->o->name,
		.log_labels = m->o->log_labels.v,
		.n_log_labels = m->o->log_labels.n,
		.no_partial_flag = m->o->no_container_partial_message,
	};

	/* the progress page is the logger's and the reaper's alone */
	if (c == &m->logger)
		rc.progress = m->log_progress;
	else if (m->log_progress != NULL &&
	    munmap(m->log_progress, sizeof(*m->log_progress)) < 0)
		_exit(1);
	/* spec 9.8: with passthrough the daemon still holds the manager's
	 * stdio while its children start; a sandboxed child never does */
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(m->devnull, fd) < 0)
			_exit(1);
	if (c == &m->logger)
		log_main(&rc);
	att_main(&rc);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The logger's progress page (common/role.h), made once before the first
 * logger: without it a death's loss is unknown and a torn record stays,
 * so it is said and the logger runs all the same.
 */
static void
progress_map(struct mon *m)
{
	void *p;

	if (m->log_progress != NULL)
		return;
	p = mmap(NULL, sizeof(*m->log_progress), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		diag_warn("Failed to map the logger's progress page; output "
		    "lost at a logger's death will not be counted:");
		return;
	}
	m->log_progress = p; /* zero-filled: no logger has run yet */
}

int
mon_child_spawn(struct mon *m, struct mon_child *c)
{
	sigset_t all, old;
	int sv[2];
	pid_t pid;

	if (c == &m->logger)
		progress_map(m);
	if (chan_pair(sv) < 0)
		return -1;
	/* shared with the child, copy-on-write: the filters, compiled once,
	 * and the time zone the logger reads before its sandbox */
	sandbox_prepare();
	tzset();
	sandbox_trim(); /* before the fork: no garbage to share */
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		child_main(m, c, sv[1]); /* unblocks in sandbox_drop() */
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	(void)close(sv[1]); /* the child's end */
#ifdef VIGIL_FAULTS
	if (pid > 0) /* one-shot failpoints: the first child of a role only */
		fault_forked(c == &m->logger ? "logger" : "broker");
#endif
	if (pid < 0) {
		(void)close(sv[0]); /* no child to talk to */
		return -1;
	}
	c->niced = m->phase == MON_PH_RUNTIME && m->runtime_pid > 0 &&
	    setpriority(PRIO_PROCESS, (id_t)pid, MON_START_NICE) == 0;
	return mon_child_watch(m, c, pid, sv[0]);
}

/* A new instance of c, pid, talking on chan (the reaper's end). */
int
mon_child_watch(struct mon *m, struct mon_child *c, pid_t pid, int chan)
{
	c->pid = pid;
	c->chan = chan;
	c->hello = false;
	c->drain_sent = false;
	c->setup_err[0] = '\0';
	c->started_ms = now_ms();
	c->rchar0 = c->rchar_end = -1;
	if (c == &m->logger && m->log_progress != NULL)
		c->done0 = m->log_progress->done;
	/* security 35: a send never blocks; a full channel is a hung child */
	if (io_set_nonblock(c->chan, true) < 0)
		diag_warn("Failed to make the %s channel non-blocking", c->role);
	if (setsockopt(c->chan, SOL_SOCKET, SO_SNDBUF, &(int){ MON_CHAN_SNDBUF },
	    sizeof(int)) < 0)
		diag_warn("Failed to bound the %s channel's queue", c->role);
	mon_limits_start(m, c);
	c->ev = event_new(m->base, c->chan, EV_READ | EV_PERSIST, chan_cb, m);
	if (c->ev == NULL || event_add(c->ev, NULL) < 0) {
		kill_child(c, "cannot watch its channel");
		chan_closed(c);
	}
	return 0;
}

/* Returns the delay in ms, or -1 if no respawn could be scheduled. */
static int
schedule_respawn(struct mon *m, struct mon_child *c)
{
	unsigned delay;
	struct timeval tv;

	if (now_ms() - c->started_ms >= MON_RESPAWN_RESET_MS)
		c->backoff_ms = MON_RESPAWN_MIN_MS;
	delay = c->backoff_ms;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	if (c->respawn == NULL)
		c->respawn = evtimer_new(m->base, respawn_cb, m);
	if (c->respawn == NULL || evtimer_add(c->respawn, &tv) < 0) {
		diag_warnx("%s: cannot schedule a respawn", c->role);
		return -1;
	}
	/* security 37: back off, capped, never a busy fork loop */
	c->backoff_ms *= 2;
	if (c->backoff_ms > MON_RESPAWN_MAX_MS)
		c->backoff_ms = MON_RESPAWN_MAX_MS;
	return (int)delay;
}

static void
respawn_one(struct mon *m, struct mon_child *c)
{
	if (c->pid > 0 || c->respawn == NULL ||
	    evtimer_pending(c->respawn, NULL))
		return;
	if (c == &m->broker)
		peer_new(m, true); /* the logger keeps output from now on */
	if (mon_child_spawn(m, c) < 0) {
		diag_warn("Failed to respawn the %s", c->role);
		(void)schedule_respawn(m, c); /* failure said */
		return;
	}
	diag_info("%s respawned as pid %d", c->role, (int)c->pid);
}

/*
 * A first instance of c started later than the others (the broker on
 * demand, lazy.c): a failed fork is retried as a respawn is.
 */
void
mon_child_start(struct mon *m, struct mon_child *c)
{
	if (c->pid > 0 || (c->respawn != NULL &&
	    evtimer_pending(c->respawn, NULL)))
		return;
	if (c == &m->broker)
		peer_new(m, true); /* the logger keeps output from now on */
	if (mon_child_spawn(m, c) < 0) {
		int delay;

		diag_warn("Failed to start the %s", c->role);
		delay = schedule_respawn(m, c);
		if (delay >= 0)
			diag_warnx("%s: retrying in %d ms", c->role, delay);
		return;
	}
	diag_debug("%s started as pid %d", c->role, (int)c->pid);
}

static void
respawn_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct mon *m = arg;

	if (m->phase == MON_PH_DONE)
		return;
	respawn_one(m, &m->logger);
	respawn_one(m, &m->broker);
}

/*
 * security 36: what a dead logger had read and not yet logged is lost.
 * The reaper never reads the output to count it: the kernel says how much
 * the logger read (proc_rchar()), its progress page how much of that it
 * logged. Without the kernel's count the page's own, which misses a read
 * the logger died inside. Then marked accounted, so its successor's death
 * counts only its own. A logger can write any value to its page: a count
 * that cannot be is said as such.
 */
static void
say_loss(struct mon *m, const struct mon_child *c, char *out, size_t len)
{
	struct role_progress *p = m->log_progress;
	uint64_t read, done;

	if (p == NULL) {
		(void)snprintf(out, len, "; output lost with it: unknown");
		return;
	}
	done = p->done - c->done0;
	read = p->read - c->done0;
	if (c->rchar0 >= 0 && c->rchar_end >= c->rchar0)
		read = (uint64_t)(c->rchar_end - c->rchar0);
	else if (p->reading != 0)
		read += ROLE_LOG_READ_MAX; /* at most, said as such below */
	if (p->done < c->done0 || p->read < p->done || read < done)
		(void)snprintf(out, len, "; output lost with it: unknown "
		    "(its progress counters are invalid)");
	else if (c->rchar_end < 0 && p->reading != 0)
		(void)snprintf(out, len, "; %llu bytes of output lost with "
		    "it, and up to %u more of the read it died in",
		    (unsigned long long)(read - done - ROLE_LOG_READ_MAX),
		    (unsigned)ROLE_LOG_READ_MAX);
	else
		(void)snprintf(out, len, "; %llu bytes of output lost with "
		    "it", (unsigned long long)(read - done));
	p->done = p->read;
	p->reading = 0;
}

/*
 * One line per death: who, why, what was lost, when it comes back
 * (issue 8). The next logger carries on from the progress page.
 */
static void
say_death(struct mon *m, const struct mon_child *c, int status, int delay)
{
	char why[48], loss[128] = "", next[48];

	if (WIFSIGNALED(status))
		(void)snprintf(why, sizeof(why), "killed by signal %d",
		    WTERMSIG(status));
	else
		(void)snprintf(why, sizeof(why), "exited with status %d",
		    WEXITSTATUS(status));
	if (c == &m->logger)
		say_loss(m, c, loss, sizeof(loss));
	if (delay >= 0)
		(void)snprintf(next, sizeof(next), "; respawning in %d ms",
		    delay);
	else
		next[0] = '\0';
	diag_warnx("%s (pid %d) %s%s%s", c->role, (int)c->pid, why, loss,
	    next);
}

/*
 * A dead child's last words, still queued when it is reaped before its
 * channel is read (e.g. mon_reap() in start_children(), or in
 * mon_children_up() inside the HELLO handler): the TRAP report of its
 * SIGSYS handler (security 39) and its DIAGs are said, and a logger's
 * ATT_STDIN_CLOSED is acted on (spec 7.4: the container reads EOF);
 * nothing else from a dead child is.
 */
static void
last_words(struct mon *m, struct mon_child *c)
{
	static struct chan_msg msg; /* chan.h: not on the stack */
	const char *why = NULL;

	for (int i = 0; i < MON_CHAN_BATCH && c->chan >= 0; i++) {
		int rc = chan_recv(c->chan, c->chan_role, &msg, &why);

		if (rc < 0 && errno == ECONNRESET)
			continue; /* it had unread messages; then its own */
		if (rc <= 0)
			return;
		if (msg.fd >= 0)
			(void)close(msg.fd); /* no child type carries one */
		if (chan_msg_check(msg.type, msg.u.raw, msg.len, &why) < 0)
			return;
		if (msg.type == CHAN_TRAP)
			(void)on_trap(m, c, &msg); /* always 0 */
		else if (msg.type == CHAN_DIAG)
			(void)on_diag(m, c, &msg); /* always 0 */
		else if (msg.type == CHAN_ATT_STDIN_CLOSED &&
		    c == &m->logger)
			/* a logger that closed stdin and died at once: our copy
			 * goes too, or the container never reads EOF and the
			 * next logger is handed stdin again (its checks: once,
			 * with a pipe; refused is harmless here) */
			(void)on_stdin_closed(m, c, &msg);
	}
}

/* A child died: say why, then respawn it unless monitoring is over. */
void
mon_child_reaped(struct mon *m, struct mon_child *c, int status)
{
	bool said_hello = c->hello;
	int delay = -1;

	if (m->phase != MON_PH_DONE)
		last_words(m, c); /* its TRAP report, if any */
	chan_closed(c);
#ifdef VIGIL_SECCOMP_AUDIT
	mon_audit_forget(c);
#endif
	c->hello = false;
	c->deaths++;
	if (m->phase == MON_PH_DONE) {
		c->pid = 0;
		return;
	}
	if (!m->children_up && !said_hello && c == &m->logger) {
		say_death(m, c, status, -1);
		c->pid = 0;
		/* security.md: fail closed, the start fails on the sync pipe */
		mon_start_failed(m,
		    "Failed to start the %s: it died during setup%s%s",
		    c->role, c->setup_err[0] != '\0' ? ": " : "",
		    c->setup_err);
		return;
	}
	if (c == &m->broker && m->att_close_sent) {
		say_death(m, c, status, -1);
		c->pid = 0;
		mon_att_closed(m); /* its clients saw EOF when it died */
		return;
	}
	delay = schedule_respawn(m, c);
	say_death(m, c, status, delay);
	/* the broker starts on demand (lazy.c), after the pid was reported:
	 * a setup failure is said here and retried, never on the sync pipe */
	if (!said_hello)
		diag_warnx("Failed to start the %s: it died during setup%s%s",
		    c->role, c->setup_err[0] != '\0' ? ": " : "",
		    c->setup_err);
	c->pid = 0;
}

/* When monitoring ends: the child's work is done or abandoned. */
void
mon_child_stop(struct mon *m, struct mon_child *c)
{
	if (c->respawn != NULL) {
		event_free(c->respawn);
		c->respawn = NULL;
	}
	chan_closed(c);
	mon_reopen_stop(m);
	if (c == &m->broker)
		peer_drop_held(m);
	if (c->pid > 0)
		(void)kill(c->pid, SIGKILL);
#ifdef VIGIL_SECCOMP_AUDIT
	mon_audit_forget(c);
#endif
}
