/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/gen.c: the container's output for the log benchmarks, generated
 * deterministically so the log can be checked byte for byte.
 *
 *     gen LINE_BYTES TOTAL_BYTES WRITE_BYTES STREAMS
 *
 * Writes TOTAL_BYTES (rounded down to whole lines, per stream) of lines of
 * LINE_BYTES bytes each, the LF included: a 10-digit line number, a space,
 * printable filler that depends on the line number, LF. WRITE_BYTES is the
 * size of each write(2), as a program's stdio buffer would make it (lines
 * cross write boundaries); 0 writes each line with one write. STREAMS is 1
 * (stdout) or 2 (stdout and stderr alternate write by write, each its own
 * stream of TOTAL_BYTES / 2). Static: it runs inside the busybox bundle.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "genstream.h"

static void
die(const char *what)
{
	(void)fprintf(stderr, "gen: %s: %s\n", what, strerror(errno));
	exit(1);
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

int
main(int argc, char **argv)
{
	struct stream st[2];
	uint64_t total, per;
	size_t wsize;
	char *buf;
	int nstreams;

	if (argc != 5) {
		(void)fprintf(stderr,
		    "usage: gen LINE_BYTES TOTAL_BYTES WRITE_BYTES STREAMS\n");
		return 2;
	}
	line_bytes = strtoul(argv[1], NULL, 10);
	total = strtoull(argv[2], NULL, 10);
	wsize = strtoul(argv[3], NULL, 10);
	nstreams = atoi(argv[4]);
	if (line_bytes < 12 || (nstreams != 1 && nstreams != 2)) {
		(void)fprintf(stderr, "gen: bad arguments\n");
		return 2;
	}
	if (wsize == 0)
		wsize = line_bytes;
	buf = malloc(wsize);
	if (fill_init() < 0 || buf == NULL)
		die("malloc");
	per = total / (uint64_t)nstreams / line_bytes * line_bytes;
	for (int i = 0; i < nstreams; i++) {
		st[i] = (struct stream){ .fd = 1 + i, .left = per,
			.pos = line_bytes, .line = malloc(line_bytes) };
		if (st[i].line == NULL)
			die("malloc");
	}
	for (int i = 0;; i = (i + 1) % nstreams) {
		struct stream *s = &st[i];
		size_t n = wsize;
		if (st[0].left == 0 && (nstreams == 1 || st[1].left == 0))
			break;
		if (s->left == 0)
			continue;
		if (n > s->left)
			n = (size_t)s->left;
		produce(s, buf, n);
		write_all(s->fd, buf, n);
		s->left -= n;
	}
	return 0;
}
