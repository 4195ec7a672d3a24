/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/paths.c: every path the reaper opens, creates or renames, under
 * policy. Directories are resolved once; the final component is never
 * followed (security 20-23, 28): O_NOFOLLOW, O_CREAT|O_EXCL, renameat.
 * Helpers return -1 with errno; callers report.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/diag.h"
#include "common/errtext.h"
#include "common/fault.h"
#include "common/io.h"
#include "common/num.h"
#include "monitor/mon.h"

/* Attempts at a fresh temporary name before giving up. */
#define MON_TMP_TRIES 16
/* A pid file longer than this is not a pid file (security 48). */
#define MON_PIDFILE_MAX 64

/* Opens the directory part of path; *base points at the final name. */
static int
open_parent(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int fd;

	if (slash == NULL) {
		*base = path;
		return open(".", O_DIRECTORY | O_PATH | O_CLOEXEC);
	}
	*base = slash + 1;
	if (**base == '\0') {
		errno = EISDIR;
		return -1;
	}
	if (slash == path) {
		return open("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
	}
	if ((size_t)(slash - path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	/* security 21: symlinked directories are fine, resolved once here */
	fd = open(dir, O_DIRECTORY | O_PATH | O_CLOEXEC);
	return fd;
}

/*
 * The canonical path of the opened directory, as the kernel reports it
 * (security 24: never the string we were given). A removed directory
 * reads back as "<path> (deleted)", so it is refused by its link count.
 */
static int
dir_canonical(int dirfd, char *buf, size_t len)
{
	char proc[64];
	struct stat st;
	ssize_t n;

	if (fstat(dirfd, &st) < 0)
		return -1;
	if (st.st_nlink == 0) {
		errno = ENOENT;
		return -1;
	}
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
	n = readlink(proc, buf, len);
	if (n < 0)
		return -1;
	if ((size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf[n] = '\0';
	if (buf[0] != '/') { /* not reachable from our root */
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* dir equals top or lies below it; both canonical. */
static bool
dir_below(const char *dir, const char *top)
{
	size_t n = strlen(top);

	if (strcmp(top, "/") == 0)
		return true;
	return strncmp(dir, top, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

/*
 * spec 9.4, decision for vigil, security 24: with at least one
 * --log-allowlist-dir, the log's opened directory must equal or lie below
 * the canonical form (realpath) of an entry. Empty or unresolvable entries
 * are skipped, with a warning at startup only (verbose): if every entry is
 * skipped, nothing is allowed (fail closed: the manager asked for a
 * restriction). Entries are resolved at each check: no state is kept, and
 * the reaper never changes its directory, so relative entries keep their
 * meaning. Returns -1 with errno EACCES when refused.
 */
static int
log_dir_allowed(const struct mon *m, bool verbose)
{
	const struct mon_strv *al = &m->o->log_allowlist_dirs;
	char dir[PATH_MAX], top[PATH_MAX];

	if (al->n == 0)
		return 0;
	if (dir_canonical(m->log_dirfd, dir, sizeof(dir)) < 0) {
		if (verbose)
			diag_warn("Failed to resolve the directory of %s:",
			    m->o->k8s_path);
		errno = EACCES;
		return -1;
	}
	for (size_t i = 0; i < al->n; i++) {
		if (al->v[i][0] == '\0') {
			if (verbose)
				diag_warnx("Skipping an empty "
				    "--log-allowlist-dir entry");
			continue;
		}
		if (realpath(al->v[i], top) == NULL) {
			if (verbose)
				diag_warn("Skipping --log-allowlist-dir %s:",
				    al->v[i]);
			continue;
		}
		if (dir_below(dir, top))
			return 0;
	}
	errno = EACCES;
	return -1;
}

/*
 * spec 1.5 check 18, 9.6: create or append, mode 0640. Never follows a
 * symlink at the log path (security 20) and never blocks on a FIFO
 * (security 25). *why is set for a non-regular file (errno is then 0).
 */
static int
log_open_checked(struct mon *m, const char *base, const char **why)
{
	struct stat st;
	int fd;

	*why = NULL;
	fd = openat(m->log_dirfd, base, O_WRONLY | O_APPEND | O_CREAT |
	    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		(void)close(fd); /* refused: never written */
		*why = "not a regular file";
		errno = 0;
		return -1;
	}
	if (io_set_nonblock(fd, false) < 0) {
		(void)close(fd); /* unusable */
		return -1;
	}
	m->log_base = strdup(base);
	if (m->log_base == NULL) {
		(void)close(fd); /* out of memory at startup */
		return -1;
	}
	m->log_fd = fd;
	m->log_counted = st.st_size; /* spec 9.3: 2.1.10+ counts the file */
	return 0;
}

/*
 * Check 18. The allowlist (spec 9.4) is checked on the opened directory
 * before the log is created, where conmon would create it first: a refused
 * log path never gets a file left behind (security 24).
 */
int
mon_log_open(struct mon *m)
{
	const char *why, *base;

	if (m->o->k8s_path == NULL)
		return 0;
	m->log_dirfd = open_parent(m->o->k8s_path, &base);
	if (m->log_dirfd < 0)
		fatal("Failed to open log file");
	if (log_dir_allowed(m, true) < 0)
		fatalx("Log path %s is not in an allowed log directory",
		    m->o->k8s_path);
	if (log_open_checked(m, base, &why) == 0)
		return 0;
	if (why != NULL)
		fatalx("Failed to open log file %s: %s", m->o->k8s_path, why);
	fatal("Failed to open log file");
}

/* A fresh file at <dir>/<name> made with O_EXCL, never following links. */
static int
create_excl(int dirfd, const char *name, mode_t mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd >= 0 || errno != EEXIST)
		return fd;
	/* security 22: remove what is there (a link is removed, unfollowed) */
	if (unlinkat(dirfd, name, 0) < 0)
		return -1;
	return openat(dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, mode);
}

/* <log base><suffix> or <log base>.<k> into buf. */
static int
log_name(char *buf, size_t len, const char *base, const char *suffix, int k)
{
	int n;

	if (suffix != NULL)
		n = snprintf(buf, len, "%s%s", base, suffix);
	else
		n = snprintf(buf, len, "%s.%d", base, k);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * spec 9.5 (suffix .tmp), 9.4 (.new): create <log><suffix> and rename it
 * over <log>, so a new directory entry appears at the path even when
 * nobody renamed the file away. On failure the old fd stays (spec 9.5,
 * decision for vigil).
 */
static int
log_swap(struct mon *m, const char *suffix)
{
	char tmp[4096];
	int fd;

	if (log_name(tmp, sizeof(tmp), m->log_base, suffix, 0) < 0)
		return -1;
	fd = create_excl(m->log_dirfd, tmp, 0640);
	if (fd < 0)
		return -1;
	if (renameat(m->log_dirfd, tmp, m->log_dirfd, m->log_base) < 0) {
		int saved = errno;
		(void)unlinkat(m->log_dirfd, tmp, 0); /* ours; best effort */
		(void)close(fd); /* never used */
		errno = saved;
		return -1;
	}
	(void)close(m->log_fd); /* the logger has its own copy until swapped */
	m->log_fd = fd;
	m->log_counted = 0;
	return 0;
}

/* spec 9.4 decision, 9.5: the allowlist is re-checked at every reopen. */
int
mon_log_reopen(struct mon *m)
{
	if (log_dir_allowed(m, false) < 0)
		return -1;
	return log_swap(m, ".tmp");
}

enum log_kind { LOG_NONE, LOG_REG, LOG_OTHER };

/* What <dir>/name is, never following a link; -1 with errno on error. */
static int
log_kind(int dirfd, const char *name, enum log_kind *kind)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return -1;
		*kind = LOG_NONE;
		return 0;
	}
	*kind = S_ISREG(st.st_mode) ? LOG_REG : LOG_OTHER;
	return 0;
}

/*
 * spec 9.4 step 1: <log>.(k-1) -> <log>.k for k = max down to 2, missing
 * ones skipped. A name holding anything but a regular file (a planted
 * link, a FIFO) is left alone with a warning: renameat never follows a
 * link, but we neither move nor replace what we did not make.
 */
static void
log_shift(struct mon *m, int max)
{
	char src[4096], dst[4096];
	enum log_kind sk, dk;

	for (int k = max; k >= 2; k--) {
		if (log_name(src, sizeof(src), m->log_base, NULL, k - 1) < 0 ||
		    log_name(dst, sizeof(dst), m->log_base, NULL, k) < 0 ||
		    log_kind(m->log_dirfd, src, &sk) < 0 ||
		    log_kind(m->log_dirfd, dst, &dk) < 0) {
			diag_warn("Failed to rotate log backup %s.%d:",
			    m->o->k8s_path, k - 1);
			continue;
		}
		if (sk == LOG_NONE)
			continue;
		if (sk == LOG_OTHER || dk == LOG_OTHER) {
			diag_warnx("Log backup %s.%d is not a regular file: "
			    "left alone", m->o->k8s_path,
			    sk == LOG_OTHER ? k - 1 : k);
			continue;
		}
		if (renameat(m->log_dirfd, src, m->log_dirfd, dst) < 0)
			diag_warn("Failed to rename log backup %s.%d:",
			    m->o->k8s_path, k - 1);
	}
}

/*
 * spec 9.4 with --log-rotate, vigil's decision: the live file plus exactly
 * M backups .1 to .M. The new file is made first, so a failure leaves
 * everything as it was (warning, old fd kept, retried at the next reopen).
 * Of conmon's safety checks only these still mean something with a
 * directory fd (no path string is resolved again, security 21-24): the
 * allowlist on the opened directory, and the open fd must still be the
 * file at the path (same device and inode, not following a link); if it
 * is not, there is nothing of ours to rotate and a fresh file is made.
 * conmon's F_SETLK probe is left out: the logger only ever writes.
 */
int
mon_log_rotate(struct mon *m)
{
	char new[4096], one[4096];
	struct stat fst, pst;
	enum log_kind k1;
	int fd, saved;

	if (log_dir_allowed(m, false) < 0)
		return -1;
	if (fstat(m->log_fd, &fst) < 0)
		return -1;
	if (fstatat(m->log_dirfd, m->log_base, &pst, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(pst.st_mode) || pst.st_dev != fst.st_dev ||
	    pst.st_ino != fst.st_ino)
		return log_swap(m, ".new");
	if (log_name(new, sizeof(new), m->log_base, ".new", 0) < 0 ||
	    log_name(one, sizeof(one), m->log_base, NULL, 1) < 0 ||
	    log_kind(m->log_dirfd, one, &k1) < 0)
		return -1;
	if (k1 == LOG_OTHER) {
		diag_warnx("Log backup %s.1 is not a regular file: left alone",
		    m->o->k8s_path);
		errno = EEXIST;
		return -1;
	}
	/* security 22: a link planted at .new is removed, never followed */
	fd = create_excl(m->log_dirfd, new, 0640);
	if (fd < 0)
		return -1;
	log_shift(m, m->o->log_max_files);
	if (renameat(m->log_dirfd, m->log_base, m->log_dirfd, one) < 0)
		goto fail;
	if (renameat(m->log_dirfd, new, m->log_dirfd, m->log_base) < 0) {
		saved = errno;
		/* put the live file back; .1 held an older backup, now gone */
		(void)renameat(m->log_dirfd, one, m->log_dirfd, m->log_base);
		errno = saved;
		goto fail;
	}
	(void)close(m->log_fd); /* the logger has its own copy until swapped */
	m->log_fd = fd;
	m->log_counted = 0; /* spec 9.4 step 2: the global one is not reset */
	return 0;
fail:
	saved = errno;
	(void)unlinkat(m->log_dirfd, new, 0); /* ours; best effort */
	(void)close(fd); /* never used */
	errno = saved;
	return -1;
}

static int
tmp_name(char *buf, size_t len, const char *name)
{
	unsigned int r;
	int n;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (unsigned int)getpid() ^ (unsigned int)rand();
	n = snprintf(buf, len, "%s.%06x", name, r & 0xffffff);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * spec 10.3, security 28: a temporary file in the same directory, written,
 * fsync'ed and renamed, so no partial file is ever visible under the name
 * and a link planted at the name is replaced, never followed.
 */
#ifdef VIGIL_FAULTS
/* reaper.exit_write_eio: the write of an exit file's temporary fails. */
static bool fault_exit_writing;

static bool
fault_write_eio(void)
{
	if (!fault_exit_writing || !FAULT_ON(REAPER_EXIT_WRITE_EIO))
		return false;
	errno = EIO;
	return true;
}
#else
#define fault_write_eio() false
#endif

int
mon_write_atomic(int dirfd, const char *name, const char *data, size_t len,
    mode_t mode, bool durable)
{
	char tmp[4096];
	int fd = -1, saved;

	for (int i = 0; i < MON_TMP_TRIES && fd < 0; i++) {
		if (tmp_name(tmp, sizeof(tmp), name) < 0)
			return -1;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	if (fd < 0)
		return -1;
	if (fault_write_eio() || io_write_all(fd, data, len) < 0 ||
	    fchmod(fd, mode) < 0 ||
	    (durable && fsync(fd) < 0))
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		(void)close(fd); /* failing anyway */
	(void)unlinkat(dirfd, tmp, 0); /* ours; best effort */
	errno = saved;
	return -1;
}

int
mon_write_atomic_path(const char *path, const char *data, size_t len,
    mode_t mode, bool durable)
{
	const char *base;
	int dirfd = open_parent(path, &base), rc, saved;

	if (dirfd < 0)
		return -1;
	rc = mon_write_atomic(dirfd, base, data, len, mode, durable);
	saved = errno;
	(void)close(dirfd); /* O_PATH */
	errno = saved;
	return rc;
}

/*
 * spec 4.4, decision for vigil, security 48: the whole text must be one
 * pid > 0 (white space around it allowed); an empty file, `0`, `-5`,
 * `12abc` or an overflow are failures, never a wait on pid 0.
 */
int
mon_pidfile_parse(const char *buf, size_t len, pid_t *pid)
{
	char s[MON_PIDFILE_MAX + 1];
	size_t a = 0, b = len;
	int64_t v;

	while (a < b && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\n'))
		a++;
	while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t' ||
	    buf[b - 1] == '\n'))
		b--;
	if (b - a == 0 || b - a > MON_PIDFILE_MAX || buf[a] < '0' ||
	    buf[a] > '9' || memchr(buf + a, '\0', b - a) != NULL) {
		errno = EINVAL;
		return -1;
	}
	memcpy(s, buf + a, b - a);
	s[b - a] = '\0';
	if (num_parse(s, 10, 1, INT32_MAX, &v) < 0)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

/* Reads the runtime's pid file, never through a link (security 48). */
int
mon_pidfile_read(const char *path, pid_t *pid, char *why, size_t whylen)
{
	char buf[MON_PIDFILE_MAX + 1];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		(void)snprintf(why, whylen, "%s: %s", path, errtext(errno));
		return -1;
	}
	n = io_read(fd, buf, sizeof(buf));
	if (n < 0)
		(void)snprintf(why, whylen, "%s: %s", path, errtext(errno));
	(void)close(fd); /* read-only */
	if (n < 0)
		return -1;
	if (mon_pidfile_parse(buf, (size_t)n, pid) < 0) {
		(void)snprintf(why, whylen, "%s holds no valid pid", path);
		return -1;
	}
	return 0;
}

static int
write_exit_in(const char *dir, const char *name, const char *value)
{
	int dirfd = open(dir, O_DIRECTORY | O_PATH | O_CLOEXEC), rc, saved;

	if (dirfd < 0)
		return -1;
	/* the exit code must survive a crash of the host */
#ifdef VIGIL_FAULTS
	fault_exit_writing = true;
#endif
	rc = mon_write_atomic(dirfd, name, value, strlen(value), 0644, true);
#ifdef VIGIL_FAULTS
	fault_exit_writing = false;
#endif
	saved = errno;
	(void)close(dirfd); /* O_PATH */
	errno = saved;
	return rc;
}

/*
 * spec 10.2 steps 6-7, 10.3: the persist-dir file, then the exit-dir
 * file; both attempted, each failure reported (security 27).
 */
void
mon_exit_files(struct mon *m)
{
	char value[16];

	(void)snprintf(value, sizeof(value), "%d", m->ctr_value);
	if (m->o->persist_dir != NULL &&
	    write_exit_in(m->o->persist_dir, "exit", value) < 0) {
		diag_error("Failed to write %s to container exit file:", value);
		m->exit_status = 1;
	}
	if (m->o->exit_dir != NULL &&
	    write_exit_in(m->o->exit_dir, m->o->cid, value) < 0) {
		diag_error("Failed to write %s to exit file:", value);
		m->exit_status = 1;
	}
}
