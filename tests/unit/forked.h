/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/forked.h: runs a test's body in a forked child (a sandbox
 * step cannot be undone in the test process) with a pipe as its channel;
 * the test reads back what the child wrote and its wait status.
 */
#ifndef VIGIL_TESTS_UNIT_FORKED_H
#define VIGIL_TESTS_UNIT_FORKED_H

#include <sys/wait.h>

#include <criterion/criterion.h>
#include <fcntl.h>
#include <unistd.h>

/* Runs fn in a fork with a pipe as channel; returns its wait status. */
static inline int
unit_run_forked(void (*fn)(int), char *rep, size_t replen)
{
	int p[2], status;
	size_t off = 0;
	ssize_t n;
	pid_t pid;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		(void)close(p[0]); /* child: writes only */
		fn(p[1]);
		_exit(0);
	}
	(void)close(p[1]); /* end of file when the child is done */
	while ((n = read(p[0], rep + off, replen - 1 - off)) > 0)
		off += (size_t)n;
	rep[off] = '\0';
	(void)close(p[0]); /* test end */
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

#endif
