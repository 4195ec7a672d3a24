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
#define CHAN_VERSION 1

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
	CHAN_TYPE_MAX
};

/* On the wire before every payload; one message per datagram. */
struct chan_hdr {
	uint16_t type;
	uint16_t flags; /* zero; reserved */
	uint32_t len;	/* payload bytes after the header */
};
_Static_assert(sizeof(struct chan_hdr) == 8, "chan_hdr layout");

/* Largest payload of any type (CHAN_DIAG's text bounds it today). */
#define CHAN_DIAG_MAX 1025 /* level byte + DIAG_TEXT_MAX */
#define CHAN_PAYLOAD_MAX 8448
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

/* Sink ids: the logger's k8s-file log (journald comes with its issue). */
enum chan_sink {
	CHAN_SINK_K8S = 0,
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

struct chan_log_source {
	uint32_t stream; /* enum chan_stream */
	uint32_t pad;
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
