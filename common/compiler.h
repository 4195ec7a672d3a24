/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/compiler.h: attribute shorthands shared by every role.
 * Owns nothing; never includes anything but <stddef.h>.
 */
#ifndef VIGIL_COMPILER_H
#define VIGIL_COMPILER_H

#include <stddef.h>

#define VIGIL_MUST_CHECK __attribute__((warn_unused_result))
#define VIGIL_UNUSED __attribute__((unused))
#define VIGIL_NORETURN __attribute__((noreturn))
#define VIGIL_NOINLINE __attribute__((noinline))
#define VIGIL_PRINTF(f, a) __attribute__((format(printf, f, a)))
/* A deliberate ignore of a VIGIL_MUST_CHECK result (gcc does not take a
 * (void) cast for one); the reason goes in a comment beside it. */
#define VIGIL_IGNORE(x)                                                        \
	do {                                                                   \
		__typeof__(x) vigil_ignored_ = (x);                            \
		(void)vigil_ignored_;                                          \
	} while (0)
#define VIGIL_NELEM(a) (sizeof(a) / sizeof((a)[0]))

#endif
