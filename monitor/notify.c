/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/notify.c: the reaper's half of the sd-notify relay (spec 13,
 * architecture.md "Channels"). It binds <bundle>/notify/notify.sock for
 * the broker, connects its own socket to --sdnotify-socket once, and sends
 * on lines the broker relayed after chan_msg_check() has checked each one
 * against spec 13's list (security 6). It never reads a container byte.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/diag.h"
#include "common/errtext.h"
#include "common/notify.h"
#include "monitor/mon.h"

/*
 * spec 13: the container's socket. <bundle>/notify is opened once with
 * O_NOFOLLOW and everything below goes through that fd (security 29: a
 * link the container planted in its bind-mounted notify/ is never
 * followed: unlinkat removes the link itself, bind creates a new file).
 */
static int
notify_bind(struct mon *m)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int dirfd, fd, n, rc;

	dirfd = openat(m->bundle_dirfd, "notify",
	    O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	n = snprintf(sa.sun_path, sizeof(sa.sun_path),
	    "/proc/self/fd/%d/notify.sock", dirfd);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		(void)close(dirfd); /* O_PATH */
		errno = ENAMETOOLONG;
		return -1;
	}
	/* spec 13: an old socket (or anything else) there is unlinked */
	if (unlinkat(dirfd, "notify.sock", 0) < 0 && errno != ENOENT) {
		rc = errno;
		(void)close(dirfd); /* O_PATH */
		errno = rc;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = errno;
		(void)close(dirfd); /* O_PATH */
		errno = rc;
		return -1;
	}
	/*
	 * spec 13: mode 0777, so any user in the container may notify;
	 * security 29: set by the umask at creation, never by a chmod of a
	 * path the container could have swapped meanwhile.
	 */
	old = umask(0);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	(void)umask(old);
	n = errno;
	(void)close(dirfd); /* O_PATH: the socket is bound */
	if (rc < 0) {
		(void)close(fd); /* never bound */
		errno = n;
		return -1;
	}
	m->notify_fd = fd;
	return 0;
}

/*
 * spec 13: the host socket, connected once. HOST_PATH is a path; a
 * leading '@' names an abstract socket (spec 13 "Free": a harmless
 * extension). A failure is a warning: lines are then dropped.
 */
static void
notify_connect(struct mon *m)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = m->o->sdnotify_socket;
	size_t len = strlen(path);
	socklen_t salen;
	int fd;

	if (len == 0 || len >= sizeof(sa.sun_path)) {
		diag_warnx("Failed to connect to the sd-notify socket %s: %s",
		    path, errtext(ENAMETOOLONG));
		return;
	}
	memcpy(sa.sun_path, path, len);
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	else
		salen++; /* the NUL of a path name */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		diag_warn("Failed to connect to the sd-notify socket %s:",
		    path);
		if (fd >= 0)
			(void)close(fd); /* never connected */
		return;
	}
	m->notify_host = fd;
}

/*
 * spec 3.1 step 8, 13: with --sdnotify-socket and a bundle, both sockets.
 * The broker reads the container's datagrams, so there is no relay
 * without one (passthrough). Returns -1 after mon_fail().
 */
int
mon_notify_create(struct mon *m)
{
	if (m->o->sdnotify_socket == NULL || m->bundle_dirfd < 0)
		return 0;
	if (notify_bind(m) < 0) {
		mon_fail(m, "Failed to create notify socket: %s",
		    errtext(errno));
		return -1;
	}
	notify_connect(m);
	return 0;
}

/*
 * spec 13: the broker's lines, already checked line by line against the
 * fixed list by chan_msg_check() (security 6), as one datagram. Never
 * blocks the reaper; a failure is a warning once per episode.
 */
void
mon_notify_relay(struct mon *m, const void *lines, size_t len)
{
	ssize_t n;

	if (m->notify_host < 0 || !notify_msg_ok(lines, len))
		return;
	do {
		n = send(m->notify_host, lines, len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (!m->notify_failing)
			diag_warn("Failed to send to the sd-notify socket %s; "
			    "notifications are dropped until it takes them:",
			    m->o->sdnotify_socket);
		m->notify_failing = true;
		return;
	}
	m->notify_failing = false;
}
