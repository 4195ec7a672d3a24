/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/logger.h: the logger's state. Owns the container's output read
 * ends (or the pty master), the k8s-file sink fd and the journal socket
 * it was given, the stdin pipe's write end, its end of the logger<->broker
 * pair and a copy of each attach client's socket the broker handed over;
 * reads, formats, writes, syncs and sends attach records, and writes each
 * client's input to the container's stdin (the pipe, or the pty master).
 * Never opens a path, creates a socket, execs or signals, and never waits
 * for a client or the broker: a new log file is asked of the reaper
 * (CHAN_LOG_REOPEN) and arrives as an fd.
 */
#ifndef VIGIL_LOGGER_H
#define VIGIL_LOGGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/chan_msg.h"
#include "common/diag.h"
#include "common/role.h"
#include "common/tailq.h"
#include "logger/journald.h"
#include "logger/k8s.h"
#include "logger/queue.h"

struct event;
struct event_base;

/* One read of container output (architecture.md "Data path": the pipe's
 * capacity, not conmon's 8 KiB; the reaper makes the pipes this large). */
#define LOG_READ_MAX 262144
_Static_assert(LOG_READ_MAX == ROLE_LOG_READ_MAX, "the reaper's bound");
/* One read while an attach client's send buffer takes no more (sndbuf.c):
 * the pipe's default capacity, what the logger read before. */
#define LOG_READ_MIN 65536
_Static_assert(LOG_READ_MAX % LOG_READ_MIN == 0, "reads in steps");
/* Formatted records of a chunk: room for a whole chunk's worst case of
 * one record, so LOG_K8S_FULL only splits chunks of many short lines. */
#define LOG_OUT_MAX (2 * LOG_READ_MAX)
_Static_assert(LOG_OUT_MAX >= LOG_K8S_OVERHEAD + LOG_READ_MAX,
    "a whole chunk must fit one record");
/* security 8: attach clients held at once: the broker's bound, and as
 * many that it forgot already but whose hang-up the logger has yet to see
 * (a compromised broker gets no more). */
#define LOG_MAX_CLIENTS (2 * CHAN_ATT_CLIENTS_MAX)
/* RLIMIT_NOFILE of the logger: channel, two sources, one sink, stdin,
 * libevent, the broker pair and its replacement while both are held, and
 * a copy of each attach client's socket. */
#define LOG_NOFILE (32 + LOG_MAX_CLIENTS)
/* spec 6.3: a hung-up pty is tried again this often, never polled. */
#define LOG_PTY_RETRY_MS 100
/* spec 7.3: stream byte + at most 8192 bytes (spec 0.3 BufSize). */
#define LOG_RECORD_DATA_MAX 8192
#define LOG_RECORD_MAX (1 + LOG_RECORD_DATA_MAX)
/*
 * What the logger cuts a chunk into: records of 1 + 7680 bytes, which
 * spec 7.3 allows (any 1..8192). The kernel puts a SEQPACKET record in one
 * allocation with 320 bytes of its own after it (skb_shared_info on
 * x86-64, cache-line aligned): a record of up to 1 + 7871 bytes is an
 * 8 KiB slab object, conmon's largest (8193 bytes) a 16 KiB block from
 * the page allocator, and the copy into those cold blocks was the
 * logger's largest cost with a client attached (README "Performance",
 * attach). 7680 leaves room for a larger skb_shared_info.
 */
#define LOG_RECORD_DATA 7680
/* Records of one chunk: one sendmmsg a client. */
#define LOG_CHUNK_RECORDS \
	((LOG_READ_MAX + LOG_RECORD_DATA - 1) / LOG_RECORD_DATA)
/*
 * security 7: the queue of a client that is behind, allocated only while
 * it is behind and freed when it catches up: up to 4 MiB, about 10 ms of
 * a container writing 400 MiB/s, so a reader that loses its CPU for a few
 * milliseconds loses nothing (bench figure 4: with 256 KiB queues a
 * client that keeps up on average still lost 15% of the output). All
 * clients' queues together stay within LOG_CLIENT_QUEUES_TOTAL: a client
 * that falls behind while the others hold most of it gets what is left,
 * and none below LOG_CLIENT_QUEUE_MIN (its records are dropped then).
 */
#define LOG_CLIENT_QUEUE (4u << 20)
#define LOG_CLIENT_QUEUE_MIN (256u << 10)
#define LOG_CLIENT_QUEUES_TOTAL (16u << 20)
/* The hand-over backlog (clients.c): what is read from a new pair's arrival
 * (or a broker's death, or a client waiting with no broker) until the
 * broker's ATT_HANDOVER_DONE, for the clients it hands over meanwhile;
 * allocated only then. */
#define LOG_BACKLOG LOG_CLIENT_QUEUE_MIN
_Static_assert(LOG_RECORD_MAX <= LOG_QUEUE_RECORD_MAX, "record prefix");
_Static_assert(LOG_RECORD_DATA <= LOG_RECORD_DATA_MAX, "spec 7.3");
_Static_assert(LOG_CLIENT_QUEUE_MIN >= LOG_QUEUE_PREFIX + LOG_RECORD_MAX,
    "a queue holds at least one record");
_Static_assert(LOG_CLIENT_QUEUE_MIN <= LOG_CLIENT_QUEUE &&
    LOG_CLIENT_QUEUE <= LOG_CLIENT_QUEUES_TOTAL, "queue bounds");
/*
 * security 7: the send buffer asked for each client's socket (sndbuf.c;
 * the kernel caps it at net.core.wmem_max and doubles it), while all
 * clients' raised buffers together, as granted, stay within
 * LOG_CLIENT_SNDBUFS_TOTAL: kernel memory a client that does not read
 * holds, outside the logger's queues. Clients past it keep the default.
 */
#define LOG_CLIENT_SNDBUF (1u << 20)
#define LOG_CLIENT_SNDBUFS_TOTAL (16u << 20)
/* Queued records to one client per sendmmsg. */
#define LOG_SEND_BATCH 16
/* Pair messages (handed clients) read per wake-up. */
#define LOG_PEER_BATCH 64
/* spec 0.3 ConnSockBufSize: the largest input record a client sends. */
#define LOG_INPUT_MAX 32768
/* spec 7.3, vigil's decision: one byte more, so truncation shows. */
#define LOG_INPUT_BUF (LOG_INPUT_MAX + 1)
/* Input records written to stdin per wake-up (input.c). */
#define LOG_INPUT_BATCH 64
/* spec 10.2: how long slow clients get, in all, after the final drain to
 * take what is queued for them. */
#define LOG_CLOSE_GRACE_MS 1000

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
 * An attach client the broker handed over (CHAN_ATT_CLIENT): our copy of
 * its socket, which gets the output and whose input goes to stdin
 * (input.c). The entry outlives the fd while a GONE is owed the broker.
 */
struct log_client {
	TAILQ_ENTRY(log_client) entry;
	TAILQ_ENTRY(log_client) in_entry; /* l->inq, while in_queued */
	struct logger *l;
	uint32_t id;		/* the broker's */
	int fd;			/* -1: done with it */
	struct event *rev;	/* EV_READ|EV_CLOSED|EV_ET: input, hang-up */
	struct event *wev;	/* EV_WRITE|EV_ET, only while it is behind */
	bool wev_on;
	struct log_queue q;	/* buf NULL while it keeps up */
	size_t in_off;		/* bytes of the head input record written */
	bool in_queued;		/* on l->inq: may have input to write */
	bool in_done;		/* done writing: EOF or empty record (7.3, 7.4) */
	bool out_done;		/* output ended: a failed send, a hang-up */
	bool gone_owed;		/* CHAN_ATT_CLIENT_GONE not sent yet */
	bool dropping;		/* in a drop episode (spec 7.5) */
	uint64_t episode_dropped;
	size_t chunk_max;	/* the largest read its send buffer takes;
				   0 once released (sndbuf.c) */
	size_t sndbuf_raised;	/* its part of l->sndbufs */
};

TAILQ_HEAD(log_client_list, log_client);

/*
 * The logger's end of the logger<->broker pair (architecture.md
 * "Channels", README "How the processes fit"): attach clients in, their
 * ends out. Non-blocking; what does not fit waits
 * for EV_WRITE, and nothing else waits for it.
 */
struct log_peer {
	int fd;			/* -1: no broker pair now */
	uint32_t generation;	/* named back in CHAN_PEER_LOST */
	struct event *rev;	/* CHAN_ATT_CLIENT, at priority 0 */
	struct event *wev;	/* while a GONE waits for room */
	bool handover;		/* ATT_HANDOVER_DONE not received yet */
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
	struct log_client_list clients;
	unsigned nclients;		/* with an fd */
	bool clients_closed;		/* after the drain: no more clients */
	bool clients_closing;		/* the last records go out */
	struct event *close_timer;	/* LOG_CLOSE_GRACE_MS */
	/* README "The broker on demand": output kept from a new pair's
	 * arrival (or a broker's death) until the broker's hand-over is
	 * done; oldest records dropped past LOG_BACKLOG, counted */
	bool backlog_on;
	struct log_queue backlog;	/* buf NULL unless backlog_on */
	uint64_t backlog_dropped;	/* output bytes */
	bool close_deferred;		/* the drain waits for the hand-over */
	int listen_fd;	/* the attach listener, polled only; -1: none */
	uint64_t att_dropped;		/* output bytes dropped for clients */
	size_t queues_size;		/* all clients' queues, allocated */
	int32_t sync_errno;		/* of the drain's fsync */

	/* Container stdin (spec 6.4, 7.4): the pipe, or the pty source. */
	int stdin_fd;			/* -i: the pipe's write end */
	bool stdin_closed;		/* closed (7.4), or the pty went */
	bool stdin_blocked;		/* full: waiting for stdin_wev */
	bool stdin_failing;		/* a write failed: warned this episode */
	struct event *stdin_wev;
	struct log_client_list inq;	/* clients with input, in turn */
	struct event *input_ev;		/* timer: input after a full batch */
	unsigned char *inbuf;		/* LOG_INPUT_BUF bytes */
	struct diag_rate truncated;

	int sink_fd; /* the k8s-file log, -1 with -l none */
	bool sink_seen; /* a first k8s-file sink arrived */
	int64_t sink_end; /* its size after the last whole write */
	/* shared with the reaper (common/role.h); never NULL */
	struct role_progress *prog;
	struct log_jd jd;
	bool global_started; /* the global counter got its start value */
	struct log_k8s_limit lim;
	bool reopen_pending;

	char *rbuf;			/* LOG_READ_MAX bytes */
	size_t read_max;		/* one read: LOG_READ_MAX, less while
					   a client's send buffer is smaller
					   (sndbuf.c) */
	size_t sndbufs;			/* clients' raised send buffers */
	char *obuf;			/* LOG_OUT_MAX bytes */
	size_t olen;
	struct log_k8s_chunk chunk;	/* the chunk being formatted */
	bool chunk_busy;		/* waiting for a reopen mid-chunk */
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
void log_drain_done(struct logger *);

/* clients.c */
void log_peer_init(struct logger *);
void log_peer_set(struct logger *, uint32_t generation, int fd);
void log_peer_close(struct logger *);
void log_listener_set(struct logger *, int fd);
void log_clients_chunk(struct logger *, unsigned stream, const char *,
    size_t);
void log_clients_close(struct logger *);
void log_client_check_done(struct log_client *);

/* input.c */
int log_input_init(struct logger *);
size_t log_input_len(size_t n, int msg_flags);
void log_input_readable(struct log_client *);
void log_input_run(struct logger *);
void log_input_forget(struct log_client *);
void log_stdin_set(struct logger *, int fd);
void log_stdin_pty(struct logger *, bool open);

/* sndbuf.c */
size_t log_chunk_max(int sndbuf);
void log_client_sndbuf(struct logger *, struct log_client *);
void log_client_sndbuf_release(struct logger *, struct log_client *);

/* journald.c */
void log_jd_init(struct logger *);
void log_jd_set(struct logger *, int fd);
void log_jd_chunk(struct logger *, unsigned stream, const char *, size_t);
void log_jd_drain(struct logger *);

/* main.c */
void log_send(struct logger *, unsigned type, const void *, size_t);

#endif
