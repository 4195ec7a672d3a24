/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/common/num_test.c: num_parse() against tables: base 0 as
 * options read numbers (spec 1.1), base 10 as _OCI_* and pid files do.
 */
#include <errno.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include "common/num.h"

struct num_case {
	const char *s;
	int base;
	int64_t min, max;
	int err; /* 0: parses to want */
	int64_t want;
};

#define ANY INT64_MIN, INT64_MAX

static void
num_check(const struct num_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t out = 42;
		int rc;

		errno = 0;
		rc = num_parse(c[i].s, c[i].base, c[i].min, c[i].max, &out);
		if (c[i].err == 0) {
			cr_expect_eq(rc, 0, "\"%s\" base %d: errno %d", c[i].s,
			    c[i].base, errno);
			cr_expect_eq(out, c[i].want, "\"%s\" base %d: %lld",
			    c[i].s, c[i].base, (long long)out);
			continue;
		}
		cr_expect_eq(
		    rc, -1, "\"%s\" base %d accepted", c[i].s, c[i].base);
		cr_expect_eq(errno, c[i].err, "\"%s\" base %d: errno %d",
		    c[i].s, c[i].base, errno);
		cr_expect_eq(out, 42, "\"%s\": out written on failure", c[i].s);
	}
}

Test(num, parses_whole_numbers)
{
	static const struct num_case c[] = {
	    {"5", 0, ANY, 0, 5},
	    {" 5", 0, ANY, 0, 5},
	    {"\t\n 5", 10, ANY, 0, 5},
	    {"-5", 0, ANY, 0, -5},
	    {"+5", 0, ANY, 0, 5},
	    {"0", 0, ANY, 0, 0},
	    {"-0", 10, ANY, 0, 0},
	    {"0x10", 0, ANY, 0, 16},
	    {"0X1f", 0, ANY, 0, 31},
	    {"010", 0, ANY, 0, 8},
	    {"010", 10, ANY, 0, 10},
	    {"ff", 16, ANY, 0, 255},
	    {"9223372036854775807", 10, ANY, 0, INT64_MAX},
	    {"-9223372036854775808", 10, ANY, 0, INT64_MIN},
	};

	num_check(c, sizeof(c) / sizeof(c[0]));
}

Test(num, rejects_what_is_not_wholly_a_number)
{
	static const struct num_case c[] = {
	    {"", 0, ANY, EINVAL, 0},
	    {" ", 0, ANY, EINVAL, 0},
	    {"5 ", 0, ANY, EINVAL, 0},
	    {"5\n", 10, ANY, EINVAL, 0},
	    {"abc", 0, ANY, EINVAL, 0},
	    {"12abc", 10, ANY, EINVAL, 0},
	    {"-", 10, ANY, EINVAL, 0},
	    {"+", 0, ANY, EINVAL, 0},
	    {"0x", 0, ANY, EINVAL, 0},
	    {"0x10", 10, ANY, EINVAL, 0},
	    {"08", 0, ANY, EINVAL, 0},
	    {"1.5", 10, ANY, EINVAL, 0},
	    {"--5", 10, ANY, EINVAL, 0},
	};

	num_check(c, sizeof(c) / sizeof(c[0]));
}

Test(num, rejects_null)
{
	int64_t out = 42;

	errno = 0;
	cr_assert_eq(num_parse(NULL, 10, ANY, &out), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(out, 42);
}

Test(num, checks_range)
{
	static const struct num_case c[] = {
	    {"0", 10, 0, 10, 0, 0},
	    {"10", 10, 0, 10, 0, 10},
	    {"11", 10, 0, 10, ERANGE, 0},
	    {"-1", 10, 0, 10, ERANGE, 0},
	    {"0xb", 0, 0, 10, ERANGE, 0},
	    {"-3", 10, -3, -1, 0, -3},
	    {"0", 10, -3, -1, ERANGE, 0},
	    {"99999999999999999999", 10, ANY, ERANGE, 0},
	    {"-99999999999999999999", 10, ANY, ERANGE, 0},
	    {"0xffffffffffffffffff", 0, ANY, ERANGE, 0},
	};

	num_check(c, sizeof(c) / sizeof(c[0]));
}
