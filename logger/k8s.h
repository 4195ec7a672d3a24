/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/k8s.h: the k8s-file record formatter (spec 9.2, 9.3). Pure: it
 * formats the records of one chunk into a caller's buffer and says when the
 * caller must write out or reopen. Never does I/O, never allocates.
 */
#ifndef VIGIL_LOG_K8S_H
#define VIGIL_LOG_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "YYYY-MM-DDThh:mm:ss.nnnnnnnnn+hh:mm" (spec 9.2) */
#define LOG_K8S_TS_LEN 35
/* A record's bytes beyond its content: timestamp, " stdout ", "F ", LF
 * (spec 9.2's byte accounting: 43 + 2 + len + 1). */
#define LOG_K8S_OVERHEAD (LOG_K8S_TS_LEN + 8 + 2 + 1)

/*
 * Formats `now` in local time with nine fraction digits and the numeric
 * UTC offset (seconds of the offset dropped, never "Z"). Writes exactly
 * LOG_K8S_TS_LEN bytes plus a NUL; returns LOG_K8S_TS_LEN.
 */
size_t log_k8s_timestamp(char out[LOG_K8S_TS_LEN + 1],
    const struct timespec *now);

/* One chunk being formatted; `off` advances as records are emitted. */
struct log_k8s_chunk {
	const char *data;
	size_t len;
	size_t off;	 /* first byte not yet formatted */
	unsigned stream; /* CHAN_STREAM_STDOUT or CHAN_STREAM_STDERR */
	const char *ts;	 /* LOG_K8S_TS_LEN bytes, shared by the chunk */
};

/* --log-size-max and --log-global-size-max accounting (spec 9.3). */
struct log_k8s_limit {
	int64_t max;	 /* <= 0: no limit */
	int64_t counted; /* bytes in the current file, formatted ones included */
	int64_t global_max;	/* <= 0: no limit */
	int64_t global_counted;	/* every byte ever written, never reset */
};

enum log_k8s_stop {
	LOG_K8S_DONE,  /* every record of the chunk is in out */
	LOG_K8S_FULL,  /* the next record does not fit: write out, call again */
	LOG_K8S_LIMIT, /* the next record crosses max: write out, reopen, set
			  counted to the new file's count, call again */
};

/*
 * Appends the chunk's records, from c->off on, to out[*outlen..cap). The
 * chunk is cut at every LF: each LF-terminated piece is an `F` record, a
 * non-empty rest is a `P` record. Before a record, if lim->max > 0 and
 * lim->counted > 0 and counted + record size > max, stops with
 * LOG_K8S_LIMIT (so a record larger than max is written whole into a fresh
 * file). Once global_counted has reached global_max > 0, no record is
 * formatted any more: the rest of the chunk is skipped (LOG_K8S_DONE), so
 * the log may pass the global limit by one record (spec 9.3). Every
 * emitted record adds its size to both counters. The caller
 * guarantees cap >= LOG_K8S_OVERHEAD + c->len.
 */
enum log_k8s_stop log_k8s_format(struct log_k8s_chunk *c,
    struct log_k8s_limit *lim, char *out, size_t cap, size_t *outlen);

#endif
