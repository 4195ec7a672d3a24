/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/reader.c: the data path (architecture.md): one large read per
 * wake-up, the chunk sent to the attach clients as it was read
 * (clients.c, never waiting), one timestamp per chunk, every record of
 * the chunk formatted into one buffer, one write per chunk. Waits for the
 * reaper's fresh fd when --log-size-max asks for a reopen (spec 9.3),
 * reading nothing more meanwhile, so the pipe holds the rest and nothing
 * is lost. Never writes to a source. Keeps the progress page (common/role.h) current, so that a
 * respawned logger cuts what its killed predecessor left half-written off
 * the log and writes no record of its own there (no marker: README
 * "Respawn").
 */
#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/fault.h"
#include "common/io.h"
#include "logger/logger.h"

static void source_cb(evutil_socket_t, short, void *);
static void retry_cb(evutil_socket_t, short, void *);

/* No reopen holds the current chunk. */
static bool
chunk_idle(const struct logger *l)
{
#ifdef VIGIL_FAULTS
	if (l->fault_slow)
		return false; /* logger.slow_ms: the pause is not over */
#endif
	return !l->chunk_busy;
}

static const struct timeval pty_retry = {
	.tv_sec = LOG_PTY_RETRY_MS / 1000,
	.tv_usec = (LOG_PTY_RETRY_MS % 1000) * 1000,
};

/* A hung-up pty waits on its timer, any other source on its fd. */
static void
source_watch(struct log_source *s)
{
	if (s->hup ? evtimer_add(s->retry, &pty_retry) < 0 :
		     event_add(s->ev, NULL) < 0)
		fatalx("cannot watch container output");
}

static void
sources_enable(struct logger *l, bool on)
{
	for (size_t i = 0; i < 2; i++) {
		struct log_source *s = &l->src[i];
		if (s->ev == NULL)
			continue;
		if (on) {
			source_watch(s);
		} else {
			(void)event_del(s->ev); /* fails only on a bug */
			if (s->retry != NULL)
				(void)evtimer_del(s->retry); /* as above */
		}
	}
}

/*
 * security 26 and 36: the log ends in `torn` bytes of a record cut short,
 * by a failed write or by the death of the logger that wrote it; cut them
 * off, so no torn record is ever followed by the next one. The file is
 * `size` bytes long now. 0, or -1 with the failure said.
 */
static int
cut_torn(struct logger *l, off_t size, size_t torn)
{
	if (size < (off_t)torn ||
	    ftruncate(l->sink_fd, size - (off_t)torn) < 0) {
		diag_warn("Failed to remove a partial record from the log:");
		return -1;
	}
	return 0;
}

/*
 * A write that stored part of the buffer before failing (ENOSPC, EDQUOT,
 * EIO) leaves the head of a record in the file: cut back to the last
 * whole record. Returns the bytes that stay in the file.
 */
static size_t
untear(struct logger *l, size_t done)
{
	const char *lf = memrchr(l->obuf, '\n', done);
	size_t keep = lf != NULL ? (size_t)(lf - l->obuf) + 1 : 0;
	struct stat st;

	if (keep == done)
		return done;
	if (fstat(l->sink_fd, &st) < 0) {
		diag_warn("Failed to remove a partial record from the log:");
		return done;
	}
	return cut_torn(l, st.st_size, done - keep) < 0 ? done : keep;
}

/*
 * The progress page (common/role.h) after a whole write: `consumed` more
 * bytes of the chunk are in the log (or counted lost, or skipped by the
 * global limit), and the file ends where the counters say.
 */
static void
progress_note(struct logger *l, size_t consumed)
{
	struct role_progress *p = l->prog;

	p->done += consumed;
	p->sink_end = l->sink_end;
	p->counted = l->lim.counted;
	p->global_counted = l->lim.global_counted;
}

#ifdef VIGIL_FAULTS
/*
 * logger.write_enospc=N: the next N writes to the log file fail with
 * ENOSPC. As on a disk that fills up mid-write, the first of them is
 * preceded by a short write that stores half the buffer (a record's
 * head, for untear() to cut off again). Every logger process counts its
 * own N.
 */
static ssize_t
fault_write(struct logger *l, const char *p, size_t len)
{
	if (!FAULT_ON(LOGGER_WRITE_ENOSPC))
		return write(l->sink_fd, p, len);
	if (!l->fault_enospc_started) {
		l->fault_enospc_started = true;
		l->fault_enospc_left = FAULT_NUM(LOGGER_WRITE_ENOSPC);
		if (l->fault_enospc_left > 0 && len > 1)
			return write(l->sink_fd, p, len / 2);
	}
	if (l->fault_enospc_left > 0) {
		l->fault_enospc_left--;
		errno = ENOSPC;
		return -1;
	}
	return write(l->sink_fd, p, len);
}
#define sink_write fault_write
#else
#define sink_write(l, p, len) write((l)->sink_fd, (p), (len))
#endif

/* security 26: the end of a failing episode says what it cost. */
static void
write_episode_end(struct logger *l)
{
	if (l->write_failing && l->episode_lost > 0)
		diag_warnx("%llu bytes of log records were lost while the log "
		    "file refused writes", (unsigned long long)l->episode_lost);
	l->write_failing = false;
	l->episode_lost = 0;
}

/* spec 9.6: write errors are warnings; the loss is counted, once said. */
static void
flush(struct logger *l)
{
	size_t done = 0;

	while (done < l->olen) {
		ssize_t n = sink_write(l, l->obuf + done, l->olen - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (done < l->olen) {
		done = untear(l, done);
		l->bytes_lost += l->olen - done;
		l->episode_lost += l->olen - done;
		if (!l->write_failing)
			diag_warn("Failed to write to the log file;"
			    " output is being lost:");
		l->write_failing = true;
	} else if (l->olen > 0) {
		write_episode_end(l);
	}
	l->sink_end += (int64_t)done;
	l->olen = 0;
}

/*
 * Formats the current chunk to its end, or until a reopen is needed.
 * Returns false while waiting for the reaper's new sink.
 */
static bool
format_chunk(struct logger *l)
{
	struct chan_log_reopen r = { .sink = CHAN_SINK_K8S };
	size_t off = l->chunk.off;

	if (l->sink_fd < 0) {
		l->chunk_busy = false; /* -l none: nothing to write */
		progress_note(l, l->chunk.len - off);
		return true;
	}
	for (;;) {
		enum log_k8s_stop st = log_k8s_format(&l->chunk, &l->lim,
		    l->obuf, LOG_OUT_MAX, &l->olen);
		flush(l);
		progress_note(l, l->chunk.off - off);
		off = l->chunk.off;
		if (st == LOG_K8S_DONE)
			break;
		if (st == LOG_K8S_LIMIT) {
			l->chunk_busy = true;
			l->reopen_pending = true;
			sources_enable(l, false);
			log_send(l, CHAN_LOG_REOPEN, &r, sizeof(r));
			return false;
		}
	}
	l->chunk_busy = false;
	return true;
}

static void
source_close(struct log_source *s)
{
	if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (s->retry != NULL) {
		event_free(s->retry);
		s->retry = NULL;
	}
	(void)close(s->fd); /* read end: nothing to flush */
	s->fd = -1;
	s->hup = false;
	if (s->pty)
		log_stdin_pty(s->owner, false); /* it was stdin too */
}

/*
 * spec 6.3: no process holds the pty slave. Not the end of output: the
 * master reports a hang-up for as long as that lasts, so it is not watched
 * (no busy loop) but read again after LOG_PTY_RETRY_MS.
 */
static void
source_hangup(struct log_source *s)
{
	(void)event_del(s->ev); /* fails only on a bug */
	s->hup = true;
	source_watch(s);
}

#ifdef VIGIL_FAULTS
/* logger.syscall: once, before this logger's first read (security 39). */
static void
fault_before_read(void)
{
	fault_syscall_once(FAULT_LOGGER_SYSCALL);
}

static void
fault_slow_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct logger *l = arg;

	l->fault_slow = false;
	if (chunk_idle(l))
		log_resume(l);
}

/*
 * logger.slow_ms=N: the next chunk waits N ms. A libevent timer, so the
 * wait is epoll_wait's timeout: no sleep call, nothing added to the
 * profile. The sources are not read meanwhile; the container's pipe
 * fills and slows it down.
 */
static void
fault_slow_start(struct logger *l)
{
	long long ms = FAULT_NUM(LOGGER_SLOW_MS);
	struct timeval tv = { .tv_sec = ms / 1000,
		.tv_usec = (ms % 1000) * 1000 };

	if (ms <= 0)
		return;
	if (l->fault_slow_ev == NULL &&
	    (l->fault_slow_ev = evtimer_new(l->base, fault_slow_cb, l)) == NULL)
		fatalx("logger: cannot make the logger.slow_ms timer");
	l->fault_slow = true;
	sources_enable(l, false);
	if (evtimer_add(l->fault_slow_ev, &tv) < 0)
		fatalx("logger: cannot arm the logger.slow_ms timer");
}
#endif

/*
 * One read. Returns 1 after a chunk (processed, or waiting for a reopen),
 * 0 when the source has nothing now (EAGAIN), is hung up or is gone. The
 * chunk goes to the attach clients first (spec 7.3; never waits, so it
 * never delays the log: security 7), then its records to the log.
 */
static int
read_chunk(struct logger *l, struct log_source *s)
{
	struct timespec now;
	ssize_t n;

#ifdef VIGIL_FAULTS
	fault_before_read();
#endif
	/* security 36: a death inside the read loses what it took, unknown */
	l->prog->reading = 1;
	n = io_read(s->fd, l->rbuf, l->read_max);
	if (n > 0)
		l->prog->read += (uint64_t)n;
	l->prog->reading = 0;
	if (n < 0 && errno == EAGAIN)
		return 0;
	/* spec 10.2: the final drain ends at a hang-up, as at end of file */
	if (n < 0 && errno == EIO && s->pty && !l->draining) {
		source_hangup(s);
		return 0;
	}
	if (n <= 0) {
		if (n < 0 && errno != EIO)
			diag_warn("Failed to read container output:");
		source_close(s);
		return 0;
	}
	l->bytes_read += (uint64_t)n;
#ifdef VIGIL_FAULTS
	/* logger.crash_after_bytes=N: this chunk is lost with the process */
	if (FAULT_ON(LOGGER_CRASH_AFTER_BYTES) &&
	    l->bytes_read >= (uint64_t)FAULT_NUM(LOGGER_CRASH_AFTER_BYTES))
		fault_crash();
#endif
	log_clients_chunk(l, s->stream, l->rbuf, (size_t)n);
	/* spec 9.7: whole entries now; never waits (security 5) */
	log_jd_chunk(l, s->stream, l->rbuf, (size_t)n);
	(void)clock_gettime(CLOCK_REALTIME, &now);
	(void)log_k8s_timestamp(l->ts, &now);
	l->chunk = (struct log_k8s_chunk){ .data = l->rbuf, .len = (size_t)n,
		.stream = s->stream, .ts = l->ts };
	(void)format_chunk(l); /* false: a reopen, log_sink_set() resumes */
#ifdef VIGIL_FAULTS
	fault_slow_start(l);
#endif
	return 1;
}

static void
source_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct log_source *s = arg;
	struct logger *l = s->owner;

	if (chunk_idle(l))
		(void)read_chunk(l, s);
}

/* A hung-up pty's timer: watched again, and one read says if still so. */
static void
retry_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct log_source *s = arg;
	struct logger *l = s->owner;

	if (!chunk_idle(l))
		return; /* re-armed by sources_enable() */
	s->hup = false;
	source_watch(s);
	(void)read_chunk(l, s);
}

void
log_source_add(struct logger *l, unsigned stream, unsigned flags, int fd)
{
	struct log_source *s;

	if (stream != CHAN_STREAM_STDOUT && stream != CHAN_STREAM_STDERR)
		fatalx("bad stream %u", stream);
	/* spec 6.2: a terminal's output is all stdout */
	if ((flags & CHAN_SOURCE_PTY) && stream != CHAN_STREAM_STDOUT)
		fatalx("pty source on stream %u", stream);
	s = &l->src[stream - CHAN_STREAM_STDOUT];
	if (s->fd >= 0)
		fatalx("stream %u given twice", stream);
	s->fd = fd;
	s->stream = stream;
	s->owner = l;
	s->pty = (flags & CHAN_SOURCE_PTY) != 0;
	s->hup = false;
	if (io_set_nonblock(fd, true) < 0)
		fatal("container output");
	s->ev = event_new(l->base, fd, EV_READ | EV_PERSIST, source_cb, s);
	if (s->ev == NULL)
		fatalx("cannot watch container output");
	if (s->pty && (s->retry = evtimer_new(l->base, retry_cb, s)) == NULL)
		fatalx("cannot watch container output");
	if (chunk_idle(l))
		source_watch(s);
	if (s->pty)
		log_stdin_pty(l, true); /* spec 6.2 step 5: waiting input */
}

/*
 * Where a new sink ends, for the progress page. The first sink of a
 * respawned logger is the file its predecessor was writing (same inode):
 * a record it left torn at the end is cut off (security 36: the reaper
 * counted those bytes as lost with it), and the size counters go on from
 * where it was, not from the reaper's count at the open.
 */
static void
sink_adopt(struct logger *l)
{
	struct role_progress *p = l->prog;
	struct stat st;
	bool same;

	if (fstat(l->sink_fd, &st) < 0) {
		diag_warn("Failed to stat the log; a torn record at its end "
		    "cannot be found after a logger's death:");
		l->sink_end = 0;
		p->sink_ino = 0;
		return;
	}
	same = !l->sink_seen && p->sink_ino != 0 &&
	    p->sink_ino == (uint64_t)st.st_ino &&
	    p->sink_dev == (uint64_t)st.st_dev;
	l->sink_seen = true;
	if (same && p->sink_end >= 0 && st.st_size > p->sink_end) {
		int64_t torn = st.st_size - p->sink_end;
		/* one write buffer at most: more is not ours to cut */
		if (torn > LOG_OUT_MAX)
			diag_warnx("the log holds %lld bytes more than the "
			    "previous logger wrote whole; left as they are",
			    (long long)torn);
		else if (cut_torn(l, st.st_size, (size_t)torn) == 0) {
			diag_info("cut %lld bytes off the end of the log: the "
			    "previous logger died writing them",
			    (long long)torn);
			st.st_size = p->sink_end;
		}
	}
	if (same) {
		l->lim.counted = p->counted;
		l->lim.global_counted = p->global_counted;
		l->global_started = true;
	}
	l->sink_end = st.st_size;
	p->sink_dev = (uint64_t)st.st_dev;
	p->sink_ino = (uint64_t)st.st_ino;
	progress_note(l, 0);
}

/* A sink from the reaper: at start, or the answer to a reopen. */
void
log_sink_set(struct logger *l, int fd, int64_t counted)
{
	if (l->sink_fd >= 0)
		(void)close(l->sink_fd); /* the reaper holds the file now */
	l->sink_fd = fd;
	l->lim.counted = counted;
	write_episode_end(l); /* a new file: a new episode */
	if (!l->global_started) {
		/* spec 9.3: the global counter starts at the file's size */
		l->lim.global_counted = counted;
		l->global_started = true;
	}
	sink_adopt(l);
	if (!l->reopen_pending)
		return;
	l->reopen_pending = false;
	if (format_chunk(l))
		log_resume(l);
}

/* The current chunk is done: read, or drain, on. */
void
log_resume(struct logger *l)
{
#ifdef VIGIL_FAULTS
	if (l->fault_slow)
		return; /* fault_slow_cb() resumes */
#endif
	sources_enable(l, true);
	if (l->draining)
		log_drain(l);
}

/*
 * spec 10.2 steps 2-3: read every source until EAGAIN, EOF or a pty's
 * hang-up (a process in the background may hold the pipe open for ever),
 * then fsync unless --no-sync-log; then the attach clients take their
 * last records (clients.c), and log_drain_done() acknowledges. Resumed
 * after a reopen mid-drain (log_resume()).
 */
void
log_drain(struct logger *l)
{
	if (!chunk_idle(l))
		return; /* continued by log_resume() */
	for (size_t i = 0; i < 2; i++) {
		struct log_source *s = &l->src[i];
		while (s->fd >= 0 && read_chunk(l, s) == 1)
			if (!chunk_idle(l))
				return;
	}
	log_jd_drain(l);
	write_episode_end(l); /* the count of a loss still going on */
	l->sync_errno = 0;
	if (l->sink_fd >= 0 && !l->conf->no_sync_log && fsync(l->sink_fd) < 0)
		l->sync_errno = errno;
	l->draining = false;
	log_clients_close(l);
}

/* spec 10.2: logs written and synced, clients served: the reaper hears. */
void
log_drain_done(struct logger *l)
{
	struct chan_log_drained d = {
		.bytes_read = l->bytes_read,
		.bytes_lost = l->bytes_lost,
		.sync_errno = l->sync_errno,
	};

	log_send(l, CHAN_LOG_DRAINED, &d, sizeof(d));
}
