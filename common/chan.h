/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/chan.h: the channel codec. SOCK_SEQPACKET socketpairs, one framed
 * message per datagram (struct chan_hdr + payload), at most one fd by
 * SCM_RIGHTS. The only code that calls sendmsg/recvmsg on a channel.
 * Never trusts a datagram: chan_decode() checks it against chan_specs.
 */
#ifndef VIGIL_CHAN_H
#define VIGIL_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/chan_msg.h"
#include "common/compiler.h"

/*
 * A received message. Receivers keep it static, never on the stack: with
 * its CHAN_PAYLOAD_MAX payload a stack copy puts the first payload bytes
 * 32 KiB deep, and that page stays dirty in every process of every
 * container (bench figure 1). chan_recv() receives the payload in place.
 */
#define CHAN_MSG_FIELDS(payload_max)					\
	unsigned type;	/* enum chan_type, known and allowed */		\
	size_t len;	/* payload bytes, within the type's bounds */	\
	int fd;		/* the passed fd, or -1; the receiver owns it */	\
	union {								\
		struct chan_hello hello;				\
		struct chan_trap trap;					\
		struct chan_log_sink log_sink;				\
		struct chan_log_source log_source;			\
		struct chan_log_reopen log_reopen;			\
		struct chan_log_drained log_drained;			\
		struct chan_peer peer;					\
		struct chan_att_client att_client;			\
		struct chan_att_fd att_fd;				\
		struct chan_att_closed att_closed;			\
		struct chan_listener listener;				\
		unsigned char raw[payload_max];				\
	} u

struct chan_msg {
	CHAN_MSG_FIELDS(CHAN_PAYLOAD_MAX);
};

/*
 * A message from the reaper, received by a child: no type the reaper
 * sends carries more than CHAN_CTL_PAYLOAD_MAX bytes (a unit test checks
 * the table), so the buffer is small and sits among the child's other
 * globals, where a struct chan_msg's 64 KiB would put its header on a
 * page of its own, dirty in every idle child (bench figure 1). A longer
 * datagram is refused as truncated, as any invalid one. Same fields.
 */
#define CHAN_CTL_PAYLOAD_MAX 64
struct chan_ctl_msg {
	CHAN_MSG_FIELDS(CHAN_CTL_PAYLOAD_MAX);
};

/* A SOCK_SEQPACKET, close-on-exec socketpair. */
int chan_pair(int sv[2]) VIGIL_MUST_CHECK;

/*
 * Sends one message of `type` with `len` payload bytes and, if fd >= 0,
 * that fd (the caller keeps its copy). Never blocks when the socket is
 * non-blocking: -1 with EAGAIN then. -1 with EINVAL for a type/len/fd the
 * table does not allow (a bug in the sender).
 */
int chan_send(int sock, unsigned type, const void *payload, size_t len,
    int fd) VIGIL_MUST_CHECK;

#ifdef VIGIL_FAULTS
/* chan.corrupt_next (common/fault.h): the next chan_send() on sock goes
 * out with a header length one more than its payload (security 30). */
void chan_fault_corrupt_next(int sock);
#endif

/*
 * Receives one message from a peer of role `peer` (one enum chan_role
 * bit). Returns 1 with *m filled, 0 on end of file, -1 with errno:
 * EAGAIN (nothing to read), EPROTO (invalid message: *why says what was
 * wrong, and every fd that came with it is already closed), or another
 * errno from recvmsg.
 */
int chan_recv(int sock, unsigned peer, struct chan_msg *m, const char **why)
    VIGIL_MUST_CHECK;
/* chan_recv() into a child's buffer for its reaper channel. */
int chan_recv_ctl(int sock, unsigned peer, struct chan_ctl_msg *m,
    const char **why) VIGIL_MUST_CHECK;

/*
 * The checks of chan_recv on a datagram already received: `buf`/`n` the
 * bytes, `msg_flags` recvmsg's flags (MSG_TRUNC, MSG_CTRUNC), fds[nfds] the
 * fds that arrived. Returns 0 with *m filled, or -1 with EPROTO and *why;
 * on failure it closes every fd in fds (when close_fds is true).
 */
int chan_decode(const void *buf, size_t n, int msg_flags, const int *fds,
    size_t nfds, unsigned peer, bool close_fds, struct chan_msg *m,
    const char **why) VIGIL_MUST_CHECK;

#ifdef VIGIL_FAULTS
/* FAULTS=1 only: a raw datagram and up to 4 fds, unchecked (hostile.c). */
int chan_send_raw(int sock, const void *buf, size_t len, const int *fds,
    size_t nfds) VIGIL_MUST_CHECK;
#endif

#endif
