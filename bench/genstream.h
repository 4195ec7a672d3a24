/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/genstream.h: the deterministic stream of bench/gen, shared by gen
 * (which writes it) and bench/attach (which checks what a client received
 * against it, at any offset, so a stream with records dropped is still
 * checked byte for byte).
 *
 * A line of line_bytes bytes, the LF included: a 10-digit line number, a
 * space, printable filler that depends on the line number, LF.
 */
#ifndef BENCH_GENSTREAM_H
#define BENCH_GENSTREAM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FILL_BYTES (1u << 20)

struct stream {
	int fd;
	uint64_t left;	/* bytes still to produce */
	uint64_t lineno;
	size_t pos;	/* next byte of line[] to hand out */
	char *line;
};

static char *fill;
static size_t line_bytes;

static inline void
next_line(struct stream *s)
{
	uint64_t v = s->lineno++;
	size_t body = line_bytes - 1, off;

	for (int i = 9; i >= 0; i--) {
		s->line[i] = (char)('0' + v % 10);
		v /= 10;
	}
	if (body > 10)
		s->line[10] = ' ';
	off = (size_t)((s->lineno * 7919u) % (FILL_BYTES - 1));
	for (size_t i = 11; i < body;) {
		size_t n = body - i;
		if (n > FILL_BYTES - off)
			n = FILL_BYTES - off;
		memcpy(s->line + i, fill + off, n);
		i += n;
		off = 0;
	}
	s->line[body] = '\n';
	s->pos = 0;
}

/* The next n bytes of the stream into buf. */
static inline void
produce(struct stream *s, char *buf, size_t n)
{
	while (n > 0) {
		size_t k;
		if (s->pos == line_bytes)
			next_line(s);
		k = line_bytes - s->pos;
		if (k > n)
			k = n;
		memcpy(buf, s->line + s->pos, k);
		s->pos += k;
		buf += k;
		n -= k;
	}
}

/* The filler every line takes its bytes from; 0 on success. */
static inline int
fill_init(void)
{
	uint32_t x = 2463534242u;

	fill = malloc(FILL_BYTES);
	if (fill == NULL)
		return -1;
	for (size_t i = 0; i < FILL_BYTES; i++) {
		static const char set[] = "abcdefghijklmnopqrstuvwxyz"
					  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		fill[i] = set[x % (sizeof(set) - 1)];
	}
	return 0;
}

/* Position s so that its next byte is the stream's byte at offset off. */
static inline void
stream_seek(struct stream *s, uint64_t off)
{
	s->lineno = off / line_bytes;
	next_line(s);
	s->pos = (size_t)(off % line_bytes);
}

/*
 * Compare the next n bytes of the stream with p, consuming them: the
 * number of leading bytes that match (n when all do).
 */
static inline size_t
stream_match(struct stream *s, const char *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		size_t k;
		if (s->pos == line_bytes)
			next_line(s);
		k = line_bytes - s->pos;
		if (k > n - done)
			k = n - done;
		if (memcmp(p + done, s->line + s->pos, k) != 0) {
			while (p[done] == s->line[s->pos]) {
				done++;
				s->pos++;
			}
			return done;
		}
		s->pos += k;
		done += k;
	}
	return n;
}

#endif
