/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/pipecopy.c: the machine's limit for the logger's work without the
 * formatting: a program's output through ordinary pipes (default size)
 * copied into a file with read/write of BUF_BYTES, then with SYNC 1 an
 * fsync, as a monitor does before it writes the exit file.
 *
 *     pipecopy OUT BUF_BYTES STREAMS SYNC PROGRAM ARGS...
 *
 * Runs PROGRAM with its stdout (and with STREAMS 2 its stderr) on pipes,
 * polls them, copies every chunk into OUT. Prints
 * "bytes wall_ns cpu_ns": from before the fork to after the close (and
 * fsync), and the copier's own user+system time.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	(void)fprintf(stderr, "pipecopy: %s: %s\n", what, strerror(errno));
	exit(1);
}

int
main(int argc, char **argv)
{
	struct pollfd pfd[2];
	struct rusage ru;
	uint64_t t0, t1, bytes = 0;
	size_t bufsz;
	int nstreams, out, p[2][2], open_fds, status, sync;
	char *buf;
	pid_t pid;

	if (argc < 6) {
		(void)fprintf(stderr, "usage: pipecopy OUT BUF_BYTES STREAMS "
		    "SYNC PROGRAM ARGS...\n");
		return 2;
	}
	bufsz = strtoul(argv[2], NULL, 10);
	nstreams = atoi(argv[3]);
	sync = atoi(argv[4]);
	if (bufsz == 0 || (nstreams != 1 && nstreams != 2))
		return 2;
	buf = malloc(bufsz);
	if (buf == NULL)
		die("malloc");
	out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		die(argv[1]);
	t0 = now_ns();
	for (int i = 0; i < nstreams; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0)
			die("pipe2");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (int i = 0; i < nstreams; i++)
			if (dup2(p[i][1], 1 + i) < 0)
				_exit(127);
		execv(argv[5], argv + 5);
		_exit(127);
	}
	for (int i = 0; i < nstreams; i++) {
		(void)close(p[i][1]);
		pfd[i] = (struct pollfd){ .fd = p[i][0], .events = POLLIN };
	}
	open_fds = nstreams;
	while (open_fds > 0) {
		if (poll(pfd, (nfds_t)nstreams, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = 0; i < nstreams; i++) {
			ssize_t n;
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, buf, bufsz);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die("read");
			if (n == 0) {
				(void)close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			for (ssize_t off = 0; off < n;) {
				ssize_t w = write(out, buf + off,
				    (size_t)(n - off));
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0)
					die("write");
				off += w;
			}
			bytes += (uint64_t)n;
		}
	}
	if (sync && fsync(out) < 0)
		die("fsync");
	(void)close(out);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	t1 = now_ns();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		(void)fprintf(stderr, "pipecopy: program failed (%#x)\n",
		    status);
		return 1;
	}
	(void)getrusage(RUSAGE_SELF, &ru);
	printf("%llu %llu %llu\n", (unsigned long long)bytes,
	    (unsigned long long)(t1 - t0),
	    (unsigned long long)((ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
		    1000000000ull +
		(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull));
	return 0;
}
