/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/notify.c: spec 13's list of sd-notify lines (notify.h). The one
 * predicate both the broker and the reaper apply, so a compromised broker
 * can relay nothing the container could not (security 6).
 */
#include <string.h>

#include "common/compiler.h"
#include "common/notify.h"

/* spec 13: lines kept only when equal to one of these */
static const char *const notify_exact[] = {
	"READY=1",
	"RELOADING=1",
	"STOPPING=1",
	"WATCHDOG=1",
	"WATCHDOG=trigger",
};

/* spec 13: lines kept when they begin with one of these */
static const char *const notify_prefix[] = {
	"STATUS=",
	"ERRNO=",
	"BUSERROR=",
	"MONOTONIC_USEC=",
};

bool
notify_line_ok(const char *line, size_t len)
{
	size_t n;

	/*
	 * vigil's decision: a NUL ends conmon's C string and makes systemd
	 * ignore the whole datagram, so such a line is never relayed; CR and
	 * LF separate lines (spec 13) and cannot be inside one.
	 */
	if (len == 0 || memchr(line, '\0', len) != NULL ||
	    memchr(line, '\n', len) != NULL || memchr(line, '\r', len) != NULL)
		return false;
	for (size_t i = 0; i < VIGIL_NELEM(notify_exact); i++) {
		n = strlen(notify_exact[i]);
		if (len == n && memcmp(line, notify_exact[i], n) == 0)
			return true;
	}
	for (size_t i = 0; i < VIGIL_NELEM(notify_prefix); i++) {
		n = strlen(notify_prefix[i]);
		if (len >= n && memcmp(line, notify_prefix[i], n) == 0)
			return true;
	}
	return false;
}

bool
notify_msg_ok(const char *p, size_t len)
{
	const char *nl;
	size_t n;

	if (len == 0 || len > NOTIFY_MSG_MAX)
		return false;
	for (;;) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) : len;
		if (!notify_line_ok(p, n))
			return false; /* also an empty line or a trailing LF */
		if (nl == NULL)
			return true;
		p += n + 1;
		len -= n + 1;
	}
}
