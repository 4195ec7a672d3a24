/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/logger/queue_test.c: logger/queue.c, a client's fixed ring of
 * whole records (security 7): order kept, records never split, a full
 * ring refuses a record whole, wrapping anywhere, nothing allocated after
 * init.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "logger/queue.h"

static struct log_queue q;

static void
queue_test_fini(void)
{
	log_queue_free(&q);
}

TestSuite(log_queue, .fini = queue_test_fini);

/* A record of `len` bytes whose content says which one it is. */
static void
make_record(unsigned char *rec, size_t len, unsigned seq)
{
	for (size_t i = 0; i < len; i++)
		rec[i] = (unsigned char)(seq * 31 + i);
}

/* Pops the head and checks it is record `seq` of `len` bytes. */
static void
expect_head(size_t len, unsigned seq)
{
	unsigned char want[70000], got[70000];
	struct iovec iov[2];
	size_t n, o = 0;
	int niov;

	make_record(want, len, seq);
	n = log_queue_peek(&q, iov, &niov);
	cr_assert_eq(n, len, "record %u: length %zu, want %zu", seq, n, len);
	cr_assert(niov == 1 || niov == 2);
	for (int i = 0; i < niov; i++) {
		memcpy(got + o, iov[i].iov_base, iov[i].iov_len);
		o += iov[i].iov_len;
	}
	cr_assert_eq(o, len, "pieces add up to %zu", o);
	cr_assert_arr_eq(got, want, len, "record %u content", seq);
	log_queue_pop(&q);
}

static void
push(size_t len, unsigned seq)
{
	unsigned char rec[70000];

	make_record(rec, len, seq);
	cr_assert(log_queue_push(&q, rec, len), "record %u refused", seq);
}

Test(log_queue, starts_empty)
{
	struct iovec iov[2];
	int niov = 5;

	cr_assert_eq(log_queue_init(&q, 64), 0);
	cr_assert_eq(log_queue_peek(&q, iov, &niov), 0);
	cr_assert_eq(niov, 0);
	log_queue_pop(&q); /* harmless on an empty queue */
	cr_assert_eq(q.records, 0);
}

Test(log_queue, keeps_order)
{
	cr_assert_eq(log_queue_init(&q, 1024), 0);
	for (unsigned i = 0; i < 10; i++)
		push(1 + i * 7, i);
	cr_assert_eq(q.records, 10);
	for (unsigned i = 0; i < 10; i++)
		expect_head(1 + i * 7, i);
	cr_assert_eq(q.records, 0);
	cr_assert_eq(q.used, 0);
	cr_assert_eq(q.bytes, 0);
}

/* security 7: full means refused whole; a smaller one may still fit. */
Test(log_queue, refuses_whole_when_full)
{
	unsigned char rec[64];

	cr_assert_eq(log_queue_init(&q, 2 * (LOG_QUEUE_PREFIX + 10)), 0);
	push(10, 1);
	push(10, 2);
	memset(rec, 'x', sizeof(rec));
	cr_assert_not(log_queue_push(&q, rec, 1), "accepted past full");
	cr_assert_eq(q.records, 2);
	log_queue_pop(&q);
	cr_assert_not(log_queue_push(&q, rec, 11), "split a record");
	push(10, 3);
	expect_head(10, 2);
	expect_head(10, 3);
}

Test(log_queue, refuses_empty_and_oversized_records)
{
	unsigned char rec[1];

	cr_assert_eq(log_queue_init(&q, 200000), 0);
	cr_assert_not(log_queue_push(&q, rec, 0));
	cr_assert_not(log_queue_push(&q, rec, LOG_QUEUE_RECORD_MAX + 1));
	push(LOG_QUEUE_RECORD_MAX, 9);
	expect_head(LOG_QUEUE_RECORD_MAX, 9);
}

/*
 * Records and prefixes wrap at every offset of a small ring: one record
 * always stays queued (so the ring never restarts at 0) while records of
 * 1..8 bytes go through a ring of 23, whose size shares no factor with
 * theirs.
 */
Test(log_queue, wraps_at_every_offset)
{
	const size_t size = 23;
	bool seen_head[23] = { false }, wrapped = false;
	struct iovec iov[2];
	unsigned seq;
	int niov;

	cr_assert_eq(log_queue_init(&q, size), 0);
	push(1, 0);
	for (seq = 1; seq < 2000; seq++) {
		size_t len = 1 + (seq * 5) % 8;

		push(len, seq);
		seen_head[q.head] = true;
		(void)log_queue_peek(&q, iov, &niov);
		wrapped |= niov == 2;
		expect_head(1 + ((seq - 1) * 5) % 8, seq - 1);
	}
	for (size_t i = 0; i < size; i++)
		cr_assert(seen_head[i], "head never at offset %zu", i);
	cr_assert(wrapped, "no record ever wrapped");
}

/* A long run of mixed sizes through a ring of a few records. */
Test(log_queue, streams_through_a_small_ring)
{
	unsigned pushed = 0, popped = 0;

	cr_assert_eq(log_queue_init(&q, 3 * 8195 + 7), 0);
	while (popped < 5000) {
		size_t len = 1 + (pushed * 977) % 8193;
		unsigned char rec[8193];

		make_record(rec, len, pushed);
		if (pushed < 5000 && log_queue_push(&q, rec, len)) {
			pushed++;
			continue;
		}
		expect_head(1 + (popped * 977) % 8193, popped);
		popped++;
	}
	cr_assert_eq(q.records, 0);
}

Test(log_queue, clear_drops_everything)
{
	cr_assert_eq(log_queue_init(&q, 100), 0);
	push(5, 1);
	push(6, 2);
	log_queue_clear(&q);
	cr_assert_eq(q.records, 0);
	cr_assert_eq(q.bytes, 0);
	push(90, 3);
	expect_head(90, 3);
}

Test(log_queue, refuses_a_ring_without_room_for_a_record)
{
	cr_assert_eq(log_queue_init(&q, LOG_QUEUE_PREFIX), -1);
	cr_assert_null(q.buf);
}
