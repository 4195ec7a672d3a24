/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/chan_msg.h: every message type on every channel, declared once
 * (style.md "Channel messages, declared once"). The table in chan_msg.c
 * says who may send each type, whether it carries an fd and its payload
 * size; chan_recv() consults it before any handler sees a message.
 */
#ifndef VIGIL_CHAN_MSG_H
#define VIGIL_CHAN_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

/* Bumped whenever a type or payload changes; sent in HELLO. */
#define CHAN_VERSION 5

/* Roles, as bits: a type's `from` is the set of roles that may send it. */
enum chan_role {
	CHAN_REAPER = 1 << 0,
	CHAN_LOGGER = 1 << 1,
	CHAN_BROKER = 1 << 2,
	CHAN_CHILD = CHAN_LOGGER | CHAN_BROKER,
};

enum chan_type {
	CHAN_NONE = 0,	  /* never valid on the wire */
	CHAN_HELLO,	  /* child -> reaper, once: role, protocol version */
	CHAN_DIAG,	  /* child -> reaper: level and text to print */
	CHAN_TRAP,	  /* child -> reaper, from SIGSYS: syscall nr, arch */
	CHAN_LOG_SINK,	  /* reaper -> logger: sink id; fd: the opened sink */
	CHAN_LOG_SOURCE,  /* reaper -> logger: stream; fd: its read end */
	CHAN_LOG_REOPEN,  /* logger -> reaper: reopen this sink */
	CHAN_LOG_DRAIN,	  /* reaper -> logger: drain until EAGAIN or EOF */
	CHAN_LOG_DRAINED, /* logger -> reaper: byte and loss counters */
	CHAN_PEER,	  /* reaper -> child; fd: its end of a new pair */
	CHAN_PEER_LOST,	  /* child -> reaper: bad message on the pair */
	CHAN_ATT_CLIENT,  /* broker -> logger: client id; fd: its socket */
	CHAN_ATT_CLIENT_GONE,	/* logger -> broker: done with the client */
	CHAN_ATT_FD,	  /* reaper -> child: fd kind; fd: the object */
	CHAN_ATT_STDIN_CLOSED,	/* logger -> reaper: stdin closed (spec 7.4) */
	CHAN_ATT_CLOSE,	  /* reaper -> broker: deliver, close clients */
	CHAN_ATT_CLOSED,  /* broker -> reaper: clients closed, saw EOF */
	CHAN_NOTIFY,	  /* broker -> reaper: kept sd-notify lines (13) */
	CHAN_LISTENER,	  /* child -> reaper, SECCOMP_AUDIT=1 builds only:
			     the fd number its seccomp listener will get */
	CHAN_ATT_HANDOVER_DONE, /* broker -> logger, once per pair: every
				   client waiting at the pair's arrival was
				   handed over (README "The broker on demand") */
	CHAN_TYPE_MAX
};

/* On the wire before every payload; one message per datagram. */
struct chan_hdr {
	uint16_t type;
	uint16_t flags; /* zero; reserved */
	uint32_t len;	/* payload bytes after the header */
};
_Static_assert(sizeof(struct chan_hdr) == 8, "chan_hdr layout");

#define CHAN_DIAG_MAX 1025 /* level byte + DIAG_TEXT_MAX */
/* spec 13: the kept lines of one datagram of at most 32768 bytes */
#define CHAN_NOTIFY_MAX 32768
/* Largest payload of any type (CHAN_NOTIFY's bounds it). */
#define CHAN_PAYLOAD_MAX CHAN_NOTIFY_MAX
#define CHAN_MSG_MAX (sizeof(struct chan_hdr) + CHAN_PAYLOAD_MAX)

struct chan_hello {
	uint32_t role; /* enum chan_role of the sender */
	uint32_t version;
	int32_t pid;
	uint32_t pad;
};
_Static_assert(sizeof(struct chan_hello) == 16, "chan_hello layout");

/* CHAN_DIAG payload: one level byte (enum diag_level), then the text. */

struct chan_trap {
	int32_t nr;    /* syscall number, from siginfo si_syscall */
	uint32_t arch; /* AUDIT_ARCH_*, from siginfo si_arch */
};
_Static_assert(sizeof(struct chan_trap) == 8, "chan_trap layout");

/*
 * Sink ids: the logger's k8s-file log, and the journal socket the reaper
 * connected (spec 9.7; `counted` unused, zero). CHAN_LOG_REOPEN of
 * CHAN_SINK_JOURNALD asks for a fresh connection (security 5).
 */
enum chan_sink {
	CHAN_SINK_K8S = 0,
	CHAN_SINK_JOURNALD,
	CHAN_SINK_MAX
};

struct chan_log_sink {
	uint32_t sink;	 /* enum chan_sink */
	uint32_t pad;
	int64_t counted; /* bytes already counted against --log-size-max */
};
_Static_assert(sizeof(struct chan_log_sink) == 16, "chan_log_sink layout");

/* Streams, numbered as on the attach socket (spec 7.3). */
enum chan_stream {
	CHAN_STREAM_STDOUT = 2,
	CHAN_STREAM_STDERR = 3,
};

/* chan_log_source.flags */
#define CHAN_SOURCE_PTY 0x1 /* a pty master: EIO is a hang-up (spec 6.3) */

struct chan_log_source {
	uint32_t stream; /* enum chan_stream */
	uint32_t flags;	 /* CHAN_SOURCE_* */
};
_Static_assert(sizeof(struct chan_log_source) == 8, "chan_log_source layout");

struct chan_log_reopen {
	uint32_t sink;
	uint32_t pad;
};
_Static_assert(sizeof(struct chan_log_reopen) == 8, "chan_log_reopen layout");

struct chan_log_drained {
	uint64_t bytes_read;  /* container bytes read since the logger started */
	uint64_t bytes_lost;  /* log bytes that could not be written */
	int32_t sync_errno;   /* 0, or the errno of a failed fsync */
	uint32_t pad;
};
_Static_assert(sizeof(struct chan_log_drained) == 24, "chan_log_drained layout");

struct chan_peer {
	uint32_t generation; /* which pair; PEER_LOST names it back */
	uint32_t pad;
};
_Static_assert(sizeof(struct chan_peer) == 8, "chan_peer layout");

/*
 * CHAN_ATT_CLIENT and _GONE (architecture.md "Channels", README "How the
 * processes fit"): the broker accepts a client and hands the logger a
 * copy of its socket with an id; the logger sends it container output and
 * writes its input to the container's stdin itself (spec 6.4, 7.3), so
 * output that input causes always reaches it. Once the client is done
 * writing and its output has ended too (a failed send, a hang-up, spec
 * 7.4), or when the logger refuses it, the logger closes its copy and
 * says GONE, and the broker closes its own: the connection ends.
 */
/* security 8: the most clients the broker serves at once (ATT_MAX_CLIENTS,
 * at least 1000), and so hands the logger. */
#define CHAN_ATT_CLIENTS_MAX 1024

struct chan_att_client {
	uint32_t id;	/* the broker's, never 0 */
	uint32_t pad;
};
_Static_assert(sizeof(struct chan_att_client) == 8, "chan_att_client");

/* What a CHAN_ATT_FD hands the broker. */
enum chan_att_fd_kind {
	CHAN_ATT_FD_LISTENER = 1, /* the listening <bundle>/attach socket */
	CHAN_ATT_FD_STDIN,	  /* to the logger: the stdin pipe's write end */
	CHAN_ATT_FD_PTY,	  /* to the broker: pty master, TIOCSWINSZ */
	CHAN_ATT_FD_CTL,	  /* read end of <bundle>/ctl */
	CHAN_ATT_FD_WINSZ,	  /* read end of <bundle>/winsz */
	CHAN_ATT_FD_NOTIFY,	  /* bound <bundle>/notify/notify.sock (13) */
	CHAN_ATT_FD_KIND_MAX
};

struct chan_att_fd {
	uint32_t kind; /* enum chan_att_fd_kind */
	uint32_t pad;
};
_Static_assert(sizeof(struct chan_att_fd) == 8, "chan_att_fd layout");

/*
 * CHAN_NOTIFY payload: 1..CHAN_NOTIFY_MAX bytes, spec 13's kept lines
 * joined by LF, no empty line, no trailing LF; chan_msg_check() checks
 * every line against the fixed list (common/notify.h, security 6).
 */

/* The logger counts and reports output dropped for slow clients itself. */
struct chan_att_closed {
	uint32_t clients; /* clients closed */
	uint32_t pad;
};
_Static_assert(sizeof(struct chan_att_closed) == 8, "chan_att_closed");

/*
 * CHAN_LISTENER (security.md "Seccomp policy", audit mode): sent right
 * before the filter is loaded, so no call of the child has to pass the
 * filter first. No fd travels: the reaper takes the listener itself with
 * pidfd_getfd(). A release build's reaper has no handler for it.
 */
struct chan_listener {
	int32_t fd; /* the child's fd number of the listener-to-be */
	uint32_t pad;
};
_Static_assert(sizeof(struct chan_listener) == 8, "chan_listener layout");

/* The table entry for one type. */
struct chan_spec {
	const char *name;
	unsigned from;	 /* enum chan_role bits */
	unsigned fds;	 /* exactly this many fds (0 or 1) */
	size_t min_len;	 /* payload bounds, inclusive */
	size_t max_len;
};

#define CHAN_SIZE(t) sizeof(t), sizeof(t)
#define CHAN_RANGE(a, b) (a), (b)

extern const struct chan_spec chan_specs[CHAN_TYPE_MAX];

/* The spec of a type, or NULL when the type is unknown. */
const struct chan_spec *chan_spec_of(unsigned type);

/*
 * The field checks of a decoded payload (security 33): ids and streams in
 * range, known level, protocol version, zero padding. Handlers call it
 * after their state check. 0, or -1 with EPROTO and *why (static text).
 * HELLO's role is checked against the set of children only; the handler
 * compares it with the peer it expects.
 */
int chan_msg_check(unsigned type, const void *payload, size_t len,
    const char **why) VIGIL_MUST_CHECK;

#endif
