/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/io.h: small I/O helpers. EINTR is retried here and nowhere else
 * (style.md); short reads and writes are completed. Helpers never print:
 * they return -1 with errno set.
 */
#ifndef VIGIL_IO_H
#define VIGIL_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/compiler.h"

/* Writes all of buf (blocking fds) or fails; EAGAIN is returned as is. */
ssize_t io_write_all(int, const void *, size_t) VIGIL_MUST_CHECK;
/* One read, EINTR retried. */
ssize_t io_read(int, void *, size_t) VIGIL_MUST_CHECK;
int io_set_nonblock(int, bool) VIGIL_MUST_CHECK;
int io_set_cloexec(int, bool) VIGIL_MUST_CHECK;
/* Moves fd to exactly `want` (dup3 + close); O_CLOEXEC as asked. */
int io_move_fd(int fd, int want, bool cloexec) VIGIL_MUST_CHECK;
/*
 * A data buffer of its own mapping, kept for the process's life: no page
 * is touched before the first read into it, where malloc would write a
 * header at each end on heap pages (bench figure 1: an idle child keeps
 * none of it). NULL with errno on failure.
 */
void *io_buf_new(size_t);
/*
 * The fds of every SCM_RIGHTS message in a received mh, never read past
 * what the kernel filled in: the first `max` go to fds in order, every
 * other one is closed at once. Returns how many went to fds.
 */
struct msghdr;
size_t io_take_fds(struct msghdr *mh, int *fds, size_t max);
/*
 * sendmmsg(2) made as the system call itself, EINTR not retried (the
 * callers' sockets are non-blocking). musl's sendmmsg() on 64-bit hosts
 * makes one sendmsg() call a message (its struct msghdr has int fields
 * where the kernel's are size_t): the caller zeroes each entry before
 * filling it, so the padding after musl's int fields reads as the upper
 * half of the kernel's size_t, and passes no control data.
 */
struct mmsghdr;
int io_sendmmsg(int fd, struct mmsghdr *mm, unsigned int n, int flags)
    VIGIL_MUST_CHECK;

#endif
