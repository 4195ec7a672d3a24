/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/common/errtext_test.c: common/errtext.c says every errno
 * value as the strerror() of the glibc these tests link: the words of
 * conmon's messages, in a binary built against musl.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/errtext.h"

Test(errtext, every_value_in_glibcs_words)
{
	for (int e = -2; e <= 200; e++) {
		char want[128];

		(void)strncpy(want, strerror(e), sizeof(want) - 1);
		want[sizeof(want) - 1] = '\0';
		cr_expect_str_eq(errtext(e), want, "errno %d", e);
	}
}

Test(errtext, the_words_musl_says_differently)
{
	cr_expect_str_eq(errtext(ELOOP), "Too many levels of symbolic links");
	cr_expect_str_eq(errtext(EIO), "Input/output error");
	cr_expect_str_eq(errtext(ENAMETOOLONG), "File name too long");
	cr_expect_str_eq(errtext(9999), "Unknown error 9999");
}
