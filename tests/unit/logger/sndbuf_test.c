/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/logger/sndbuf_test.c: logger/sndbuf.c, the send buffers of
 * attach client sockets and the read size they allow (README
 * "Performance", security 7): a quarter of the smallest buffer, in steps
 * of LOG_READ_MIN; buffers raised only within LOG_CLIENT_SNDBUFS_TOTAL,
 * given back when a client goes. Real socket pairs, no logger process.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "logger/logger.h"

/* net.core.wmem_max and wmem_default of this host, as the kernel counts
 * a buffer (twice what is asked). */
static int
sysctl_int(const char *name)
{
	char path[128];
	FILE *f;
	int v = -1;

	(void)snprintf(path, sizeof(path), "/proc/sys/net/core/%s", name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fscanf(f, "%d", &v), 1, "%s", path);
	(void)fclose(f);
	return v;
}

Test(sndbuf, chunk_is_a_quarter_in_steps)
{
	cr_expect_eq(log_chunk_max(0), LOG_READ_MIN);
	cr_expect_eq(log_chunk_max(-1), LOG_READ_MIN);
	cr_expect_eq(log_chunk_max(212992), LOG_READ_MIN); /* the default */
	cr_expect_eq(log_chunk_max(425984), LOG_READ_MIN); /* its maximum */
	cr_expect_eq(log_chunk_max(4 * 2 * LOG_READ_MIN - 1), LOG_READ_MIN);
	cr_expect_eq(log_chunk_max(4 * 2 * LOG_READ_MIN), 2 * LOG_READ_MIN);
	cr_expect_eq(log_chunk_max(4 * 3 * LOG_READ_MIN + 4000),
	    3 * LOG_READ_MIN);
	cr_expect_eq(log_chunk_max(2 << 20), LOG_READ_MAX); /* 1 MiB asked */
	cr_expect_eq(log_chunk_max(64 << 20), LOG_READ_MAX);
}

#define NCLIENTS 80

static struct logger l;
static struct log_client cl[NCLIENTS];
static int peer[NCLIENTS];

static void
add(int i)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	memset(&cl[i], 0, sizeof(cl[i]));
	cl[i].l = &l;
	cl[i].id = (uint32_t)i;
	cl[i].fd = sv[0];
	peer[i] = sv[1];
	log_client_sndbuf(&l, &cl[i]);
	TAILQ_INSERT_TAIL(&l.clients, &cl[i], entry);
}

static void
drop(int i)
{
	log_client_sndbuf_release(&l, &cl[i]);
	TAILQ_REMOVE(&l.clients, &cl[i], entry);
	(void)close(cl[i].fd);
	(void)close(peer[i]);
}

static int
sndbuf_of(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len), 0);
	return v;
}

Test(sndbuf, raised_within_the_total_and_given_back)
{
	int wmem_max = sysctl_int("wmem_max");
	int dflt = sysctl_int("wmem_default");
	size_t granted = 2 * (size_t)(wmem_max < (int)LOG_CLIENT_SNDBUF ?
	    wmem_max : (int)LOG_CLIENT_SNDBUF);
	size_t total = 0;
	int raised = 0;

	while (total + 2 * (size_t)LOG_CLIENT_SNDBUF <=
	    LOG_CLIENT_SNDBUFS_TOTAL) {
		total += granted;
		raised++;
	}
	if (raised >= NCLIENTS)
		cr_skip_test("wmem_max %d: more than %d clients are raised",
		    wmem_max, NCLIENTS);
	memset(&l, 0, sizeof(l));
	TAILQ_INIT(&l.clients);
	l.read_max = LOG_READ_MAX;

	for (int i = 0; i < raised; i++) {
		add(i);
		cr_assert_eq((size_t)sndbuf_of(cl[i].fd), granted, "client %d",
		    i);
		cr_assert_eq(cl[i].sndbuf_raised, granted);
		cr_assert_eq(cl[i].chunk_max, log_chunk_max((int)granted));
	}
	cr_assert_eq(l.sndbufs, total);
	cr_assert_leq(l.sndbufs, LOG_CLIENT_SNDBUFS_TOTAL);
	cr_assert_eq(l.read_max, log_chunk_max((int)granted));

	/* past the total: the default, counted nowhere, reads follow it */
	add(raised);
	cr_assert_eq(sndbuf_of(cl[raised].fd), dflt);
	cr_assert_eq(cl[raised].sndbuf_raised, 0);
	cr_assert_eq(l.sndbufs, total);
	cr_assert_eq(l.read_max, log_chunk_max(dflt));

	/* it goes: reads as large as the raised ones take again */
	drop(raised);
	cr_assert_eq(l.read_max, log_chunk_max((int)granted));
	cr_assert_eq(cl[raised].chunk_max, 0);
	log_client_sndbuf_release(&l, &cl[raised]); /* twice: no more back */
	cr_assert_eq(l.sndbufs, total);

	/* a raised one goes: the next one is raised in its place */
	drop(0);
	cr_assert_eq(l.sndbufs, total - granted);
	add(raised);
	cr_assert_eq((size_t)sndbuf_of(cl[raised].fd), granted);
	cr_assert_eq(l.sndbufs, total);

	for (int i = 1; i <= raised; i++)
		drop(i);
	cr_assert_eq(l.sndbufs, 0);
	cr_assert_eq(l.read_max, LOG_READ_MAX);
	cr_assert(TAILQ_EMPTY(&l.clients));
}
