/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/sndbuf.c: how much the logger reads at once while attach clients
 * are attached (README "Performance", attach). A chunk goes to a client
 * straight from the read buffer only if it fits in the client socket's
 * send buffer, and a client that is behind is flushed once a loop turn,
 * so it can never get more than one send buffer a chunk: reads larger
 * than its buffer takes make it fall further behind with every chunk
 * until its records drop (spec 7.5). So each client's send buffer is
 * raised to LOG_CLIENT_SNDBUF (the kernel caps the request at
 * net.core.wmem_max), within LOG_CLIENT_SNDBUFS_TOTAL for all of them
 * (security 7), and the logger reads no more than the smallest buffer of
 * an attached client takes. Never blocks.
 */
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>

#include "common/diag.h"
#include "logger/logger.h"

/*
 * The largest chunk for a client whose send buffer is `sndbuf` bytes as
 * the kernel counts it: a record takes its allocation and the kernel's
 * head there, about 1.1 bytes of buffer a byte of output for the
 * logger's records (LOG_RECORD_DATA; 2 for conmon's 8193-byte ones),
 * and a chunk must fit while the client still holds the one before it,
 * with room to spare: sndbuf / 4, in whole steps of LOG_READ_MIN,
 * between LOG_READ_MIN and LOG_READ_MAX. The default buffer (212992)
 * gives LOG_READ_MIN, a raised one of 2 MiB LOG_READ_MAX.
 */
size_t
log_chunk_max(int sndbuf)
{
	size_t n = sndbuf > 0 ? (size_t)sndbuf / 4 : 0;

	n -= n % LOG_READ_MIN;
	if (n < LOG_READ_MIN)
		return LOG_READ_MIN;
	return n > LOG_READ_MAX ? LOG_READ_MAX : n;
}

/* A client the logger takes: its buffer raised, the read size to match. */
void
log_client_sndbuf(struct logger *l, struct log_client *c)
{
	int want = (int)LOG_CLIENT_SNDBUF, got = 0;
	socklen_t len = sizeof(got);
	bool raise = l->sndbufs + 2 * (size_t)LOG_CLIENT_SNDBUF <=
	    LOG_CLIENT_SNDBUFS_TOTAL;

	if (raise && setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &want,
	    sizeof(want)) < 0) {
		diag_warn("attach: cannot raise the send buffer of client %"
		    PRIu32 "; it gets %d-byte reads:", c->id, LOG_READ_MIN);
		raise = false;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &got, &len) < 0) {
		diag_warn("attach: cannot read the send buffer of client %"
		    PRIu32 "; it gets %d-byte reads:", c->id, LOG_READ_MIN);
		got = 0;
	}
	if (raise && got > 0) {
		c->sndbuf_raised = (size_t)got;
		l->sndbufs += c->sndbuf_raised;
	}
	c->chunk_max = log_chunk_max(got);
	if (c->chunk_max < l->read_max)
		l->read_max = c->chunk_max;
}

/* A client whose output ended: its buffer leaves the total, reads grow. */
void
log_client_sndbuf_release(struct logger *l, struct log_client *c)
{
	struct log_client *o;

	if (c->chunk_max == 0)
		return; /* never taken, or released already */
	l->sndbufs -= c->sndbuf_raised;
	c->sndbuf_raised = 0;
	c->chunk_max = 0;
	l->read_max = LOG_READ_MAX;
	TAILQ_FOREACH(o, &l->clients, entry)
		if (o->chunk_max > 0 && o->chunk_max < l->read_max)
			l->read_max = o->chunk_max;
}
