/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/queue.c: a client's fixed output ring (security 7: a client that
 * does not read costs at most its ring). Pure: no I/O, no allocation
 * after log_queue_init().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "logger/queue.h"

int
log_queue_init(struct log_queue *q, size_t size)
{
	memset(q, 0, sizeof(*q));
	/* one record and its prefix must always fit an empty ring */
	if (size < LOG_QUEUE_PREFIX + 1) {
		errno = EINVAL;
		return -1;
	}
	if ((q->buf = malloc(size)) == NULL)
		return -1;
	q->size = size;
	return 0;
}

void
log_queue_free(struct log_queue *q)
{
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

/* Copies n bytes in at ring offset off, wrapping at the end. */
static void
log_queue_put(struct log_queue *q, size_t off, const void *src, size_t n)
{
	size_t first = q->size - off;

	if (first > n)
		first = n;
	memcpy(q->buf + off, src, first);
	memcpy(q->buf, (const unsigned char *)src + first, n - first);
}

bool
log_queue_push(struct log_queue *q, const void *rec, size_t len)
{
	unsigned char prefix[LOG_QUEUE_PREFIX];
	size_t tail;

	if (len == 0 || len > LOG_QUEUE_RECORD_MAX || q->buf == NULL)
		return false;
	if (len + LOG_QUEUE_PREFIX > q->size - q->used)
		return false; /* security 7: refused whole, never cut */
	prefix[0] = (unsigned char)(len & 0xff);
	prefix[1] = (unsigned char)(len >> 8);
	tail = (q->head + q->used) % q->size;
	log_queue_put(q, tail, prefix, sizeof(prefix));
	log_queue_put(q, (tail + LOG_QUEUE_PREFIX) % q->size, rec, len);
	q->used += len + LOG_QUEUE_PREFIX;
	q->bytes += len;
	q->records++;
	return true;
}

/* The oldest record's length, read across the wrap if need be. */
static size_t
log_queue_head_len(const struct log_queue *q)
{
	unsigned char lo = q->buf[q->head];
	unsigned char hi = q->buf[(q->head + 1) % q->size];

	return (size_t)lo | (size_t)hi << 8;
}

size_t
log_queue_peek(const struct log_queue *q, struct iovec iov[2], int *niov)
{
	size_t len, off, first;

	*niov = 0;
	if (q->records == 0)
		return 0;
	len = log_queue_head_len(q);
	off = (q->head + LOG_QUEUE_PREFIX) % q->size;
	first = q->size - off;
	if (first > len)
		first = len;
	iov[0].iov_base = q->buf + off;
	iov[0].iov_len = first;
	*niov = 1;
	if (first < len) {
		iov[1].iov_base = q->buf;
		iov[1].iov_len = len - first;
		*niov = 2;
	}
	return len;
}

size_t
log_queue_peek_many(const struct log_queue *q, struct iovec (*iov)[2],
    int *niov, size_t max)
{
	struct log_queue at = *q; /* a copy walked forward, q untouched */
	size_t k;

	for (k = 0; k < max && at.records > 0; k++) {
		size_t len = log_queue_peek(&at, iov[k], &niov[k]);
		at.head = (at.head + LOG_QUEUE_PREFIX + len) % at.size;
		at.records--;
	}
	return k;
}

void
log_queue_pop(struct log_queue *q)
{
	size_t len;

	if (q->records == 0)
		return;
	len = log_queue_head_len(q);
	q->head = (q->head + LOG_QUEUE_PREFIX + len) % q->size;
	q->used -= len + LOG_QUEUE_PREFIX;
	q->bytes -= len;
	/* an empty ring starts over at 0: fewer records wrap */
	if (--q->records == 0)
		q->head = 0;
}

void
log_queue_clear(struct log_queue *q)
{
	q->head = q->used = q->records = q->bytes = 0;
}
