/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/k8s_fuzz.c: the k8s-file formatter (spec 9.2, 9.3) on any
 * chunk. The first byte picks the stream, the limit, the file's starting
 * size and the buffer's capacity; the rest is the chunk. The records must
 * have spec 9.2's shape and reproduce the chunk byte for byte.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/chan_msg.h"
#include "logger/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

/* What the records say so far, against the chunk. */
struct k8s_fuzz {
	struct log_k8s_chunk c;
	struct log_k8s_limit lim;
	char *rebuilt;		/* contents joined, F ones with their LF */
	size_t rlen;
	bool saw_p;		/* a P record ends the chunk */
	int64_t file;		/* bytes in the simulated file */
	size_t records;		/* records in the simulated file */
};

/* Size of the record at c->off, by spec 9.2's accounting. */
static size_t
next_size(const struct log_k8s_chunk *c)
{
	const char *lf = memchr(c->data + c->off, '\n', c->len - c->off);

	return LOG_K8S_OVERHEAD + (lf != NULL ? (size_t)(lf -
	    (c->data + c->off)) : c->len - c->off);
}

/* spec 9.2: "YYYY-MM-DDThh:mm:ss.nnnnnnnnn+hh:mm" */
static void
check_ts(const char *ts)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddddddsdd:dd";
	size_t i;

	for (i = 0; i < LOG_K8S_TS_LEN; i++) {
		if (shape[i] == 'd')
			CHECK(ts[i] >= '0' && ts[i] <= '9');
		else if (shape[i] == 's')
			CHECK(ts[i] == '+' || ts[i] == '-');
		else
			CHECK(ts[i] == shape[i]);
	}
	CHECK(ts[LOG_K8S_TS_LEN] == '\0');
}

/* One record at out[*pos]: its shape, its content, its accounting. */
static void
check_record(struct k8s_fuzz *f, const char *out, size_t outlen, size_t *pos)
{
	const char *r = out + *pos, *lf;
	const char *stream = f->c.stream == CHAN_STREAM_STDERR ? " stderr " :
	    " stdout ";
	size_t len;

	CHECK(!f->saw_p);
	CHECK(outlen - *pos >= LOG_K8S_OVERHEAD);
	CHECK(memcmp(r, f->c.ts, LOG_K8S_TS_LEN) == 0);
	CHECK(memcmp(r + LOG_K8S_TS_LEN, stream, 8) == 0);
	CHECK(r[LOG_K8S_TS_LEN + 8] == 'F' || r[LOG_K8S_TS_LEN + 8] == 'P');
	CHECK(r[LOG_K8S_TS_LEN + 9] == ' ');
	lf = memchr(r + LOG_K8S_OVERHEAD - 1, '\n',
	    outlen - *pos - (LOG_K8S_OVERHEAD - 1));
	CHECK(lf != NULL);
	len = (size_t)(lf - r) - (LOG_K8S_OVERHEAD - 1);
	f->saw_p = r[LOG_K8S_TS_LEN + 8] == 'P';
	CHECK(f->rlen + len + !f->saw_p <= f->c.len);
	memcpy(f->rebuilt + f->rlen, r + LOG_K8S_OVERHEAD - 1, len);
	f->rlen += len;
	if (!f->saw_p)
		f->rebuilt[f->rlen++] = '\n';
	/* spec 9.3: a file holds more than max only with a single record */
	f->file += (int64_t)(LOG_K8S_OVERHEAD + len);
	f->records++;
	if (f->lim.max > 0 && f->records > 1)
		CHECK(f->file <= f->lim.max);
	*pos += LOG_K8S_OVERHEAD + len;
}

static void
check_out(struct k8s_fuzz *f, const char *out, size_t outlen)
{
	size_t pos = 0;

	while (pos < outlen)
		check_record(f, out, outlen, &pos);
	CHECK(f->lim.counted == f->file);
}

/* Formats the chunk to the end, writing out and reopening as asked. */
static void
run(struct k8s_fuzz *f, char *out, size_t cap)
{
	enum log_k8s_stop st, last = LOG_K8S_DONE;
	size_t outlen, before;

	for (;;) {
		outlen = 0;
		before = f->c.off;
		st = log_k8s_format(&f->c, &f->lim, out, cap, &outlen);
		CHECK(outlen <= cap);
		check_out(f, out, outlen);
		if (st == LOG_K8S_DONE)
			break;
		/* progress: never two stops in a row without a record */
		CHECK(f->c.off > before || last == LOG_K8S_DONE);
		CHECK(f->c.off < f->c.len);
		if (st == LOG_K8S_FULL)
			CHECK(next_size(&f->c) > cap - outlen);
		else {
			CHECK(st == LOG_K8S_LIMIT);
			CHECK(f->lim.max > 0 && f->lim.counted > 0);
			CHECK(f->lim.counted + (int64_t)next_size(&f->c) >
			    f->lim.max);
			f->lim.counted = f->file = 0;
			f->records = 0;
		}
		last = f->c.off > before ? LOG_K8S_DONE : st;
	}
	CHECK(f->c.off == f->c.len);
	CHECK(f->rlen == f->c.len);
	CHECK(memcmp(f->rebuilt, f->c.data, f->c.len) == 0);
}

/* Some timestamp from the input: any second, any fraction. */
static void
make_ts(char ts[LOG_K8S_TS_LEN + 1], const uint8_t *data, size_t size)
{
	struct timespec now = { 0, 0 };
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ULL;
	now.tv_sec = (time_t)(h >> 20) - (time_t)(1ULL << 43);
	now.tv_nsec = (long)(h % 1000000000);
	CHECK(log_k8s_timestamp(ts, &now) == LOG_K8S_TS_LEN);
	check_ts(ts);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t maxes[] = { 0, 1, 10, 46, 47, 56, 120, 1000 };
	static const int64_t starts[] = { 0, 1, 46, 1 << 20 };
	static const size_t slack[] = { 0, 1, 47, 4096 };
	char ts[LOG_K8S_TS_LEN + 1];
	struct k8s_fuzz f;
	size_t cap;
	char *out;

	if (size == 0)
		return 0;
	make_ts(ts, data, size);
	memset(&f, 0, sizeof(f));
	f.c.data = (const char *)data + 1;
	f.c.len = size - 1;
	f.c.stream = data[0] & 1 ? CHAN_STREAM_STDERR : CHAN_STREAM_STDOUT;
	f.c.ts = ts;
	f.lim.max = maxes[data[0] >> 1 & 7];
	f.lim.counted = f.file = starts[data[0] >> 4 & 3];
	f.records = f.file > 0;
	cap = LOG_K8S_OVERHEAD + f.c.len + slack[data[0] >> 6];
	/* exact sizes, so that ASan sees any write past them */
	out = malloc(cap);
	f.rebuilt = malloc(f.c.len + 1);
	CHECK(out != NULL && f.rebuilt != NULL);
	run(&f, out, cap);
	free(out);
	free(f.rebuilt);
	return 0;
}
