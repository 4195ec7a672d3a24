/* SPDX-License-Identifier: Apache-2.0 */
/* common/io.c: EINTR-safe, short-write-safe I/O helpers. */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"

ssize_t
io_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t
io_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	do {
		n = read(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	return n;
}

int
io_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

int
io_set_cloexec(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -1;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl);
}

int
io_move_fd(int fd, int want, bool cloexec)
{
	if (fd == want)
		return io_set_cloexec(fd, cloexec);
	if (dup3(fd, want, cloexec ? O_CLOEXEC : 0) < 0)
		return -1;
	(void)close(fd); /* the copy at `want` is what counts */
	return 0;
}

void *
io_buf_new(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

size_t
io_take_fds(struct msghdr *mh, int *fds, size_t max)
{
	const unsigned char *end, *data;
	struct cmsghdr *cm;
	size_t n = 0, k, room;
	int fd;

	end = (const unsigned char *)mh->msg_control + mh->msg_controllen;
	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len < CMSG_LEN(0))
			continue;
		data = CMSG_DATA(cm);
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		/* never read past what the kernel filled in */
		room = end > data ? (size_t)(end - data) : 0;
		if (k > room / sizeof(int))
			k = room / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			memcpy(&fd, data + i * sizeof(int), sizeof(fd));
			if (n < max)
				fds[n++] = fd;
			else if (fd >= 0)
				(void)close(fd); /* never kept, never used */
		}
	}
	return n;
}

/* the kernel's struct mmsghdr layout, which io_sendmmsg relies on */
_Static_assert(sizeof(struct msghdr) == 56 && sizeof(struct mmsghdr) == 64,
    "struct mmsghdr is not the x86-64/aarch64 kernel's");

int
io_sendmmsg(int fd, struct mmsghdr *mm, unsigned int n, int flags)
{
	return (int)syscall(SYS_sendmmsg, fd, mm, n, flags);
}
