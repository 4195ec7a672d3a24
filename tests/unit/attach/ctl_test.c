/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/attach/ctl_test.c: the ctl and winsz grammar (spec 8.2, 8.5)
 * against every row of 10-ctrl's table and security 13-15 and 17.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "attach/ctl.h"

#define FMT	  "Invalid control message format"
#define WINSZ_FMT "Failed to parse window size"
#define SIZE(hw)  "Invalid window size: " hw " (must be between 0 and 1000)"

/* 65 535 '#' as in 10-ctrl and security 13 */
#define HASHES 65535
/* Longest line text that is not over-long: 198 bytes with the LF. */
#define TEXT_MAX (ATT_CTL_LINE_MAX - 2)

/*
 * One parser vector. len 0 means strlen(line); why NULL means accepted
 * with type/h/w.
 */
struct vec {
	const char *line;
	size_t len;
	const char *why;
	int type, h, w;
};

static void
check_vec(const struct vec *v, bool winsz)
{
	struct att_ctl_msg msg = {-7, -7, -7};
	char why[ATT_CTL_WHY_MAX];
	size_t len = v->len != 0 ? v->len : strlen(v->line);
	int r;

	memset(why, 'x', sizeof(why));
	why[sizeof(why) - 1] = '\0';
	if (winsz)
		r = att_winsz_parse(v->line, len, &msg, why, sizeof(why));
	else
		r = att_ctl_parse(v->line, len, &msg, why, sizeof(why));
	if (v->why == NULL) {
		cr_assert_eq(r, 0, "<%s> rejected: %s", v->line, why);
		cr_assert_eq(msg.type, v->type, "<%s> type", v->line);
		cr_assert_eq(msg.height, v->h, "<%s> height", v->line);
		cr_assert_eq(msg.width, v->w, "<%s> width", v->line);
		return;
	}
	cr_assert_eq(r, -1, "<%s> accepted", v->line);
	cr_assert_str_eq(why, v->why, "<%s>", v->line);
	/* a refusal never touches the message */
	cr_assert_eq(msg.type, -7, "<%s>", v->line);
	cr_assert_eq(msg.height, -7, "<%s>", v->line);
	cr_assert_eq(msg.width, -7, "<%s>", v->line);
}

static void
check_vecs(const struct vec *v, size_t n, bool winsz)
{
	for (size_t i = 0; i < n; i++)
		check_vec(&v[i], winsz);
}

/* What att_ctl_feed handed over, line by line. */
#define REC_MAX 64
struct rec {
	size_t n;
	struct {
		char text[ATT_CTL_LINE_MAX];
		size_t len;
		bool overlong;
	} line[REC_MAX];
};

static void
rec_cb(void *arg, const char *line, size_t len, bool overlong)
{
	struct rec *r = arg;

	cr_assert_lt(r->n, REC_MAX);
	cr_assert_lt(len, ATT_CTL_LINE_MAX);
	cr_assert_null(memchr(line, '\n', len), "a line holds no LF");
	if (overlong)
		cr_assert_eq(len, 0, "an over-long line has no text");
	memcpy(r->line[r->n].text, line, len);
	r->line[r->n].len = len;
	r->line[r->n].overlong = overlong;
	r->n++;
}

static void
assert_line(const struct rec *r, size_t i, const char *text)
{
	cr_assert_lt(i, r->n, "line %zu missing", i);
	cr_assert_not(r->line[i].overlong, "line %zu over-long", i);
	cr_assert_eq(r->line[i].len, strlen(text), "line %zu: <%.*s>", i,
	    (int)r->line[i].len, r->line[i].text);
	cr_assert_eq(memcmp(r->line[i].text, text, strlen(text)), 0,
	    "line %zu: <%.*s>", i, (int)r->line[i].len, r->line[i].text);
}

static void
assert_overlong(const struct rec *r, size_t i)
{
	cr_assert_lt(i, r->n, "line %zu missing", i);
	cr_assert(r->line[i].overlong, "line %zu not over-long", i);
}

static void
feed_str(struct att_ctl_line *l, struct rec *r, const char *s)
{
	att_ctl_feed(l, s, strlen(s), rec_cb, r);
}

/* "1 2 2 " + n '#' + "\n" + tail: the 10-ctrl over-long row. */
static char *
hash_line(size_t n, const char *tail, size_t *len)
{
	size_t tl = strlen(tail);
	char *s = malloc(6 + n + 1 + tl);

	cr_assert_not_null(s);
	memcpy(s, "1 2 2 ", 6);
	memset(s + 6, '#', n);
	s[6 + n] = '\n';
	memcpy(s + 7 + n, tail, tl);
	*len = 7 + n + tl;
	return s;
}

/* spec 8.2: the accepted rows of 10-ctrl's table */
Test(ctl, accepts_10_ctrl_rows)
{
	static const struct vec v[] = {
	    {"1 2 2", 0, NULL, 1, 2, 2},
	    {"1 2 2 3", 0, NULL, 1, 2, 2},	 /* extra field ignored */
	    {"1 0010 0020", 0, NULL, 1, 10, 20}, /* leading 0 decimal */
	    {"1 1000 1000", 0, NULL, 1, 1000, 1000},
	    {"2 1 1", 0, NULL, 2, 1, 1}, /* reopen rows */
	};

	check_vecs(v, VIGIL_NELEM(v), false);
}

/* spec 8.2: the rejected rows of 10-ctrl's table, with their warnings */
Test(ctl, rejects_10_ctrl_rows)
{
	static const struct vec v[] = {
	    {"1 -1 -1", 0, SIZE("-1x-1"), 0, 0, 0},
	    {"1 2", 0, FMT, 0, 0, 0},
	    {"1", 0, FMT, 0, 0, 0},
	    {"foo", 0, FMT, 0, 0, 0},
	    {"999", 0, FMT, 0, 0, 0},
	    {"999 2 2", 0, "Invalid control message type: 999", 0, 0, 0},
	    {"1 10.5 20.3", 0, FMT, 0, 0, 0},
	    {"1 0x10 0x20", 0, FMT, 0, 0, 0},
	    {"1 100000 100000", 0, SIZE("100000x100000"), 0, 0, 0},
	    {"1 1001 1000", 0, SIZE("1001x1000"), 0, 0, 0},
	    {"1 1000 1001", 0, SIZE("1000x1001"), 0, 0, 0},
	    {"1 65535 65535", 0, SIZE("65535x65535"), 0, 0, 0},
	};

	check_vecs(v, VIGIL_NELEM(v), false);
}

/* spec 8.2 row `1 2 2 <65535 x '#'>`, security 13: dropped whole */
Test(ctl, drops_10_ctrl_overlong_row_then_applies_next)
{
	struct att_ctl_line l = {.len = 0};
	struct att_ctl_msg msg;
	char why[ATT_CTL_WHY_MAX];
	struct rec r = {.n = 0};
	size_t len;
	char *s = hash_line(HASHES, "1 3 3\n", &len);

	att_ctl_feed(&l, s, len, rec_cb, &r);
	cr_assert_eq(r.n, 2);
	assert_overlong(&r, 0);
	assert_line(&r, 1, "1 3 3");
	cr_assert_eq(att_ctl_parse(
			 r.line[1].text, r.line[1].len, &msg, why, sizeof(why)),
	    0);
	cr_assert_eq(msg.height, 3);
	cr_assert_eq(msg.width, 3);
	/* handed to the parser directly, the line is refused too */
	cr_assert_eq(att_ctl_parse(s, 6 + HASHES, &msg, why, sizeof(why)), -1);
	cr_assert_str_eq(why, FMT);
	free(s);
}

/* security 13 again, written in pipe-sized pieces */
Test(ctl, drops_overlong_line_fed_in_pieces)
{
	struct att_ctl_line l = {.len = 0};
	struct rec r = {.n = 0};
	size_t len, off, n;
	char *s = hash_line(HASHES, "1 3 3\n", &len);

	for (off = 0; off < len; off += n) {
		n = len - off < 4096 ? len - off : 4096;
		att_ctl_feed(&l, s + off, n, rec_cb, &r);
	}
	cr_assert_eq(r.n, 2);
	assert_overlong(&r, 0);
	assert_line(&r, 1, "1 3 3");
	free(s);
}

/* security 14: each refused with its spec 8.2 warning */
Test(ctl, rejects_security_14_inputs)
{
	static const struct vec v[] = {
	    {"1 -1 -1", 0, SIZE("-1x-1"), 0, 0, 0},
	    {"foo", 0, FMT, 0, 0, 0},
	    {"999 2 2", 0, "Invalid control message type: 999", 0, 0, 0},
	    {"1 2", 0, FMT, 0, 0, 0},
	    {"1 0x10 0x20", 0, FMT, 0, 0, 0},
	    {"1 10.5 20.3", 0, FMT, 0, 0, 0},
	    /* outside int: no conversion, so the format warning */
	    {"1 2147483648 5", 0, FMT, 0, 0, 0},
	    {"1 99999999999999999999 5", 0, FMT, 0, 0, 0},
	    /* a NUL ends a number and is not white space */
	    {"\0", 1, FMT, 0, 0, 0},
	    {"1\0 2 2", 6, FMT, 0, 0, 0},
	    {"1 2\0 2", 6, FMT, 0, 0, 0},
	    {"1 2 \0 2", 7, FMT, 0, 0, 0},
	};

	check_vecs(v, VIGIL_NELEM(v), false);
}

/* security 14: "the next line works" after each refused one */
Test(ctl, handles_line_after_each_rejected_one)
{
	static const char in[] = "1 -1 -1\nfoo\n999 2 2\n1 2\n1 0x10 0x20\n"
				 "1 10.5 20.3\n1 2147483648 5\n\0\0\n"
				 "1 99999999999999999999 5\n1 7 9\n";
	struct att_ctl_line l = {.len = 0};
	struct att_ctl_msg msg;
	char why[ATT_CTL_WHY_MAX];
	struct rec r = {.n = 0};
	size_t i;

	att_ctl_feed(&l, in, sizeof(in) - 1, rec_cb, &r);
	cr_assert_eq(r.n, 10);
	for (i = 0; i < 9; i++) {
		cr_assert_not(r.line[i].overlong);
		cr_assert_eq(att_ctl_parse(r.line[i].text, r.line[i].len, &msg,
				 why, sizeof(why)),
		    -1, "line %zu", i);
	}
	cr_assert_eq(att_ctl_parse(
			 r.line[9].text, r.line[9].len, &msg, why, sizeof(why)),
	    0);
	cr_assert_eq(msg.height, 7);
	cr_assert_eq(msg.width, 9);
}

/* spec 8.2: sscanf %d, exactly: sign, white space, where a number ends */
Test(ctl, scans_numbers_like_percent_d)
{
	static const struct vec v[] = {
	    {" \t1\v2\f3\r", 0, NULL, 1, 2, 3}, {"+1 +2 +3", 0, NULL, 1, 2, 3},
	    {"1 -0 +0", 0, NULL, 1, 0, 0},
	    {"1+2+3", 0, NULL, 1, 2, 3}, /* each %d stops at a sign */
	    {"1 2 3abc", 0, NULL, 1, 2, 3}, {"1 2 3.7", 0, NULL, 1, 2, 3},
	    {"1 2 2\0junk", 10, NULL, 1, 2, 2}, /* after the third */
	    {"2 0 0", 0, NULL, 2, 0, 0},	/* CRI-O's reopen */
	    {"1 00000000000000000000000000000010 5", 0, NULL, 1, 10, 5},
	    {"1 2abc 2", 0, FMT, 0, 0, 0}, {"1 - 2 3", 0, FMT, 0, 0, 0},
	    {"1 2 -", 0, FMT, 0, 0, 0}, {"1 2 +", 0, FMT, 0, 0, 0},
	    {"1 2 --3", 0, FMT, 0, 0, 0}, {"1,2,3", 0, FMT, 0, 0, 0},
	    {"", 0, FMT, 0, 0, 0}, {"   ", 0, FMT, 0, 0, 0},
	    {"2", 0, FMT, 0, 0, 0}, /* spec 8.2: `2` alone fails */
	};

	check_vecs(v, VIGIL_NELEM(v), false);
}

/* spec 8.2: a value must fit int; the edges of int */
Test(ctl, rejects_values_outside_int)
{
	static const struct vec v[] = {
	    {"1 2147483647 5", 0, SIZE("2147483647x5"), 0, 0, 0},
	    {"1 -2147483648 5", 0, SIZE("-2147483648x5"), 0, 0, 0},
	    {"1 -2147483649 5", 0, FMT, 0, 0, 0},
	    {"1 5 2147483648", 0, FMT, 0, 0, 0},
	    {"2147483648 1 1", 0, FMT, 0, 0, 0},
	    {"4294967297 1 1", 0, FMT, 0, 0, 0}, /* wraps to 1 */
	    {"1 18446744073709551617 1", 0, FMT, 0, 0, 0},
	    {"-2147483648 1 1", 0, "Invalid control message type: -2147483648",
		0, 0, 0},
	};

	check_vecs(v, VIGIL_NELEM(v), false);
}

/* spec 8.2: format first, then type, then sizes, for both types */
Test(ctl, checks_format_then_type_then_size)
{
	static const struct vec v[] = {
	    {"999 -1", 0, FMT, 0, 0, 0},
	    {"999 -1 -1", 0, "Invalid control message type: 999", 0, 0, 0},
	    {"0 2 2", 0, "Invalid control message type: 0", 0, 0, 0},
	    {"3 2 2", 0, "Invalid control message type: 3", 0, 0, 0},
	    {"-1 2 2", 0, "Invalid control message type: -1", 0, 0, 0},
	    {"2 -1 0", 0, SIZE("-1x0"), 0, 0, 0},
	    {"2 0 1001", 0, SIZE("0x1001"), 0, 0, 0},
	    {"2 1000 1000", 0, NULL, 2, 1000, 1000},
	};

	check_vecs(v, VIGIL_NELEM(v), false);
}

/* vigil: a parser never looks past a LF, nor at an over-long line */
Test(ctl, parses_one_line_only)
{
	static char max[TEXT_MAX + 2], over[TEXT_MAX + 2];
	const struct vec v[] = {
	    {"1 2\n3 4", 0, FMT, 0, 0, 0},
	    {"1 2 2\n999", 0, NULL, 1, 2, 2},
	    {"\n1 2 2", 0, FMT, 0, 0, 0},
	    {max, TEXT_MAX, NULL, 1, 4, 5},
	    {max, TEXT_MAX + 1, NULL, 1, 4, 5}, /* + its LF: 198 */
	    {over, TEXT_MAX + 1, FMT, 0, 0, 0},
	};

	/* "1 4 5" padded with blanks to the longest line, LF after it */
	memset(max, ' ', TEXT_MAX);
	memcpy(max, "1 4 5", 5);
	max[TEXT_MAX] = '\n';
	memset(over, ' ', TEXT_MAX + 1);
	memcpy(over, "1 4 5", 5);
	check_vecs(v, VIGIL_NELEM(v), false);
}

/* style.md: helpers set errno; a short why is cut, never overrun */
Test(ctl, sets_errno_and_bounds_why)
{
	struct att_ctl_msg msg;
	char why[9];

	memset(why, 'x', sizeof(why));
	errno = 0;
	cr_assert_eq(att_ctl_parse("1 2", 3, &msg, why, 8), -1);
	cr_assert_eq(errno, EPROTO);
	cr_assert_str_eq(why, "Invalid");
	cr_assert_eq(why[8], 'x');
	cr_assert_eq(att_ctl_parse("5 2 2", 5, &msg, why, 8), -1);
	cr_assert_eq(errno, EPROTO);
	cr_assert_eq(att_ctl_parse("1 2 1001", 8, &msg, why, 8), -1);
	cr_assert_eq(errno, ERANGE);
	cr_assert_eq(att_winsz_parse("1", 1, &msg, NULL, 0), -1);
	cr_assert_eq(errno, EPROTO);
	cr_assert_eq(att_winsz_parse("1 -1", 4, &msg, NULL, 0), -1);
	cr_assert_eq(errno, ERANGE);
}

/* spec 8.5, security 17: `0 0` applied, `65535 65535` refused */
Test(winsz, handles_security_17_inputs)
{
	static const struct vec v[] = {
	    {"0 0", 0, NULL, ATT_CTL_RESIZE, 0, 0},
	    {"65535 65535", 0, SIZE("65535x65535"), 0, 0, 0},
	};

	check_vecs(v, VIGIL_NELEM(v), true);
}

/* spec 8.5: ctl's grammar minus the type */
Test(winsz, parses_height_and_width)
{
	static const struct vec v[] = {
	    {"24 80", 0, NULL, ATT_CTL_RESIZE, 24, 80},
	    {"24 80 7", 0, NULL, ATT_CTL_RESIZE, 24, 80},
	    {"0010 0020", 0, NULL, ATT_CTL_RESIZE, 10, 20},
	    {"1000 1000", 0, NULL, ATT_CTL_RESIZE, 1000, 1000},
	    {"1 0x10", 0, NULL, ATT_CTL_RESIZE, 1, 0}, /* %d stops at x */
	    {"24 80\n1 1", 0, NULL, ATT_CTL_RESIZE, 24, 80},
	    {"24", 0, WINSZ_FMT, 0, 0, 0},
	    {"", 0, WINSZ_FMT, 0, 0, 0},
	    {"foo", 0, WINSZ_FMT, 0, 0, 0},
	    {"10.5 20", 0, WINSZ_FMT, 0, 0, 0},
	    {"24\0 80", 6, WINSZ_FMT, 0, 0, 0},
	    {"2147483648 1", 0, WINSZ_FMT, 0, 0, 0},
	    {"1 99999999999999999999", 0, WINSZ_FMT, 0, 0, 0},
	    {"-1 5", 0, SIZE("-1x5"), 0, 0, 0},
	    {"1001 5", 0, SIZE("1001x5"), 0, 0, 0},
	    {"5 1001", 0, SIZE("5x1001"), 0, 0, 0},
	};

	check_vecs(v, VIGIL_NELEM(v), true);
}

/* security 15: several lines in one piece, each once, in order */
Test(ctl_line, hands_over_several_lines_of_one_piece)
{
	struct att_ctl_line l = {.len = 0};
	struct rec r = {.n = 0};

	feed_str(&l, &r, "1 2 2\n1 3 3\n2 0 0\n");
	cr_assert_eq(r.n, 3);
	assert_line(&r, 0, "1 2 2");
	assert_line(&r, 1, "1 3 3");
	assert_line(&r, 2, "2 0 0");
}

/* security 15: one line a byte at a time, handed over once at its LF */
Test(ctl_line, hands_over_a_line_written_a_byte_at_a_time)
{
	static const char in[] = "1 24 80\n";
	struct att_ctl_line l = {.len = 0};
	struct rec r = {.n = 0};

	for (size_t i = 0; i < sizeof(in) - 1; i++) {
		cr_assert_eq(r.n, 0, "handed over before its LF");
		att_ctl_feed(&l, in + i, 1, rec_cb, &r);
	}
	cr_assert_eq(r.n, 1);
	assert_line(&r, 0, "1 24 80");
}

/* spec 8.2: a message may be split across reads, anywhere */
Test(ctl_line, splits_anywhere_give_the_same_lines)
{
	static const char in[] = "1 2 2\n\nfoo\n2 0 0\n1 3";
	size_t n = sizeof(in) - 1;

	for (size_t a = 0; a <= n; a++)
		for (size_t b = a; b <= n; b++) {
			struct att_ctl_line l = {.len = 0};
			struct rec r = {.n = 0};

			att_ctl_feed(&l, in, a, rec_cb, &r);
			att_ctl_feed(&l, in + a, b - a, rec_cb, &r);
			att_ctl_feed(&l, in + b, n - b, rec_cb, &r);
			cr_assert_eq(r.n, 4, "split %zu %zu", a, b);
			assert_line(&r, 0, "1 2 2");
			assert_line(&r, 1, "");
			assert_line(&r, 2, "foo");
			assert_line(&r, 3, "2 0 0");
			cr_assert_eq(l.len, 3, "\"1 3\" waits for its LF");
		}
}

/* spec 8.2: 199 bytes with the LF is over-long, 198 is not */
Test(ctl_line, drops_lines_from_199_bytes)
{
	char in[2 * ATT_CTL_LINE_MAX + 8];
	struct att_ctl_line l = {.len = 0};
	struct rec r = {.n = 0};

	memset(in, ' ', sizeof(in));
	memcpy(in, "1 4 5", 5);
	in[TEXT_MAX] = '\n'; /* 198 bytes with its LF */
	memcpy(in + TEXT_MAX + 1, "1 6 7", 5);
	in[2 * TEXT_MAX + 2] = '\n'; /* 199 bytes with its LF */
	att_ctl_feed(&l, in, 2 * TEXT_MAX + 3, rec_cb, &r);
	cr_assert_eq(r.n, 2);
	cr_assert_not(r.line[0].overlong);
	cr_assert_eq(r.line[0].len, TEXT_MAX);
	assert_overlong(&r, 1);
}

/* spec 8.2, vigil: not even a valid message at its end is acted upon */
Test(ctl_line, drops_overlong_line_whole)
{
	static const char tail[] = "1 2 2\n1 3 3\n";
	char in[ATT_CTL_LINE_MAX + sizeof(tail) - 1];
	struct att_ctl_line l = {.len = 0};
	struct rec r = {.n = 0};

	/* conmon's second 199-byte piece would be "1 2 2\n", acted upon */
	memset(in, '#', ATT_CTL_LINE_MAX);
	memcpy(in + ATT_CTL_LINE_MAX, tail, sizeof(tail) - 1);
	att_ctl_feed(&l, in, sizeof(in), rec_cb, &r);
	cr_assert_eq(r.n, 2);
	assert_overlong(&r, 0);
	assert_line(&r, 1, "1 3 3");
}

/* the over-long verdict survives piece boundaries, a byte at a time too */
Test(ctl_line, drops_overlong_line_a_byte_at_a_time)
{
	struct att_ctl_line l = {.len = 0};
	struct rec r = {.n = 0};
	size_t len;
	char *s = hash_line(400, "1 3 3\n", &len);

	for (size_t i = 0; i < len; i++)
		att_ctl_feed(&l, s + i, 1, rec_cb, &r);
	cr_assert_eq(r.n, 2);
	assert_overlong(&r, 0);
	assert_line(&r, 1, "1 3 3");
	free(s);
}

/* an unfinished line is kept, bytes and all, until its LF */
Test(ctl_line, keeps_nul_bytes_and_waits_for_lf)
{
	struct att_ctl_line l = {.len = 0};
	struct rec r = {.n = 0};

	att_ctl_feed(&l, "1 2\0", 4, rec_cb, &r);
	att_ctl_feed(&l, "", 0, rec_cb, &r);
	cr_assert_eq(r.n, 0);
	att_ctl_feed(&l, " 2\n", 3, rec_cb, &r);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.line[0].len, 6);
	cr_assert_eq(memcmp(r.line[0].text, "1 2\0 2", 6), 0);
	cr_assert_eq(l.len, 0);
	cr_assert_not(l.discarding);
}
