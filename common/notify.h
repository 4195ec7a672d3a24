/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/notify.h: spec 13's fixed list of sd-notify lines, shared by the
 * broker (which filters container datagrams with it) and the reaper (which
 * checks every line the broker relays against it, security 6). Pure: no
 * socket, no allocation.
 */
#ifndef VIGIL_NOTIFY_H
#define VIGIL_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

/* spec 13: a datagram, and so the kept lines, is at most this long. */
#define NOTIFY_MSG_MAX 32768

/*
 * True when the line (no terminator) is on spec 13's list: exactly
 * READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1 or WATCHDOG=trigger, or
 * beginning with STATUS=, ERRNO=, BUSERROR= or MONOTONIC_USEC=. A line
 * holding a NUL, CR or LF is never on it.
 */
bool notify_line_ok(const char *line, size_t len);

/*
 * True when p[0..len) is what a broker may relay: 1..NOTIFY_MSG_MAX
 * bytes, lines joined by single LFs, no empty line, no trailing LF, every
 * line notify_line_ok().
 */
bool notify_msg_ok(const char *p, size_t len);

#endif
