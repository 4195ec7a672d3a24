/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/chan.c: the channel codec, the only code that calls sendmsg or
 * recvmsg on a channel. chan_send() is async-signal-safe (the SIGSYS
 * reporter calls it): it never allocates or prints. Never trusts a datagram.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/chan.h"
#include "common/io.h"

/*
 * Fds seen per received datagram. One is the most any type carries; room
 * for more lets us see and close extra fds (security 32). Beyond this the
 * kernel sets MSG_CTRUNC and discards the rest itself.
 */
#define CHAN_RECV_FDS 4

#ifdef VIGIL_FAULTS
/* chan.corrupt_next (common/fault.h): the socket whose next send lies. */
static volatile int chan_fault_sock = -1;

void
chan_fault_corrupt_next(int sock)
{
	chan_fault_sock = sock;
}
#endif

int
chan_pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

/* A sender's bug, refused before anything reaches the wire. */
static int
chan_send_check(unsigned type, const void *payload, size_t len, int fd)
{
	const struct chan_spec *spec;
	unsigned nfds = fd >= 0 ? 1 : 0;

	spec = chan_spec_of(type);
	if (spec == NULL || len < spec->min_len || len > spec->max_len ||
	    (len > 0 && payload == NULL) || nfds != spec->fds) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * Header and payload pieces go out as iovecs of one sendmsg, so one
 * datagram without a payload-sized frame: the SIGSYS handler may run on a
 * small alternate stack.
 */
static int
chan_sendv(int sock, unsigned type, const struct iovec *pl, size_t npl,
    int fd)
{
	struct chan_hdr hdr;
	struct iovec iov[3];
	struct msghdr mh;
	struct cmsghdr *cm;
	union {
		struct cmsghdr align;
		unsigned char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	size_t len = 0, niov = 1;
	ssize_t n;

	for (size_t i = 0; i < npl; i++)
		len += pl[i].iov_len;
	if (chan_send_check(type, npl > 0 ? pl[0].iov_base : NULL, len, fd) ==
	    -1)
		return -1;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = (uint16_t)type;
	hdr.len = (uint32_t)len;
#ifdef VIGIL_FAULTS
	if (sock == chan_fault_sock) {
		/* security 30: a header length unlike the datagram's */
		chan_fault_sock = -1;
		hdr.len++;
	}
#endif
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	for (size_t i = 0; i < npl; i++)
		if (pl[i].iov_len > 0)
			iov[niov++] = pl[i];
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = niov;
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	/* SOCK_SEQPACKET sends a whole datagram or fails: this is odd */
	if ((size_t)n != sizeof(hdr) + len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

#ifdef VIGIL_FAULTS
/*
 * FAULTS=1 only (common/hostile.c): any bytes as one datagram with any
 * fds, bypassing every check, as a compromised child would send them.
 */
int
chan_send_raw(int sock, const void *buf, size_t len, const int *fds,
    size_t nfds)
{
	union {
		struct cmsghdr align;
		unsigned char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf,
		.iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (nfds > 4) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}
#endif

int
chan_send(int sock, unsigned type, const void *payload, size_t len, int fd)
{
	struct iovec pl = { .iov_base = (void *)(uintptr_t)payload,
		.iov_len = len };

	return chan_sendv(sock, type, &pl, 1, fd);
}

static void
chan_close_fds(const int *fds, size_t nfds)
{
	for (size_t i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			(void)close(fds[i]); /* refused: gone either way */
}

static int
chan_reject(const int *fds, size_t nfds, bool close_fds, const char *what,
    const char **why)
{
	if (close_fds)
		chan_close_fds(fds, nfds);
	if (why != NULL)
		*why = what;
	errno = EPROTO;
	return -1;
}

/* The checks of style.md, in order; NULL when the datagram is valid. */
static const char *
chan_check(const unsigned char *buf, size_t n, int msg_flags, size_t nfds,
    unsigned peer)
{
	const struct chan_spec *spec;
	struct chan_hdr hdr;

	if ((msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
		return "truncated";
	if (n < sizeof(hdr))
		return "short header";
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.len != n - sizeof(hdr))
		return "length mismatch";
	if (hdr.flags != 0)
		return "bad flags";
	if ((spec = chan_spec_of(hdr.type)) == NULL)
		return "unknown type";
	/* peer is one role; a set of roles must all be allowed */
	if (peer == 0 || (spec->from & peer) != peer)
		return "type not allowed from this peer";
	if (hdr.len < spec->min_len || hdr.len > spec->max_len ||
	    hdr.len > CHAN_PAYLOAD_MAX)
		return "bad payload length";
	if (nfds != spec->fds)
		return "wrong fd count";
	return NULL;
}

int
chan_decode(const void *buf, size_t n, int msg_flags, const int *fds,
    size_t nfds, unsigned peer, bool close_fds, struct chan_msg *m,
    const char **why)
{
	const unsigned char *p = buf;
	const char *bad;
	struct chan_hdr hdr;

	bad = chan_check(p, n, msg_flags, nfds, peer);
	if (bad != NULL)
		return chan_reject(fds, nfds, close_fds, bad, why);
	memcpy(&hdr, p, sizeof(hdr));
	m->type = hdr.type;
	m->len = hdr.len;
	memcpy(m->u.raw, p + sizeof(hdr), hdr.len);
	m->fd = nfds == 1 ? fds[0] : -1;
	return 0;
}

/*
 * The datagram lands in place: its header in a local, its payload in
 * m->u.raw, and one byte more, so a datagram over the largest valid one is
 * seen (MSG_TRUNC beyond that). No receive buffer and no copy: an output
 * frame is 64 KiB (bench figures 1 and 4).
 */
static int
chan_recv_into(int sock, unsigned peer, unsigned char *payload, size_t cap,
    unsigned *type, size_t *len, int *fd, const char **why)
{
	unsigned char hdr[sizeof(struct chan_hdr)], over;
	union {
		struct cmsghdr align;
		unsigned char buf[CMSG_SPACE(CHAN_RECV_FDS * sizeof(int))];
	} ctl;
	int fds[CHAN_RECV_FDS];
	struct iovec iov[3] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = payload, .iov_len = cap },
		{ .iov_base = &over, .iov_len = 1 },
	};
	struct chan_hdr h;
	const char *bad;
	struct msghdr mh;
	size_t nfds;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 3;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	nfds = io_take_fds(&mh, fds, CHAN_RECV_FDS); /* the rest closed */
	/* end of file; an empty datagram without fds reads the same */
	if (n == 0 && nfds == 0 && (mh.msg_flags & MSG_CTRUNC) == 0)
		return 0;
	/* chan_decode()'s checks, on the header; the payload is in place */
	bad = chan_check(hdr, (size_t)n, mh.msg_flags, nfds, peer);
	if (bad != NULL)
		return chan_reject(fds, nfds, true, bad, why);
	memcpy(&h, hdr, sizeof(h));
	if (h.len > cap) /* valid, but not from this peer's channel */
		return chan_reject(fds, nfds, true, "truncated", why);
	*type = h.type;
	*len = h.len;
	*fd = nfds == 1 ? fds[0] : -1;
	return 1;
}

int
chan_recv(int sock, unsigned peer, struct chan_msg *m, const char **why)
{
	return chan_recv_into(sock, peer, m->u.raw, sizeof(m->u.raw), &m->type,
	    &m->len, &m->fd, why);
}

int
chan_recv_ctl(int sock, unsigned peer, struct chan_ctl_msg *m,
    const char **why)
{
	return chan_recv_into(sock, peer, m->u.raw, sizeof(m->u.raw), &m->type,
	    &m->len, &m->fd, why);
}
