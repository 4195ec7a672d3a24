/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/spawn.c: the machine's limit for a launcher: fork, execve of a
 * static program, waitpid, N times. Prints one duration (ns) per line.
 *
 *     spawn N PROGRAM
 */
#include <sys/wait.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t
now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	char *const env[] = { NULL };
	int n;

	if (argc != 3)
		return 2;
	n = atoi(argv[1]);
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		int st;
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			char *const av[] = { argv[2], NULL };
			execve(argv[2], av, env);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) < 0 || st != 0)
			return 1;
		printf("%llu\n", (unsigned long long)(now_ns() - t0));
	}
	return 0;
}
