/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/attach.c: the privileged objects of the attach path, made by the
 * reaper and handed to the children as fds: the attach socket and its
 * symlink (spec 7.1-7.2), the ctl and winsz FIFOs (spec 8.1), the console
 * socket that receives the pty master (spec 6.2) and the stdin pipe (spec
 * 6.1, the logger's). Never reads a byte a client or the container sends.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/diag.h"
#include "common/errtext.h"
#include "common/io.h"
#include "monitor/mon.h"

/* spec 7.2: listen backlog of the attach socket */
#define MON_ATTACH_BACKLOG 10
/* spec 6.2: listen backlog of the console socket */
#define MON_CONSOLE_BACKLOG 128
/* spec 7.1: a sun_path holds 107 bytes plus NUL */
#define MON_SUN_PATH_MAX 107
/* spec 6.2: the runtime's message: the pty name, at most 4095 bytes */
#define MON_CONSOLE_NAME_MAX 4096

/* A sun_path that reaches <dir>/<name> through the directory fd. */
static int
fd_sockaddr(struct sockaddr_un *sa, int dirfd, const char *name)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* spec 7.1: binds through /proc/self/fd, whatever the bundle's length */
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s",
	    dirfd, name);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* spec 7.1: <socket-dir-path>/<cuuid> with redundant slashes collapsed. */
static int
symlink_path(const struct mon *m, char *out, size_t len)
{
	char raw[4096];
	size_t o = 0;
	int n = snprintf(raw, sizeof(raw), "%s/%s", m->o->socket_dir_path,
	    m->o->cuuid);

	if (n < 0 || (size_t)n >= sizeof(raw) || len == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (size_t i = 0; raw[i] != '\0' && o + 1 < len; i++)
		if (raw[i] != '/' || o == 0 || out[o - 1] != '/')
			out[o++] = raw[i];
	/* spec 7.1 corner case: a path of exactly 107 bytes loses its last */
	if (o == MON_SUN_PATH_MAX)
		o--;
	out[o] = '\0';
	return 0;
}

static void
make_symlink(struct mon *m)
{
	char path[4096];

	if (m->o->full_attach)
		return; /* spec 7.1: --full-attach ignores --socket-dir-path */
	if (symlink_path(m, path, sizeof(path)) < 0) {
		mon_fail(m, "Failed to create symlink for notify socket %s",
		    errtext(errno));
		return;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		mon_fail(m, "Failed to remove existing symlink for socket "
		    "directory %s", path);
		return;
	}
	if (symlink(m->o->bundle_path, path) < 0) {
		mon_fail(m, "Failed to create symlink for notify socket %s",
		    errtext(errno));
		return;
	}
	m->att_link = strdup(path);
}

/* spec 7.1-7.2: <bundle>/attach, SEQPACKET, mode 0700, non-blocking. */
static int
attach_socket(struct mon *m)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, rc;

	if (fd_sockaddr(&sa, m->bundle_dirfd, "attach") < 0)
		return -1;
	/* spec 7.1: a stale socket file is unlinked before binding */
	if (unlinkat(m->bundle_dirfd, "attach", 0) < 0 && errno != ENOENT)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	old = umask(0077); /* security 12: only the owner may connect */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	(void)umask(old);
	if (rc < 0 || listen(fd, MON_ATTACH_BACKLOG) < 0) {
		int saved = errno;
		(void)close(fd); /* never listened */
		errno = saved;
		return -1;
	}
	m->att_listener = fd;
	return 0;
}

/* spec 8.1: mkfifo 0660, a read end and a write end, never by a link. */
static int
fifo(struct mon *m, const char *name, int *r, int *w)
{
	if (unlinkat(m->bundle_dirfd, name, 0) < 0 && errno != ENOENT)
		diag_debug("unlink %s: %s", name, errtext(errno));
	if (mkfifoat(m->bundle_dirfd, name, 0660) < 0)
		diag_debug("mkfifo %s: %s", name, errtext(errno));
	*r = openat(m->bundle_dirfd, name,
	    O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (*r < 0)
		return -1;
	*w = openat(m->bundle_dirfd, name,
	    O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	return *w < 0 ? -2 : 0;
}

static int
fifos(struct mon *m)
{
	int rc = fifo(m, "ctl", &m->ctl_r, &m->ctl_w);

	if (rc == -1) {
		mon_fail(m, "Failed to open terminal control fifo read half: %s",
		    errtext(errno));
		return -1;
	}
	if (rc == -2) {
		mon_fail(m, "Failed to open terminal control fifo write half: "
		    "%s", errtext(errno));
		return -1;
	}
	rc = fifo(m, "winsz", &m->winsz_r, &m->winsz_w);
	if (rc == -1) {
		mon_fail(m, "Failed to open window resize control fifo read "
		    "half: %s", errtext(errno));
		return -1;
	}
	if (rc == -2) {
		mon_fail(m, "Failed to open window resize control fifo write "
		    "half: %s", errtext(errno));
		return -1;
	}
	return 0;
}

/*
 * spec 3.1 step 12: the attach socket, its symlink and the FIFOs, before
 * the runtime runs, for every session with a bundle (not passthrough).
 * Returns -1 after mon_fail() has reported the failure.
 */
int
mon_attach_create(struct mon *m)
{
	/* spec 13: no relay unless set up below (the broker reads it) */
	m->notify_fd = m->notify_host = -1;
	if (m->o->bundle_path == NULL)
		return 0;
	/* spec 9.8: passthrough has no attach socket and no FIFOs; its
	 * broker runs only to relay sd-notify (architecture.md) */
	if (m->o->passthrough && m->o->sdnotify_socket == NULL)
		return 0;
	m->bundle_dirfd = open(m->o->bundle_path,
	    O_DIRECTORY | O_PATH | O_CLOEXEC);
	if (m->bundle_dirfd < 0) {
		mon_fail(m, "Failed to open bundle %s: %s", m->o->bundle_path,
		    errtext(errno));
		return -1;
	}
	if (m->o->passthrough)
		return mon_notify_create(m);
	if (attach_socket(m) < 0) {
		mon_fail(m, "Failed to create container attach socket: %s",
		    errtext(errno));
		return -1;
	}
	make_symlink(m);
	if (m->phase == MON_PH_DONE)
		return -1;
	if (fifos(m) < 0)
		return -1;
	return mon_notify_create(m); /* spec 3.1 step 8, 13 */
}

/* spec 7.6, 10.2 step 9, 10.7: the socket file, then the symlink. */
void
mon_attach_remove(struct mon *m)
{
	if (m->bundle_dirfd >= 0 && m->att_listener >= 0)
		(void)unlinkat(m->bundle_dirfd, "attach", 0); /* best effort */
	if (m->att_link != NULL) {
		(void)unlink(m->att_link); /* best effort, as conmon */
		free(m->att_link);
		m->att_link = NULL;
	}
}

/* spec 6.2 step 1: a private, root-only directory for the console socket. */
int
mon_console_create(struct mon *m)
{
	const char *tmp = getenv("TMPDIR");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	int n, fd;

	if (!m->o->terminal)
		return 0;
	n = snprintf(dir, sizeof(dir), "%s/conmon-term.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(dir) || mkdtemp(dir) == NULL)
		return -1;
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/console.sock", dir);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		(void)rmdir(dir); /* ours, empty */
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, MON_CONSOLE_BACKLOG) < 0) {
		int saved = errno;
		if (fd >= 0)
			(void)close(fd); /* failed setup */
		(void)rmdir(dir); /* ours */
		errno = saved;
		return -1;
	}
	m->cons_fd = fd;
	m->cons_dir = strdup(dir);
	m->cons_path = strdup(sa.sun_path);
	return m->cons_dir != NULL && m->cons_path != NULL ? 0 : -1;
}

/* spec 10.7: the console socket does not remain. */
void
mon_console_remove(struct mon *m)
{
	if (m->cons_fd >= 0)
		(void)close(m->cons_fd); /* listener: nothing to flush */
	m->cons_fd = -1;
	if (m->cons_path != NULL)
		(void)unlink(m->cons_path); /* best effort */
	if (m->cons_dir != NULL)
		(void)rmdir(m->cons_dir);
	free(m->cons_path);
	free(m->cons_dir);
	m->cons_path = m->cons_dir = NULL;
}

/* spec 6.2 step 2: exactly one fd in one SCM_RIGHTS message. */
static int
recv_master(int conn)
{
	char name[MON_CONSOLE_NAME_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	int fd;

	if (io_set_nonblock(conn, false) < 0 ||
	    recvmsg(conn, &mh, MSG_CMSG_CLOEXEC) < 0)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (c == NULL || c->cmsg_level != SOL_SOCKET ||
	    c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)) ||
	    (mh.msg_flags & MSG_CTRUNC)) {
		errno = EPROTO;
		return -1;
	}
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	if (fd < 0) {
		errno = EPROTO;
		return -1;
	}
	return fd;
}

/*
 * spec 6.2 steps 2-3: accept the runtime's one connection, take the pty
 * master, set ONLCR (nothing else), remove the socket. Returns 1 when the
 * master arrived, 0 when nobody has connected yet, -1 on a bad message.
 */
int
mon_console_accept(struct mon *m)
{
	struct termios t;
	int conn, fd;

	if (m->cons_fd < 0)
		return m->pty >= 0 ? 1 : 0;
	conn = accept4(m->cons_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	fd = recv_master(conn);
	(void)close(conn); /* spec 6.2: one message, then closed */
	mon_console_remove(m);
	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &t) < 0) {
		diag_warn("Failed to get console terminal settings");
	} else {
		t.c_oflag |= ONLCR;
		if (tcsetattr(fd, TCSANOW, &t) < 0)
			diag_warn("Failed to set console terminal settings");
	}
	m->pty = fd;
	return 1;
}

/* spec 6.1: -i without -t: a pipe whose write end the logger feeds. */
int
mon_stdin_create(struct mon *m)
{
	int p[2];

	if (!m->o->stdin_ || m->o->terminal || m->o->passthrough)
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	m->in_r = p[0];
	m->in_w = p[1];
	return io_set_nonblock(m->in_w, true);
}
