/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/logger/journald_test.c: the journald entry encoder (native
 * protocol, byte for byte) and the line splitter's 8192-byte rule
 * (spec 9.7).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/chan_msg.h"
#include "logger/journald.h"

#define CID "0123456789abcdef0123"
#define OUT_MAX (LOG_JD_LINE_MAX + 4096)

static char out[OUT_MAX];

static const struct log_jd_meta bare = { .cid = CID };

/* A binary field's 8-byte little-endian length, as a C string piece. */
#define LE(n) n "\0\0\0\0\0\0\0"

static void
expect(const struct log_jd_meta *m, unsigned stream, const char *msg,
    bool partial, const char *want, size_t wantlen)
{
	size_t n = log_jd_encode(m, stream, msg, strlen(msg), partial, out,
	    sizeof(out));

	cr_assert_eq(n, wantlen, "length %zu, want %zu", n, wantlen);
	cr_assert_eq(memcmp(out, want, wantlen), 0, "got %.*s", (int)n, out);
	cr_assert_eq(log_jd_encode(m, stream, msg, strlen(msg), partial, NULL,
	    0), wantlen, "measuring agrees");
}

#define EXPECT(m, stream, msg, partial, want) \
	expect(m, stream, msg, partial, want, sizeof(want) - 1)

Test(log_jd, line_binary_message_stdout)
{
	EXPECT(&bare, CHAN_STREAM_STDOUT, "hello-jd\n", false,
	    "MESSAGE\n" LE("\x09") "hello-jd\n\n"
	    "CONTAINER_ID_FULL=" CID "\n"
	    "PRIORITY=6\n"
	    "CONTAINER_ID=0123456789ab\n"
	    "SYSLOG_IDENTIFIER=0123456789ab\n");
}

Test(log_jd, stderr_priority_3)
{
	EXPECT(&bare, CHAN_STREAM_STDERR, "e\n", false,
	    "MESSAGE\n" LE("\x02") "e\n\n"
	    "CONTAINER_ID_FULL=" CID "\n"
	    "PRIORITY=3\n"
	    "CONTAINER_ID=0123456789ab\n"
	    "SYSLOG_IDENTIFIER=0123456789ab\n");
}

Test(log_jd, partial_text_message_and_flag)
{
	EXPECT(&bare, CHAN_STREAM_STDOUT, "partial-jd", true,
	    "MESSAGE=partial-jd\n"
	    "CONTAINER_ID_FULL=" CID "\n"
	    "PRIORITY=6\n"
	    "CONTAINER_ID=0123456789ab\n"
	    "SYSLOG_IDENTIFIER=0123456789ab\n"
	    "CONTAINER_PARTIAL_MESSAGE=true\n");
}

Test(log_jd, no_partial_flag_option)
{
	struct log_jd_meta m = { .cid = CID, .no_partial_flag = true };

	EXPECT(&m, CHAN_STREAM_STDOUT, "p", true,
	    "MESSAGE=p\n"
	    "CONTAINER_ID_FULL=" CID "\n"
	    "PRIORITY=6\n"
	    "CONTAINER_ID=0123456789ab\n"
	    "SYSLOG_IDENTIFIER=0123456789ab\n");
}

/* spec 9.7, vigil's decision: no `<N>` parsing. */
Test(log_jd, priority_prefix_stays)
{
	EXPECT(&bare, CHAN_STREAM_STDOUT, "<3>x\n", false,
	    "MESSAGE\n" LE("\x05") "<3>x\n\n"
	    "CONTAINER_ID_FULL=" CID "\n"
	    "PRIORITY=6\n"
	    "CONTAINER_ID=0123456789ab\n"
	    "SYSLOG_IDENTIFIER=0123456789ab\n");
}

Test(log_jd, tag_and_name_tag_wins)
{
	struct log_jd_meta m = { .cid = CID, .tag = "tg", .name = "nm" };

	EXPECT(&m, CHAN_STREAM_STDOUT, "a", true,
	    "MESSAGE=a\n"
	    "CONTAINER_ID_FULL=" CID "\n"
	    "PRIORITY=6\n"
	    "CONTAINER_ID=0123456789ab\n"
	    "CONTAINER_TAG=tg\n"
	    "CONTAINER_NAME=nm\n"
	    "SYSLOG_IDENTIFIER=tg\n"
	    "CONTAINER_PARTIAL_MESSAGE=true\n");
}

Test(log_jd, name_only_is_identifier)
{
	struct log_jd_meta m = { .cid = CID, .name = "nm" };

	EXPECT(&m, CHAN_STREAM_STDOUT, "a", false,
	    "MESSAGE=a\n"
	    "CONTAINER_ID_FULL=" CID "\n"
	    "PRIORITY=6\n"
	    "CONTAINER_ID=0123456789ab\n"
	    "CONTAINER_NAME=nm\n"
	    "SYSLOG_IDENTIFIER=nm\n");
}

Test(log_jd, tag_only_is_identifier)
{
	struct log_jd_meta m = { .cid = CID, .tag = "tg" };

	EXPECT(&m, CHAN_STREAM_STDOUT, "a", false,
	    "MESSAGE=a\n"
	    "CONTAINER_ID_FULL=" CID "\n"
	    "PRIORITY=6\n"
	    "CONTAINER_ID=0123456789ab\n"
	    "CONTAINER_TAG=tg\n"
	    "SYSLOG_IDENTIFIER=tg\n");
}

Test(log_jd, labels_verbatim)
{
	char *labels[] = { "A_1=x y", "EMPTY=", "ML=a\nb" };
	struct log_jd_meta m = { .cid = CID, .labels = labels,
		.n_labels = 3 };

	EXPECT(&m, CHAN_STREAM_STDOUT, "a", false,
	    "MESSAGE=a\n"
	    "CONTAINER_ID_FULL=" CID "\n"
	    "PRIORITY=6\n"
	    "CONTAINER_ID=0123456789ab\n"
	    "SYSLOG_IDENTIFIER=0123456789ab\n"
	    "A_1=x y\n"
	    "EMPTY=\n"
	    "ML\n" LE("\x03") "a\nb\n");
}

/* A name with an LF (argv may carry one) is sent in binary form. */
Test(log_jd, field_value_with_lf_binary)
{
	struct log_jd_meta m = { .cid = CID, .name = "n\n" };

	EXPECT(&m, CHAN_STREAM_STDOUT, "a", false,
	    "MESSAGE=a\n"
	    "CONTAINER_ID_FULL=" CID "\n"
	    "PRIORITY=6\n"
	    "CONTAINER_ID=0123456789ab\n"
	    "CONTAINER_NAME\n" LE("\x02") "n\n\n"
	    "SYSLOG_IDENTIFIER\n" LE("\x02") "n\n\n");
}

Test(log_jd, length_little_endian_over_255)
{
	static char msg[LOG_JD_LINE_MAX + 1];
	size_t n;

	memset(msg, 'x', LOG_JD_LINE_MAX - 1);
	msg[LOG_JD_LINE_MAX - 1] = '\n';
	n = log_jd_encode(&bare, CHAN_STREAM_STDOUT, msg, LOG_JD_LINE_MAX,
	    false, out, sizeof(out));
	cr_assert_gt(n, LOG_JD_LINE_MAX);
	cr_assert_eq(memcmp(out, "MESSAGE\n\x00\x20\0\0\0\0\0\0", 16), 0);
	cr_assert_eq(out[16 + LOG_JD_LINE_MAX], '\n');
	cr_assert_leq(n, log_jd_entry_max(&bare));
}

Test(log_jd, too_small_buffer_is_zero)
{
	cr_assert_eq(log_jd_encode(&bare, CHAN_STREAM_STDOUT, "a", 1, false,
	    out, 20), 0);
}

/* The splitter, through a recorder. */

#define ENTRIES_MAX 64

struct rec {
	size_t n;
	size_t len[ENTRIES_MAX];
	bool partial[ENTRIES_MAX];
	char joined[4 * 65536];
	size_t jlen;
};

static void
rec_cb(void *arg, const char *msg, size_t len, bool partial)
{
	struct rec *r = arg;

	cr_assert_lt(r->n, ENTRIES_MAX);
	cr_assert_leq(len, LOG_JD_LINE_MAX);
	cr_assert_gt(len, 0);
	r->len[r->n] = len;
	r->partial[r->n++] = partial;
	memcpy(r->joined + r->jlen, msg, len);
	r->jlen += len;
}

static char linebuf[LOG_JD_LINE_MAX];

static struct rec *
split(struct log_jd_line *ln, const char *data, size_t len)
{
	static struct rec r;

	log_jd_split(ln, data, len, rec_cb, &r);
	return &r;
}

Test(log_jd, lines_one_entry_each)
{
	struct log_jd_line ln = { .buf = linebuf };
	struct rec *r = split(&ln, "a\nbb\n\n", 6);

	cr_assert_eq(r->n, 3);
	cr_assert_eq(r->len[0], 2);
	cr_assert_eq(r->len[1], 3);
	cr_assert_eq(r->len[2], 1);
	cr_assert_not(r->partial[0] || r->partial[1] || r->partial[2]);
	cr_assert_eq(ln.len, 0);
}

Test(log_jd, fragment_buffered_then_joined)
{
	struct log_jd_line ln = { .buf = linebuf };
	struct rec *r = split(&ln, "ab", 2);

	cr_assert_eq(r->n, 0);
	cr_assert_eq(ln.len, 2);
	r = split(&ln, "c\nd", 3);
	cr_assert_eq(r->n, 1);
	cr_assert_eq(r->len[0], 4);
	cr_assert_not(r->partial[0]);
	cr_assert_eq(memcmp(r->joined, "abc\n", 4), 0);
	cr_assert_eq(ln.len, 1);
	log_jd_split_end(&ln, rec_cb, r);
	cr_assert_eq(r->n, 2);
	cr_assert(r->partial[1]);
	cr_assert_eq(memcmp(r->joined + 4, "d", 1), 0);
	cr_assert_eq(ln.len, 0);
}

/* spec 9.7: buffered + fragment < 8192 is buffered; at 8192 it goes out. */
Test(log_jd, fragment_at_8191_buffered_8192_sent)
{
	static char data[LOG_JD_LINE_MAX];
	struct log_jd_line ln = { .buf = linebuf };
	struct rec *r;

	memset(data, '#', sizeof(data));
	r = split(&ln, data, LOG_JD_LINE_MAX - 1);
	cr_assert_eq(r->n, 0);
	r = split(&ln, data, 1);
	cr_assert_eq(r->n, 1);
	cr_assert_eq(r->len[0], LOG_JD_LINE_MAX);
	cr_assert(r->partial[0]);
	cr_assert_eq(ln.len, 0);
}

/* security 1, spec 17 row 45: 65535 bytes without LF. */
Test(log_jd, long_fragment_partials_of_8192)
{
	static char data[65535];
	struct log_jd_line ln = { .buf = linebuf };
	struct rec *r;

	memset(data, '#', sizeof(data));
	r = split(&ln, data, sizeof(data));
	log_jd_split_end(&ln, rec_cb, r);
	cr_assert_eq(r->n, 8);
	for (size_t i = 0; i < r->n; i++) {
		cr_assert(r->partial[i], "entry %zu", i);
		cr_assert_eq(r->len[i], i < 7 ? LOG_JD_LINE_MAX : 8191);
	}
	cr_assert_eq(r->jlen, sizeof(data));
	cr_assert_eq(memcmp(r->joined, data, sizeof(data)), 0);
}

/* A long line: partials of 8192, its end with the LF complete. */
Test(log_jd, long_line_ends_complete)
{
	static char data[20000];
	struct log_jd_line ln = { .buf = linebuf };
	struct rec *r;

	memset(data, 'x', sizeof(data));
	data[sizeof(data) - 1] = '\n';
	r = split(&ln, data, 100); /* buffered first */
	r = split(&ln, data + 100, sizeof(data) - 100);
	cr_assert_eq(r->n, 3);
	cr_assert(r->partial[0] && r->partial[1]);
	cr_assert_not(r->partial[2]);
	cr_assert_eq(r->len[0], LOG_JD_LINE_MAX);
	cr_assert_eq(r->len[2], sizeof(data) - 2 * LOG_JD_LINE_MAX);
	cr_assert_eq(memcmp(r->joined, data, sizeof(data)), 0);
}

/* A line of exactly 8192 bytes with its LF is one complete entry. */
Test(log_jd, line_of_8192_whole)
{
	static char data[LOG_JD_LINE_MAX];
	struct log_jd_line ln = { .buf = linebuf };
	struct rec *r;

	memset(data, 'x', sizeof(data));
	data[sizeof(data) - 1] = '\n';
	r = split(&ln, data, sizeof(data));
	cr_assert_eq(r->n, 1);
	cr_assert_not(r->partial[0]);
	cr_assert_eq(r->len[0], LOG_JD_LINE_MAX);
}

Test(log_jd, end_with_empty_buffer_sends_nothing)
{
	struct log_jd_line ln = { .buf = linebuf };
	static struct rec r;

	log_jd_split_end(&ln, rec_cb, &r);
	cr_assert_eq(r.n, 0);
}
