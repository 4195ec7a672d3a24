/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/monitor/pidfile_test.c: spec 4.4 and security 48 vectors. */
#include <string.h>

#include <criterion/criterion.h>

#include "monitor/mon.h"

static int
parse(const char *s, size_t len, pid_t *pid)
{
	return mon_pidfile_parse(s, len, pid);
}

Test(pidfile, accepts_a_plain_pid)
{
	pid_t pid = 0;

	cr_assert_eq(parse("1234", 4, &pid), 0);
	cr_assert_eq(pid, 1234);
	cr_assert_eq(parse(" 42 \n", 5, &pid), 0);
	cr_assert_eq(pid, 42);
}

Test(pidfile, rejects_security_48_inputs)
{
	static const char *bad[] = { "", "0", "-5", "+5", "12abc",
		"99999999999", " ", "0x10", "1 2" };
	pid_t pid = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i], strlen(bad[i]), &pid), -1, "%s",
		    bad[i]);
		cr_assert_eq(pid, 7, "%s changed the pid", bad[i]);
	}
	cr_assert_eq(parse("4\0" "2", 3, &pid), -1, "embedded NUL");
}
