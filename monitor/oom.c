/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/oom.c: OOM detection (spec 12) and the `oom` files (spec 10.4).
 * Reads only kernel-written cgroup files; never follows a link at an `oom`
 * file (security 29). Setup failures are warnings: detection is optional.
 */
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/diag.h"
#include "common/io.h"
#include "common/num.h"
#include "monitor/mon.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Longest line of memory.events worth parsing ("oom_kill " + 20 digits). */
#define MON_OOM_LINE_MAX 64

/* Next line of buf[*pos..len) without its newline; false at the end. */
static bool
next_line(const char *buf, size_t len, size_t *pos, const char **line,
    size_t *n)
{
	const char *nl;

	if (*pos >= len)
		return false;
	*line = buf + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*n = nl != NULL ? (size_t)(nl - *line) : len - *pos;
	*pos += *n + 1;
	return true;
}

/* A cgroup path as the kernel prints it: absolute, no `.` or `..`. */
static bool
path_ok(const char *p, size_t n)
{
	size_t a = 1;

	if (n == 0 || p[0] != '/' || memchr(p, '\0', n) != NULL)
		return false;
	while (a < n) {
		const char *slash = memchr(p + a, '/', n - a);
		size_t e = slash != NULL ? (size_t)(slash - p) : n;

		if ((e - a == 1 && p[a] == '.') ||
		    (e - a == 2 && p[a] == '.' && p[a + 1] == '.'))
			return false;
		a = e + 1;
	}
	return true;
}

/* Whether the comma-separated list c[0..n) names the memory controller. */
static bool
has_memory(const char *c, size_t n)
{
	size_t a = 0;

	while (a <= n) {
		const char *comma = memchr(c + a, ',', n - a);
		size_t e = comma != NULL ? (size_t)(comma - c) : n;

		if (e - a == 6 && memcmp(c + a, "memory", 6) == 0)
			return true;
		a = e + 1;
	}
	return false;
}

/*
 * spec 12: the container's memory cgroup directory from the text of
 * /proc/<pid>/cgroup: v2 the `0::` line (2.1.6 took the first line), v1
 * the line whose controllers include `memory`, under <root>/memory.
 */
int
mon_oom_cgroup_dir(const char *text, size_t len, int version,
    const char *root, char *out, size_t outlen)
{
	const char *line, *p = NULL;
	size_t pos = 0, n, pn = 0;
	int w;

	while (p == NULL && next_line(text, len, &pos, &line, &n)) {
		const char *c1 = memchr(line, ':', n), *c2;

		if (version == 2) {
			if (n >= 3 && memcmp(line, "0::", 3) == 0) {
				p = line + 3;
				pn = n - 3;
			}
			continue;
		}
		if (c1 == NULL)
			continue;
		c1++;
		c2 = memchr(c1, ':', n - (size_t)(c1 - line));
		if (c2 == NULL || !has_memory(c1, (size_t)(c2 - c1)))
			continue;
		p = c2 + 1;
		pn = n - (size_t)(p - line);
	}
	if (p == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (!path_ok(p, pn) || pn > INT_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (pn == 1)
		pn = 0; /* the root cgroup: no trailing slash */
	w = snprintf(out, outlen, "%s%s%.*s", root,
	    version == 2 ? "" : "/memory", (int)pn, p);
	if (w < 0 || (size_t)w >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* spec 12: `<key> <n>`, one space, decimal; false if it does not parse. */
static bool
parse_value(const char *s, size_t n, int64_t *v)
{
	char num[MON_OOM_LINE_MAX];

	if (n == 0 || n >= sizeof(num) || s[0] < '0' || s[0] > '9' ||
	    memchr(s, '\0', n) != NULL)
		return false;
	memcpy(num, s, n);
	num[n] = '\0';
	return num_parse(num, 10, 0, INT64_MAX, v) == 0;
}

/*
 * spec 12: the `oom` and `oom_kill` lines of memory.events. A line with
 * one of these keys whose value does not parse is counted in `invalid`
 * (the caller warns) and leaves that counter unseen.
 */
void
mon_oom_parse_events(const char *buf, size_t len, struct mon_oom_events *ev)
{
	const char *line;
	size_t pos = 0, n;

	memset(ev, 0, sizeof(*ev));
	while (next_line(buf, len, &pos, &line, &n)) {
		int64_t v;

		if (n > 4 && memcmp(line, "oom ", 4) == 0) {
			if (parse_value(line + 4, n - 4, &v)) {
				ev->oom = v;
				ev->has_oom = true;
			} else
				ev->invalid++;
		} else if (n > 9 && memcmp(line, "oom_kill ", 9) == 0) {
			if (parse_value(line + 9, n - 9, &v)) {
				ev->oom_kill = v;
				ev->has_kill = true;
			} else
				ev->invalid++;
		}
	}
}

/* spec 12: either counter, if non-zero, differs from its last value. */
bool
mon_oom_is_new(const struct mon_oom_events *ev, int64_t last_oom,
    int64_t last_kill)
{
	return (ev->has_oom && ev->oom != 0 && ev->oom != last_oom) ||
	    (ev->has_kill && ev->oom_kill != 0 && ev->oom_kill != last_kill);
}

/*
 * spec 10.4, 12, security 29: an empty `oom` in dirfd, mode 0644, created
 * without following a link; a regular file already there is success, a
 * symlink fails with ELOOP and is left alone.
 */
int
mon_oom_file_create(int dirfd)
{
	struct stat st;
	int fd, saved;

	fd = openat(dirfd, "oom", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (fchmod(fd, 0644) < 0) {
			saved = errno;
			(void)close(fd); /* empty: nothing to lose */
			errno = saved;
			return -1;
		}
		return close(fd);
	}
	if (errno != EEXIST)
		return -1;
	if (fstatat(dirfd, "oom", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (S_ISREG(st.st_mode))
		return 0;
	errno = S_ISLNK(st.st_mode) ? ELOOP : EEXIST;
	return -1;
}

static int
oom_file_in(const char *dir)
{
	int dirfd = open(dir, O_DIRECTORY | O_PATH | O_CLOEXEC), rc, saved;

	if (dirfd < 0)
		return -1;
	rc = mon_oom_file_create(dirfd);
	saved = errno;
	(void)close(dirfd); /* O_PATH */
	errno = saved;
	return rc;
}

/* spec 12: <persist-dir>/oom and <bundle>/oom; -1 if either failed. */
static int
oom_files(struct mon *m)
{
	const char *dirs[2] = { m->o->persist_dir, m->o->bundle_path };
	int rc = 0;

	diag_info("container %d was OOM-killed", (int)m->ctr_pid);
	for (size_t i = 0; i < 2; i++) {
		if (dirs[i] == NULL || oom_file_in(dirs[i]) == 0)
			continue;
		diag_warn("Failed to create oom file in %s:", dirs[i]);
		rc = -1;
	}
	return rc;
}

static void
oom_stop(struct mon *m)
{
	if (m->oom_ev != NULL)
		event_free(m->oom_ev);
	m->oom_ev = NULL;
	if (m->oom_fd >= 0)
		(void)close(m->oom_fd); /* watch only */
	if (m->oom_ctl_fd >= 0)
		(void)close(m->oom_ctl_fd); /* read-only */
	m->oom_fd = m->oom_ctl_fd = -1;
	free(m->oom_dir);
	m->oom_dir = NULL;
	m->oom_version = 0;
}

/* spec 12 v2: parse memory.events; false once the cgroup is gone. */
static bool
check_v2(struct mon *m)
{
	char path[PATH_MAX], buf[MON_OOM_EVENTS_MAX];
	struct mon_oom_events ev;
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/memory.events", m->oom_dir) >=
	    (int)sizeof(path))
		return false; /* checked at setup */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			diag_warn("Failed to open %s:", path);
		return false;
	}
	n = io_read(fd, buf, sizeof(buf));
	if (n < 0)
		diag_warn("Failed to read %s:", path);
	(void)close(fd); /* read-only */
	if (n <= 0)
		return n == 0;
	mon_oom_parse_events(buf, (size_t)n, &ev);
	if (ev.invalid > 0)
		diag_warnx("%s: skipped %u line(s) that are not a number",
		    path, ev.invalid);
	/* spec 12: remembered only once the files exist */
	if (mon_oom_is_new(&ev, m->oom_last, m->oom_kill_last) &&
	    oom_files(m) == 0) {
		if (ev.has_oom)
			m->oom_last = ev.oom;
		if (ev.has_kill)
			m->oom_kill_last = ev.oom_kill;
	}
	return true;
}

/* spec 12 v1: one eventfd wake-up; false once the cgroup is gone. */
static bool
check_v1(struct mon *m)
{
	char path[PATH_MAX];
	uint64_t count;
	ssize_t n = read(m->oom_fd, &count, sizeof(count));

	if (n != (ssize_t)sizeof(count))
		return n < 0 && (errno == EAGAIN || errno == EINTR);
	(void)snprintf(path, sizeof(path), "%s/cgroup.event_control",
	    m->oom_dir); /* fits: opened at setup */
	if (count == 1 && access(path, F_OK) < 0 && errno == ENOENT) {
		diag_debug("memory cgroup %s removed", m->oom_dir);
		return false; /* spec 12: the removal, not an OOM */
	}
	(void)oom_files(m); /* warned inside */
	return true;
}

static void
oom_cb(evutil_socket_t fd, short what VIGIL_UNUSED, void *arg)
{
	struct mon *m = arg;
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	bool gone = false;
	ssize_t n;

	if (m->oom_version == 1) {
		if (!check_v1(m))
			oom_stop(m);
		return;
	}
	/* drain the inotify queue; IN_IGNORED: the file went away */
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ie = (struct inotify_event *)p;

			if (ie->mask & IN_IGNORED)
				gone = true;
			p += sizeof(*ie) + ie->len;
		}
	}
	/* vigil: keep watching until the cgroup goes (spec 12 quirk) */
	if (!check_v2(m) || gone) {
		diag_debug("stopped watching %s/memory.events", m->oom_dir);
		oom_stop(m);
	}
}

static int
setup_v2(struct mon *m)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/memory.events", m->oom_dir);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	m->oom_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->oom_fd < 0)
		return -1;
	if (inotify_add_watch(m->oom_fd, path, IN_MODIFY) < 0)
		return -1;
	return 0;
}

static int
setup_v1(struct mon *m)
{
	char path[PATH_MAX], line[32];
	int n, ec, saved;

	n = snprintf(path, sizeof(path), "%s/memory.oom_control", m->oom_dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	m->oom_ctl_fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (m->oom_ctl_fd < 0)
		return -1;
	(void)snprintf(path, sizeof(path), "%s/cgroup.event_control",
	    m->oom_dir); /* no longer than the one above */
	ec = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (ec < 0)
		return -1;
	m->oom_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	n = snprintf(line, sizeof(line), "%d %d", m->oom_fd, m->oom_ctl_fd);
	if (m->oom_fd < 0 || io_write_all(ec, line, (size_t)n) < 0) {
		saved = errno;
		(void)close(ec); /* failing anyway */
		errno = saved;
		return -1;
	}
	return close(ec);
}

/* spec 12: statfs decides; the hybrid layout (tmpfs) counts as v1. */
static int
cgroup_version(void)
{
	struct statfs sf;

	if (statfs("/sys/fs/cgroup", &sf) < 0)
		return -1;
	return sf.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
}

static int
find_dir(struct mon *m)
{
	char path[64], text[MON_OOM_CGROUP_MAX], dir[PATH_MAX];
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)m->ctr_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = io_read(fd, text, sizeof(text));
	(void)close(fd); /* read-only */
	if (n < 0 || mon_oom_cgroup_dir(text, (size_t)n, m->oom_version,
	    "/sys/fs/cgroup", dir, sizeof(dir)) < 0)
		return -1;
	m->oom_dir = strdup(dir);
	return m->oom_dir == NULL ? -1 : 0;
}

/* spec 12: set up once the container pid is known. */
void
mon_oom_watch(struct mon *m)
{
	m->oom_fd = m->oom_ctl_fd = -1;
	m->oom_version = cgroup_version();
	if (m->oom_version < 0 || find_dir(m) < 0) {
		if (errno == ENOENT)
			diag_debug("no memory cgroup for %d: no OOM detection",
			    (int)m->ctr_pid);
		else
			diag_warn("Failed to find the memory cgroup of %d:",
			    (int)m->ctr_pid);
		goto off;
	}
	if ((m->oom_version == 2 ? setup_v2(m) : setup_v1(m)) < 0) {
		/* spec 12: a missing file only disables detection */
		if (errno == ENOENT)
			diag_debug("no OOM events in %s", m->oom_dir);
		else
			diag_warn("Failed to watch %s for OOM events:",
			    m->oom_dir);
		goto off;
	}
	m->oom_ev = event_new(m->base, m->oom_fd, EV_READ | EV_PERSIST,
	    oom_cb, m);
	if (m->oom_ev == NULL || event_add(m->oom_ev, NULL) < 0) {
		diag_warnx("cannot watch for OOM events");
		goto off;
	}
	return;
off:
	oom_stop(m);
}

/*
 * spec 10.2 step 1: the final check, before the exit files. v1 also
 * reads a wake-up the loop may not have dispatched before it ended.
 */
void
mon_oom_final(struct mon *m)
{
	if (m->oom_ev == NULL)
		return;
	if (m->oom_version == 2)
		(void)check_v2(m); /* the watch ends either way */
	else
		(void)check_v1(m); /* idem */
	oom_stop(m);
}
