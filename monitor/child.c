/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/child.c: the sandboxed logger seen from the reaper: fork, the
 * channel's handler table, fd hand-over, death and respawn. Every message
 * is validated by chan_recv() and then by its handler's state and field
 * checks; a bad one kills the child, never the reaper (style.md).
 */
#include <sys/wait.h>

#include <errno.h>
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
#include "common/io.h"
#include "common/role.h"
#include "monitor/mon.h"

/* Messages handled per wake-up: one bounded unit of work (style.md). */
#define MON_CHAN_BATCH 32
/* A child that lived this long before dying restarts the backoff. */
#define MON_RESPAWN_RESET_S 5

static void chan_cb(evutil_socket_t, short, void *);
static void respawn_cb(evutil_socket_t, short, void *);

static void
kill_child(struct mon *m, const char *why)
{
	struct mon_child *c = &m->logger;

	if (c->pid <= 0)
		return;
	diag_warnx("%s: %s; killing it", c->role, why);
	(void)kill(c->pid, SIGKILL); /* reaped by mon_reap() */
}

static int
send_to_logger(struct mon *m, unsigned type, const void *p, size_t len,
    int fd)
{
	struct mon_child *c = &m->logger;

	if (c->chan < 0)
		return -1;
	if (chan_send(c->chan, type, p, len, fd) == 0)
		return 0;
	/* security 35: a child that does not read its channel is hung */
	kill_child(m, errno == EAGAIN ? "channel full" : strerror(errno));
	return -1;
}

static void
send_sink(struct mon *m)
{
	struct chan_log_sink s = { .sink = CHAN_SINK_K8S,
		.counted = m->log_counted };

	if (m->log_fd >= 0)
		(void)send_to_logger(m, CHAN_LOG_SINK, &s, sizeof(s),
		    m->log_fd); /* failure killed the child */
}

/* Hands the container's output read ends to the logger (spec 3.1 step 15). */
void
mon_logger_sources(struct mon *m)
{
	struct chan_log_source out = { .stream = CHAN_STREAM_STDOUT };
	struct chan_log_source err = { .stream = CHAN_STREAM_STDERR };

	if (m->logger.pid <= 0 || !m->logger.hello)
		return; /* handed over at HELLO */
	if (send_to_logger(m, CHAN_LOG_SOURCE, &out, sizeof(out),
	    m->out_r) == 0)
		(void)send_to_logger(m, CHAN_LOG_SOURCE, &err, sizeof(err),
		    m->err_r); /* failure killed the child */
}

void
mon_logger_drain(struct mon *m)
{
	struct mon_child *c = &m->logger;

	if (c->pid <= 0 || !c->hello || c->drain_sent)
		return; /* sent at HELLO of a respawned logger */
	if (send_to_logger(m, CHAN_LOG_DRAIN, NULL, 0, -1) == 0)
		c->drain_sent = true;
}

static int
on_hello(struct mon *m, const struct chan_msg *msg)
{
	struct mon_child *c = &m->logger;
	const struct chan_hello *h = &msg->u.hello;

	if (c->hello || h->role != CHAN_LOGGER || h->version != CHAN_VERSION ||
	    h->pid != c->pid)
		return -1;
	c->hello = true;
	send_sink(m);
	if (m->phase == MON_PH_LOGGER)
		mon_logger_ready(m);
	else if (m->phase >= MON_PH_RUNNING)
		mon_logger_sources(m);
	if (m->phase == MON_PH_DRAINING)
		mon_logger_drain(m);
	return 0;
}

/* security 33: DIAG text is printed escaped and cut, never raw. */
static int
on_diag(struct mon *m, const struct chan_msg *msg)
{
	char out[DIAG_TEXT_MAX];
	size_t o = 0;
	unsigned level = msg->u.raw[0];

	if (level >= DIAG_LEVEL_MAX)
		return -1;
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
	if (diag_enabled((enum diag_level)level)) {
		char line[DIAG_TEXT_MAX + 32];
		int n = snprintf(line, sizeof(line), "%s: %.*s",
		    m->logger.role, (int)o, out);
		diag_emit((enum diag_level)level, line,
		    n > 0 ? (size_t)n : 0);
	}
	return 0;
}

/* security.md: the reaper names the forbidden call. */
static int
on_trap(struct mon *m, const struct chan_msg *msg)
{
	char *name = seccomp_syscall_resolve_num_arch(msg->u.trap.arch,
	    msg->u.trap.nr);

	diag_warnx("%s: forbidden system call %s", m->logger.role,
	    name != NULL ? name : "(unknown)");
	if (name == NULL)
		diag_warnx("%s: system call number %d, arch 0x%x",
		    m->logger.role, (int)msg->u.trap.nr,
		    (unsigned)msg->u.trap.arch);
	free(name);
	return 0;
}

/* spec 9.3, 9.5: the reaper opens; the logger only gets the fd. */
static int
on_reopen(struct mon *m, const struct chan_msg *msg)
{
	if (msg->u.log_reopen.sink != CHAN_SINK_K8S || m->log_fd < 0)
		return -1;
	if (mon_log_reopen(m) < 0) {
		/* keep the old file; retry after another limit's worth */
		diag_warn("Failed to reopen log file %s:", m->o->k8s_path);
		m->log_counted = 0;
	}
	send_sink(m);
	return 0;
}

static int
on_drained(struct mon *m, const struct chan_msg *msg)
{
	const struct chan_log_drained *d = &msg->u.log_drained;

	if (!m->logger.drain_sent || m->phase != MON_PH_DRAINING)
		return -1;
	if (d->bytes_lost > 0)
		diag_warnx("logger: %llu bytes of output could not be logged",
		    (unsigned long long)d->bytes_lost);
	if (d->sync_errno != 0)
		diag_warnx("logger: failed to sync the log: %s",
		    strerror(d->sync_errno));
	mon_drained(m);
	return 0;
}

typedef int (*mon_handler)(struct mon *, const struct chan_msg *);

/* What the reaper accepts from a logger (after OpenSSH's monitor table). */
static const mon_handler logger_handlers[CHAN_TYPE_MAX] = {
	[CHAN_HELLO] = on_hello,
	[CHAN_DIAG] = on_diag,
	[CHAN_TRAP] = on_trap,
	[CHAN_LOG_REOPEN] = on_reopen,
	[CHAN_LOG_DRAINED] = on_drained,
};

static void
chan_closed(struct mon *m)
{
	struct mon_child *c = &m->logger;

	if (c->ev != NULL) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->chan >= 0)
		(void)close(c->chan); /* the child's death is seen by reaping */
	c->chan = -1;
}

static void
chan_cb(evutil_socket_t fd, short what VIGIL_UNUSED, void *arg)
{
	struct mon *m = arg;
	struct chan_msg msg;
	const char *why = NULL;

	for (int i = 0; i < MON_CHAN_BATCH; i++) {
		int rc = chan_recv(fd, CHAN_LOGGER, &msg, &why);
		if (rc == 0) {
			chan_closed(m);
			return;
		}
		if (rc < 0) {
			if (errno == EAGAIN)
				return;
			/* a child that died with unread messages: ECONNRESET
			 * first, then what it sent (its TRAP report) */
			if (errno == ECONNRESET)
				continue;
			kill_child(m, errno == EPROTO ? why : strerror(errno));
			chan_closed(m);
			return;
		}
		/* the logger is sent nothing it could answer with an fd */
		if (msg.fd >= 0)
			(void)close(msg.fd);
		/* security 33: field values, before any handler sees them */
		if (chan_msg_check(msg.type, msg.u.raw, msg.len, &why) < 0) {
			kill_child(m, why);
			chan_closed(m);
			return;
		}
		if (logger_handlers[msg.type] == NULL ||
		    logger_handlers[msg.type](m, &msg) < 0) {
			char what_s[64];
			(void)snprintf(what_s, sizeof(what_s),
			    "protocol violation: unexpected %s",
			    chan_specs[msg.type].name);
			kill_child(m, what_s);
			chan_closed(m);
			return;
		}
	}
}

static VIGIL_NORETURN void
logger_child(struct mon *m, int chan)
{
	struct role_conf rc = {
		.chan_fd = chan,
		.reaper = m->self,
		.uid = m->child_uid,
		.gid = m->child_gid,
		.short_id = m->short_id,
		.log_size_max = m->o->log_size_max,
		.no_sync_log = m->o->no_sync_log,
	};

	log_main(&rc);
}

int
mon_logger_spawn(struct mon *m)
{
	struct mon_child *c = &m->logger;
	sigset_t all, old;
	int sv[2];
	pid_t pid;

	if (chan_pair(sv) < 0)
		return -1;
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		logger_child(m, sv[1]); /* unblocks in sandbox_drop() */
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	(void)close(sv[1]); /* the child's end */
	if (pid < 0) {
		(void)close(sv[0]); /* no child to talk to */
		return -1;
	}
	c->pid = pid;
	c->chan = sv[0];
	c->hello = false;
	c->drain_sent = false;
	c->started = time(NULL);
	if (io_set_nonblock(c->chan, true) < 0)
		diag_warn("Failed to make the logger channel non-blocking");
	c->ev = event_new(m->base, c->chan, EV_READ | EV_PERSIST, chan_cb, m);
	if (c->ev == NULL || event_add(c->ev, NULL) < 0) {
		kill_child(m, "cannot watch its channel");
		chan_closed(m);
	}
	return 0;
}

static void
schedule_respawn(struct mon *m)
{
	struct mon_child *c = &m->logger;
	struct timeval tv;

	if (time(NULL) - c->started >= MON_RESPAWN_RESET_S)
		c->backoff_ms = MON_RESPAWN_MIN_MS;
	tv.tv_sec = c->backoff_ms / 1000;
	tv.tv_usec = (c->backoff_ms % 1000) * 1000;
	if (c->respawn == NULL)
		c->respawn = evtimer_new(m->base, respawn_cb, m);
	if (c->respawn == NULL || evtimer_add(c->respawn, &tv) < 0) {
		diag_warnx("%s: cannot schedule a respawn", c->role);
		return;
	}
	/* security 37: back off, capped, never a busy fork loop */
	c->backoff_ms *= 2;
	if (c->backoff_ms > MON_RESPAWN_MAX_MS)
		c->backoff_ms = MON_RESPAWN_MAX_MS;
}

static void
respawn_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct mon *m = arg;

	if (m->phase == MON_PH_DONE || m->logger.pid > 0)
		return;
	if (mon_logger_spawn(m) < 0) {
		diag_warn("Failed to respawn the logger");
		schedule_respawn(m);
	}
}

static void
say_death(const struct mon_child *c, int status)
{
	if (WIFSIGNALED(status))
		diag_warnx("%s (pid %d) killed by signal %d", c->role,
		    (int)c->pid, WTERMSIG(status));
	else
		diag_warnx("%s (pid %d) exited with status %d", c->role,
		    (int)c->pid, WEXITSTATUS(status));
}

/* The logger died: say why, then respawn it unless monitoring is over. */
void
mon_logger_reaped(struct mon *m, int status)
{
	struct mon_child *c = &m->logger;
	bool said_hello = c->hello;

	if (m->phase != MON_PH_DONE)
		say_death(c, status);
	chan_closed(m);
	c->pid = 0;
	c->hello = false;
	c->deaths++;
	if (m->phase == MON_PH_DONE)
		return;
	if (m->phase == MON_PH_LOGGER && !said_hello) {
		/* security.md: fail closed, the start fails on the sync pipe */
		mon_fail(m, "Failed to start the logger: it died during setup");
		return;
	}
	schedule_respawn(m);
}

/* After the drain, or when monitoring ends without one. */
void
mon_logger_stop(struct mon *m)
{
	struct mon_child *c = &m->logger;

	if (c->respawn != NULL) {
		event_free(c->respawn);
		c->respawn = NULL;
	}
	chan_closed(m);
	if (c->pid > 0)
		(void)kill(c->pid, SIGKILL); /* its work is done or abandoned */
}
