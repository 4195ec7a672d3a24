/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/diag.h: the monitor's own diagnostics, in conmon's form
 * "[conmon:X]: text" (spec 1.6). Every function keeps errno intact.
 * In a sandboxed child the text goes to the reaper over the channel
 * (diag_set_child); the child never writes to a terminal or syslog itself.
 */
#ifndef VIGIL_DIAG_H
#define VIGIL_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/compiler.h"

enum diag_level {
	DIAG_ERROR = 0,
	DIAG_WARN,
	DIAG_INFO,
	DIAG_DEBUG,
	DIAG_TRACE,
	DIAG_LEVEL_MAX
};

/* Longest text of one diagnostic; longer texts are cut. */
#define DIAG_TEXT_MAX 1024

/* A child's way out for its diagnostics (sends CHAN_DIAG). */
typedef void (*diag_sink_fn)(enum diag_level, const char *, size_t);

int diag_level_parse(const char *, enum diag_level *) VIGIL_MUST_CHECK;
void diag_set_level(enum diag_level);
enum diag_level diag_get_level(void);
bool diag_enabled(enum diag_level);
/* --syslog: also send every message with syslog(3), ident "conmon <id>". */
void diag_open_syslog(const char *cid, const char *tag);
void diag_set_child(diag_sink_fn);
/*
 * A sandboxed child's diagnostics travel as CHAN_DIAG on its channel to the
 * reaper (lossy: a diagnostic never blocks the child). Called again when
 * the channel moves to another fd.
 */
void diag_to_chan(int fd);
/* Print one already formatted text at a level (escaped by the caller). */
void diag_emit(enum diag_level, const char *, size_t);

/* Rate-limited warnings: at most one per this many seconds each. */
#define DIAG_RATE_INTERVAL_S 10

/* A warning said at most once per DIAG_RATE_INTERVAL_S, the rest counted. */
struct diag_rate {
	time_t last;
	unsigned suppressed;
};

/* True when the warning may be said now; *suppressed: how many were not
 * since the last one. */
bool diag_rate_ok(struct diag_rate *, unsigned *suppressed);

void fatal(const char *, ...) VIGIL_PRINTF(1, 2) VIGIL_NORETURN;
void fatalx(const char *, ...) VIGIL_PRINTF(1, 2) VIGIL_NORETURN;
void diag_error(const char *, ...) VIGIL_PRINTF(1, 2);
void diag_errorx(const char *, ...) VIGIL_PRINTF(1, 2);
void diag_warn(const char *, ...) VIGIL_PRINTF(1, 2);
void diag_warnx(const char *, ...) VIGIL_PRINTF(1, 2);
void diag_info(const char *, ...) VIGIL_PRINTF(1, 2);
void diag_debug(const char *, ...) VIGIL_PRINTF(1, 2);
void diag_trace(const char *, ...) VIGIL_PRINTF(1, 2);

#endif
