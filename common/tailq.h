/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/tailq.h: the TAILQ doubly linked tail queue of BSD's
 * <sys/queue.h>, only the operations vigil uses, with the same names and
 * meaning. musl, the C library of the shipped binary, has no
 * <sys/queue.h>; glibc's is a copy of the BSD one.
 *
 * An element embeds TAILQ_ENTRY(type); a head is TAILQ_HEAD(name, type).
 * tqe_prev points at the previous element's tqe_next (or the head's
 * tqh_first), tqh_last at the last element's tqe_next (or tqh_first), so
 * insertion at the tail and removal take constant time and no branch on
 * "first" or "last".
 */
#ifndef VIGIL_COMMON_TAILQ_H
#define VIGIL_COMMON_TAILQ_H

#include <stddef.h>

#define TAILQ_HEAD(name, type)                                              \
	struct name {                                                       \
		struct type *tqh_first;                                     \
		struct type **tqh_last;                                     \
	}

#define TAILQ_ENTRY(type)                                                   \
	struct {                                                            \
		struct type *tqe_next;                                      \
		struct type **tqe_prev;                                     \
	}

#define TAILQ_INIT(head)                                                    \
	do {                                                                \
		(head)->tqh_first = NULL;                                   \
		(head)->tqh_last = &(head)->tqh_first;                      \
	} while (0)

#define TAILQ_FIRST(head) ((head)->tqh_first)
#define TAILQ_EMPTY(head) ((head)->tqh_first == NULL)
#define TAILQ_NEXT(elm, field) ((elm)->field.tqe_next)

#define TAILQ_FOREACH(var, head, field)                                     \
	for ((var) = TAILQ_FIRST(head); (var) != NULL;                      \
	     (var) = TAILQ_NEXT(var, field))

#define TAILQ_INSERT_TAIL(head, elm, field)                                 \
	do {                                                                \
		(elm)->field.tqe_next = NULL;                               \
		(elm)->field.tqe_prev = (head)->tqh_last;                   \
		*(head)->tqh_last = (elm);                                  \
		(head)->tqh_last = &(elm)->field.tqe_next;                  \
	} while (0)

#define TAILQ_REMOVE(head, elm, field)                                      \
	do {                                                                \
		if ((elm)->field.tqe_next != NULL)                          \
			(elm)->field.tqe_next->field.tqe_prev =             \
			    (elm)->field.tqe_prev;                          \
		else                                                        \
			(head)->tqh_last = (elm)->field.tqe_prev;           \
		*(elm)->field.tqe_prev = (elm)->field.tqe_next;             \
	} while (0)

#endif
