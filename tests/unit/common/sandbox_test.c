/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/common/sandbox_test.c: step 5's Landlock domain, by behaviour:
 * a forked child runs sandbox_drop() (every step but the filter) and tries
 * paths through fds it kept; and the filter exports of sandbox.c.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/sandbox.h"
#include "tests/unit/forked.h"

#define REPORT_MAX 512
#define CONTENT	   "landlock test\n"

static char dir[] = "/tmp/vigil-landlock.XXXXXX";
static char file[sizeof(dir) + 8];

/* A directory anyone may read, with a file anyone may read: only Landlock
 * can refuse them, whatever uid the child ends with. */
static void
make_tree(void)
{
	int fd;

	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	cr_assert_eq(chmod(dir, 0755), 0);
	(void)snprintf(file, sizeof(file), "%s/file", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "%s: %s", file, strerror(errno));
	cr_assert_eq(
	    write(fd, CONTENT, strlen(CONTENT)), (ssize_t)strlen(CONTENT));
	cr_assert_eq(close(fd), 0);
}

static void
remove_tree(void)
{
	char other[sizeof(file) + 8];

	(void)snprintf(other, sizeof(other), "%s/new", dir);
	(void)unlink(other); /* only there if the test failed */
	(void)unlink(file);
	(void)rmdir(dir);
}

static const char *
errname(int rc, int err)
{
	static char buf[32];

	if (rc >= 0)
		return "ok";
	if (err == EACCES)
		return "EACCES";
	if (err == EPERM)
		return "EPERM";
	(void)snprintf(buf, sizeof(buf), "errno%d", err);
	return buf;
}

/*
 * The child: the directory on fd 0 and the file on fd 1 (0-2 survive
 * step 1), the drop keeping its uid (so file modes never refuse), then
 * each attempt, reported as one line on the channel.
 */
static void
child_landlock(int out)
{
	struct sandbox_conf conf = {
	    .role = "logger",
	    .chan_fd = out,
	    .reaper = getppid(),
	    .uid = getuid(),
	    .gid = getgid(),
	    .keep_ids = true,
	    .nofile = 64,
	};
	char err[160], rep[REPORT_MAX], buf[64] = "";
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	int f = open(file, O_RDONLY);
	int chan = -1, rc[6], e[6];
	ssize_t n;

	if (d < 0 || f < 0 || dup2(d, 0) < 0 || dup2(f, 1) < 0)
		_exit(20);
	if (sandbox_drop(&conf, &chan, err, sizeof(err)) < 0) {
		if (write(out, err, strlen(err)) < 0)
			_exit(21);
		_exit(22);
	}
	errno = 0;
	rc[0] = openat(0, "file", O_RDONLY), e[0] = errno;
	rc[1] = open(file, O_RDONLY), e[1] = errno;
	rc[2] = openat(0, "new", O_WRONLY | O_CREAT | O_EXCL, 0644),
	e[2] = errno;
	rc[3] = mkdirat(0, "sub", 0755), e[3] = errno;
	rc[4] = unlinkat(0, "file", 0), e[4] = errno;
	rc[5] = truncate(file, 0), e[5] = errno;
	n = pread(1, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	(void)snprintf(rep, sizeof(rep),
	    "openat=%s open=%s create=%s mkdir=%s unlink=%s truncate=%s "
	    "kept=%s",
	    errname(rc[0], e[0]), errname(rc[1], e[1]), errname(rc[2], e[2]),
	    errname(rc[3], e[3]), errname(rc[4], e[4]), errname(rc[5], e[5]),
	    buf);
	if (write(chan, rep, strlen(rep)) < 0)
		_exit(23);
}


static int
landlock_abi_or_skip(void)
{
	int abi = sandbox_landlock_abi();

	if (abi < 0)
		cr_skip_test("no Landlock on this kernel: %s", strerror(errno));
	return abi;
}

/* security.md "Auditing the profiles" 2: the child opens no path. */
Test(sandbox_landlock, drop_forbids_paths_keeps_open_fds, .init = make_tree,
    .fini = remove_tree)
{
	char rep[REPORT_MAX], want[REPORT_MAX];
	int abi = landlock_abi_or_skip(), status;

	status = unit_run_forked(child_landlock, rep, sizeof(rep));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %#x: %s", status, rep);
	/* truncate(2) by path is a right of its own from ABI 3 on */
	(void)snprintf(want, sizeof(want),
	    "openat=EACCES open=EACCES create=EACCES mkdir=EACCES "
	    "unlink=EACCES truncate=%s kept=" CONTENT,
	    abi >= 3 ? "EACCES" : "ok");
	cr_expect_str_eq(rep, want);
}

/* ABI 6: a signal to a process outside the child's domain is refused. */
static void
child_signal(int out)
{
	struct sandbox_conf conf = {
	    .role = "attach",
	    .chan_fd = out,
	    .reaper = getppid(),
	    .uid = getuid(),
	    .gid = getgid(),
	    .keep_ids = true,
	    .nofile = 64,
	};
	char err[160], rep[REPORT_MAX];
	int chan = -1, rc, e, self;

	if (sandbox_drop(&conf, &chan, err, sizeof(err)) < 0) {
		if (write(out, err, strlen(err)) < 0)
			_exit(21);
		_exit(22);
	}
	/* same uid, no capability needed: only Landlock can refuse */
	rc = kill(conf.reaper, 0), e = errno;
	self = kill(getpid(), 0);
	(void)snprintf(rep, sizeof(rep), "parent=%s self=%s", errname(rc, e),
	    errname(self, errno));
	if (write(chan, rep, strlen(rep)) < 0)
		_exit(23);
}

Test(sandbox_landlock, drop_scopes_signals)
{
	char rep[REPORT_MAX];
	int status;

	if (landlock_abi_or_skip() < 6)
		cr_skip_test("Landlock ABI %d has no signal scoping",
		    sandbox_landlock_abi());
	status = unit_run_forked(child_signal, rep, sizeof(rep));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %#x: %s", status, rep);
	cr_expect_str_eq(rep, "parent=EPERM self=ok");
}

Test(sandbox_landlock, absent_only_for_enosys_and_eopnotsupp)
{
	cr_expect(sandbox_landlock_absent(ENOSYS));
	cr_expect(sandbox_landlock_absent(EOPNOTSUPP));
	cr_expect(!sandbox_landlock_absent(EPERM));
	cr_expect(!sandbox_landlock_absent(EINVAL));
	cr_expect(!sandbox_landlock_absent(E2BIG));
}

/* ---- the filter exports --------------------------------------------- */

/* What sandbox_filter_export wrote to a pipe (small: it fits). */
static size_t
export_to_buf(const char *role, enum sandbox_export form, char *buf, size_t len,
    int *rc, char *err, size_t errlen)
{
	int p[2];
	size_t off = 0;
	ssize_t n;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) > 0, true);
	*rc = sandbox_filter_export(role, p[1], form, err, errlen);
	(void)close(p[1]); /* end of file for the read below */
	while (off < len && (n = read(p[0], buf + off, len - off)) > 0)
		off += (size_t)n;
	(void)close(p[0]); /* test end */
	return off;
}

Test(sandbox_export, pfc_and_bpf_of_each_role)
{
	static char buf[1 << 20];
	char err[160];
	int rc;

	for (const char *const *r =
		 (const char *const[]){"logger", "attach", NULL};
	     *r != NULL; r++) {
		size_t n = export_to_buf(*r, SANDBOX_EXPORT_PFC, buf,
		    sizeof(buf) - 1, &rc, err, sizeof(err));
		cr_assert_eq(rc, 0, "%s: %s", *r, err);
		buf[n] = '\0';
		cr_expect_not_null(strstr(buf, "# pseudo filter code start"),
		    "%s: %s", *r, buf);
		cr_expect_not_null(strstr(buf, "action TRAP;"), "%s", *r);
		n = export_to_buf(*r, SANDBOX_EXPORT_BPF, buf, sizeof(buf), &rc,
		    err, sizeof(err));
		cr_assert_eq(rc, 0, "%s: %s", *r, err);
		/* struct sock_filter: 8 bytes an instruction */
		cr_expect(n > 0 && n % 8 == 0, "%s: %zu bytes", *r, n);
	}
}

Test(sandbox_export, unknown_role_named)
{
	char buf[64], err[160];
	int rc;

	(void)export_to_buf("bogus", SANDBOX_EXPORT_PFC, buf, sizeof(buf), &rc,
	    err, sizeof(err));
	cr_expect_eq(rc, -1);
	cr_expect_str_eq(err, "seccomp: no profile for bogus");
}
