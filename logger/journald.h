/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/journald.h: the journald sink (spec 9.7). A pure part, the line
 * splitter and the entry encoder of the native protocol, which never do
 * I/O nor allocate; and the sink, which sends one datagram per entry on
 * the socket the reaper connected. Never creates a socket, never blocks,
 * never uses a memfd: entries are cut at LOG_JD_LINE_MAX.
 */
#ifndef VIGIL_LOG_JOURNALD_H
#define VIGIL_LOG_JOURNALD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* spec 9.7: a fragment is buffered while buffered + fragment < 8192 (conmon's
 * STDIO_BUF_SIZE); no MESSAGE is longer, so no entry needs a memfd. */
#define LOG_JD_LINE_MAX 8192
/* spec 9.7: CONTAINER_ID is the cid's first 12 bytes. */
#define LOG_JD_SHORT_ID 12
/* security 5: a dead journal socket is asked anew at most this often. */
#define LOG_JD_RECONNECT_MS 1000

/* The fields every entry carries (spec 9.7). */
struct log_jd_meta {
	const char *cid;	 /* the full cid */
	const char *tag;	 /* --log-tag, or NULL */
	const char *name;	 /* --name, or NULL */
	char *const *labels;	 /* --log-label LABEL=VALUE, verbatim */
	size_t n_labels;
	bool no_partial_flag;	 /* --no-container-partial-message */
};

/*
 * Encodes one entry into out[0..cap): MESSAGE, CONTAINER_ID_FULL,
 * PRIORITY (6 stdout, 3 stderr; no `<N>` parsing: spec 9.7's decision),
 * CONTAINER_ID, CONTAINER_TAG, CONTAINER_NAME, SYSLOG_IDENTIFIER,
 * CONTAINER_PARTIAL_MESSAGE, the labels. A value with an LF is sent in
 * binary form. Returns the entry's length, or 0 if it does not fit. With
 * out NULL only measures.
 */
size_t log_jd_encode(const struct log_jd_meta *, unsigned stream,
    const char *msg, size_t len, bool partial, char *out, size_t cap);

/* The largest entry log_jd_encode() makes for this meta. */
size_t log_jd_entry_max(const struct log_jd_meta *);

/* Receives one entry's MESSAGE: a line with its LF, or a partial. */
typedef void (*log_jd_emit_fn)(void *arg, const char *msg, size_t len,
    bool partial);

/* One stream's buffered fragment (spec 9.7: per stream). */
struct log_jd_line {
	char *buf;	/* LOG_JD_LINE_MAX bytes, the caller's */
	size_t len;	/* always < LOG_JD_LINE_MAX between calls */
};

/*
 * Cuts a chunk into entries (spec 9.7): a line, with its buffered prefix,
 * is one entry; a fragment is buffered while buffered + fragment <
 * LOG_JD_LINE_MAX, else buffer + fragment go out as partial entries of
 * LOG_JD_LINE_MAX bytes. A longer line is cut likewise, its end (with the
 * LF) a complete entry. No MESSAGE is longer than LOG_JD_LINE_MAX.
 */
void log_jd_split(struct log_jd_line *, const char *data, size_t len,
    log_jd_emit_fn, void *arg);
/* spec 9.7: at container exit a non-empty buffer is a partial entry. */
void log_jd_split_end(struct log_jd_line *, log_jd_emit_fn, void *arg);

#endif
