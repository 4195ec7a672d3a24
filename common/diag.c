/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/diag.c: formats and routes diagnostics (spec 1.6). Never exits
 * except through fatal(); never changes errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/errtext.h"

static enum diag_level level = DIAG_WARN;
static int child_chan = -1;
static diag_sink_fn child_sink;
static bool use_syslog;
static char syslog_id[21];

static const struct {
	const char *name;
	enum diag_level level;
} level_names[] = {
	{ "error", DIAG_ERROR }, { "fatal", DIAG_ERROR }, { "panic", DIAG_ERROR },
	{ "warn", DIAG_WARN },	 { "warning", DIAG_WARN }, { "info", DIAG_INFO },
	{ "debug", DIAG_DEBUG }, { "trace", DIAG_TRACE },
};

int
diag_level_parse(const char *s, enum diag_level *out)
{
	for (size_t i = 0; i < VIGIL_NELEM(level_names); i++) {
		if (strcasecmp(s, level_names[i].name) == 0) {
			*out = level_names[i].level;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

void
diag_set_level(enum diag_level l)
{
	level = l;
}

enum diag_level
diag_get_level(void)
{
	return level;
}

bool
diag_enabled(enum diag_level l)
{
	return l <= level;
}

void
diag_open_syslog(const char *cid, const char *tag)
{
	char id[256];

	/* spec 1.6: the first 20 bytes of "<cid>" or "<cid>: <tag>" */
	if (tag != NULL)
		(void)snprintf(id, sizeof(id), "%s: %s", cid, tag);
	else
		(void)snprintf(id, sizeof(id), "%s", cid);
	memcpy(syslog_id, id, sizeof(syslog_id) - 1);
	syslog_id[sizeof(syslog_id) - 1] = '\0';
	openlog("conmon", LOG_PID, LOG_USER);
	use_syslog = true;
}

void
diag_set_child(diag_sink_fn fn)
{
	child_sink = fn;
	use_syslog = false;
}

static void
chan_sink(enum diag_level l, const char *text, size_t len)
{
	unsigned char buf[CHAN_DIAG_MAX];

	if (child_chan < 0)
		return;
	if (len > CHAN_DIAG_MAX - 1)
		len = CHAN_DIAG_MAX - 1;
	buf[0] = (unsigned char)l;
	memcpy(buf + 1, text, len);
	VIGIL_IGNORE(chan_send(child_chan, CHAN_DIAG, buf, len + 1, -1));
}

void
diag_to_chan(int fd)
{
	child_chan = fd;
	diag_set_child(chan_sink);
}

void
diag_emit(enum diag_level l, const char *text, size_t len)
{
	static const char letter[DIAG_LEVEL_MAX] = { 'e', 'w', 'i', 'd', 'd' };
	static const char *const kind[DIAG_LEVEL_MAX] = {
		"<error>", "<nwarn>", "<ninfo>", "<ndebug>", "<ntrace>"
	};
	int saved = errno;

	if (l >= DIAG_LEVEL_MAX)
		l = DIAG_TRACE;
	if (child_sink != NULL) {
		child_sink(l, text, len);
	} else {
		(void)fprintf(stderr, "[conmon:%c]: %.*s\n", letter[l],
		    (int)len, text);
		(void)fflush(stderr);
		if (use_syslog)
			syslog(l == DIAG_ERROR ? LOG_ERR : LOG_INFO,
			    "conmon %s %s: %.*s", syslog_id, kind[l],
			    (int)len, text);
	}
	errno = saved;
}

static void
vdiag(enum diag_level l, int err, const char *fmt, va_list ap)
{
	char buf[DIAG_TEXT_MAX];
	int n;

	if (!diag_enabled(l))
		return;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (err != 0) {
		/* conmon's helpers append one space and errtext(errno) */
		int m = snprintf(buf + n, sizeof(buf) - (size_t)n, " %s",
		    errtext(err));
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof(buf))
			n = sizeof(buf) - 1;
	}
	diag_emit(l, buf, (size_t)n);
}

#define DIAG_FN(name, lvl, with_errno)                                         \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		int saved = errno;                                             \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		vdiag(lvl, (with_errno) ? saved : 0, fmt, ap);                 \
		va_end(ap);                                                    \
		errno = saved;                                                 \
	}

DIAG_FN(diag_error, DIAG_ERROR, 1)
DIAG_FN(diag_errorx, DIAG_ERROR, 0)
DIAG_FN(diag_warn, DIAG_WARN, 1)
DIAG_FN(diag_warnx, DIAG_WARN, 0)
DIAG_FN(diag_info, DIAG_INFO, 0)
DIAG_FN(diag_debug, DIAG_DEBUG, 0)
DIAG_FN(diag_trace, DIAG_TRACE, 0)

static VIGIL_NORETURN void
die(void)
{
	/* A child leaves through _exit only (style.md: no leak check there). */
	if (child_sink != NULL)
		_exit(1);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vdiag(DIAG_ERROR, saved, fmt, ap);
	va_end(ap);
	die();
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(DIAG_ERROR, 0, fmt, ap);
	va_end(ap);
	die();
}

bool
diag_rate_ok(struct diag_rate *r, unsigned *suppressed)
{
	struct timespec now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now); /* cannot fail */
	if (r->last != 0 && now.tv_sec - r->last < DIAG_RATE_INTERVAL_S) {
		r->suppressed++;
		return false;
	}
	r->last = now.tv_sec != 0 ? now.tv_sec : 1;
	*suppressed = r->suppressed;
	r->suppressed = 0;
	return true;
}
