/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/attach.c: one attach client (spec 7.3 framing), for figure 4.
 *
 *     attach read SOCKET
 *         Connects, says "connected" on stderr, then writes the payload of
 *         every stdout record (stream 2) to stdout until end-of-stream, and
 *         prints "done BYTES RECORDS OTHER_BYTES LAST_NS" on stderr
 *         (LAST_NS: CLOCK_MONOTONIC of the last record).
 *     attach rtt SOCKET N SIZE
 *         Connects, says "connected", waits for a line on stdin (the
 *         container has started), then N times: sends SIZE bytes (a line
 *         ending in LF) and waits until SIZE bytes came back as stdout
 *         records; prints each round trip in ns on stdout. Then shuts its
 *         write side (the container's stdin closes) and reads to the end.
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

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

static int
do_read(int fd)
{
	static char rec[REC_MAX];
	unsigned long long bytes = 0, recs = 0, other = 0;
	uint64_t last = 0;

	for (;;) {
		ssize_t n = recv(fd, rec, sizeof(rec), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recv");
		if (n == 0)
			break;
		last = now_ns();
		recs++;
		if (rec[0] == 2) {
			write_all(1, rec + 1, (size_t)n - 1);
			bytes += (unsigned long long)n - 1;
		} else
			other += (unsigned long long)n - 1;
	}
	(void)fprintf(stderr, "done %llu %llu %llu %llu\n", bytes, recs, other,
	    (unsigned long long)last);
	return 0;
}

static int
do_rtt(int fd, int n, size_t size)
{
	static char rec[REC_MAX];
	char *msg = malloc(size), line[16];

	if (msg == NULL || size < 2)
		return 2;
	memset(msg, 'x', size - 1);
	msg[size - 1] = '\n';
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
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
		printf("%llu\n", (unsigned long long)(now_ns() - t0));
	}
	(void)fflush(stdout);
	(void)shutdown(fd, SHUT_WR);
	while (recv(fd, rec, sizeof(rec), 0) > 0)
		;
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "read") == 0)
		return do_read(dial(argv[2]));
	if (argc == 5 && strcmp(argv[1], "rtt") == 0)
		return do_rtt(dial(argv[2]), atoi(argv[3]),
		    strtoul(argv[4], NULL, 10));
	(void)fprintf(stderr, "usage: attach read SOCKET | "
	    "attach rtt SOCKET N SIZE\n");
	return 2;
}
