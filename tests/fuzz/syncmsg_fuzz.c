/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/syncmsg_fuzz.c: sync pipe records (spec 5.3, 5.5) with any
 * bytes as the runtime's message. For both maxima the record must fit,
 * be valid JSON with no raw control byte, and decode to the message with
 * invalid UTF-8 as U+FFFD, or to a prefix of it cut at a unit plus "...".
 */

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/syncmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

/* `, "message": "` and `"}\n` */
#define MEMBER_LEN 14
#define MSG_END_LEN 3

/* One character of the message: what it decodes to, what it costs. */
struct unit {
	unsigned char raw[4];
	size_t rawlen;	/* decoded bytes */
	size_t esclen;	/* bytes in the record */
	size_t used;	/* input bytes */
};

/* Well-formed UTF-8 by code point arithmetic; 0 if ill-formed. */
static size_t
utf8_len(const uint8_t *s, size_t n)
{
	size_t k, len;
	uint32_t cp;

	len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (len == 0 || s[0] > 0xf7 || n < len)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The oracle: spec 5.3's escaping, security 47's U+FFFD. */
static void
next_unit(struct unit *u, const uint8_t *s, size_t n)
{
	size_t len;

	if (s[0] < 0x80) {
		u->raw[0] = s[0];
		u->rawlen = u->used = 1;
		if (strchr("\\\"/\n\r\t\b\f", s[0]) != NULL && s[0] != 0)
			u->esclen = 2;
		else if (s[0] < 0x20 || s[0] == 0x7f)
			u->esclen = 6;
		else
			u->esclen = 1;
	} else if ((len = utf8_len(s, n)) > 0) {
		memcpy(u->raw, s, len);
		u->rawlen = u->esclen = u->used = len;
	} else {
		memcpy(u->raw, "\xef\xbf\xbd", 3);
		u->rawlen = u->esclen = 3;
		u->used = 1;
	}
}

struct cur {
	const uint8_t *p;
	const uint8_t *end;
};

static bool
lit(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A JSON string we wrote: no raw byte < 0x20 or 0x7f, our escapes only. */
static void
string(struct cur *c, uint8_t *dec, size_t *n)
{
	static const char named[] = "\"\\/bfnrt", value[] = "\"\\/\b\f\n\r\t";
	const char *hit;

	*n = 0;
	CHECK(lit(c, "\""));
	while (c->p < c->end && *c->p != '"') {
		CHECK(*c->p >= 0x20 && *c->p != 0x7f);
		if (*c->p++ != '\\') {
			dec[(*n)++] = c->p[-1];
			continue;
		}
		CHECK(c->p < c->end);
		if (*c->p != 0 && (hit = strchr(named, *c->p)) != NULL) {
			dec[(*n)++] = (uint8_t)value[hit - named];
			c->p++;
			continue;
		}
		CHECK(c->end - c->p >= 5 && memcmp(c->p, "u00", 3) == 0);
		CHECK(hexval(c->p[3]) >= 0 && hexval(c->p[3]) <= 7);
		CHECK(hexval(c->p[4]) >= 0);
		dec[(*n)++] = (uint8_t)(hexval(c->p[3]) << 4 | hexval(c->p[4]));
		c->p += 5;
	}
	CHECK(lit(c, "\""));
}

/* Every byte >= 0x80 in the record is part of well-formed UTF-8. */
static void
check_utf8(const uint8_t *r, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		n = r[i] < 0x80 ? 1 : utf8_len(r + i, len - i);
		CHECK(n > 0);
		i += n;
	}
}

/*
 * spec 5.3 exactly: `{"<key>": <value>`, the member or not, `}` LF, and
 * nothing after. Returns whether there is a message; *head is the length
 * up to the value.
 */
static bool
check_record(const uint8_t *r, size_t len, const char *key, int64_t value,
    uint8_t *dec, size_t *declen, size_t *head)
{
	struct cur c = { r, r + len };
	char num[32];
	bool has;

	check_utf8(r, len);
	CHECK(snprintf(num, sizeof(num), "%" PRId64, value) > 0);
	CHECK(lit(&c, "{\"") && lit(&c, key) && lit(&c, "\": ") &&
	    lit(&c, num));
	*head = (size_t)(c.p - r);
	has = lit(&c, ", \"message\": ");
	if (has)
		string(&c, dec, declen);
	CHECK(lit(&c, "}\n") && c.p == c.end);
	return has;
}

/*
 * The message decodes to the oracle's units; when the whole would not fit
 * it is the longest run of whole units that leaves room for "..." (5.5).
 */
static void
check_message(const uint8_t *msg, size_t msglen, size_t max, size_t head,
    const uint8_t *dec, size_t declen)
{
	struct unit u;
	size_t i, d = 0, esc = 0, full = 0, room;
	bool cut;

	for (i = 0; i < msglen; i += u.used) {
		next_unit(&u, msg + i, msglen - i);
		full += u.esclen;
	}
	room = max - head - MEMBER_LEN - MSG_END_LEN;
	cut = full > room;
	if (cut) {
		CHECK(declen >= 3 && memcmp(dec + declen - 3, "...", 3) == 0);
		declen -= 3;
	}
	for (i = 0; d < declen; i += u.used) {
		CHECK(i < msglen);
		next_unit(&u, msg + i, msglen - i);
		CHECK(u.rawlen <= declen - d);
		CHECK(memcmp(dec + d, u.raw, u.rawlen) == 0);
		d += u.rawlen;
		esc += u.esclen;
	}
	if (!cut) {
		CHECK(i == msglen);
		return;
	}
	CHECK(i < msglen && esc + 3 <= room);
	next_unit(&u, msg + i, msglen - i);
	CHECK(esc + u.esclen + 3 > room);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *keys[] = { "pid", "data", "exit_code" };
	static const size_t maxes[] = { MON_SYNC_REC_MAX_LEGACY,
	    MON_SYNC_REC_MAX_API };
	static uint8_t dec[MON_SYNC_REC_MAX_API];
	const char *key = keys[size % 3];
	int64_t value = -1;
	size_t i, n, declen = 0, head;
	char *buf;
	bool has;

	if (size >= sizeof(value))
		memcpy(&value, data, sizeof(value));
	for (i = 0; i < 2; i++) {
		/* exactly max + 1 bytes, so that ASan sees any write past */
		buf = malloc(maxes[i] + 1);
		CHECK(buf != NULL);
		n = mon_sync_format(buf, maxes[i], key, value,
		    (const char *)data, size);
		CHECK(n <= maxes[i] && buf[n] == '\0');
		has = check_record((const uint8_t *)buf, n, key, value, dec,
		    &declen, &head);
		CHECK(has == (size > 0));
		if (has)
			check_message(data, size, maxes[i], head, dec, declen);
		free(buf);
	}
	return 0;
}
