/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/helpers/numlines.c: numbered lines for the respawn
 * proof (test_respawn.py, security 36), and the check of the k8s-file log
 * they became. One file, so the checker regenerates exactly what the
 * generator wrote. Static: the generator runs inside the busybox bundle.
 *
 *     numlines gen LINES LINE_BYTES WRITE_BYTES
 *     numlines check LOG LINES LINE_BYTES
 *
 * gen writes LINES lines of LINE_BYTES bytes each, the LF included, to
 * stdout: a 12-digit line number, a space, filler that depends on the line
 * number, LF; each write(2) is WRITE_BYTES long, so lines cross writes.
 *
 * check reads the log (every record checked: format, stream stdout,
 * timestamps never going back) and maps each record's content onto the
 * generated stream: a record holds part of one line, `F` exactly up to its
 * LF. The stream must come back in order; the only thing allowed is a gap,
 * bytes missing between two records (a dead logger's read buffer). After
 * a gap the position is found again from the next record that is a whole
 * line (it carries its number), and every record in between must fit
 * there. Prints one line
 *     records R gaps G lost T max M tail E
 * and then one `gap OFFSET BYTES` line per gap; exits 1 with the reason on
 * stderr at the first record that is malformed, torn, merged, out of
 * order, or fits nowhere.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TS_LEN 35
#define HDR_LEN (TS_LEN + 1 + 6 + 1 + 1 + 1) /* "<ts> stdout F " */
#define NUM_LEN 12
#define PAT_LEN 61 /* prime: the filler's phase changes every line */
#define MAX_GAPS 100000

static const char pat[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789";
static char fill[2 * PAT_LEN + 4096];
static size_t line_bytes;

static void
die(const char *what)
{
	(void)fprintf(stderr, "numlines: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
fill_init(void)
{
	for (size_t i = 0; i < sizeof(fill); i++)
		fill[i] = pat[i % PAT_LEN];
}

/* Line k, LF included, into out[line_bytes]. */
static void
make_line(uint64_t k, char *out)
{
	uint64_t v = k;

	for (int i = NUM_LEN - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
	out[NUM_LEN] = ' ';
	memcpy(out + NUM_LEN + 1, fill + (k * 7) % PAT_LEN,
	    line_bytes - NUM_LEN - 2);
	out[line_bytes - 1] = '\n';
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += w;
		n -= (size_t)w;
	}
}

static int
gen(uint64_t lines, size_t wsize)
{
	char *buf = malloc(wsize), *line = malloc(line_bytes);
	size_t used = 0;

	if (buf == NULL || line == NULL)
		die("malloc");
	for (uint64_t k = 0; k < lines; k++) {
		size_t off = 0;
		make_line(k, line);
		while (off < line_bytes) {
			size_t n = line_bytes - off;
			if (n > wsize - used)
				n = wsize - used;
			memcpy(buf + used, line + off, n);
			used += n;
			off += n;
			if (used == wsize) {
				write_all(1, buf, used);
				used = 0;
			}
		}
	}
	write_all(1, buf, used);
	return 0;
}

/* One parsed record. */
struct rec {
	const char *ts;
	const char *content;
	size_t len;
	int full; /* tag F */
	uint64_t no; /* record number, from 1 */
};

static const char *data, *end, *cur;
static uint64_t nrec;

static void
bad(const struct rec *r, const char *why)
{
	(void)fprintf(stderr, "numlines: record %llu: %s: %.*s\n",
	    (unsigned long long)r->no, why,
	    (int)(r->len + HDR_LEN > 200 ? 200 : r->len + HDR_LEN), r->ts);
	exit(1);
}

/* "dddd-dd-ddTdd:dd:dd.ddddddddd+dd:dd" */
static int
ts_ok(const char *p)
{
	static const char tpl[] = "dddd-dd-ddTdd:dd:dd.ddddddddd+dd:dd";

	for (size_t i = 0; i < TS_LEN; i++) {
		if (tpl[i] == 'd') {
			if (p[i] < '0' || p[i] > '9')
				return 0;
		} else if (tpl[i] == '+') {
			if (p[i] != '+' && p[i] != '-')
				return 0;
		} else if (p[i] != tpl[i]) {
			return 0;
		}
	}
	return 1;
}

/* The record at p (not past end); returns the next one's start. */
static const char *
parse(const char *p, struct rec *r)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	size_t len;

	r->ts = p;
	r->no = ++nrec;
	r->len = 0;
	if (lf == NULL) {
		r->len = (size_t)(end - p) > HDR_LEN ? (size_t)(end - p) -
		    HDR_LEN : 0;
		bad(r, "the log ends in a torn record (no LF)");
	}
	len = (size_t)(lf - p);
	if (len < HDR_LEN || !ts_ok(p) || p[TS_LEN] != ' ' ||
	    memcmp(p + TS_LEN + 1, "stdout ", 7) != 0 ||
	    (p[TS_LEN + 8] != 'F' && p[TS_LEN + 8] != 'P') ||
	    p[TS_LEN + 9] != ' ') {
		r->len = len > HDR_LEN ? len - HDR_LEN : 0;
		bad(r, "not a k8s-file record of stdout");
	}
	r->content = p + HDR_LEN;
	r->len = len - HDR_LEN;
	r->full = p[TS_LEN + 8] == 'F';
	return lf + 1;
}

/* Whether r holds the generated stream at offset o. */
static int
fits(const struct rec *r, uint64_t o, uint64_t total)
{
	static char line[1 << 16];
	static uint64_t have = UINT64_MAX;
	uint64_t k = o / line_bytes;
	size_t col = (size_t)(o % line_bytes);

	if (o >= total || col + r->len > line_bytes - 1)
		return 0;
	if (r->full && col + r->len != line_bytes - 1)
		return 0;
	if (k != have) {
		make_line(k, line);
		have = k;
	}
	return memcmp(line + col, r->content, r->len) == 0;
}

/* Bytes of the stream a record stands for. */
static uint64_t
span(const struct rec *r)
{
	return r->len + (r->full ? 1 : 0);
}

static int
check(const char *path, uint64_t lines)
{
	static struct rec ahead[64];
	static uint64_t gap_at[MAX_GAPS], gap_len[MAX_GAPS];
	uint64_t total = lines * line_bytes, o = 0, lost = 0, max = 0;
	size_t ngaps = 0;
	const char *last_ts = NULL;
	struct stat sb;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0)
		die(path);
	if (sb.st_size == 0) {
		data = end = cur = "";
	} else {
		data = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
		    fd, 0);
		if (data == MAP_FAILED)
			die("mmap");
		(void)madvise((void *)data, (size_t)sb.st_size,
		    MADV_SEQUENTIAL);
		end = data + sb.st_size;
	}
	cur = data;
	while (cur < end) {
		struct rec r;
		size_t n = 0;
		uint64_t k, at;

		cur = parse(cur, &r);
		/* one clock: later records never carry an earlier time */
		if (last_ts != NULL && memcmp(r.ts, last_ts, TS_LEN) < 0)
			bad(&r, "timestamp earlier than the record before");
		last_ts = r.ts;
		if (fits(&r, o, total)) {
			o += span(&r);
			continue;
		}
		/*
		 * A gap: find the next whole line (its number says where it
		 * is); the records before it follow one another up to it.
		 */
		ahead[n++] = r;
		while (!(ahead[n - 1].full &&
		    ahead[n - 1].len == line_bytes - 1)) {
			if (cur >= end || n == sizeof(ahead) / sizeof(ahead[0]))
				bad(&r, "fits nowhere in the stream (torn or "
				    "merged record?)");
			cur = parse(cur, &ahead[n++]);
		}
		k = 0;
		for (size_t i = 0; i < NUM_LEN; i++) {
			char ch = ahead[n - 1].content[i];
			if (ch < '0' || ch > '9')
				bad(&ahead[n - 1], "a whole line without a "
				    "number (torn or merged record?)");
			k = k * 10 + (uint64_t)(ch - '0');
		}
		at = k * line_bytes;
		for (size_t i = n - 1; i-- > 0;) {
			if (at < span(&ahead[i]))
				bad(&ahead[i], "fits nowhere in the stream");
			at -= span(&ahead[i]);
		}
		if (at <= o)
			bad(&r, "repeats or goes back in the stream");
		for (size_t i = 0; i < n; i++) {
			if (!fits(&ahead[i], at, total))
				bad(&ahead[i], "does not fit where the next "
				    "whole line puts it (torn or merged "
				    "record?)");
			if (i > 0 && memcmp(ahead[i].ts, ahead[i - 1].ts,
			    TS_LEN) < 0)
				bad(&ahead[i], "timestamp earlier than the "
				    "record before");
			if (i == 0) {
				if (ngaps == MAX_GAPS)
					bad(&r, "too many gaps");
				gap_at[ngaps] = o;
				gap_len[ngaps++] = at - o;
				lost += at - o;
				if (at - o > max)
					max = at - o;
			}
			at += span(&ahead[i]);
		}
		last_ts = ahead[n - 1].ts;
		o = at;
	}
	(void)printf("records %llu gaps %zu lost %llu max %llu tail %llu\n",
	    (unsigned long long)nrec, ngaps, (unsigned long long)lost,
	    (unsigned long long)max, (unsigned long long)(total - o));
	for (size_t i = 0; i < ngaps; i++)
		(void)printf("gap %llu %llu\n", (unsigned long long)gap_at[i],
		    (unsigned long long)gap_len[i]);
	return 0;
}

int
main(int argc, char **argv)
{
	fill_init();
	if (argc == 5 && strcmp(argv[1], "gen") == 0) {
		line_bytes = strtoul(argv[3], NULL, 10);
		if (line_bytes < NUM_LEN + 2 || line_bytes > 4096)
			return 2;
		return gen(strtoull(argv[2], NULL, 10),
		    strtoul(argv[4], NULL, 10));
	}
	if (argc == 5 && strcmp(argv[1], "check") == 0) {
		line_bytes = strtoul(argv[4], NULL, 10);
		if (line_bytes < NUM_LEN + 2 || line_bytes > 4096)
			return 2;
		return check(argv[2], strtoull(argv[3], NULL, 10));
	}
	(void)fprintf(stderr, "usage: numlines gen LINES LINE_BYTES "
	    "WRITE_BYTES\n       numlines check LOG LINES LINE_BYTES\n");
	return 2;
}
