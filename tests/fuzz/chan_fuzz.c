/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/chan_fuzz.c: chan_decode() and chan_msg_check() on any bytes,
 * as each role would receive them (security 30-33). Never crashes; what
 * it accepts always agrees with the table.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/chan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
chan_fuzz_accepted(const struct chan_msg *m, size_t size, unsigned peer)
{
	const struct chan_spec *s = chan_spec_of(m->type);
	const char *why = NULL;

	if (s == NULL || (s->from & peer) != peer || s->fds != 0 || m->fd != -1)
		abort();
	if (m->len < s->min_len || m->len > s->max_len ||
	    m->len > sizeof(m->u.raw) ||
	    m->len != size - sizeof(struct chan_hdr))
		abort();
	/* only the verdict may vary; a reason must come with a refusal */
	if (chan_msg_check(m->type, m->u.raw, m->len, &why) == -1 &&
	    why == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned peers[] = {CHAN_REAPER, CHAN_LOGGER, CHAN_BROKER};
	static struct chan_msg m;
	const char *why;
	int rc;

	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		why = NULL;
		rc = chan_decode(
		    data, size, 0, NULL, 0, peers[i], true, &m, &why);
		if (rc == 0)
			chan_fuzz_accepted(&m, size, peers[i]);
		else if (why == NULL)
			abort();
	}
	return 0;
}
