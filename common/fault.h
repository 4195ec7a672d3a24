/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/fault.h: named failpoints for the fault-injection build (issue 8).
 *
 * Only a `make FAULTS=1` build (-DVIGIL_FAULTS) contains failpoints: there
 * common/fault.c parses the environment variable VIGIL_FAULTS once, in the
 * reaper before anything runs, and the children inherit the result through
 * fork. In a release build every FAULT_*() below is a constant, fault.c is
 * not compiled, and neither the variable's name nor any failpoint name is
 * in the binary (tests/integration/test_faults.py checks the symbol table
 * and the strings).
 *
 * Syntax (README "Fault injection"):
 *   VIGIL_FAULTS=NAME[=VALUE][,NAME[=VALUE]]...
 * VALUE is a decimal number or a word of [a-z0-9_], as the failpoint takes
 * it; NAME alone means 1. An unknown name, a bad value or a repeated name
 * is an error at start ("[conmon:e]: VIGIL_FAULTS: ..."), exit 1: a test
 * that mistypes a failpoint must not pass by testing nothing. Every active
 * failpoint is announced at start with a warning.
 *
 * One-shot failpoints (FAULT_ONCE) fire in the first process of their role
 * only: the reaper disarms them in its own copy right after it forks that
 * role (fault_forked()), so a respawned child runs clean. The others fire
 * in every process of the role, respawns included.
 *
 * To add a failpoint: one line in FAULT_LIST, the FAULT_ON()/FAULT_NUM()
 * test at its place in the code (inside #ifdef VIGIL_FAULTS when it calls
 * anything of fault.c's, so a release build links none of it), a README
 * row and a test in tests/integration/test_faults.py.
 *
 * Why not libfiu (Debian main has libfiu-dev 1.1): its fiu_enable() takes
 * any name, so a mistyped failpoint would silently test nothing; its
 * values are a number and an opaque pointer, not the words
 * logger.syscall=kill or chan.corrupt_next=broker need; one-shot there is
 * per process, while ours must disarm in the reaper at the fork of a
 * role's first child; and its libc wrappers (fiu-run, LD_PRELOAD) would
 * run in the sandboxed children under a seccomp profile written without
 * them, and not at all in a static build. What we need is this table and
 * about 400 lines, with no run-time library added to the children.
 */
#ifndef VIGIL_FAULT_H
#define VIGIL_FAULT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/compiler.h"

/*
 * X(ID, "name", kind, flags): kind FAULT_KIND_NUMBER takes a number (>= 0),
 * FAULT_KIND_WORD a word; flags FAULT_ONCE or 0. The part of the name before the
 * dot is the role whose fork disarms a one-shot failpoint ("logger",
 * "broker"); a chan.* failpoint takes the role as its value
 * (chan.corrupt_next=logger) and belongs to that role.
 */
#define FAULT_LIST(X)                                                      \
	X(LOGGER_CRASH_AFTER_BYTES, "logger.crash_after_bytes", FAULT_KIND_NUMBER, 0) \
	X(LOGGER_WRITE_ENOSPC, "logger.write_enospc", FAULT_KIND_NUMBER, 0)     \
	X(LOGGER_SLOW_MS, "logger.slow_ms", FAULT_KIND_NUMBER, 0)               \
	X(LOGGER_SYSCALL, "logger.syscall", FAULT_KIND_WORD, FAULT_ONCE)        \
	X(LOGGER_IGNORE_DRAIN, "logger.ignore_drain", FAULT_KIND_NUMBER, 0)     \
	X(BROKER_CRASH_ON_ACCEPT, "broker.crash_on_accept", FAULT_KIND_NUMBER, FAULT_ONCE) \
	X(BROKER_SYSCALL, "broker.syscall", FAULT_KIND_WORD, FAULT_ONCE)        \
	X(BROKER_SETUP_FAIL, "broker.setup_fail", FAULT_KIND_NUMBER, FAULT_ONCE) \
	X(CHAN_CORRUPT_NEXT, "chan.corrupt_next", FAULT_KIND_WORD, FAULT_ONCE)  \
	X(REAPER_EXIT_WRITE_EIO, "reaper.exit_write_eio", FAULT_KIND_NUMBER, 0) \
	X(REAPER_PIPE_SIZE_EPERM, "reaper.pipe_size_eperm", FAULT_KIND_NUMBER, 0) \
	X(LOGGER_HOSTILE, "logger.hostile", FAULT_KIND_WORD, FAULT_ONCE)        \
	X(BROKER_HOSTILE, "broker.hostile", FAULT_KIND_WORD, FAULT_ONCE)

enum fault_kind { FAULT_KIND_NUMBER, FAULT_KIND_WORD };
#define FAULT_ONCE 1u

enum fault_id {
#define FAULT_ENUM(id, name, kind, flags) FAULT_##id,
	FAULT_LIST(FAULT_ENUM)
#undef FAULT_ENUM
	FAULT_COUNT
};

/* Longest VALUE word, without the NUL. */
#define FAULT_WORD_MAX 31

#ifdef VIGIL_FAULTS
/*
 * Parse a VIGIL_FAULTS text (NULL or "" arms nothing). On error returns -1
 * with a message in err and leaves every failpoint disarmed.
 */
int fault_parse(const char *spec, char *err, size_t errlen);
/* fault_parse(getenv("VIGIL_FAULTS")); on error: the message, exit 1. */
void fault_init(void);
bool fault_on(enum fault_id);
long long fault_num(enum fault_id);  /* the number; 0 when disarmed */
const char *fault_word(enum fault_id); /* the word; "" when disarmed */
void fault_disarm(enum fault_id);
/* The reaper just forked a child of role: disarm its one-shot points. */
void fault_forked(const char *role);
const char *fault_name(enum fault_id);
/* logger.syscall, broker.syscall: make that forbidden call once. */
void fault_syscall(const char *name);
/* logger.syscall, broker.syscall: fault_syscall() of its word, once. */
void fault_syscall_once(enum fault_id);
/* A real crash (SIGILL from a trapping instruction). */
VIGIL_NORETURN void fault_crash(void);

#define FAULT_ON(id) fault_on(FAULT_##id)
#define FAULT_NUM(id) fault_num(FAULT_##id)
#define FAULT_WORD(id) fault_word(FAULT_##id)
#else
#define FAULT_ON(id) false
#define FAULT_NUM(id) 0LL
#define FAULT_WORD(id) ""
#endif

#endif
