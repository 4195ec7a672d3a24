/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/attach/notify_test.c: spec 13's filter (attach/notify.c) and
 * list (common/notify.c), and the reaper's check of CHAN_NOTIFY
 * (security 6): what the broker keeps, the reaper accepts, and nothing else.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "attach/notify.h"
#include "common/chan_msg.h"
#include "common/notify.h"

static size_t
filter(const char *in, size_t len, char *out)
{
	size_t n = att_notify_filter(in, len, out);

	cr_assert_leq(n, len, "the output never grows");
	if (n > 0) {
		const char *why = NULL;

		/* whatever the broker keeps, the reaper accepts */
		cr_assert(notify_msg_ok(out, n), "%.*s", (int)n, out);
		cr_assert_eq(chan_msg_check(CHAN_NOTIFY, out, n, &why), 0,
		    "%s", why);
	}
	return n;
}

static void
expect(const char *in, size_t len, const char *want)
{
	char out[256];
	size_t n;

	cr_assert_lt(len, sizeof(out));
	n = filter(in, len, out);
	cr_assert_eq(n, strlen(want), "in %zu bytes: got %zu bytes, want %s",
	    len, n, want);
	cr_assert_eq(memcmp(out, want, n), 0, "got %.*s, want %s", (int)n, out,
	    want);
}

#define EXPECT(in, want) expect(in, sizeof(in) - 1, want)

/* spec 17 row 59 */
Test(notify, row_59)
{
	EXPECT("FOO=1\nREADY=1\nSTATUS=x", "READY=1\nSTATUS=x");
}

Test(notify, every_exact_kind_kept)
{
	EXPECT("READY=1", "READY=1");
	EXPECT("RELOADING=1", "RELOADING=1");
	EXPECT("STOPPING=1", "STOPPING=1");
	EXPECT("WATCHDOG=1", "WATCHDOG=1");
	EXPECT("WATCHDOG=trigger", "WATCHDOG=trigger");
}

Test(notify, every_prefix_kind_kept)
{
	EXPECT("STATUS=", "STATUS=");
	EXPECT("STATUS=ready to go", "STATUS=ready to go");
	EXPECT("ERRNO=2", "ERRNO=2");
	EXPECT("BUSERROR=org.x.Y", "BUSERROR=org.x.Y");
	EXPECT("MONOTONIC_USEC=123", "MONOTONIC_USEC=123");
}

/* security 6: MAINPID, near misses, binary */
Test(notify, others_dropped)
{
	EXPECT("MAINPID=1", "");
	EXPECT("READY=10", "");
	EXPECT("READY=", "");
	EXPECT(" READY=1", "");
	EXPECT("READY=1 ", "");
	EXPECT("ready=1", "");
	EXPECT("WATCHDOG=0", "");
	EXPECT("WATCHDOG_USEC=1", "");
	EXPECT("STATUS", "");
	EXPECT("FDSTORE=1", "");
	EXPECT("NOTIFYACCESS=all", "");
	EXPECT("EXTEND_TIMEOUT_USEC=1", "");
	EXPECT("\xff\xfe\x01", "");
	EXPECT("", "");
	EXPECT("\n\n\r\r", "");
}

/* spec 13: CR splits as LF does; empty lines vanish; no trailing LF */
Test(notify, split_at_lf_and_cr)
{
	EXPECT("READY=1\rSTATUS=a", "READY=1\nSTATUS=a");
	EXPECT("READY=1\r\nSTATUS=a\r\n", "READY=1\nSTATUS=a");
	EXPECT("\n\nREADY=1\n\n", "READY=1");
	EXPECT("STATUS=a\rb", "STATUS=a");
	EXPECT("MAINPID=1\nREADY=1\nMAINPID=2", "READY=1");
	EXPECT("READY=1\nREADY=1", "READY=1\nREADY=1");
}

/* vigil's decision (common/notify.c): a line with a NUL is dropped */
Test(notify, nul_drops_its_line)
{
	EXPECT("STATUS=a\0b\nREADY=1", "READY=1");
	EXPECT("READY=1\0", "");
	EXPECT("\0\nWATCHDOG=1", "WATCHDOG=1");
}

Test(notify, in_place)
{
	char buf[] = "FOO=1\nREADY=1\nBAR\rSTATUS=x\n";
	size_t n = att_notify_filter(buf, sizeof(buf) - 1, buf);

	cr_assert_eq(n, 16);
	cr_assert_eq(memcmp(buf, "READY=1\nSTATUS=x", n), 0);
}

/* a whole 32 KiB datagram of one STATUS line is kept whole */
Test(notify, largest_datagram)
{
	char *in = malloc(NOTIFY_MSG_MAX), *out = malloc(NOTIFY_MSG_MAX);

	cr_assert_not_null(in);
	cr_assert_not_null(out);
	memset(in, 'x', NOTIFY_MSG_MAX);
	memcpy(in, "STATUS=", 7);
	cr_assert_eq(filter(in, NOTIFY_MSG_MAX, out), NOTIFY_MSG_MAX);
	cr_assert_eq(memcmp(in, out, NOTIFY_MSG_MAX), 0);
	free(in);
	free(out);
}

/* security 6: the reaper's check refuses what the broker never sends */
Test(notify, reaper_check_refuses)
{
	static const struct {
		const char *p;
		size_t len;
	} bad[] = {
		{ "", 0 },
		{ "MAINPID=1", 9 },
		{ "READY=1\n", 8 },
		{ "\nREADY=1", 8 },
		{ "READY=1\n\nSTATUS=x", 17 },
		{ "READY=1\rSTATUS=x", 16 },
		{ "STATUS=a\rb", 10 },
		{ "STATUS=a\0b", 10 },
		{ "READY=1\nMAINPID=1", 17 },
	};
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_not(notify_msg_ok(bad[i].p, bad[i].len), "row %zu",
		    i);
		why = NULL;
		cr_assert_eq(chan_msg_check(CHAN_NOTIFY, bad[i].p, bad[i].len,
		    &why), -1, "row %zu", i);
	}
	cr_assert(notify_msg_ok("READY=1\nSTATUS=x", 16));
	cr_assert_not(notify_msg_ok("STATUS=x", NOTIFY_MSG_MAX + 1));
}
