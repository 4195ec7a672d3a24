/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/chanlimit.c: a flooding child costs the reaper little (security
 * 34): token buckets on the messages read from its channel and on the DIAG
 * lines printed, a summary of what was suppressed, and log reopens
 * coalesced. Never reads a channel itself and never kills a child.
 */
#include <time.h>

#include <event2/event.h>

#include "common/diag.h"
#include "monitor/mon.h"

uint64_t
mon_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
mon_rate_init(
    struct mon_rate *r, unsigned rate, unsigned burst, uint64_t now_ms)
{
	r->rate = rate;
	r->burst = burst;
	r->milli = (uint64_t)burst * 1000; /* a new child starts full */
	r->last_ms = now_ms;
	r->dropped = 0;
}

/* One token if there is one; else false and the refusal counted. */
bool
mon_rate_take(struct mon_rate *r, uint64_t now_ms)
{
	uint64_t full = (uint64_t)r->burst * 1000;

	if (now_ms > r->last_ms) {
		uint64_t dt = now_ms - r->last_ms;

		/* rate tokens/s is rate milli-tokens per ms; no overflow:
		 * a gap long enough to fill the bucket just fills it */
		if (r->rate > 0 && (dt >= full / r->rate + 1 ||
				       r->milli + dt * r->rate > full))
			r->milli = full;
		else if (r->rate > 0)
			r->milli += dt * r->rate;
		r->last_ms = now_ms;
	}
	if (r->milli >= 1000) {
		r->milli -= 1000;
		return true;
	}
	r->dropped++;
	return false;
}

/* The refusals since the last call. */
uint64_t
mon_rate_flush(struct mon_rate *r)
{
	uint64_t n = r->dropped;

	r->dropped = 0;
	return n;
}

/* Prints what a child's limits suppressed since the last summary. */
static void
summarise(struct mon_child *c)
{
	uint64_t n = mon_rate_flush(&c->diag_rate);

	(void)mon_rate_flush(&c->msg_rate); /* said as pauses below */
	if (n > 0)
		diag_warnx("%s: %llu diagnostics suppressed", c->role,
		    (unsigned long long)n);
	if (c->reopens_coalesced > 0)
		diag_info("%s: %llu log reopen requests coalesced", c->role,
		    (unsigned long long)c->reopens_coalesced);
	c->reopens_coalesced = 0;
	if (c->pauses > 0)
		diag_warnx("%s: floods its channel: stopped reading it %llu "
			   "times for %d ms",
		    c->role, (unsigned long long)c->pauses, MON_CHAN_PAUSE_MS);
	c->pauses = 0;
}

static void
summary_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED, void *arg)
{
	summarise(arg);
}

/* One summary per MON_DIAG_SUMMARY_MS at most, after the first refusal. */
static void
summary_arm(struct mon_child *c)
{
	struct timeval tv = {.tv_sec = MON_DIAG_SUMMARY_MS / 1000,
	    .tv_usec = (MON_DIAG_SUMMARY_MS % 1000) * 1000};

	if (c->summary_ev == NULL || evtimer_pending(c->summary_ev, NULL))
		return;
	if (evtimer_add(c->summary_ev, &tv) < 0)
		summarise(c); /* cannot wait: say it now */
}

static void
pause_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED, void *arg)
{
	struct mon_child *c = arg;

	if (c->ev != NULL && event_add(c->ev, NULL) < 0)
		diag_warnx("%s: cannot watch its channel again", c->role);
}

/* A new instance: full buckets, its timers. */
void
mon_limits_start(struct mon *m, struct mon_child *c)
{
	uint64_t now = mon_now_ms();

	mon_rate_init(&c->msg_rate, MON_CHAN_RATE, MON_CHAN_BURST, now);
	mon_rate_init(&c->diag_rate, MON_DIAG_RATE, MON_DIAG_BURST, now);
	c->pauses = 0;
	c->reopens_coalesced = 0;
	if (c->pause_ev == NULL)
		c->pause_ev = evtimer_new(m->base, pause_cb, c);
	if (c->summary_ev == NULL)
		c->summary_ev = evtimer_new(m->base, summary_cb, c);
	if (c->pause_ev == NULL || c->summary_ev == NULL)
		diag_warnx("%s: cannot rate-limit its channel; reading it "
			   "without limits",
		    c->role);
}

/* The instance's channel is closed: say what is owed, free its timers. */
void
mon_limits_end(struct mon_child *c)
{
	summarise(c);
	if (c->pause_ev != NULL)
		event_free(c->pause_ev);
	if (c->summary_ev != NULL)
		event_free(c->summary_ev);
	c->pause_ev = c->summary_ev = NULL;
}

/* While reading c's channel is paused (security 34). */
bool
mon_chan_paused(const struct mon_child *c)
{
	return c->pause_ev != NULL && evtimer_pending(c->pause_ev, NULL);
}

/*
 * One message of c that costs the reaper work it did not need: past the
 * budget, the channel's read event is removed for MON_CHAN_PAUSE_MS, so
 * the reaper's CPU stays bounded whatever the child sends. The messages
 * the protocol makes rare (HELLO, DRAINED, ...) cost a token too; only a
 * reopen that is not coalesced is free, so a logger rotating its log as
 * fast as the disk allows is never slowed.
 */
void
mon_chan_charge(struct mon *m VIGIL_UNUSED, struct mon_child *c)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = MON_CHAN_PAUSE_MS * 1000};

	if (c->pause_ev == NULL || mon_rate_take(&c->msg_rate, mon_now_ms()))
		return; /* no timer (said at start): no limit */
	if (evtimer_add(c->pause_ev, &tv) < 0)
		return; /* cannot resume later: keep reading */
	if (c->ev != NULL)
		(void)event_del(c->ev); /* cannot fail on an added event */
	c->pauses++;
	summary_arm(c);
}

/* Whether one more DIAG of c may be printed; a refusal is summarised. */
bool
mon_diag_admit(struct mon *m VIGIL_UNUSED, struct mon_child *c)
{
	if (mon_rate_take(&c->diag_rate, mon_now_ms()))
		return true;
	summary_arm(c);
	return false;
}

/*
 * A validated reopen request of c. Requests read in one batch are one
 * reopen per sink, done when the batch ends (mon_reopen_flush): a logger
 * waits for its new sink before it asks again, so only a flood is ever
 * coalesced, and each request folded in costs c a token (security 18,
 * 34).
 */
void
mon_reopen_request(struct mon *m, struct mon_child *c, unsigned sink)
{
	if (m->reopen_pending[sink]) {
		c->reopens_coalesced++; /* said in c's summary */
		summary_arm(c);
		mon_chan_charge(m, c);
		return;
	}
	m->reopen_pending[sink] = true;
}

/* The reopens asked for in the batch just read. */
void
mon_reopen_flush(struct mon *m)
{
	for (unsigned s = 0; s < CHAN_SINK_MAX; s++) {
		if (!m->reopen_pending[s])
			continue;
		m->reopen_pending[s] = false;
		mon_reopen_do(m, s);
	}
}

/* Monitoring is over: a reopen not done yet is dropped. */
void
mon_reopen_stop(struct mon *m)
{
	for (unsigned s = 0; s < CHAN_SINK_MAX; s++)
		m->reopen_pending[s] = false;
}
