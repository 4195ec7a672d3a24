/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/journal.c: the journal's socket, connected by the reaper for
 * the logger, which never creates a socket (architecture.md, spec 9.7).
 * Connects only; never sends a byte itself.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "monitor/mon.h"

/* spec 9.7: journald's native protocol socket. */
#define MON_JOURNAL_SOCKET "/run/systemd/journal/socket"

/*
 * A datagram socket connected to the journal, close-on-exec (the runtime
 * must not inherit it). The logger sends with MSG_DONTWAIT, so the socket
 * itself stays blocking. Returns the fd, or -1 with errno set.
 */
int
mon_journal_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, saved;

	_Static_assert(sizeof(MON_JOURNAL_SOCKET) <= sizeof(sun.sun_path),
	    "journal socket path");
	memcpy(sun.sun_path, MON_JOURNAL_SOCKET, sizeof(MON_JOURNAL_SOCKET));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		saved = errno;
		(void)close(fd); /* error path: never connected */
		errno = saved;
		return -1;
	}
	return fd;
}
