/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/rtwrap.c: the OCI runtime as the monitor runs it, moved first into
 * a cgroup of its own, so the monitor's cgroup counts the monitor's CPU
 * time and not `runc create`'s (figure 2). The monitor passes its
 * environment on to the runtime:
 *
 *     BENCH_RT_CGROUP  the cgroup.procs file to join
 *     BENCH_RUNC       the runtime to exec, with the same arguments
 *
 * Without them it fails rather than measure the wrong thing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	const char *cg = getenv("BENCH_RT_CGROUP");
	const char *rt = getenv("BENCH_RUNC");
	char pid[32];
	int fd, n;

	(void)argc;
	if (cg == NULL || rt == NULL) {
		(void)fprintf(stderr, "rtwrap: BENCH_RT_CGROUP and BENCH_RUNC "
		    "did not reach the runtime\n");
		return 127;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	fd = open(cg, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, pid, (size_t)n) != n) {
		(void)fprintf(stderr, "rtwrap: %s: %s\n", cg, strerror(errno));
		return 127;
	}
	(void)close(fd);
	argv[0] = (char *)rt;
	execv(rt, argv);
	(void)fprintf(stderr, "rtwrap: %s: %s\n", rt, strerror(errno));
	return 127;
}
