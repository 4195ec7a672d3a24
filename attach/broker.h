/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/broker.h: the attach broker's state. Owns the listening attach
 * socket, every accepted client (a copy of each goes to the logger, which
 * sends it the container's output and writes its input to the
 * container's stdin), the pty master (for resizes), the ctl/winsz FIFO
 * read ends and its end of the logger<->broker pair. Never opens a path,
 * creates a socket, execs or signals; never blocks; never writes to a
 * client and reads one only to discard its input at the close.
 */
#ifndef VIGIL_ATT_BROKER_H
#define VIGIL_ATT_BROKER_H

#include <sys/ioctl.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "attach/ctl.h"
#include "common/chan_msg.h"
#include "common/diag.h"
#include "common/role.h"
#include "common/tailq.h"

struct event;
struct event_base;

/* security 8: at least 1000 clients, a vigil bound where spec 7.2 says
 * "any number"; one past it is accepted and closed at once. The logger
 * holds a copy of each. */
#define ATT_MAX_CLIENTS CHAN_ATT_CLIENTS_MAX
/* fds beside the clients: stdio, channel, epoll, listener, pty, ctl,
 * winsz, the pair, the over-limit accept, libc's own. */
#define ATT_FD_RESERVE 64
/* RLIMIT_NOFILE of the broker. */
#define ATT_NOFILE (ATT_MAX_CLIENTS + ATT_FD_RESERVE)
/* One read of a ctl/winsz FIFO, and reads per wake-up (style.md: one
 * bounded unit of work; security 16: never a blocking loop). */
#define ATT_FIFO_READ_MAX 4096
#define ATT_FIFO_READS 16
/* security 19: a FIFO without writers reads EOF for ever; re-armed after
 * this long instead of spinning (spec 6.3 re-arms a hung-up pty so). */
#define ATT_FIFO_REARM_MS 100
/* Per wake-up: connections accepted, pair messages, reaper messages. */
#define ATT_ACCEPT_BATCH 64
#define ATT_PEER_BATCH 64
#define ATT_CHAN_BATCH 32
/* After EMFILE and the like: the listener rests this long. */
#define ATT_ACCEPT_BACKOFF_MS 100
/* At ATT_CLOSE: input records of one client discarded at most. */
#define ATT_DISCARD_MAX 4096
/* security 18: a flood of type 2 ctl lines reaches the reaper as at most
 * one LOG_REOPEN per this long (a lone one goes at once), so reopens
 * coalesce here rather than queue up on the channel. */
#define ATT_REOPEN_GAP_MS 10

/* What is owed to the reaper (sent when the channel has room). */
#define ATT_POST_REOPEN 0x1	  /* CHAN_LOG_REOPEN: coalesced */
#define ATT_POST_PEER_LOST 0x2	  /* CHAN_PEER_LOST of lost_generation */
#define ATT_POST_CLOSED 0x4	  /* CHAN_ATT_CLOSED: once, last */

struct att_broker;

/*
 * An accepted client. The logger reads its input and sends its output
 * (logger/clients.c, logger/input.c); the broker's copy is what a new
 * logger gets again, and it is closed when the logger says GONE or at
 * the close (spec 10.2).
 */
struct att_client {
	TAILQ_ENTRY(att_client) entry;	  /* b->clients */
	struct att_broker *b;
	uint32_t id;	   /* the n-th client accepted, never 0 */
	int fd;
	bool hand_owed;	   /* CHAN_ATT_CLIENT not sent on this pair yet */
};

TAILQ_HEAD(att_client_list, att_client);

/* The ctl FIFO (spec 8.2) or the winsz FIFO (spec 8.5). */
struct att_fifo {
	struct att_broker *b;
	const char *name;
	bool winsz;
	int fd;
	struct event *ev;
	struct event *rearm;
	struct att_ctl_line line;
	bool reopen;		/* a type 2 line in this wake-up (spec 8.4) */
};

struct att_broker {
	const struct role_conf *conf;
	struct event_base *base;

	/* The channel to the reaper. */
	int chan;
	struct event *chan_ev;
	struct event *chan_wev; /* only while something is owed */
	unsigned owed;		/* ATT_POST_* bits */
	uint32_t lost_generation;
	struct timespec reopen_last; /* when a LOG_REOPEN last went */
	struct event *reopen_timer;  /* a coalesced one waits for its gap */

	/* The listening attach socket (spec 7.2). */
	int listen_fd;
	struct event *listen_ev;
	struct event *accept_timer;
	bool listen_on;
	unsigned max_clients;	/* ATT_MAX_CLIENTS, or less by the rlimit */
	struct diag_rate too_many;
	struct diag_rate accept_fail;

	/* Clients. */
	struct att_client_list clients;
	unsigned nclients;
	uint32_t next_id;

	/* The logger<->broker pair (architecture.md "Channels"). */
	int peer_fd;
	uint32_t generation;
	struct event *peer_ev;
	struct event *peer_wev; /* only while a client's hand-over waits */
	bool done_owed;		/* ATT_HANDOVER_DONE not sent on this pair */

	/* The pty master, for resizes only (spec 8.3). */
	int pty_fd;

	/* ctl and winsz (spec 8); a resize before the pty (spec 8.3). */
	struct att_fifo ctl;
	struct att_fifo winsz;
	bool resize_pending;
	struct winsize resize;

	/* The container's sd-notify socket (spec 13, notify.c). */
	int notify_fd;
	struct event *notify_ev;
	char *notify_buf;	/* NOTIFY_MSG_MAX bytes */
	struct diag_rate notify_bad;

	/* Shutdown (spec 10.2). */
	bool closing;
	bool closed_sent;
	unsigned closed_clients;
};

/* main.c */
void att_post(struct att_broker *, unsigned what);
void att_close_check(struct att_broker *);

/* peer.c */
void att_peer_set(struct att_broker *, int fd, uint32_t generation);
void att_peer_hand(struct att_broker *, struct att_client *);

/* listener.c */
void att_listener_set(struct att_broker *, int fd);
void att_listener_close(struct att_broker *);
void att_listener_take_waiting(struct att_broker *);

/* client.c */
void att_client_new(struct att_broker *, int fd);
void att_client_close(struct att_client *);
struct att_client *att_client_find(struct att_broker *, uint32_t id);
void att_clients_shutdown(struct att_broker *);

/* notify.c */
int att_notify_set(struct att_broker *, int fd);

/* fifo.c */
int att_fifo_init(struct att_broker *);
void att_fifo_set(struct att_fifo *, int fd);
void att_pty_set(struct att_broker *, int fd);

#endif
