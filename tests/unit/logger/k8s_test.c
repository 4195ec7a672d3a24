/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/logger/k8s_test.c: k8s-file records (spec 9.2), the
 * --log-size-max rule (spec 9.3) and the timestamp, against the spec's
 * examples. Changes TZ only inside a test (criterion forks per test).
 */

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "common/chan_msg.h"
#include "logger/k8s.h"

/* spec 9.2's observed timestamp */
#define TS "2026-11-24T14:44:20.685078740+00:00"
#define TS_SEC 1795531460
#define TS_NSEC 685078740L

#define OUT_MAX (65536 + 4096)

static char out[OUT_MAX];

static struct log_k8s_chunk
chunk(const char *data, size_t len, unsigned stream)
{
	struct log_k8s_chunk c = {
		.data = data, .len = len, .stream = stream, .ts = TS
	};

	return c;
}

/* Formats a whole chunk without a limit into `out`; returns its length. */
static size_t
format_all(const char *data, size_t len, unsigned stream)
{
	struct log_k8s_chunk c = chunk(data, len, stream);
	struct log_k8s_limit lim = { .max = 0, .counted = 0 };
	size_t outlen = 0;

	cr_assert_eq(log_k8s_format(&c, &lim, out, sizeof(out), &outlen),
	    LOG_K8S_DONE);
	cr_assert_eq(c.off, len);
	cr_assert_eq(lim.counted, (int64_t)outlen, "every byte counted");
	return outlen;
}

static void
assert_output(size_t outlen, const char *want, size_t wantlen)
{
	cr_assert_eq(outlen, wantlen, "length %zu, want %zu", outlen, wantlen);
	cr_assert_eq(memcmp(out, want, wantlen), 0, "got <%.*s>",
	    (int)outlen, out);
}

#define ASSERT_OUT(n, lit) assert_output((n), (lit), sizeof(lit) - 1)

Test(k8s, spec_92_example)
{
	size_t n;

	n = format_all("out1\n", 5, CHAN_STREAM_STDOUT);
	ASSERT_OUT(n, TS " stdout F out1\n");
	n = format_all("partial", 7, CHAN_STREAM_STDOUT);
	ASSERT_OUT(n, TS " stdout P partial\n");
	n = format_all("err1\n", 5, CHAN_STREAM_STDERR);
	ASSERT_OUT(n, TS " stderr F err1\n");
}

Test(k8s, empty_line_keeps_space_after_tag)
{
	ASSERT_OUT(format_all("\n", 1, CHAN_STREAM_STDOUT),
	    TS " stdout F \n");
}

Test(k8s, chunk_of_only_lf_gives_empty_f_records)
{
	ASSERT_OUT(format_all("\n\n\n", 3, CHAN_STREAM_STDERR),
	    TS " stderr F \n" TS " stderr F \n" TS " stderr F \n");
}

Test(k8s, chunk_without_final_lf_ends_in_p_record)
{
	ASSERT_OUT(format_all("a\n\nbc\ndef", 9, CHAN_STREAM_STDOUT),
	    TS " stdout F a\n" TS " stdout F \n" TS " stdout F bc\n"
	    TS " stdout P def\n");
}

Test(k8s, empty_chunk_gives_nothing)
{
	cr_assert_eq(format_all("", 0, CHAN_STREAM_STDOUT), 0);
}

Test(k8s, unknown_stream_is_stdout)
{
	ASSERT_OUT(format_all("x\n", 2, 7), TS " stdout F x\n");
}

/* spec 9.2, security 2: any byte but LF is stored as is */
Test(k8s, keeps_cr_nul_invalid_utf8_and_escapes)
{
	static const char in[] = "a\r\0b\xff\xfe\xc0\xaf\x1b[2J\x1b]0;t\a"
	    "\x1b]52;c;aGk=\a\x7f\r\n";

	ASSERT_OUT(format_all(in, sizeof(in) - 1, CHAN_STREAM_STDOUT),
	    TS " stdout F a\r\0b\xff\xfe\xc0\xaf\x1b[2J\x1b]0;t\a"
	    "\x1b]52;c;aGk=\a\x7f\r\n");
}

/* spec 9.2, security 1: one P record per chunk, F at the newline */
Test(k8s, long_line_becomes_p_records)
{
	static char line[16384];
	size_t i, n;

	memset(line, 'x', sizeof(line));
	for (i = 0; i < 4; i++) {
		n = format_all(line, sizeof(line), CHAN_STREAM_STDOUT);
		cr_assert_eq(n, LOG_K8S_OVERHEAD + sizeof(line));
		cr_assert_eq(memcmp(out, TS " stdout P xxx", 45), 0);
		cr_assert_eq(out[n - 1], '\n');
		cr_assert_eq(memchr(out, '\n', n - 1), NULL);
	}
	ASSERT_OUT(format_all("yy\n", 3, CHAN_STREAM_STDOUT),
	    TS " stdout F yy\n");
}

/* spec 9.2: no closing F record for a line the container never ended */
/*
 * The 16-byte scan and copy (log_k8s_find_lf, log_k8s_copy) around their
 * edges: every chunk length up to 50 with its line feeds at every place,
 * one or two of them, each record against one built byte by byte. The
 * chunk sits at the end of a page-sized buffer, so a step past its end
 * reads bytes the expected records do not have.
 */
Test(k8s, every_line_length_and_lf_place)
{
	static char buf[4096], want[4096];

	for (size_t n = 0; n <= 50; n++) {
		for (size_t a = 0; a <= n; a++) {
			for (size_t b = a; b <= n; b++) {
				char *data = buf + sizeof(buf) - n;
				size_t wl = 0, start = 0;

				memset(buf, '\n', sizeof(buf));
				for (size_t i = 0; i < n; i++)
					data[i] = (char)('a' + i % 26);
				if (a < n)
					data[a] = '\n';
				if (b < n)
					data[b] = '\n';
				for (size_t i = 0; i <= n; i++) {
					bool lf = i < n && data[i] == '\n';

					if (!lf && (i < n || start == n))
						continue;
					wl += (size_t)sprintf(want + wl,
					    TS " stdout %c %.*s\n", lf ? 'F' : 'P',
					    (int)(i - start), data + start);
					start = i + 1;
				}
				assert_output(format_all(data, n,
				    CHAN_STREAM_STDOUT), want, wl);
			}
		}
	}
}

Test(k8s, unterminated_line_has_no_closing_f)
{
	static char line[65535];
	size_t n;

	memset(line, '#', sizeof(line));
	n = format_all(line, sizeof(line), CHAN_STREAM_STDOUT);
	cr_assert_eq(n, LOG_K8S_OVERHEAD + sizeof(line));
	cr_assert_eq(memcmp(out + LOG_K8S_TS_LEN, " stdout P #", 11), 0);
}

/* Builds lines of lengths 0..k into buf; returns the chunk length. */
static size_t
many_lines(char *buf, size_t cap, size_t lines)
{
	size_t i, len = 0, n;

	for (i = 0; i < lines; i++) {
		n = i % 23;
		cr_assert_leq(len + n + 1, cap);
		memset(buf + len, 'a' + (int)(i % 26), n);
		len += n;
		buf[len++] = '\n';
	}
	return len;
}

Test(k8s, full_resumes_with_identical_output)
{
	static char data[4096], joined[OUT_MAX];
	struct log_k8s_chunk c;
	struct log_k8s_limit lim = { .max = 0, .counted = 0 };
	size_t len, whole, outlen, jlen = 0, fulls = 0;
	size_t cap;
	enum log_k8s_stop st;

	len = many_lines(data, sizeof(data) - 5, 300);
	memcpy(data + len, "tail", 4);	/* and a P record at the end */
	len += 4;
	whole = format_all(data, len, CHAN_STREAM_STDOUT);
	cap = LOG_K8S_OVERHEAD + len;	/* the contract's least capacity */
	c = chunk(data, len, CHAN_STREAM_STDOUT);
	do {
		outlen = 0;
		st = log_k8s_format(&c, &lim, joined + jlen, cap, &outlen);
		cr_assert(st == LOG_K8S_DONE || st == LOG_K8S_FULL);
		cr_assert_leq(outlen, cap);
		cr_assert_gt(outlen, 0, "FULL on an empty buffer");
		jlen += outlen;
		fulls += st == LOG_K8S_FULL;
	} while (st == LOG_K8S_FULL);
	cr_assert_gt(fulls, 1, "the test must exercise FULL");
	cr_assert_eq(jlen, whole);
	cr_assert_eq(memcmp(joined, out, whole), 0);
	cr_assert_eq(lim.counted, (int64_t)whole);
}

Test(k8s, full_stops_before_the_record)
{
	struct log_k8s_chunk c = chunk("ab\ncd\n", 6, CHAN_STREAM_STDOUT);
	struct log_k8s_limit lim = { .max = 0, .counted = 0 };
	size_t outlen = 0;

	cr_assert_eq(log_k8s_format(&c, &lim, out, LOG_K8S_OVERHEAD + 3,
	    &outlen), LOG_K8S_FULL);
	cr_assert_eq(c.off, 3);
	cr_assert_eq(outlen, LOG_K8S_OVERHEAD + 2);
	cr_assert_eq(lim.counted, LOG_K8S_OVERHEAD + 2);
	/* the caller's own bytes in front are kept */
	outlen = 1;
	cr_assert_eq(log_k8s_format(&c, &lim, out, LOG_K8S_OVERHEAD + 3,
	    &outlen), LOG_K8S_DONE);
	cr_assert_eq(outlen, 1 + LOG_K8S_OVERHEAD + 2);
	cr_assert_eq(memcmp(out + 1, TS " stdout F cd\n",
	    LOG_K8S_OVERHEAD + 2), 0);
}

/* A log file, written out and reopened (truncated) as the logger does. */
struct sim_log {
	char data[8192];
	size_t len;
	size_t max_seen;
	int reopens;
};

static void
sim_write(struct sim_log *f, size_t *outlen)
{
	cr_assert_leq(f->len + *outlen, sizeof(f->data));
	memcpy(f->data + f->len, out, *outlen);
	f->len += *outlen;
	if (f->len > f->max_seen)
		f->max_seen = f->len;
	*outlen = 0;
}

static void
sim_chunk(struct sim_log *f, struct log_k8s_limit *lim, const char *data,
    size_t len)
{
	struct log_k8s_chunk c = chunk(data, len, CHAN_STREAM_STDOUT);
	size_t outlen = 0;
	enum log_k8s_stop st;

	for (;;) {
		st = log_k8s_format(&c, lim, out, sizeof(out), &outlen);
		sim_write(f, &outlen);
		cr_assert_eq(lim->counted, (int64_t)f->len);
		if (st == LOG_K8S_DONE)
			return;
		cr_assert_eq(st, LOG_K8S_LIMIT);
		cr_assert_gt(f->len, 0, "LIMIT on an empty file");
		/* spec 9.3, 9.5: reopen truncates, the count restarts */
		f->len = 0;
		f->reopens++;
		lim->counted = 0;
	}
}

/* spec 9.3's upstream test */
Test(k8s, limit_10_keeps_only_the_last_line)
{
	static struct sim_log f;
	struct log_k8s_limit lim = { .max = 10, .counted = 0 };
	char line[16];
	int i;

	for (i = 0; i < 100; i++) {
		line[0] = 'a' + i / 10;
		line[1] = 'a' + i % 10;
		line[2] = '\n';
		sim_chunk(&f, &lim, line, 3);
	}
	cr_assert_eq(f.reopens, 99);
	cr_assert_eq(f.len, LOG_K8S_OVERHEAD + 2);
	cr_assert_eq(memcmp(f.data, TS " stdout F jj\n", f.len), 0);
}

/* spec 9.3, row 40: 11-byte lines are 56-byte records; 3 never fit */
Test(k8s, limit_120_never_more_than_two_records)
{
	static struct sim_log f;
	struct log_k8s_limit lim = { .max = 120, .counted = 0 };
	int i;

	for (i = 0; i < 30; i++)
		sim_chunk(&f, &lim, "0123456789\n", 11);
	cr_assert_eq(f.max_seen, 112);
	cr_assert_eq(f.reopens, 14);
	/* and the same lines in one chunk */
	memset(&f, 0, sizeof(f));
	lim.counted = 0;
	sim_chunk(&f, &lim, "0123456789\n0123456789\n0123456789\n"
	    "0123456789\n0123456789\n", 55);
	cr_assert_eq(f.max_seen, 112);
	cr_assert_eq(f.reopens, 2);
	cr_assert_eq(f.len, 56);
}

/* spec 9.3: a record larger than max still goes whole into a fresh file */
Test(k8s, oversized_record_written_whole_into_fresh_file)
{
	static char line[200];
	struct log_k8s_chunk c;
	struct log_k8s_limit lim = { .max = 50, .counted = 0 };
	size_t outlen = 0;

	memset(line, 'z', sizeof(line));
	c = chunk(line, sizeof(line), CHAN_STREAM_STDOUT);
	cr_assert_eq(log_k8s_format(&c, &lim, out, sizeof(out), &outlen),
	    LOG_K8S_DONE);
	cr_assert_eq(outlen, LOG_K8S_OVERHEAD + sizeof(line));
	cr_assert_eq(lim.counted, (int64_t)outlen);

	/* with anything already in the file, the reopen comes first */
	lim.counted = 1;
	outlen = 0;
	c.off = 0;
	cr_assert_eq(log_k8s_format(&c, &lim, out, sizeof(out), &outlen),
	    LOG_K8S_LIMIT);
	cr_assert_eq(outlen, 0);
	cr_assert_eq(c.off, 0);
	cr_assert_eq(lim.counted, 1);
}

Test(k8s, limit_stops_after_the_records_that_fit)
{
	struct log_k8s_chunk c = chunk("a\nb\nc\n", 6, CHAN_STREAM_STDOUT);
	/* 3 bytes in the file, room for exactly two 47-byte records */
	struct log_k8s_limit lim = { .max = 3 + 2 * (LOG_K8S_OVERHEAD + 1), .counted = 3 };
	size_t outlen = 0;

	cr_assert_eq(log_k8s_format(&c, &lim, out, sizeof(out), &outlen),
	    LOG_K8S_LIMIT);
	cr_assert_eq(c.off, 4);
	cr_assert_eq(lim.counted, lim.max, "a record may fill max exactly");
	ASSERT_OUT(outlen, TS " stdout F a\n" TS " stdout F b\n");
	lim.counted = 0;
	outlen = 0;
	cr_assert_eq(log_k8s_format(&c, &lim, out, sizeof(out), &outlen),
	    LOG_K8S_DONE);
	ASSERT_OUT(outlen, TS " stdout F c\n");
}

Test(k8s, no_limit_when_max_not_positive)
{
	static const int64_t maxes[] = { 0, -1, INT64_MIN };
	struct log_k8s_chunk c;
	struct log_k8s_limit lim;
	size_t i, outlen;

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		c = chunk("a\nb\nc\n", 6, CHAN_STREAM_STDOUT);
		memset(&lim, 0, sizeof(lim));
		lim.max = maxes[i];
		lim.counted = INT64_MAX - 10;
		outlen = 0;
		cr_assert_eq(log_k8s_format(&c, &lim, out, sizeof(out),
		    &outlen), LOG_K8S_DONE);
		cr_assert_eq(outlen, 3 * (LOG_K8S_OVERHEAD + 1));
		cr_assert_eq(lim.counted, INT64_MAX, "saturates");
	}
}

/* A counted beyond max (a file grown by someone else) reopens at once. */
Test(k8s, counted_beyond_max_reopens)
{
	struct log_k8s_chunk c = chunk("a\n", 2, CHAN_STREAM_STDOUT);
	struct log_k8s_limit lim = { .max = 100, .counted = 1000 };
	size_t outlen = 0;

	cr_assert_eq(log_k8s_format(&c, &lim, out, sizeof(out), &outlen),
	    LOG_K8S_LIMIT);
	cr_assert_eq(outlen, 0);
}

static void
set_tz(const char *tz)
{
	cr_assert_eq(setenv("TZ", tz, 1), 0);
	tzset();
}

static void
assert_ts(time_t sec, long nsec, const char *want)
{
	struct timespec ts = { .tv_sec = sec, .tv_nsec = nsec };
	char buf[LOG_K8S_TS_LEN + 1];

	memset(buf, 'X', sizeof(buf));
	cr_assert_eq(log_k8s_timestamp(buf, &ts), LOG_K8S_TS_LEN);
	cr_assert_eq(buf[LOG_K8S_TS_LEN], '\0');
	cr_assert_str_eq(buf, want);
}

/* spec 17 row 36 */
static void
assert_ts_shape(const char *ts)
{
	regex_t re;

	cr_assert_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}\\.[0-9]{9}[+-][0-9]{2}:[0-9]{2}$",
	    REG_EXTENDED | REG_NOSUB), 0);
	cr_assert_eq(regexec(&re, ts, 0, NULL, 0), 0, "bad shape: %s", ts);
	regfree(&re);
}

Test(k8s, timestamp_now_has_the_spec_shape)
{
	static const char *zones[] = { "UTC", "Asia/Kolkata",
	    "America/St_Johns", "America/Los_Angeles", "Pacific/Kiritimati" };
	struct timespec now;
	char buf[LOG_K8S_TS_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		set_tz(zones[i]);
		cr_assert_eq(clock_gettime(CLOCK_REALTIME, &now), 0);
		cr_assert_eq(log_k8s_timestamp(buf, &now), LOG_K8S_TS_LEN);
		assert_ts_shape(buf);
	}
}

Test(k8s, timestamp_utc_is_plus_zero_never_z)
{
	set_tz("UTC");
	assert_ts(TS_SEC, TS_NSEC, TS);
	assert_ts(0, 0, "1970-01-01T00:00:00.000000000+00:00");
	assert_ts(TS_SEC, 1, "2026-11-24T14:44:20.000000001+00:00");
}

Test(k8s, timestamp_half_hour_zones)
{
	set_tz("Asia/Kolkata");
	assert_ts(TS_SEC, TS_NSEC, "2026-11-24T20:14:20.685078740+05:30");
	set_tz("America/St_Johns");
	assert_ts(TS_SEC, TS_NSEC, "2026-11-24T11:14:20.685078740-03:30");
	/* summer time: 2026-07-01T12:00:00Z */
	assert_ts(1782907200, 999999999, "2026-07-01T09:30:00.999999999-02:30");
}

/* spec 9.2: seconds of the offset are dropped; POSIX TZ allows them */
Test(k8s, timestamp_drops_offset_seconds)
{
	set_tz("ABC-05:30:45");
	assert_ts(TS_SEC, 0, "2026-11-24T20:15:05.000000000+05:30");
	set_tz("ABC+03:30:45");
	assert_ts(TS_SEC, 0, "2026-11-24T11:13:35.000000000-03:30");
	set_tz("ABC+00:00:30");
	assert_ts(TS_SEC, 0, "2026-11-24T14:43:50.000000000+00:00");
}

/* The per-second cache must redo the fraction and notice a new second. */
Test(k8s, timestamp_cache_follows_seconds_and_zone)
{
	set_tz("UTC");
	assert_ts(TS_SEC, 5, "2026-11-24T14:44:20.000000005+00:00");
	assert_ts(TS_SEC, 123456789, "2026-11-24T14:44:20.123456789+00:00");
	assert_ts(TS_SEC + 1, 0, "2026-11-24T14:44:21.000000000+00:00");
	assert_ts(TS_SEC, 7, "2026-11-24T14:44:20.000000007+00:00");
	set_tz("Asia/Kolkata");
	assert_ts(TS_SEC, 7, "2026-11-24T20:14:20.000000007+05:30");
}

Test(k8s, timestamp_keeps_four_digit_years)
{
	set_tz("UTC");
	/* 0999-12-31T23:59:59Z */
	assert_ts(-30610224001LL, 0, "0999-12-31T23:59:59.000000000+00:00");
	assert_ts(253402300799LL, 0, "9999-12-31T23:59:59.000000000+00:00");
	assert_ts(253402300800LL, 0, "9999-12-31T23:59:59.000000000+00:00");
	assert_ts(INT64_MAX, 0, "9999-12-31T23:59:59.000000000+00:00");
	assert_ts(INT64_MIN, 0, "0000-01-01T00:00:00.000000000+00:00");
	assert_ts(TS_SEC, -1, "2026-11-24T14:44:20.000000000+00:00");
	assert_ts(TS_SEC, 1000000000, "2026-11-24T14:44:20.999999999+00:00");
}

/* spec 9.3 observed on 2.1.6: limit 120, 11-byte lines of 56-byte records:
 * three records (168 bytes) are written, then nothing more. */
Test(k8s, global_limit_stops_after_the_record_that_reaches_it)
{
	struct log_k8s_limit lim = { .global_max = 120 };
	size_t olen = 0;

	for (int i = 0; i < 10; i++) {
		struct log_k8s_chunk c = { .data = "0123456789\n", .len = 11,
			.stream = CHAN_STREAM_STDOUT,
			.ts = "2026-11-24T14:44:20.685078740+00:00" };
		cr_assert_eq(log_k8s_format(&c, &lim, out, OUT_MAX, &olen),
		    LOG_K8S_DONE);
		cr_assert_eq(c.off, c.len, "the chunk is consumed");
	}
	cr_assert_eq(olen, 168, "wrote %zu bytes", olen);
	cr_assert_eq(lim.global_counted, 168);
}
