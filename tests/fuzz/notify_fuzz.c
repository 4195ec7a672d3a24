/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/notify_fuzz.c: a container's sd-notify datagram is untrusted
 * bytes (spec 13, security 6). The filter never grows it, what it keeps
 * passes the reaper's check, and filtering again changes nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attach/notify.h"
#include "common/chan_msg.h"
#include "common/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out, *again;
	size_t n, m;

	if (size > NOTIFY_MSG_MAX)
		return 0; /* the broker drops those whole */
	if ((out = malloc(size + 1)) == NULL ||
	    (again = malloc(size + 1)) == NULL)
		abort();
	n = att_notify_filter((const char *)data, size, out);
	if (n > size)
		abort();
	if (n > 0 && (!notify_msg_ok(out, n) ||
	    chan_msg_check(CHAN_NOTIFY, out, n, NULL) != 0))
		abort(); /* the reaper would kill the broker for it */
	m = att_notify_filter(out, n, again);
	if (m != n || memcmp(out, again, n) != 0)
		abort();
	/* in place gives the same */
	memcpy(again, data, size);
	m = att_notify_filter(again, size, again);
	if (m != n || memcmp(out, again, n) != 0)
		abort();
	free(out);
	free(again);
	return 0;
}
