/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/audit/seccomp_dump.c: a build-only helper of `make audit-seccomp`
 * (security.md "Auditing the profiles" 3), never installed and never part
 * of build/conmon. Prints a seccomp program one instruction a line, either
 * the one a role's child would load (seccomp_export_bpf of the filter
 * sandbox.c builds for the child) or the ones a running process has loaded
 * (ptrace PTRACE_SECCOMP_GET_FILTER, which needs CAP_SYS_ADMIN):
 *
 *   seccomp-dump profile ROLE
 *   seccomp-dump loaded PID
 *
 * Both print "filter N: M instructions" and then "  I: code jt jf k" per
 * instruction, filter 0 being the most recently loaded, so equal programs
 * print equal text and tests/integration/audit.py diffs the two.
 */
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/filter.h>

#include "common/num.h"
#include "common/sandbox.h"

/* BPF_MAXINSNS: the kernel loads no longer program. */
#define DUMP_MAX_INSNS 4096

static void
dump(unsigned idx, const struct sock_filter *f, size_t n)
{
	(void)printf("filter %u: %zu instructions\n", idx, n);
	for (size_t i = 0; i < n; i++)
		(void)printf("  %4zu: code=0x%04x jt=%-3u jf=%-3u k=0x%08x\n",
		    i, f[i].code, f[i].jt, f[i].jf, f[i].k);
}

static int
dump_profile(const char *role)
{
	static struct sock_filter prog[DUMP_MAX_INSNS];
	char err[256];
	int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		(void)fprintf(stderr, "seccomp-dump: memfd_create: %s\n",
		    strerror(errno));
		return 1;
	}
	if (sandbox_filter_export(
		role, fd, SANDBOX_EXPORT_BPF, err, sizeof(err)) < 0) {
		(void)fprintf(stderr, "seccomp-dump: %s: %s\n", role, err);
		return 1;
	}
	n = pread(fd, prog, sizeof(prog), 0);
	if (n < 0 || n % (ssize_t)sizeof(prog[0]) != 0) {
		(void)fprintf(stderr,
		    "seccomp-dump: %s: read back %zd bytes: %s\n", role, n,
		    n < 0 ? strerror(errno) : "not whole instructions");
		return 1;
	}
	dump(0, prog, (size_t)n / sizeof(prog[0]));
	(void)close(fd); /* read-only use */
	return 0;
}

/* Every filter of a stopped tracee, newest first; -1 on a real error. */
static int
dump_filters(pid_t pid)
{
	static struct sock_filter prog[DUMP_MAX_INSNS];
	unsigned long idx;
	long n;

	for (idx = 0;; idx++) {
		n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)idx, NULL);
		if (n < 0 && errno == ENOENT && idx > 0)
			return 0; /* past the oldest filter */
		if (n < 0) {
			(void)fprintf(stderr,
			    "seccomp-dump: PTRACE_SECCOMP_GET_FILTER "
			    "%d #%lu: %s\n",
			    (int)pid, idx, strerror(errno));
			return -1;
		}
		if (n > DUMP_MAX_INSNS) {
			(void)fprintf(stderr,
			    "seccomp-dump: %d: filter #%lu has %ld "
			    "instructions\n",
			    (int)pid, idx, n);
			return -1;
		}
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)idx, prog) !=
		    n) {
			(void)fprintf(stderr,
			    "seccomp-dump: PTRACE_SECCOMP_GET_FILTER "
			    "%d #%lu changed: %s\n",
			    (int)pid, idx, strerror(errno));
			return -1;
		}
		dump((unsigned)idx, prog, (size_t)n);
	}
}

/* Seize, stop without a signal, read, let go. */
static int
dump_loaded(const char *arg)
{
	int64_t v;
	pid_t pid;
	int status, rc;

	if (num_parse(arg, 10, 1, INT32_MAX, &v) < 0) {
		(void)fprintf(stderr, "seccomp-dump: bad pid %s\n", arg);
		return 1;
	}
	pid = (pid_t)v;
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) {
		(void)fprintf(stderr, "seccomp-dump: PTRACE_SEIZE %d: %s\n",
		    (int)pid, strerror(errno));
		return 1;
	}
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0 ||
	    waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status)) {
		(void)fprintf(stderr, "seccomp-dump: cannot stop %d: %s\n",
		    (int)pid, strerror(errno));
		(void)ptrace(PTRACE_DETACH, pid, NULL, NULL); /* best effort */
		return 1;
	}
	rc = dump_filters(pid);
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL) < 0) {
		(void)fprintf(stderr, "seccomp-dump: PTRACE_DETACH %d: %s\n",
		    (int)pid, strerror(errno));
		return 1;
	}
	return rc < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc != 3) {
		(void)fprintf(stderr, "usage: seccomp-dump profile ROLE\n"
				      "       seccomp-dump loaded PID\n");
		return 2;
	}
	if (strcmp(argv[1], "profile") == 0)
		rc = dump_profile(argv[2]);
	else if (strcmp(argv[1], "loaded") == 0)
		rc = dump_loaded(argv[2]);
	else {
		(void)fprintf(
		    stderr, "seccomp-dump: unknown mode %s\n", argv[1]);
		return 2;
	}
	if (fflush(stdout) == EOF) {
		(void)fprintf(
		    stderr, "seccomp-dump: stdout: %s\n", strerror(errno));
		return 1;
	}
	return rc;
}
