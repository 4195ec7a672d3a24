/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/monitor/chanlimit_test.c: the reaper's limits on a flooding
 * child (security 34): the token bucket with an injected clock, DIAG
 * admission and its summary line, the channel pause, reopen coalescing.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>

#include "common/diag.h"
#include "monitor/mon.h"

Test(chanlimit, burst_then_refused)
{
	struct mon_rate r;
	unsigned ok = 0;

	mon_rate_init(&r, 10, 50, 1000);
	for (int i = 0; i < 80; i++)
		ok += mon_rate_take(&r, 1000);
	cr_assert_eq(ok, 50);
	cr_assert_eq(r.dropped, 30);
}

Test(chanlimit, refills_at_the_rate)
{
	struct mon_rate r;
	unsigned ok = 0;

	mon_rate_init(&r, 10, 50, 0);
	while (mon_rate_take(&r, 0))
		;
	/* 10 per second: one every 100 ms, none in between */
	cr_assert(!mon_rate_take(&r, 99));
	cr_assert(mon_rate_take(&r, 100));
	cr_assert(!mon_rate_take(&r, 150));
	for (uint64_t t = 200; t <= 1100; t += 100)
		ok += mon_rate_take(&r, t);
	cr_assert_eq(ok, 10);
}

Test(chanlimit, refill_capped_at_the_burst)
{
	struct mon_rate r;
	unsigned ok = 0;

	mon_rate_init(&r, 10, 5, 0);
	while (mon_rate_take(&r, 0))
		;
	for (int i = 0; i < 100; i++)
		ok += mon_rate_take(&r, 3600 * 1000);
	cr_assert_eq(ok, 5);
}

Test(chanlimit, huge_gap_does_not_overflow)
{
	struct mon_rate r;
	unsigned ok = 0;

	mon_rate_init(&r, 4000000000u, 4000000000u, 0);
	for (int i = 0; i < 10; i++)
		ok += mon_rate_take(&r, UINT64_MAX - 5 + (uint64_t)i / 2);
	cr_assert_eq(ok, 10);
	mon_rate_init(&r, 1000, 1000, 0);
	while (mon_rate_take(&r, 0))
		;
	cr_assert(mon_rate_take(&r, UINT64_MAX));
	cr_assert_lt(r.milli, 1000ull * 1000);
}

Test(chanlimit, clock_going_back_refills_nothing)
{
	struct mon_rate r;

	mon_rate_init(&r, 10, 1, 5000);
	cr_assert(mon_rate_take(&r, 5000));
	cr_assert(!mon_rate_take(&r, 10));
	cr_assert(!mon_rate_take(&r, 5050));
	cr_assert(mon_rate_take(&r, 5100));
}

Test(chanlimit, flush_returns_refusals_once)
{
	struct mon_rate r;

	mon_rate_init(&r, 0, 2, 0);
	for (int i = 0; i < 7; i++)
		(void)mon_rate_take(&r, (uint64_t)i * 1000);
	cr_assert_eq(mon_rate_flush(&r), 5);
	cr_assert_eq(mon_rate_flush(&r), 0);
}

static char said[16][DIAG_TEXT_MAX];
static unsigned n_said;

static void
capture(enum diag_level l VIGIL_UNUSED, const char *text, size_t len)
{
	if (n_said < 16)
		(void)snprintf(
		    said[n_said++], DIAG_TEXT_MAX, "%.*s", (int)len, text);
}

static void
child_init(struct mon *m, struct mon_child *c)
{
	memset(m, 0, sizeof(*m));
	memset(c, 0, sizeof(*c));
	m->base = event_base_new();
	cr_assert_not_null(m->base);
	c->role = "logger";
	c->chan = -1;
	n_said = 0;
	diag_set_child(capture);
}

Test(chanlimit, diag_flood_is_summarised_in_one_line)
{
	struct mon m;
	struct mon_child *c = &m.logger;
	unsigned ok = 0;

	child_init(&m, c);
	mon_limits_start(&m, c);
	for (int i = 0; i < 1000; i++)
		ok += mon_diag_admit(&m, c);
	/* the burst; a refill of one or two if this machine is slow */
	cr_assert_geq(ok, MON_DIAG_BURST);
	cr_assert_leq(ok, MON_DIAG_BURST + 2);
	cr_assert_eq(n_said, 0, "nothing said before the summary");
	cr_assert(evtimer_pending(c->summary_ev, NULL), "summary armed");
	mon_limits_end(c);
	cr_assert_eq(n_said, 1);
	char want[64];
	(void)snprintf(
	    want, sizeof(want), "logger: %u diagnostics suppressed", 1000 - ok);
	cr_assert_str_eq(said[0], want);
	event_base_free(m.base);
}

Test(chanlimit, quiet_child_summarises_nothing)
{
	struct mon m;
	struct mon_child *c = &m.broker;

	child_init(&m, c);
	c->role = "attach";
	mon_limits_start(&m, c);
	for (int i = 0; i < MON_DIAG_BURST; i++)
		cr_assert(mon_diag_admit(&m, c));
	mon_limits_end(c);
	cr_assert_eq(n_said, 0);
	event_base_free(m.base);
}

Test(chanlimit, channel_flood_pauses_reading)
{
	struct mon m;
	struct mon_child *c = &m.logger;
	unsigned ok = 0;
	int sv[2];

	child_init(&m, c);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	c->ev = event_new(m.base, sv[0], EV_READ | EV_PERSIST,
	    (event_callback_fn)abort, NULL);
	cr_assert_eq(event_add(c->ev, NULL), 0);
	mon_limits_start(&m, c);
	for (int i = 0; i < 3 * MON_CHAN_BURST && !mon_chan_paused(c); i++) {
		mon_chan_charge(&m, c);
		ok++;
	}
	/* the burst, then the one that found the bucket empty */
	cr_assert_geq(ok, MON_CHAN_BURST + 1);
	cr_assert_lt(ok, MON_CHAN_BURST + 100);
	cr_assert(mon_chan_paused(c));
	cr_assert(!event_pending(c->ev, EV_READ, NULL), "reading stopped");
	cr_assert(evtimer_pending(c->pause_ev, NULL), "resume armed");
	/* the pause ends by itself: the read event is back */
	cr_assert_eq(event_base_loop(m.base, EVLOOP_ONCE), 0);
	cr_assert(event_pending(c->ev, EV_READ, NULL), "reading again");
	mon_limits_end(c);
	cr_assert_eq(n_said, 1);
	cr_assert(strstr(said[0], "logger: floods its channel") == said[0],
	    "%s", said[0]);
	event_free(c->ev);
	event_base_free(m.base);
	close(sv[0]);
	close(sv[1]);
}

Test(chanlimit, reopens_of_one_batch_are_one)
{
	struct mon m;
	struct mon_child *c = &m.broker;

	child_init(&m, c);
	c->role = "attach";
	mon_limits_start(&m, c);
	m.log_fd = -1; /* -l none: mon_reopen_do() does nothing */
	for (int i = 0; i < 5; i++)
		mon_reopen_request(&m, c, CHAN_SINK_K8S);
	cr_assert(m.reopen_pending[CHAN_SINK_K8S]);
	cr_assert_eq(c->reopens_coalesced, 4);
	cr_assert_eq(c->msg_rate.milli, (MON_CHAN_BURST - 4) * 1000ull);
	mon_reopen_flush(&m);
	cr_assert(!m.reopen_pending[CHAN_SINK_K8S]);
	/* the next batch's first request is free again */
	mon_reopen_request(&m, c, CHAN_SINK_K8S);
	cr_assert_eq(c->reopens_coalesced, 4);
	mon_reopen_flush(&m);
	diag_set_level(DIAG_INFO); /* the summary is information */
	mon_limits_end(c);
	diag_set_level(DIAG_WARN);
	cr_assert_eq(n_said, 1);
	cr_assert_str_eq(said[0], "attach: 4 log reopen requests coalesced");
	event_base_free(m.base);
}
