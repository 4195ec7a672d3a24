/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/journald_fuzz.c: the journald line splitter and entry encoder
 * (spec 9.7) on any output. The first byte picks the stream, the options
 * and the chunk sizes; the rest is container output, cut into chunks.
 * Every entry must be a well-formed native-protocol datagram with spec
 * 9.7's fields, no MESSAGE longer than LOG_JD_LINE_MAX, and the MESSAGEs
 * must rejoin to the output byte for byte.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/chan_msg.h"
#include "logger/journald.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

#define CID "0123456789abcdef0123"

struct jd_fuzz {
	struct log_jd_meta meta;
	unsigned stream;
	char *out;
	size_t cap;
	char *rebuilt;
	size_t rlen;
	bool last_partial;
};

/* One field at p[*pos]: its name and value, binary or text. */
static void
next_field(const char *p, size_t len, size_t *pos, const char **name,
    size_t *nlen, const char **val, size_t *vlen)
{
	const char *s = p + *pos, *end = p + len;
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	const char *eq = memchr(s, '=', (size_t)(end - s));

	CHECK(nl != NULL);
	*name = s;
	if (eq != NULL && eq < nl) {
		*nlen = (size_t)(eq - s);
		*val = eq + 1;
		*vlen = (size_t)(nl - eq - 1);
		*pos = (size_t)(nl + 1 - p);
	} else {
		uint64_t v = 0;
		*nlen = (size_t)(nl - s);
		CHECK((size_t)(end - nl) >= 1 + 8 + 1);
		for (int i = 7; i >= 0; i--)
			v = v << 8 | (unsigned char)nl[1 + i];
		CHECK(v <= (uint64_t)(end - nl) - 10);
		*val = nl + 9;
		*vlen = (size_t)v;
		CHECK((*val)[*vlen] == '\n');
		*pos = (size_t)(*val + *vlen + 1 - p);
	}
	CHECK(*nlen > 0);
	for (size_t i = 0; i < *nlen; i++)
		CHECK(((*name)[i] >= 'A' && (*name)[i] <= 'Z') ||
		    ((*name)[i] >= '0' && (*name)[i] <= '9') ||
		    (*name)[i] == '_');
}

static bool
is(const char *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && memcmp(name, want, nlen) == 0;
}

static void
emit_cb(void *arg, const char *msg, size_t len, bool partial)
{
	struct jd_fuzz *f = arg;
	size_t n = log_jd_encode(&f->meta, f->stream, msg, len, partial,
	    f->out, f->cap), pos = 0;
	bool saw_msg = false, saw_partial = false, saw_prio = false;

	CHECK(len > 0 && len <= LOG_JD_LINE_MAX);
	/* an LF only at the end, and then the entry is complete */
	CHECK(memchr(msg, '\n', len - 1) == NULL);
	CHECK(partial == (msg[len - 1] != '\n'));
	CHECK(n > 0 && n <= f->cap);
	while (pos < n) {
		const char *name, *val;
		size_t nlen, vlen;
		next_field(f->out, n, &pos, &name, &nlen, &val, &vlen);
		if (is(name, nlen, "MESSAGE")) {
			CHECK(!saw_msg);
			saw_msg = true;
			CHECK(vlen == len && memcmp(val, msg, len) == 0);
		} else if (is(name, nlen, "PRIORITY")) {
			saw_prio = true;
			CHECK(vlen == 1 && val[0] ==
			    (f->stream == CHAN_STREAM_STDERR ? '3' : '6'));
		} else if (is(name, nlen, "CONTAINER_PARTIAL_MESSAGE")) {
			saw_partial = true;
			CHECK(vlen == 4 && memcmp(val, "true", 4) == 0);
		} else if (is(name, nlen, "CONTAINER_ID")) {
			CHECK(vlen == 12 && memcmp(val, CID, 12) == 0);
		}
	}
	CHECK(pos == n && saw_msg && saw_prio);
	CHECK(saw_partial == (partial && !f->meta.no_partial_flag));
	memcpy(f->rebuilt + f->rlen, msg, len);
	f->rlen += len;
	f->last_partial = partial;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *labels[] = { "L1=v", "ML=a\nb" };
	static char linebuf[LOG_JD_LINE_MAX];
	struct log_jd_line ln = { .buf = linebuf };
	struct jd_fuzz f = { 0 };
	size_t off, step;
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	f.stream = sel & 1 ? CHAN_STREAM_STDERR : CHAN_STREAM_STDOUT;
	f.meta = (struct log_jd_meta){ .cid = CID,
		.tag = sel & 2 ? "tag" : NULL,
		.name = sel & 4 ? "na\nme" : NULL,
		.labels = labels, .n_labels = sel & 8 ? 2 : 0,
		.no_partial_flag = (sel & 16) != 0 };
	f.cap = log_jd_entry_max(&f.meta);
	f.out = malloc(f.cap);
	f.rebuilt = malloc(size + 1);
	CHECK(f.out != NULL && f.rebuilt != NULL);
	/* chunk sizes: 1, 7, 8191, 8192 or 65536, and varying by offset */
	for (off = 0; off < size; off += step) {
		static const size_t steps[] = { 1, 7, 8191, 8192, 65536 };
		step = steps[(sel >> 5) % 5] + (off % 3);
		if (step > size - off)
			step = size - off;
		log_jd_split(&ln, (const char *)data + off, step, emit_cb, &f);
		CHECK(ln.len < LOG_JD_LINE_MAX);
	}
	log_jd_split_end(&ln, emit_cb, &f);
	CHECK(ln.len == 0);
	CHECK(f.rlen == size);
	CHECK(size == 0 || memcmp(f.rebuilt, data, size) == 0);
	free(f.out);
	free(f.rebuilt);
	return 0;
}
