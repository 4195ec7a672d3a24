/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/syncmsg.c: the sync and attach pipe records (spec 5.3, 5.5). The
 * message is the runtime's stderr: escaped into valid JSON, never
 * interpreted, never allowed to make a record longer than max.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "monitor/syncmsg.h"

/* "-9223372036854775808" */
#define MON_SYNC_INT_MAX_LEN 20
/* The longest escape unit: "\u00xx" (spec 5.3). */
#define MON_SYNC_UNIT_MAX 6

#define MON_SYNC_HEAD_OPEN "{\""
#define MON_SYNC_HEAD_SEP "\": "
#define MON_SYNC_END "}\n"
#define MON_SYNC_MEMBER ", \"message\": \""
#define MON_SYNC_MSG_END "\"}\n"
#define MON_SYNC_CUT "..."

/* The length of a string literal or array without its NUL. */
#define MON_SYNC_LEN(s) (sizeof(s) - 1)
/* Copies a string literal without its NUL; evaluates to its length. */
#define MON_SYNC_PUT(p, s) (memcpy((p), (s), MON_SYNC_LEN(s)), MON_SYNC_LEN(s))

/* The record's bytes beside the key and the value: `{"": }` LF. */
#define MON_SYNC_HEAD_LEN (MON_SYNC_LEN(MON_SYNC_HEAD_OPEN) + \
	MON_SYNC_LEN(MON_SYNC_HEAD_SEP) + MON_SYNC_LEN(MON_SYNC_END))
/* The least a message member takes: `, "message": "..."}` LF. */
#define MON_SYNC_MEMBER_MIN (MON_SYNC_LEN(MON_SYNC_MEMBER) + \
	MON_SYNC_LEN(MON_SYNC_CUT) + MON_SYNC_LEN(MON_SYNC_MSG_END))

/* One character of the message as it appears in the record. */
struct mon_sync_unit {
	char bytes[MON_SYNC_UNIT_MAX];
	size_t len;	/* bytes of output */
	size_t used;	/* bytes of input consumed */
};

/* Writes v in decimal; returns its length. */
static size_t
mon_sync_int(char out[MON_SYNC_INT_MAX_LEN], int64_t v)
{
	char tmp[MON_SYNC_INT_MAX_LEN];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, len = 0;

	do {
		tmp[n++] = '0' + u % 10;
		u /= 10;
	} while (u > 0);
	if (v < 0)
		out[len++] = '-';
	while (n > 0)
		out[len++] = tmp[--n];
	return len;
}

/*
 * Length of the well-formed UTF-8 sequence at p (Unicode 3.9, table 3-7:
 * no overlongs, no surrogates, nothing above U+10FFFF), 0 if there is none.
 */
static size_t
mon_sync_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;	/* overlong */
	else if (p[0] == 0xed)
		hi = 0x9f;	/* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;	/* overlong */
	else if (p[0] == 0xf4)
		hi = 0x8f;	/* above U+10FFFF */
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* spec 5.3: the escapes of an ASCII byte, as upstream writes them. */
static void
mon_sync_ascii(struct mon_sync_unit *u, unsigned char ch)
{
	static const char hex[] = "0123456789abcdef";
	static const char plain[] = "\\\"/\n\r\t\b\f";
	static const char named[] = "\\\"/nrtbf";
	const char *hit;

	hit = memchr(plain, ch, MON_SYNC_LEN(plain));
	if (hit != NULL) {
		u->bytes[0] = '\\';
		u->bytes[1] = named[hit - plain];
		u->len = 2;
	} else if (ch < 0x20 || ch == 0x7f) {
		u->len = MON_SYNC_PUT(u->bytes, "\\u00");
		u->bytes[u->len++] = hex[ch >> 4];
		u->bytes[u->len++] = hex[ch & 0xf];
	} else {
		u->bytes[0] = (char)ch;
		u->len = 1;
	}
}

/*
 * The next character of the message. Well-formed UTF-8 is copied; each
 * byte of an ill-formed sequence becomes U+FFFD (security 47), as Go's
 * decoder would read it.
 */
static void
mon_sync_unit(struct mon_sync_unit *u, const unsigned char *p, size_t n)
{
	size_t len;

	if (p[0] < 0x80) {
		mon_sync_ascii(u, p[0]);
		u->used = 1;
	} else if ((len = mon_sync_utf8_len(p, n)) > 0) {
		memcpy(u->bytes, p, len);
		u->len = len;
		u->used = len;
	} else {
		u->len = MON_SYNC_PUT(u->bytes, "\xef\xbf\xbd");
		u->used = 1;
	}
}

/*
 * Escapes the message into out[0..room), room >= 3. A message too long is
 * cut after the last whole unit that leaves room for "..." (spec 5.5), so
 * no escape or UTF-8 sequence is ever split.
 */
static size_t
mon_sync_escape(char *out, size_t room, const unsigned char *msg,
    size_t msglen)
{
	struct mon_sync_unit u;
	size_t i = 0, len = 0, cut = 0;

	while (i < msglen) {
		mon_sync_unit(&u, msg + i, msglen - i);
		if (len + MON_SYNC_LEN(MON_SYNC_CUT) <= room)
			cut = len;
		if (u.len > room - len)
			return cut + MON_SYNC_PUT(out + cut, MON_SYNC_CUT);
		memcpy(out + len, u.bytes, u.len);
		len += u.len;
		i += u.used;
	}
	return len;
}

/* `{"<key>": <value>`; the caller has checked that it fits. */
static size_t
mon_sync_head(char *buf, const char *key, size_t klen, const char *num,
    size_t nlen)
{
	char *p = buf;

	p += MON_SYNC_PUT(p, MON_SYNC_HEAD_OPEN);
	memcpy(p, key, klen);
	p += klen;
	p += MON_SYNC_PUT(p, MON_SYNC_HEAD_SEP);
	memcpy(p, num, nlen);
	p += nlen;
	return (size_t)(p - buf);
}

/*
 * spec 5.3 shapes, exactly with their spaces. The key is one of spec 5.3's
 * names and is copied as is. If not even the record without a message fits
 * in max, nothing is written (returns 0); if the message member cannot hold
 * at least "...", the record goes without it.
 */
size_t
mon_sync_format(char *buf, size_t max, const char *key, int64_t value,
    const char *msg, size_t msglen)
{
	char num[MON_SYNC_INT_MAX_LEN];
	size_t klen, nlen, len, room;

	klen = strlen(key);
	nlen = mon_sync_int(num, value);
	if (klen > max || max - klen < MON_SYNC_HEAD_LEN + nlen) {
		buf[0] = '\0';
		return 0;
	}
	len = mon_sync_head(buf, key, klen, num, nlen);
	if (msglen > 0 && max - len >= MON_SYNC_MEMBER_MIN) {
		len += MON_SYNC_PUT(buf + len, MON_SYNC_MEMBER);
		room = max - len - MON_SYNC_LEN(MON_SYNC_MSG_END);
		len += mon_sync_escape(buf + len, room,
		    (const unsigned char *)msg, msglen);
		len += MON_SYNC_PUT(buf + len, MON_SYNC_MSG_END);
	} else
		len += MON_SYNC_PUT(buf + len, MON_SYNC_END);
	buf[len] = '\0';
	return len;
}
