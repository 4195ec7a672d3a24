/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/attach.c: one attach client (spec 7.3 framing), for figure 4.
 *
 *     attach read SOCKET LINE_BYTES FIRST_BYTES
 *         Connects, says "connected" on stderr, then reads records until
 *         end-of-stream and checks every stdout record (stream 2) byte for
 *         byte against bench/gen's stream of LINE_BYTES lines
 *         (genstream.h), in process: a record's place in the stream is
 *         found from the first line number it holds (else it follows the
 *         previous record), so records a monitor dropped leave a counted
 *         gap and everything received is still checked. Prints
 *         "done BYTES RECORDS OTHER_BYTES LAST_NS GAPS BAD FIRST_NS" on
 *         stderr (LAST_NS: CLOCK_MONOTONIC of the last record; GAPS:
 *         places where records were missing; BAD: received bytes that are
 *         not the stream's at their place, or that came out of order;
 *         FIRST_NS: of the record that made FIRST_BYTES of stdout, 0 if
 *         fewer came).
 *         The check runs in the client, not in a sha256sum behind a pipe:
 *         sha256sum does 280-370 MB/s on the bench VM, so it, not the
 *         monitor, set the pace of the figure.
 *     attach rtt SOCKET N SIZE WARM_MS FIRST SPACED GAP_MS
 *         Connects, says "connected", waits for a line on stdin (the
 *         container has started), then round trips: sends SIZE bytes (a
 *         line ending in LF) and waits until SIZE bytes came back as
 *         stdout records. The first round trips, until WARM_MS have passed
 *         and at least FIRST were made, are printed as "w NS" on stdout;
 *         then N more as "NS"; then SPACED more, each after a pause of
 *         GAP_MS, as "s NS" (isolated inputs: every process is asleep
 *         when one comes); all once the last came back (a write to
 *         the pipe in between would wake the bench). Then shuts its write
 *         side (the container's stdin closes) and reads to the end.
 *         Why the warm-up: on the bench VM the first round trips after
 *         `runc start` often have the client, the monitor and `cat` on
 *         one vCPU, and after 20-40 ms on two (README, Performance, "Why
 *         the round trip swings").
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "genstream.h"

#define REC_MAX (8192 + 1)

static uint64_t
now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	(void)fprintf(stderr, "attach: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		die(path);
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die(path);
	(void)fprintf(stderr, "connected\n");
	(void)fflush(stderr);
	return fd;
}

/* The stream offset of p's first byte, from the first whole line number
 * in it; the fallback when it holds none. */
static uint64_t
record_offset(const char *p, size_t n, uint64_t fallback)
{
	const char *lf = memchr(p, '\n', n);
	size_t at;
	uint64_t lineno = 0;

	if (lf == NULL)
		return fallback;
	at = (size_t)(lf - p) + 1;
	if (n - at < 10)
		return fallback;
	for (size_t i = at; i < at + 10; i++) {
		if (p[i] < '0' || p[i] > '9')
			return fallback;
		lineno = lineno * 10 + (uint64_t)(p[i] - '0');
	}
	if (lineno * line_bytes < at)
		return fallback;
	return lineno * line_bytes - at;
}

static int
do_read(int fd, size_t lbytes, unsigned long long first_bytes)
{
	static char rec[REC_MAX];
	unsigned long long bytes = 0, recs = 0, other = 0, gaps = 0, bad = 0;
	uint64_t last = 0, expect = 0, first = 0;
	struct stream s = { .pos = 0 };

	line_bytes = lbytes;
	s.line = malloc(line_bytes);
	if (line_bytes < 12 || s.line == NULL || fill_init() < 0) {
		(void)fprintf(stderr, "attach: bad LINE_BYTES or no memory\n");
		return 2;
	}
	stream_seek(&s, 0);
	for (;;) {
		ssize_t n = recv(fd, rec, sizeof(rec), 0);
		size_t len, m;
		uint64_t off;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recv");
		if (n == 0)
			break;
		last = now_ns();
		recs++;
		len = (size_t)n - 1;
		if (rec[0] != 2) {
			other += len;
			continue;
		}
		bytes += len;
		if (first == 0 && bytes >= first_bytes)
			first = last;
		off = record_offset(rec + 1, len, expect);
		if (off < expect) { /* again, or out of order */
			bad += len;
			continue;
		}
		if (off > expect) {
			gaps++;
			stream_seek(&s, off);
		}
		m = stream_match(&s, rec + 1, len);
		expect = off + len;
		if (m != len) {
			bad += len - m;
			stream_seek(&s, expect); /* go on after the bad record */
		}
	}
	(void)fprintf(stderr, "done %llu %llu %llu %llu %llu %llu %llu\n", bytes,
	    recs, other, (unsigned long long)last, gaps, bad,
	    (unsigned long long)first);
	return 0;
}

/* One round trip of the SIZE-byte line in msg; its time in ns. */
static uint64_t
round_trip(int fd, const char *msg, size_t size)
{
	static char rec[REC_MAX];
	uint64_t t0 = now_ns();
	size_t got = 0;

	if (send(fd, msg, size, 0) != (ssize_t)size)
		die("send");
	while (got < size) {
		ssize_t r = recv(fd, rec, sizeof(rec), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("recv (echo)");
		if (rec[0] == 2)
			got += (size_t)r - 1;
	}
	return now_ns() - t0;
}

/* Appends one round trip's time to *ns (grown as needed). */
static void
record(uint64_t **ns, size_t *len, size_t *cap, uint64_t t)
{
	if (*len == *cap) {
		*cap = *cap ? 2 * *cap : 4096;
		if ((*ns = realloc(*ns, *cap * sizeof(**ns))) == NULL)
			die("realloc");
	}
	(*ns)[(*len)++] = t;
}

static int
do_rtt(int fd, int n, size_t size, uint64_t warm_ms, int first, int spaced,
    long gap_ms)
{
	static char rec[REC_MAX];
	char *msg = malloc(size), line[16];
	const struct timespec gap = {
		.tv_sec = gap_ms / 1000,
		.tv_nsec = gap_ms % 1000 * 1000000,
	};
	struct timespec left;
	uint64_t start, *ns = NULL;
	size_t len = 0, cap = 0, warm, stream;

	if (msg == NULL || size < 2 || n < 0 || first < 0 || spaced < 0 ||
	    gap_ms < 0)
		return 2;
	memset(msg, 'x', size - 1);
	msg[size - 1] = '\n';
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	start = now_ns();
	while (len < (size_t)first || now_ns() - start < warm_ms * 1000000u)
		record(&ns, &len, &cap, round_trip(fd, msg, size));
	warm = len;
	for (int i = 0; i < n; i++)
		record(&ns, &len, &cap, round_trip(fd, msg, size));
	stream = len;
	for (int i = 0; i < spaced; i++) {
		left = gap;
		while (nanosleep(&left, &left) != 0 && errno == EINTR)
			;
		record(&ns, &len, &cap, round_trip(fd, msg, size));
	}
	for (size_t i = 0; i < len; i++)
		printf("%s%llu\n", i < warm ? "w " : i < stream ? "" : "s ",
		    (unsigned long long)ns[i]);
	(void)fflush(stdout);
	free(ns);
	(void)shutdown(fd, SHUT_WR);
	while (recv(fd, rec, sizeof(rec), 0) > 0)
		;
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "read") == 0)
		return do_read(dial(argv[2]), strtoul(argv[3], NULL, 10),
		    strtoull(argv[4], NULL, 10));
	if (argc == 9 && strcmp(argv[1], "rtt") == 0)
		return do_rtt(dial(argv[2]), atoi(argv[3]),
		    strtoul(argv[4], NULL, 10), strtoull(argv[5], NULL, 10),
		    atoi(argv[6]), atoi(argv[7]), atol(argv[8]));
	(void)fprintf(stderr, "usage: attach read SOCKET LINE_BYTES "
	    "FIRST_BYTES | "
	    "attach rtt SOCKET N SIZE WARM_MS FIRST SPACED GAP_MS\n");
	return 2;
}
