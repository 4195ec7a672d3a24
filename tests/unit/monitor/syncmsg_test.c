/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/monitor/syncmsg_test.c: sync pipe records (spec 5.3, 5.5),
 * checked byte for byte and with a small JSON checker of our own that is
 * stricter than Go's encoding/json (security 47, spec 17 row 18).
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "monitor/syncmsg.h"

#define BIG 10240
#define FFFD "\xef\xbf\xbd"

static char buf[MON_SYNC_REC_MAX_API + 1];

/* A cursor over one record for the checker. */
struct json {
	const unsigned char *p;
	const unsigned char *end;
};

static bool
json_lit(struct json *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

/* RFC 8259 number, integers only: -?(0|[1-9][0-9]*) */
static bool
json_int(struct json *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return false;
	if (*j->p++ == '0')
		return j->p >= j->end || *j->p < '0' || *j->p > '9';
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return true;
}

static int
json_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;	/* spec 5.3: lowercase */
}

/* One escape after the backslash; decodes it into dec[*n]. */
static bool
json_escape(struct json *j, char *dec, size_t *n)
{
	static const char named[] = "\"\\/bfnrt";
	static const char value[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	int hi, lo;

	if (j->p >= j->end)
		return false;
	if ((hit = memchr(named, *j->p, sizeof(named) - 1)) != NULL) {
		dec[(*n)++] = value[hit - named];
		j->p++;
		return true;
	}
	if (j->end - j->p < 5 || memcmp(j->p, "u00", 3) != 0)
		return false;	/* we only ever write \u00xx */
	hi = json_hex(j->p[3]);
	lo = json_hex(j->p[4]);
	if (hi < 0 || lo < 0 || hi > 7)
		return false;
	dec[(*n)++] = (char)(hi << 4 | lo);
	j->p += 5;
	return true;
}

/* A string; raw bytes below 0x20 and 0x7f are refused (spec 5.3). */
static bool
json_string(struct json *j, char *dec, size_t *n)
{
	*n = 0;
	if (!json_lit(j, "\""))
		return false;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p < 0x20 || *j->p == 0x7f)
			return false;
		if (*j->p == '\\') {
			j->p++;
			if (!json_escape(j, dec, n))
				return false;
		} else
			dec[(*n)++] = (char)*j->p++;
	}
	return json_lit(j, "\"");
}

/* Well-formed UTF-8 (Unicode table 3-7), by code point arithmetic. */
static bool
utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0, k, n;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		n = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc0 ? 2 : 0;
		if (n == 0 || s[i] > 0xf7 || len - i < n)
			return false;
		cp = s[i] & (0x7f >> n);
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

/*
 * Checks `{"key": int}\n` or `{"key": int, "message": "..."}\n` exactly,
 * and decodes the message into msg (BIG bytes); *msglen is -1 without one.
 */
static bool
record_ok(const char *s, size_t len, char *msg, long *msglen)
{
	struct json j = { (const unsigned char *)s,
	    (const unsigned char *)s + len };
	char key[BIG];
	size_t n;

	*msglen = -1;
	if (!utf8_ok(j.p, len) || !json_lit(&j, "{") ||
	    !json_string(&j, key, &n) || n == 0 || !json_lit(&j, ": ") ||
	    !json_int(&j))
		return false;
	if (json_lit(&j, ", \"message\": ")) {
		if (!json_string(&j, msg, &n))
			return false;
		*msglen = (long)n;
	}
	return json_lit(&j, "}\n") && j.p == j.end;
}

static size_t
fmt(size_t max, const char *key, int64_t v, const char *msg, size_t len)
{
	size_t n;

	memset(buf, 'X', sizeof(buf));
	n = mon_sync_format(buf, max, key, v, msg, len);
	cr_assert_leq(n, max);
	cr_assert_eq(buf[n], '\0', "NUL after the record");
	return n;
}

#define ASSERT_REC(n, lit) do {						\
	cr_assert_eq((n), sizeof(lit) - 1, "len %zu: %s", (n), buf);	\
	cr_assert_eq(memcmp(buf, (lit), sizeof(lit) - 1), 0, "%s", buf); \
} while (0)

Test(syncmsg, pid_record)
{
	ASSERT_REC(fmt(MON_SYNC_REC_MAX_LEGACY, "pid", 1234, NULL, 0),
	    "{\"pid\": 1234}\n");
}

Test(syncmsg, data_minus_one_with_message)
{
	static const char m[] = "command timed out";

	ASSERT_REC(fmt(MON_SYNC_REC_MAX_API, "data", -1, m, sizeof(m) - 1),
	    "{\"data\": -1, \"message\": \"command timed out\"}\n");
	ASSERT_REC(fmt(MON_SYNC_REC_MAX_LEGACY, "exit_code", -1, m,
	    sizeof(m) - 1),
	    "{\"exit_code\": -1, \"message\": \"command timed out\"}\n");
}

Test(syncmsg, extreme_values)
{
	ASSERT_REC(fmt(MON_SYNC_REC_MAX_API, "data", 0, NULL, 0),
	    "{\"data\": 0}\n");
	ASSERT_REC(fmt(MON_SYNC_REC_MAX_API, "data", INT64_MAX, NULL, 0),
	    "{\"data\": 9223372036854775807}\n");
	ASSERT_REC(fmt(MON_SYNC_REC_MAX_API, "data", INT64_MIN, NULL, 0),
	    "{\"data\": -9223372036854775808}\n");
}

/* spec 5.3: the member is present only with a non-empty message */
Test(syncmsg, msglen_zero_has_no_message_member)
{
	ASSERT_REC(fmt(MON_SYNC_REC_MAX_API, "data", -1, "ignored", 0),
	    "{\"data\": -1}\n");
}

/* spec 5.3's escaping, for every ASCII byte */
Test(syncmsg, escapes_every_ascii_byte)
{
	static const char *named[0x80] = {
		['\\'] = "\\\\", ['"'] = "\\\"", ['/'] = "\\/",
		['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t",
		['\b'] = "\\b", ['\f'] = "\\f",
	};
	static const char hex[] = "0123456789abcdef";
	char want[64], in;
	size_t n, wn;
	unsigned c;

	for (c = 0; c < 0x80; c++) {
		memcpy(want, "{\"data\": 1, \"message\": \"", 24);
		wn = 24;
		if (named[c] != NULL) {
			memcpy(want + wn, named[c], 2);
			wn += 2;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(want + wn, "\\u00", 4);
			want[wn + 4] = hex[c >> 4];
			want[wn + 5] = hex[c & 0xf];
			wn += 6;
		} else
			want[wn++] = (char)c;
		memcpy(want + wn, "\"}\n", 3);
		wn += 3;
		in = (char)c;
		n = fmt(MON_SYNC_REC_MAX_LEGACY, "data", 1, &in, 1);
		cr_assert_eq(n, wn, "byte 0x%02x", c);
		cr_assert_eq(memcmp(buf, want, wn), 0, "byte 0x%02x: %s", c,
		    buf);
	}
}

/* spec 5.3's runc example, with main's `/` escaping */
Test(syncmsg, runc_failure_example)
{
	static const char m[] = "time=\"2026-01-01T00:00:00Z\" level=error "
	    "msg=\"runc create failed: unable to start container process: "
	    "exec: \\\"/nonexistent\\\": stat /nonexistent: no such file or "
	    "directory\"\n";

	ASSERT_REC(fmt(MON_SYNC_REC_MAX_LEGACY, "pid", -1, m, sizeof(m) - 1),
	    "{\"pid\": -1, \"message\": \"time=\\\"2026-01-01T00:00:00Z\\\" "
	    "level=error msg=\\\"runc create failed: unable to start "
	    "container process: exec: \\\\\\\"\\/nonexistent\\\\\\\": stat "
	    "\\/nonexistent: no such file or directory\\\"\\n\"}\n");
}

/* Boundaries of each sequence length in Unicode table 3-7. */
Test(syncmsg, valid_utf8_copied_as_is)
{
	static const char m[] = "\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
	    "\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"
	    "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e";

	ASSERT_REC(fmt(MON_SYNC_REC_MAX_LEGACY, "data", -1, m, sizeof(m) - 1),
	    "{\"data\": -1, \"message\": \"\xc2\x80\xdf\xbf\xe0\xa0\x80"
	    "\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80"
	    "\xf4\x8f\xbf\xbfh\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e\"}\n");
}

/* security 47: each byte of an ill-formed sequence becomes U+FFFD */
Test(syncmsg, invalid_bytes_become_fffd)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "\xff", FFFD },
		{ "\x80", FFFD },			/* lone continuation */
		{ "\xc0\xaf", FFFD FFFD },		/* overlong '/' */
		{ "\xc1\xbf", FFFD FFFD },
		{ "\xe0\x80\xaf", FFFD FFFD FFFD },	/* overlong */
		{ "\xed\xa0\x80", FFFD FFFD FFFD },	/* surrogate */
		{ "\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD }, /* overlong */
		{ "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD }, /* > U+10FFFF */
		{ "\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD },
		{ "\xe2\x82", FFFD FFFD },		/* cut short */
		{ "\xe2\x82" "A", FFFD FFFD "A" },
		{ "a\xe2\x82\xac\xe2" "b", "a\xe2\x82\xac" FFFD "b" },
		{ "\xf0\x9f\x98", FFFD FFFD FFFD },
	};
	char want[128];
	size_t i, n, wn;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wn = strlen(cases[i].want);
		memcpy(want, "{\"data\": -1, \"message\": \"", 25);
		memcpy(want + 25, cases[i].want, wn);
		memcpy(want + 25 + wn, "\"}\n", 3);
		wn += 28;
		n = fmt(MON_SYNC_REC_MAX_LEGACY, "data", -1, cases[i].in,
		    strlen(cases[i].in));
		cr_assert_eq(n, wn, "case %zu: %s", i, buf);
		cr_assert_eq(memcmp(buf, want, wn), 0, "case %zu: %s", i, buf);
	}
}

/*
 * Fills m with BIG bytes of a pattern; want gets what the message decodes
 * to (invalid bytes as U+FFFD). Returns the length of want.
 */
static size_t
pattern(int kind, char *m, char *want)
{
	static const char *units[] = {
		"\"", "\x01", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e",
		"a\"\\\x1f/\xe2\x82\xac\n\xf0\x9d\x84\x9e\x7f\xc3\xa9",
	};
	size_t i = 0, w = 0, n;

	if (kind == 6) {
		for (i = 0; i < BIG; i++) {
			m[i] = (char)0xff;
			memcpy(want + w, FFFD, 3);
			w += 3;
		}
		return w;
	}
	n = strlen(units[kind]);
	while (i + n <= BIG) {
		memcpy(m + i, units[kind], n);
		memcpy(want + w, units[kind], n);
		i += n;
		w += n;
	}
	memset(m + i, 'z', BIG - i);
	memset(want + w, 'z', BIG - i);
	return w + BIG - i;
}

/* spec 5.5, spec 17 row 18, security 47 */
Test(syncmsg, long_messages_cut_at_a_boundary)
{
	static char m[BIG], want[3 * BIG], dec[BIG];
	static const size_t maxes[] = { MON_SYNC_REC_MAX_LEGACY,
	    MON_SYNC_REC_MAX_API };
	size_t i, n;
	long dlen;
	int kind;

	for (kind = 0; kind <= 6; kind++) {
		(void)pattern(kind, m, want);
		for (i = 0; i < 2; i++) {
			n = fmt(maxes[i], "data", -1, m, BIG);
			cr_assert_gt(n, maxes[i] - 6, "kind %d: cut too short",
			    kind);
			cr_assert(record_ok(buf, n, dec, &dlen), "kind %d: %s",
			    kind, buf);
			cr_assert_geq(dlen, 3);
			cr_assert_eq(memcmp(dec + dlen - 3, "...", 3), 0);
			cr_assert_eq(memcmp(dec, want, (size_t)dlen - 3), 0,
			    "kind %d: not a prefix", kind);
		}
	}
}

/* `{"data": -1, "message": "` is 25 bytes and `"}\n` 3. */
Test(syncmsg, exact_fit_is_not_cut)
{
	static char m[MON_SYNC_REC_MAX_LEGACY];
	size_t n;

	memset(m, 'a', sizeof(m));
	n = fmt(MON_SYNC_REC_MAX_LEGACY, "data", -1, m, 483);
	cr_assert_eq(n, MON_SYNC_REC_MAX_LEGACY);
	cr_assert_eq(memcmp(buf + n - 6, "aaa\"}\n", 6), 0);
	n = fmt(MON_SYNC_REC_MAX_LEGACY, "data", -1, m, 484);
	cr_assert_eq(n, MON_SYNC_REC_MAX_LEGACY);
	cr_assert_eq(memcmp(buf + n - 7, "a...\"}\n", 7), 0);
	cr_assert_eq(memcmp(buf + 25, m, 480), 0);
}

/* A cut must back off whole escapes: 6-byte units near the limit. */
Test(syncmsg, cut_never_splits_an_escape)
{
	static char m[600], dec[BIG];
	size_t len, n;
	long dlen;

	memset(m, 0x01, sizeof(m));
	for (len = 1; len <= sizeof(m); len++) {
		n = fmt(MON_SYNC_REC_MAX_LEGACY, "data", -1, m, len);
		cr_assert(record_ok(buf, n, dec, &dlen), "len %zu: %s", len,
		    buf);
		if (25 + 6 * len + 3 <= MON_SYNC_REC_MAX_LEGACY)
			cr_assert_eq(dlen, (long)len, "cut though it fits");
		else
			cr_assert_eq(memcmp(buf + n - 6, "...\"}\n", 6), 0);
	}
}

/* Every length of a mixed stream, both limits: always a valid record. */
Test(syncmsg, every_length_is_valid_json)
{
	static char m[BIG], dec[BIG];
	static const size_t maxes[] = { MON_SYNC_REC_MAX_LEGACY,
	    MON_SYNC_REC_MAX_API };
	uint32_t x = 12345;
	size_t len, i, n;
	long dlen;

	for (len = 0; len < sizeof(m); len++) {
		x = x * 1103515245 + 12345;
		m[len] = (char)(x >> 16);
	}
	for (len = 0; len <= 4200; len += len < 700 ? 1 : 37) {
		for (i = 0; i < 2; i++) {
			n = fmt(maxes[i], "pid", -1, m, len);
			cr_assert(record_ok(buf, n, dec, &dlen),
			    "len %zu max %zu: %s", len, maxes[i], buf);
			cr_assert_eq(dlen < 0, len == 0);
		}
	}
}

/* A max too small for the message member drops it, never the JSON. */
Test(syncmsg, tiny_max_drops_message_or_record)
{
	static const char m[] = "some runtime error";

	cr_assert_eq(fmt(12, "data", -1, m, sizeof(m) - 1), 0);
	cr_assert_str_eq(buf, "");
	ASSERT_REC(fmt(13, "data", -1, m, sizeof(m) - 1), "{\"data\": -1}\n");
	ASSERT_REC(fmt(30, "data", -1, m, sizeof(m) - 1), "{\"data\": -1}\n");
	ASSERT_REC(fmt(31, "data", -1, m, sizeof(m) - 1),
	    "{\"data\": -1, \"message\": \"...\"}\n");
	ASSERT_REC(fmt(32, "data", -1, "ab", 2),
	    "{\"data\": -1, \"message\": \"ab\"}\n");
	cr_assert_eq(fmt(0, "data", -1, m, sizeof(m) - 1), 0);
}
