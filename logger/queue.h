/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/queue.h: one attach client's output queue, a fixed ring of whole
 * records, allocated when the client falls behind and freed when it has
 * caught up (logger/clients.c). A record is kept whole or refused whole;
 * nothing is ever split. Never does I/O.
 */
#ifndef VIGIL_LOG_QUEUE_H
#define VIGIL_LOG_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/compiler.h"

/* Each record is stored behind its length, 2 bytes little endian. */
#define LOG_QUEUE_PREFIX 2
/* The longest record a 2-byte prefix can describe. */
#define LOG_QUEUE_RECORD_MAX 0xffff

struct log_queue {
	unsigned char *buf; /* size bytes, or NULL before init / after free */
	size_t size;
	size_t head;	    /* offset of the oldest record's prefix */
	size_t used;	    /* bytes in use, prefixes included */
	size_t records;	    /* records queued */
	size_t bytes;	    /* record bytes queued, prefixes excluded */
};

/* Allocates the ring: the only allocation a queue ever makes. */
int log_queue_init(struct log_queue *, size_t size) VIGIL_MUST_CHECK;
void log_queue_free(struct log_queue *);

/* Appends a whole record; false (nothing stored) when it does not fit. */
bool log_queue_push(struct log_queue *, const void *rec, size_t len)
    VIGIL_MUST_CHECK;

/*
 * The oldest record as one or two pieces (it may wrap at the ring's end):
 * fills iov[0..*niov-1] and returns its length, 0 when the queue is empty.
 */
size_t log_queue_peek(const struct log_queue *, struct iovec iov[2],
    int *niov);

/*
 * log_queue_peek() of the oldest `max` records at most, for one sendmmsg:
 * record i in iov[i][0..niov[i]-1]. Returns how many were filled.
 */
size_t log_queue_peek_many(const struct log_queue *, struct iovec (*iov)[2],
    int *niov, size_t max);

/* Drops the oldest record (after it was sent). */
void log_queue_pop(struct log_queue *);

/* Drops every record. */
void log_queue_clear(struct log_queue *);

#endif
