/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/hostile.h: the failpoints logger.hostile=KIND and
 * broker.hostile=KIND of a FAULTS=1 build (issue 8, security 30-35): the
 * child turns hostile once and sends KIND's sequence on its channel to the
 * reaper. Absent from a release build.
 */
#ifndef VIGIL_HOSTILE_H
#define VIGIL_HOSTILE_H

#ifdef VIGIL_FAULTS
#include <stdint.h>

struct event;
struct event_base;

/*
 * The child of `role` (CHAN_LOGGER, CHAN_BROKER) acts as `kind` says,
 * once per process. One-shot kinds send at once; floods and stop_reading
 * run from a timer on `base` (stop_reading removes `chan_ev` first).
 * `generation` and `peer` are the child's logger<->broker pair (-1: none)
 * and its generation, for PEER_LOST and bad_client_id. An unknown kind is
 * fatal to the child, so a mistyped test fails.
 *
 * Kinds: short, length_mismatch, oversized, unknown_type, downward_type,
 * pair_type (ATT_HANDOVER_DONE to the reaper), stdin_closed
 * (ATT_STDIN_CLOSED: never the broker's, the logger's only with -i),
 * second_hello, drained_unasked, fd_attached, two_fds, bad_sink,
 * bad_level, diag_control, diag_flood, reopen_flood, stop_reading, and
 * bad_client_id, sent to the peer instead (security 33: the logger's
 * ATT_CLIENT_GONE, the broker's ATT_CLIENT, of client id 0).
 */
void hostile_act(struct event_base *base, int chan, struct event *chan_ev,
    unsigned role, const char *kind, int peer, uint32_t generation);
#endif

#endif
