/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/profile.h: the seccomp allowlists of the sandboxed roles. Parses
 * the plain-text profiles of seccomp-profiles/ (compiled into the binary by
 * tests/embed.sh) and turns them into libseccomp rules. The text is the
 * audited source of truth; nothing on disk is read at run time.
 *
 * Text format (one rule a line; documented at the top of each profile):
 *   <syscall> [<condition>]... [errno <NAME>]   # <reason, required>
 *   condition:  arg<N> == <value> | arg<N> != <value>
 *               | arg<N> & <mask> == <value>
 *   value/mask: a number (decimal or 0x hex) or a name from a fixed table
 *               (F_GETFL, PROT_EXEC, AT_EMPTY_PATH, TIOCSWINSZ, ...),
 *               several joined by '|' are OR'ed.
 * Conditions on one line are AND'ed; several lines for one syscall OR'ed.
 * Blank lines and lines starting with '#' are comments.
 */
#ifndef VIGIL_PROFILE_H
#define VIGIL_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define PROFILE_MAX_RULES 160
#define PROFILE_MAX_CONDS 3
#define PROFILE_NAME_MAX 32

/* One embedded profile (generated build/gen/profiles.c). */
struct profile_text {
	const char *role; /* file name under seccomp-profiles/ */
	const char *text;
};
extern const struct profile_text profile_texts[]; /* ends with { NULL } */

enum profile_op {
	PROFILE_EQ,
	PROFILE_NE,
	PROFILE_MASKED_EQ,
};

struct profile_cond {
	unsigned arg; /* 0..5 */
	enum profile_op op;
	uint64_t mask; /* PROFILE_MASKED_EQ only */
	uint64_t value;
};

struct profile_rule {
	char name[PROFILE_NAME_MAX];
	int nr;	     /* native syscall number */
	int err;     /* 0: allow; else refuse with this errno */
	unsigned line;
	unsigned ncond;
	struct profile_cond cond[PROFILE_MAX_CONDS];
};

struct profile {
	struct profile_rule rules[PROFILE_MAX_RULES];
	size_t n;
};

/* The embedded text of a role's profile, or NULL. */
const char *profile_text_of(const char *role);

/*
 * Parses a profile text. On error returns -1 and writes
 * "line <n>: <what>" to err (an unknown syscall name is an error that
 * names it).
 */
int profile_parse(const char *text, struct profile *, char *err,
    size_t errlen) VIGIL_MUST_CHECK;

/*
 * Adds every rule to a libseccomp context (scmp_filter_ctx, passed as
 * void * so this header needs no libseccomp). -1 with err on failure.
 */
int profile_apply(const struct profile *, void *ctx, char *err,
    size_t errlen) VIGIL_MUST_CHECK;

#endif
