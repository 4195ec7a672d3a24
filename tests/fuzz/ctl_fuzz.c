/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/ctl_fuzz.c: the ctl and winsz FIFOs (spec 8.2, 8.5, security
 * 13-15) on any bytes. The first byte seeds the sizes of the pieces the
 * rest is fed in; every line handed over is parsed by both parsers and
 * must match a one-shot split of the input and glibc's sscanf.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

/* Longest line text that is not over-long: 198 bytes with its LF. */
#define CTL_FUZZ_TEXT_MAX (ATT_CTL_LINE_MAX - 2)

/* The whole input, and where the next expected line starts in it. */
struct ctl_fuzz {
	const char *in;
	size_t len;
	size_t off;
	size_t lines;
};

/*
 * How many of the first n "%lld" conversions of s are ints: the oracle of
 * spec 8.2's "parsed like sscanf %d, a value outside int rejected". Test
 * code only; vigil never calls sscanf (style.md). A NUL ends s here and
 * ends a number in the parser: the same place.
 */
static size_t
ctl_fuzz_oracle(const char *line, size_t len, long long *v, size_t n)
{
	char s[ATT_CTL_LINE_MAX];
	int r;
	size_t i;

	memcpy(s, line, len);
	s[len] = '\0';
	r = n == 3 ? sscanf(s, "%lld %lld %lld", &v[0], &v[1], &v[2])
		   : sscanf(s, "%lld %lld", &v[0], &v[1]);
	for (i = 0; r > 0 && i < (size_t)r; i++)
		if (v[i] < INT_MIN || v[i] > INT_MAX)
			break;
	return r > 0 ? i : 0;
}

static bool
ctl_fuzz_size_ok(long long h, long long w)
{
	return h >= 0 && h <= ATT_CTL_SIZE_MAX && w >= 0 &&
	       w <= ATT_CTL_SIZE_MAX;
}

/* A refusal leaves *msg alone and says why in a terminated string. */
static void
ctl_fuzz_refused(const struct att_ctl_msg *m, const char *why)
{
	CHECK(m->type == -7 && m->height == -7 && m->width == -7);
	CHECK(memchr(why, '\0', ATT_CTL_WHY_MAX) != NULL);
	CHECK(why[0] != '\0');
}

/* Both parsers on one line, against the oracle. */
static void
ctl_fuzz_parse(const char *line, size_t len)
{
	struct att_ctl_msg m = {-7, -7, -7};
	char why[ATT_CTL_WHY_MAX];
	const char *lf;
	long long v[3];
	size_t n;
	int r;

	/* vigil: nothing past a LF; an over-long line is never acted upon */
	if (len > 0 && (lf = memchr(line, '\n', len)) != NULL)
		len = (size_t)(lf - line);
	n = len > CTL_FUZZ_TEXT_MAX ? 0 : ctl_fuzz_oracle(line, len, v, 3);

	r = att_ctl_parse(line, len, &m, why, sizeof(why));
	if (r == 0) {
		CHECK(n == 3 && (v[0] == 1 || v[0] == 2));
		CHECK(ctl_fuzz_size_ok(v[1], v[2]));
		CHECK(m.type == v[0] && m.height == v[1] && m.width == v[2]);
	} else {
		CHECK(r == -1);
		ctl_fuzz_refused(&m, why);
		CHECK(n < 3 || (v[0] != 1 && v[0] != 2) ||
		      !ctl_fuzz_size_ok(v[1], v[2]));
		CHECK((n < 3) ==
		      (strcmp(why, "Invalid control message format") == 0));
	}

	m.type = m.height = m.width = -7;
	n = len > CTL_FUZZ_TEXT_MAX ? 0 : ctl_fuzz_oracle(line, len, v, 2);
	r = att_winsz_parse(line, len, &m, why, sizeof(why));
	if (r == 0) {
		CHECK(n == 2 && ctl_fuzz_size_ok(v[0], v[1]));
		CHECK(m.type == ATT_CTL_RESIZE && m.height == v[0] &&
		      m.width == v[1]);
	} else {
		CHECK(r == -1);
		ctl_fuzz_refused(&m, why);
		CHECK(n < 2 || !ctl_fuzz_size_ok(v[0], v[1]));
		CHECK((n < 2) ==
		      (strcmp(why, "Failed to parse window size") == 0));
	}
}

/* Each line handed over is the next line of the whole input, in order. */
static void
ctl_fuzz_line_cb(void *arg, const char *line, size_t len, bool overlong)
{
	struct ctl_fuzz *f = arg;
	const char *lf;
	size_t want;

	CHECK(len < ATT_CTL_LINE_MAX);
	CHECK(len == 0 || memchr(line, '\n', len) == NULL);
	lf = memchr(f->in + f->off, '\n', f->len - f->off);
	CHECK(lf != NULL);
	want = (size_t)(lf - (f->in + f->off));
	if (overlong) {
		CHECK(len == 0);
		CHECK(want > CTL_FUZZ_TEXT_MAX);
	} else {
		CHECK(want == len);
		CHECK(len == 0 || memcmp(line, f->in + f->off, len) == 0);
	}
	f->off += want + 1;
	f->lines++;
	ctl_fuzz_parse(line, len);
}

/* xorshift32: piece sizes from the seed byte, reproducible per input */
static uint32_t
ctl_fuzz_next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t spans[] = {1, 8, 64, 256, 70000};
	struct att_ctl_line l = {.len = 0};
	struct ctl_fuzz f;
	uint32_t x, r;
	size_t off, n, lfs = 0;

	if (size == 0)
		return 0;
	x = 0x9e3779b9u ^ data[0];
	f.in = (const char *)data + 1;
	f.len = size - 1;
	f.off = f.lines = 0;
	for (off = 0; off < f.len; off += n) {
		r = ctl_fuzz_next(&x);
		n = 1 + (r >> 8) % spans[r % VIGIL_NELEM(spans)];
		if (n > f.len - off)
			n = f.len - off;
		att_ctl_feed(&l, f.in + off, n, ctl_fuzz_line_cb, &f);
		CHECK(l.len <= CTL_FUZZ_TEXT_MAX);
	}
	for (off = 0; off < f.len; off++)
		lfs += f.in[off] == '\n';
	CHECK(f.lines == lfs);
	/* and the whole input handed to the parsers as one line */
	ctl_fuzz_parse(f.in, f.len);
	return 0;
}
