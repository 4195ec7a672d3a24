/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/logger.h: the logger's state. Owns the container's output read
 * ends and the k8s-file sink fd it was given; reads, formats, writes and
 * syncs. Never opens a path, creates a socket, execs or signals: a new
 * log file is asked of the reaper (CHAN_LOG_REOPEN) and arrives as an fd.
 */
#ifndef VIGIL_LOGGER_H
#define VIGIL_LOGGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/role.h"
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
/* RLIMIT_NOFILE of the logger: channel, two sources, one sink, libevent. */
#define LOG_NOFILE 32

struct logger;

struct log_source {
	struct logger *owner;
	int fd;		 /* -1 when not (or no longer) held */
	unsigned stream; /* CHAN_STREAM_STDOUT or CHAN_STREAM_STDERR */
	struct event *ev;
};

struct logger {
	const struct role_conf *conf;
	struct event_base *base;
	int chan;
	struct event *chan_ev;
	struct log_source src[2];

	int sink_fd; /* the k8s-file log, -1 with -l none */
	struct log_k8s_limit lim;
	bool reopen_pending;

	char *rbuf;			/* LOG_READ_MAX bytes */
	char *obuf;			/* LOG_OUT_MAX bytes */
	size_t olen;
	struct log_k8s_chunk chunk;	/* the chunk being formatted */
	bool chunk_busy;		/* waiting for a reopen mid-chunk */
	char ts[LOG_K8S_TS_LEN + 1];

	bool draining;
	bool write_failing;		/* warned once for this episode */
	uint64_t bytes_read;
	uint64_t bytes_lost;
};

/* reader.c */
void log_source_add(struct logger *, unsigned stream, int fd);
void log_sink_set(struct logger *, int fd, int64_t counted);
void log_drain(struct logger *);

/* main.c */
void log_send(struct logger *, unsigned type, const void *, size_t);

#endif
