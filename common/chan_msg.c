/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/chan_msg.c: the table of every channel message type (who may send
 * it, its fd count, its payload bounds) and the per-type field checks.
 * Never touches a socket; chan.c consults the table before any handler.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/diag.h"
#include "common/chan_msg.h"
#include "common/notify.h"

/* style.md "Channel messages, declared once"; security 30-32 */
/* clang-format off */
const struct chan_spec chan_specs[CHAN_TYPE_MAX] = {
	/* type		     name		from		fds */
	[CHAN_HELLO]	   = { "HELLO",		CHAN_CHILD,	0,
	    CHAN_SIZE(struct chan_hello) },
	[CHAN_DIAG]	   = { "DIAG",		CHAN_CHILD,	0,
	    CHAN_RANGE(2, CHAN_DIAG_MAX) },
	[CHAN_TRAP]	   = { "TRAP",		CHAN_CHILD,	0,
	    CHAN_SIZE(struct chan_trap) },
	[CHAN_LOG_SINK]	   = { "LOG_SINK",	CHAN_REAPER,	1,
	    CHAN_SIZE(struct chan_log_sink) },
	[CHAN_LOG_SOURCE]  = { "LOG_SOURCE",	CHAN_REAPER,	1,
	    CHAN_SIZE(struct chan_log_source) },
	[CHAN_LOG_REOPEN]  = { "LOG_REOPEN",	CHAN_CHILD,	0,
	    CHAN_SIZE(struct chan_log_reopen) },
	[CHAN_LOG_DRAIN]   = { "LOG_DRAIN",	CHAN_REAPER,	0,
	    CHAN_RANGE(0, 0) },
	[CHAN_LOG_DRAINED] = { "LOG_DRAINED",	CHAN_LOGGER,	0,
	    CHAN_SIZE(struct chan_log_drained) },
	[CHAN_PEER]	   = { "PEER",		CHAN_REAPER,	1,
	    CHAN_SIZE(struct chan_peer) },
	[CHAN_PEER_LOST]   = { "PEER_LOST",	CHAN_CHILD,	0,
	    CHAN_SIZE(struct chan_peer) },
	[CHAN_ATT_CLIENT]  = { "ATT_CLIENT",	CHAN_BROKER,	1,
	    CHAN_SIZE(struct chan_att_client) },
	[CHAN_ATT_CLIENT_GONE] = { "ATT_CLIENT_GONE", CHAN_LOGGER, 0,
	    CHAN_SIZE(struct chan_att_client) },
	[CHAN_ATT_FD]	   = { "ATT_FD",	CHAN_REAPER,	1,
	    CHAN_SIZE(struct chan_att_fd) },
	[CHAN_ATT_STDIN_CLOSED] = { "ATT_STDIN_CLOSED", CHAN_LOGGER, 0,
	    CHAN_RANGE(0, 0) },
	[CHAN_ATT_CLOSE]   = { "ATT_CLOSE",	CHAN_REAPER,	0,
	    CHAN_RANGE(0, 0) },
	[CHAN_ATT_CLOSED]  = { "ATT_CLOSED",	CHAN_BROKER,	0,
	    CHAN_SIZE(struct chan_att_closed) },
	[CHAN_NOTIFY]	   = { "NOTIFY",	CHAN_BROKER,	0,
	    CHAN_RANGE(1, CHAN_NOTIFY_MAX) },
	[CHAN_LISTENER]	   = { "LISTENER",	CHAN_CHILD,	0,
	    CHAN_SIZE(struct chan_listener) },
	[CHAN_ATT_HANDOVER_DONE] = { "ATT_HANDOVER_DONE", CHAN_BROKER, 0,
	    CHAN_RANGE(0, 0) },
};
/* clang-format on */

/* The decoder copies a payload into chan_msg.u.raw: no bound may exceed it. */
_Static_assert(CHAN_DIAG_MAX <= CHAN_PAYLOAD_MAX, "DIAG bound");
_Static_assert(CHAN_NOTIFY_MAX <= CHAN_PAYLOAD_MAX, "NOTIFY bound");
_Static_assert(CHAN_NOTIFY_MAX == NOTIFY_MSG_MAX, "spec 13 bound");

const struct chan_spec *
chan_spec_of(unsigned type)
{
	if (type == CHAN_NONE || type >= CHAN_TYPE_MAX)
		return NULL;
	if (chan_specs[type].name == NULL)
		return NULL;
	return &chan_specs[type];
}

static const char *
chan_check_hello(const void *p)
{
	struct chan_hello h;

	memcpy(&h, p, sizeof(h));
	if (h.role != CHAN_LOGGER && h.role != CHAN_BROKER)
		return "bad role";
	if (h.version != CHAN_VERSION)
		return "bad protocol version";
	if (h.pid <= 0)
		return "bad pid";
	if (h.pad != 0)
		return "nonzero padding";
	return NULL;
}

static const char *
chan_check_diag(const void *p)
{
	const unsigned char *level = p;

	/* security 33: the text itself is escaped and cut by the printer */
	if (*level >= DIAG_LEVEL_MAX)
		return "bad diagnostic level";
	return NULL;
}

static const char *
chan_check_log_sink(const void *p)
{
	struct chan_log_sink s;

	memcpy(&s, p, sizeof(s));
	if (s.sink >= CHAN_SINK_MAX)
		return "bad sink id";
	if (s.counted < 0)
		return "bad byte count";
	if (s.pad != 0)
		return "nonzero padding";
	return NULL;
}

static const char *
chan_check_log_source(const void *p)
{
	struct chan_log_source s;

	memcpy(&s, p, sizeof(s));
	if (s.stream != CHAN_STREAM_STDOUT && s.stream != CHAN_STREAM_STDERR)
		return "bad stream";
	if ((s.flags & ~(uint32_t)CHAN_SOURCE_PTY) != 0)
		return "bad source flags";
	/* spec 6.2: terminal output is always stdout */
	if ((s.flags & CHAN_SOURCE_PTY) && s.stream != CHAN_STREAM_STDOUT)
		return "pty source not stdout";
	return NULL;
}

static const char *
chan_check_pad(const void *p, size_t off)
{
	uint32_t pad;

	memcpy(&pad, (const char *)p + off, sizeof(pad));
	return pad != 0 ? "nonzero padding" : NULL;
}

static const char *
chan_check_att_client(const void *p)
{
	struct chan_att_client c;

	memcpy(&c, p, sizeof(c));
	if (c.id == 0)
		return "bad client id";
	return chan_check_pad(p, offsetof(struct chan_att_client, pad));
}

static const char *
chan_check_att_fd(const void *p)
{
	struct chan_att_fd f;

	memcpy(&f, p, sizeof(f));
	if (f.kind == 0 || f.kind >= CHAN_ATT_FD_KIND_MAX)
		return "bad fd kind";
	return chan_check_pad(p, offsetof(struct chan_att_fd, pad));
}

static const char *
chan_check_log_reopen(const void *p)
{
	struct chan_log_reopen r;

	memcpy(&r, p, sizeof(r));
	if (r.sink >= CHAN_SINK_MAX)
		return "bad sink id";
	if (r.pad != 0)
		return "nonzero padding";
	return NULL;
}

static const char *
chan_check_log_drained(const void *p)
{
	struct chan_log_drained d;

	memcpy(&d, p, sizeof(d));
	if (d.sync_errno < 0)
		return "bad errno";
	if (d.pad != 0)
		return "nonzero padding";
	return NULL;
}

/* security 6: the reaper relays only spec 13's lines, however sent. */
static const char *
chan_check_notify(const void *p, size_t len)
{
	if (!notify_msg_ok(p, len))
		return "notify line not on the list";
	return NULL;
}

static const char *
chan_check_listener(const void *p)
{
	struct chan_listener l;

	memcpy(&l, p, sizeof(l));
	/* 0-3 are the child's stdio and channel (architecture.md step 1) */
	if (l.fd <= 3)
		return "bad listener fd";
	return chan_check_pad(p, offsetof(struct chan_listener, pad));
}

static const char *
chan_check_fields(unsigned type, const void *payload, size_t len)
{
	switch (type) {
	case CHAN_HELLO:
		return chan_check_hello(payload);
	case CHAN_DIAG:
		return chan_check_diag(payload);
	case CHAN_LOG_SINK:
		return chan_check_log_sink(payload);
	case CHAN_LOG_SOURCE:
		return chan_check_log_source(payload);
	case CHAN_LOG_REOPEN:
		return chan_check_log_reopen(payload);
	case CHAN_LOG_DRAINED:
		return chan_check_log_drained(payload);
	case CHAN_PEER:
	case CHAN_PEER_LOST:
		return chan_check_pad(payload, offsetof(struct chan_peer, pad));
	case CHAN_ATT_CLIENT:
	case CHAN_ATT_CLIENT_GONE:
		return chan_check_att_client(payload);
	case CHAN_ATT_FD:
		return chan_check_att_fd(payload);
	case CHAN_ATT_CLOSED:
		return chan_check_pad(payload,
		    offsetof(struct chan_att_closed, pad));
	case CHAN_NOTIFY:
		return chan_check_notify(payload, len);
	case CHAN_LISTENER:
		return chan_check_listener(payload);
	default:
		/* TRAP: any number is worth reporting; LOG_DRAIN,
		 * ATT_HANDOVER_DONE: no payload */
		return NULL;
	}
}

int
chan_msg_check(unsigned type, const void *payload, size_t len, const char **why)
{
	const struct chan_spec *spec;
	const char *bad;

	if ((spec = chan_spec_of(type)) == NULL)
		bad = "unknown type";
	else if (len < spec->min_len || len > spec->max_len)
		bad = "bad payload length";
	else if (len > 0 && payload == NULL)
		bad = "no payload";
	else
		bad = chan_check_fields(type, payload, len);
	if (bad == NULL)
		return 0;
	if (why != NULL)
		*why = bad;
	errno = EPROTO;
	return -1;
}
