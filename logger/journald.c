/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/journald.c: the journald sink (spec 9.7): the line splitter, the
 * native-protocol encoder (both pure) and the sink, one non-blocking
 * datagram per entry on the socket the reaper connected. Never creates a
 * socket, never blocks, allocates only at setup.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/chan_msg.h"
#include "common/diag.h"
#include "common/errtext.h"
#include "logger/logger.h"
#include "logger/journald.h"

/* An entry being encoded; out NULL measures only. */
struct jd_buf {
	char *out;
	size_t cap;
	size_t len;
	bool over;
};

static void
put(struct jd_buf *b, const void *p, size_t n)
{
	if (b->out != NULL && !b->over && n <= b->cap - b->len)
		memcpy(b->out + b->len, p, n);
	else if (b->out != NULL)
		b->over = true;
	b->len += n;
}

/*
 * One field of the native protocol: NAME=value LF, or, when the value has
 * an LF, NAME LF, its length as 64-bit little endian, value, LF (spec 9.7
 * "Writing to journald without libsystemd").
 */
static void
put_field(struct jd_buf *b, const char *name, size_t nlen, const char *val,
    size_t vlen)
{
	unsigned char le[8];
	uint64_t v = vlen;

	put(b, name, nlen);
	if (memchr(val, '\n', vlen) == NULL) {
		put(b, "=", 1);
	} else {
		for (size_t i = 0; i < sizeof(le); i++, v >>= 8)
			le[i] = (unsigned char)(v & 0xff);
		put(b, "\n", 1);
		put(b, le, sizeof(le));
	}
	put(b, val, vlen);
	put(b, "\n", 1);
}

static void
put_str(struct jd_buf *b, const char *name, const char *val, size_t vlen)
{
	put_field(b, name, strlen(name), val, vlen);
}

size_t
log_jd_encode(const struct log_jd_meta *m, unsigned stream, const char *msg,
    size_t len, bool partial, char *out, size_t cap)
{
	struct jd_buf b = { .out = out, .cap = cap };
	size_t idlen = strnlen(m->cid, LOG_JD_SHORT_ID);
	const char *ident;

	put_str(&b, "MESSAGE", msg, len);
	put_str(&b, "CONTAINER_ID_FULL", m->cid, strlen(m->cid));
	/* spec 9.7, decision for vigil: 6 or 3 only, `<N>` stays in MESSAGE
	 * (podman 4.x aborts on any other PRIORITY) */
	put_str(&b, "PRIORITY", stream == CHAN_STREAM_STDERR ? "3" : "6", 1);
	put_str(&b, "CONTAINER_ID", m->cid, idlen);
	if (m->tag != NULL)
		put_str(&b, "CONTAINER_TAG", m->tag, strlen(m->tag));
	if (m->name != NULL)
		put_str(&b, "CONTAINER_NAME", m->name, strlen(m->name));
	/* spec 9.7: the tag, else the name, else the short id */
	ident = m->tag != NULL ? m->tag : m->name;
	if (ident != NULL)
		put_str(&b, "SYSLOG_IDENTIFIER", ident, strlen(ident));
	else
		put_str(&b, "SYSLOG_IDENTIFIER", m->cid, idlen);
	if (partial && !m->no_partial_flag)
		put_str(&b, "CONTAINER_PARTIAL_MESSAGE", "true", 4);
	for (size_t i = 0; i < m->n_labels; i++) {
		/* checked before the fork (spec 1.5 check 22): one '=' */
		const char *l = m->labels[i], *eq = strchr(l, '=');
		if (eq == NULL)
			continue;
		put_field(&b, l, (size_t)(eq - l), eq + 1, strlen(eq + 1));
	}
	return b.over ? 0 : b.len;
}

size_t
log_jd_entry_max(const struct log_jd_meta *m)
{
	/* the longest MESSAGE, in binary form, with the partial flag */
	static const char msg[LOG_JD_LINE_MAX] = { '\n' };

	return log_jd_encode(m, CHAN_STREAM_STDOUT, msg, sizeof(msg), true,
	    NULL, 0);
}

/* One entry: the buffered prefix (if any) and p[0..n). */
static void
emit_piece(struct log_jd_line *ln, const char *p, size_t n, bool partial,
    log_jd_emit_fn emit, void *arg)
{
	if (ln->len == 0) {
		emit(arg, p, n, partial);
		return;
	}
	memcpy(ln->buf + ln->len, p, n); /* the caller keeps it in bounds */
	emit(arg, ln->buf, ln->len + n, partial);
	ln->len = 0;
}

void
log_jd_split(struct log_jd_line *ln, const char *data, size_t len,
    log_jd_emit_fn emit, void *arg)
{
	while (len > 0) {
		const char *lf = memchr(data, '\n', len);
		size_t seg = lf != NULL ? (size_t)(lf - data) + 1 : len;
		size_t k;

		/* spec 9.7: a fragment goes out once buffered + fragment
		 * reaches 8192; a line is cut there too (security 1), so its
		 * LF is always in the last piece */
		while (lf != NULL ? ln->len + seg > LOG_JD_LINE_MAX :
		    ln->len + seg >= LOG_JD_LINE_MAX) {
			k = LOG_JD_LINE_MAX - ln->len;
			emit_piece(ln, data, k, true, emit, arg);
			data += k;
			len -= k;
			seg -= k;
		}
		if (lf != NULL) {
			emit_piece(ln, data, seg, false, emit, arg);
		} else if (seg > 0) {
			memcpy(ln->buf + ln->len, data, seg);
			ln->len += seg;
		}
		data += seg;
		len -= seg;
	}
}

void
log_jd_split_end(struct log_jd_line *ln, log_jd_emit_fn emit, void *arg)
{
	if (ln->len == 0)
		return;
	emit(arg, ln->buf, ln->len, true);
	ln->len = 0;
}

/* The sink. */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail here */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* security 5: the peer is gone (journald stopped or restarted). */
static void
ask_reconnect(struct logger *l)
{
	struct log_jd *jd = &l->jd;
	struct chan_log_reopen r = { .sink = CHAN_SINK_JOURNALD };
	uint64_t now = now_ms();

	/* the reaper answers with a socket, or not at all when the journal
	 * is still away: a request older than the interval is void */
	if (now < jd->next_reopen)
		return;
	jd->next_reopen = now + LOG_JD_RECONNECT_MS;
	log_send(l, CHAN_LOG_REOPEN, &r, sizeof(r));
}

static void
lost(struct logger *l, size_t msglen)
{
	struct log_jd *jd = &l->jd;
	int saved = errno;

	l->bytes_lost += msglen;
	if (!jd->failing)
		diag_warnx("sd_journal_sendv: %s; journal entries are being "
		    "lost", errtext(saved));
	jd->failing = true;
	if (saved == ECONNREFUSED || saved == ENOTCONN ||
	    saved == ECONNRESET)
		ask_reconnect(l);
}

/* One entry, one datagram; never waits (EAGAIN: lost and counted). */
static void
emit_cb(void *arg, const char *msg, size_t len, bool partial)
{
	struct logger *l = arg;
	struct log_jd *jd = &l->jd;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t n = log_jd_encode(&jd->meta, jd->stream, msg, len, partial,
	    jd->out, jd->out_cap);

	if (n == 0) {
		errno = EMSGSIZE; /* a bug: out_cap is the largest entry */
		lost(l, len);
		return;
	}
	if (jd->fd < 0) {
		/* the reaper could not connect: it said so; ask again */
		l->bytes_lost += len;
		ask_reconnect(l);
		return;
	}
	iov.iov_base = jd->out;
	iov.iov_len = n;
	if (sendmsg(jd->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		lost(l, len);
		return;
	}
	jd->failing = false;
}

/* At setup (allocations only here): the fields and the buffers. */
void
log_jd_init(struct logger *l)
{
	const struct role_conf *rc = l->conf;
	struct log_jd *jd = &l->jd;

	jd->fd = -1;
	if (!rc->journald)
		return;
	jd->meta = (struct log_jd_meta){ .cid = rc->cid, .tag = rc->log_tag,
		.name = rc->name, .labels = rc->log_labels,
		.n_labels = rc->n_log_labels,
		.no_partial_flag = rc->no_partial_flag };
	jd->out_cap = log_jd_entry_max(&jd->meta);
	jd->out = malloc(jd->out_cap);
	for (size_t i = 0; i < 2; i++)
		if ((jd->line[i].buf = malloc(LOG_JD_LINE_MAX)) == NULL)
			jd->out = NULL;
	if (jd->out == NULL)
		fatalx("logger: out of memory");
}

/* The reaper's journal socket: at start, or after a reconnect request. */
void
log_jd_set(struct logger *l, int fd)
{
	struct log_jd *jd = &l->jd;

	if (jd->out == NULL)
		fatalx("journald sink without -l journald");
	if (jd->fd >= 0)
		(void)close(jd->fd); /* the reaper holds the socket too */
	jd->fd = fd;
	jd->failing = false;
}

void
log_jd_chunk(struct logger *l, unsigned stream, const char *data,
    size_t len)
{
	struct log_jd *jd = &l->jd;

	if (jd->out == NULL)
		return;
	jd->stream = stream;
	log_jd_split(&jd->line[stream == CHAN_STREAM_STDERR], data, len,
	    emit_cb, l);
}

/* spec 9.7, 10.2: at the drain, what is buffered goes out as partials. */
void
log_jd_drain(struct logger *l)
{
	struct log_jd *jd = &l->jd;

	if (jd->out == NULL)
		return;
	for (unsigned i = 0; i < 2; i++) {
		jd->stream = i == 0 ? CHAN_STREAM_STDOUT : CHAN_STREAM_STDERR;
		log_jd_split_end(&jd->line[i], emit_cb, l);
	}
}
