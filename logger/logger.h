/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/logger.h: the logger's state. Owns the container's output read
 * ends (or the pty master), the k8s-file sink fd and the journal socket
 * it was given and its end of the logger<->broker pair; reads, formats,
 * writes, syncs and sends
 * output frames. Never opens a path, creates a socket, execs or signals,
 * never writes to the pty and never waits for the broker longer than
 * LOG_PEER_STALL_MS: a new log file is asked of the reaper
 * (CHAN_LOG_REOPEN) and arrives as an fd.
 */
#ifndef VIGIL_LOGGER_H
#define VIGIL_LOGGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/chan_msg.h"
#include "common/role.h"
#include "logger/journald.h"
#include "logger/k8s.h"

struct event;
struct event_base;

/* One read of container output (architecture.md "Data path": the pipe's
 * capacity, not conmon's 8 KiB). */
#define LOG_READ_MAX 65536
/* Formatted records of a chunk: room for a whole chunk's worst case of
 * one record, so LOG_K8S_FULL only splits chunks of many short lines. */
#define LOG_OUT_MAX (4 * LOG_READ_MAX)
_Static_assert(LOG_OUT_MAX >= LOG_K8S_OVERHEAD + LOG_READ_MAX,
    "a whole chunk must fit one record");
/* RLIMIT_NOFILE of the logger: channel, two sources, one sink, libevent,
 * the broker pair and its replacement while both are held. */
#define LOG_NOFILE 32
/* spec 6.3: a hung-up pty is tried again this often, never polled. */
#define LOG_PTY_RETRY_MS 100
/*
 * spec 7.3, security 7 and 9: while clients are attached the logger waits
 * for room in the broker pair (the broker drains it into per-client queues
 * and drops per client, so only a broker too slow or stopped fills it),
 * but at most this long without a frame going out: a stopped or dead
 * broker costs one such stall, then frames without room are dropped. Long
 * against a broker's scheduling delay on a loaded node, short against the
 * container's pipe filling meanwhile.
 */
#define LOG_PEER_STALL_MS 500

struct logger;

struct log_source {
	struct logger *owner;
	int fd;		 /* -1 when not (or no longer) held */
	unsigned stream; /* CHAN_STREAM_STDOUT or CHAN_STREAM_STDERR */
	bool pty;	 /* a pty master: EIO is a hang-up (spec 6.3) */
	bool hup;	 /* no slave open: waiting on `retry`, not on `ev` */
	struct event *ev;
	struct event *retry; /* pty only: the LOG_PTY_RETRY_MS timer */
};

/*
 * The logger's end of the logger<->broker pair (architecture.md
 * "Channels"). Non-blocking: the rest of a chunk whose frame found no room
 * waits in the read buffer, with the sources not read, for at most
 * LOG_PEER_STALL_MS without progress; then it is dropped and counted, and
 * so is every frame without room until one fits again. At most one
 * CHAN_ATT_CLIENTS_ACK waits for room, and while it waits the broker's
 * next message is not read.
 */
struct log_peer {
	int fd;			/* -1: no broker pair now */
	uint32_t generation;	/* named back in CHAN_PEER_LOST */
	struct event *rev;	/* CHAN_ATT_CLIENTS */
	struct event *wev;	/* while an ACK or frames wait for room */
	struct event *stall;	/* LOG_PEER_STALL_MS without progress */
	bool forwarding;	/* send frames: clients, or not known yet */
	bool ack_pending;
	uint32_t ack_attached;	/* the pending ACK's value */
	const char *pend;	/* the chunk's frames not yet sent */
	size_t pend_len;
	unsigned pend_stream;
	bool blocked;		/* the sources wait for `pend` to go out */
	bool stalled;		/* dropping: no wait until a frame fits */
	uint64_t dropping;	/* bytes dropped in this episode */
	uint64_t dropped;	/* bytes dropped in all */
	/* one frame: stream byte and data (spec 7.3), filled per send */
	unsigned char frame[CHAN_OUTPUT_MAX];
};

/*
 * The journald sink (spec 9.7): the socket the reaper connected, each
 * stream's buffered fragment and one entry's buffer, all from setup.
 */
struct log_jd {
	int fd;			/* -1: none (yet), or not selected */
	struct log_jd_meta meta;
	struct log_jd_line line[2];	/* stdout, stderr */
	char *out;		/* log_jd_entry_max() bytes; NULL: no journald */
	size_t out_cap;
	unsigned stream;	/* of the chunk being split */
	bool failing;		/* warned once for this episode */
	uint64_t next_reopen;	/* CLOCK_MONOTONIC ms: no new socket asked
				   of the reaper before (security 5) */
};

struct logger {
	const struct role_conf *conf;
	struct event_base *base;
	int chan;
	struct event *chan_ev;
	struct log_source src[2];

	struct log_peer peer;

	int sink_fd; /* the k8s-file log, -1 with -l none */
	struct log_jd jd;
	bool global_started; /* the global counter got its start value */
	struct log_k8s_limit lim;
	bool reopen_pending;

	char *rbuf;			/* LOG_READ_MAX bytes */
	char *obuf;			/* LOG_OUT_MAX bytes */
	size_t olen;
	struct log_k8s_chunk chunk;	/* the chunk being formatted */
	bool chunk_busy;		/* waiting for a reopen mid-chunk */
	/* also not read while peer.blocked: the chunk's frames wait */
	char ts[LOG_K8S_TS_LEN + 1];

	bool draining;
	bool write_failing;		/* warned once for this episode */
	uint64_t episode_lost;		/* record bytes lost in this episode */
	uint64_t bytes_read;
	uint64_t bytes_lost;
#ifdef VIGIL_FAULTS
	/* failpoints (common/fault.h) */
	struct event *fault_slow_ev;	/* logger.slow_ms */
	bool fault_slow;		/* pausing before the next chunk */
	bool fault_enospc_started;	/* logger.write_enospc */
	long long fault_enospc_left;
#endif
};

/* reader.c */
void log_source_add(struct logger *, unsigned stream, unsigned flags, int fd);
void log_sink_set(struct logger *, int fd, int64_t counted);
void log_drain(struct logger *);
void log_resume(struct logger *);

/* frames.c */
void log_peer_init(struct logger *);
void log_peer_set(struct logger *, uint32_t generation, int fd);
void log_peer_close(struct logger *);
void log_frames_queue(struct logger *, unsigned stream, const char *,
    size_t);
bool log_frames_flush(struct logger *);
void log_frames_settle(struct logger *);

/* journald.c */
void log_jd_init(struct logger *);
void log_jd_set(struct logger *, int fd);
void log_jd_chunk(struct logger *, unsigned stream, const char *, size_t);
void log_jd_drain(struct logger *);

/* main.c */
void log_send(struct logger *, unsigned type, const void *, size_t);

#endif
