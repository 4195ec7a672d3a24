/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/common/fault_test.c: the VIGIL_FAULTS parser (FAULTS=1 only;
 * a release build has no failpoints, so nothing is tested there). */
#ifdef VIGIL_FAULTS
#include <criterion/criterion.h>
#include <string.h>

#include "common/fault.h"

static char err[256];

Test(fault, empty_and_null_arm_nothing)
{
	cr_assert_eq(fault_parse(NULL, err, sizeof(err)), 0);
	cr_assert_eq(fault_parse("", err, sizeof(err)), 0);
	cr_assert(!FAULT_ON(LOGGER_SLOW_MS));
	cr_assert_eq(FAULT_NUM(LOGGER_SLOW_MS), 0);
}

Test(fault, numbers_words_and_bare_names)
{
	cr_assert_eq(fault_parse("logger.crash_after_bytes=4096,"
	    "logger.syscall=openat,logger.write_enospc", err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(FAULT_NUM(LOGGER_CRASH_AFTER_BYTES), 4096);
	cr_assert_str_eq(FAULT_WORD(LOGGER_SYSCALL), "openat");
	cr_assert(FAULT_ON(LOGGER_WRITE_ENOSPC));
	cr_assert_eq(FAULT_NUM(LOGGER_WRITE_ENOSPC), 1);
	cr_assert(!FAULT_ON(BROKER_SYSCALL));
}

Test(fault, errors_disarm_everything)
{
	static const char *bad[] = {
		"nosuch", "logger.slow_ms=x", "logger.slow_ms=", "logger.syscall",
		"logger.syscall=Open", "logger.slow_ms=1,logger.slow_ms=2",
		"logger.slow_ms=1,", "logger.slow_ms=1,,broker.syscall=kill",
		"logger.syscall=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"logger.slow_ms=9999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(fault_parse(bad[i], err, sizeof(err)), -1,
		    "accepted %s", bad[i]);
		cr_assert(strncmp(err, "VIGIL_FAULTS: ", 14) == 0, "%s", err);
		cr_assert(!FAULT_ON(LOGGER_SLOW_MS), "%s", bad[i]);
	}
}

Test(fault, words_from_a_fixed_set)
{
	static const char *good[] = {
		"logger.syscall=openat", "logger.syscall=socket",
		"logger.syscall=execve", "logger.syscall=kill",
		"logger.syscall=ptrace", "broker.syscall=kill",
		"chan.corrupt_next=logger", "chan.corrupt_next=broker",
	};
	static const char *bad[] = {
		"logger.syscall=read", "broker.syscall=open",
		"logger.syscall=killx", "chan.corrupt_next=reaper",
		"chan.corrupt_next=attach",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(fault_parse(good[i], err, sizeof(err)), 0, "%s: %s",
		    good[i], err);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(fault_parse(bad[i], err, sizeof(err)), -1,
		    "accepted %s", bad[i]);
		cr_assert(strstr(err, ", not '") != NULL, "%s", err);
		cr_assert(!FAULT_ON(LOGGER_SYSCALL) && !FAULT_ON(BROKER_SYSCALL) &&
		    !FAULT_ON(CHAN_CORRUPT_NEXT));
	}
}

Test(fault, one_shot_points_disarm_at_their_roles_fork)
{
	cr_assert_eq(fault_parse("logger.syscall=kill,broker.syscall=ptrace,"
	    "chan.corrupt_next=broker,logger.slow_ms=5", err, sizeof(err)), 0);
	fault_forked("logger");
	cr_assert(!FAULT_ON(LOGGER_SYSCALL));
	cr_assert(FAULT_ON(BROKER_SYSCALL));
	cr_assert(FAULT_ON(CHAN_CORRUPT_NEXT));
	cr_assert(FAULT_ON(LOGGER_SLOW_MS)); /* not one-shot */
	fault_forked("broker");
	cr_assert(!FAULT_ON(BROKER_SYSCALL));
	cr_assert(!FAULT_ON(CHAN_CORRUPT_NEXT));
}
#endif
