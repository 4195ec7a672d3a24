#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/fuzz/reaper_seeds.py: writes the seed corpus of reaper_fuzz.c
(tests/fuzz/corpus/reaper/), one file per hostile sequence of security
30-35 and per accepted message, in the input format the target's header
comment describes. Run from the tree's top: python3 tests/fuzz/reaper_seeds.py
The fuzzed-* files beside them are what 30 minutes of `make fuzz` added to
the edge coverage (libFuzzer -merge=1 -use_counters=0), kept for replay.
"""
import os
import struct

OUT = "tests/fuzz/corpus/reaper"
(HELLO, DIAG, TRAP, LOG_SINK, LOG_SOURCE, LOG_REOPEN, LOG_DRAIN, LOG_DRAINED,
 PEER, PEER_LOST, ATT_CLIENT, ATT_CLIENT_GONE, ATT_FD,
 ATT_STDIN_CLOSED, ATT_CLOSE, ATT_CLOSED, NOTIFY) = range(1, 18)
LOGGER, BROKER = 2, 4
BROKER_ST, HELLO_ST = 0x01, 0x08
RUNNING, DRAINING, DRAIN_SENT = 0x02, 0x04, 0x06
OTHER = 0x01
PID, TRUNC = 0x40, 0x80


def msg(t, payload=b"", flags=0, length=None):
    n = len(payload) if length is None else length
    return struct.pack("<HHI", t, flags, n) + payload


def rec(d, ctl=0):
    return bytes([ctl]) + struct.pack("<H", len(d)) + d


def hello(role):
    return msg(HELLO, struct.pack("<IIiI", role, 2, 1, 0))


def fds(n, kind):
    return (n & 7) | (kind & 7) << 3


seeds = {
    "logger_hello": (RUNNING, OTHER, [rec(hello(LOGGER), PID)]),
    "broker_hello": (BROKER_ST | RUNNING, OTHER, [rec(hello(BROKER), PID)]),
    "hello_wrong_pid": (RUNNING, 0, [rec(hello(LOGGER))]),
    "second_hello": (HELLO_ST | RUNNING, 0, [rec(hello(LOGGER), PID)]),
    "hello_wrong_role": (RUNNING, 0, [rec(hello(BROKER), PID)]),
    "short": (HELLO_ST, 0, [rec(b"\x01\x00\x00")]),
    "length_mismatch": (HELLO_ST, 0, [rec(msg(DIAG, b"\x01hi", length=9))]),
    "oversized": (HELLO_ST, 0, [rec(msg(DIAG, b"\x01x"), TRUNC)]),
    "unknown_type": (HELLO_ST, 0, [rec(msg(77, b""))]),
    "downward_type": (HELLO_ST, 0, [rec(msg(LOG_DRAIN))]),
    "drained_unasked": (HELLO_ST | RUNNING, 0,
                        [rec(msg(LOG_DRAINED, bytes(24)))]),
    "drained_twice": (HELLO_ST | DRAIN_SENT, OTHER,
                      [rec(msg(LOG_DRAINED, bytes(24)))] * 2),
    "drained_alone": (HELLO_ST | DRAIN_SENT, 0,
                      [rec(msg(LOG_DRAINED, struct.pack("<QQiI", 5, 3, 5, 0)))]),
    "fd_attached": (HELLO_ST, 0, [rec(msg(DIAG, b"\x01hi"), fds(1, 0))]),
    "two_fds": (HELLO_ST, 0, [rec(msg(DIAG, b"\x01hi"), fds(2, 2))]),
    "many_fds": (HELLO_ST, 0, [rec(msg(DIAG, b"\x01hi"), fds(7, 3))]),
    "own_chan_fd": (HELLO_ST, 0, [rec(msg(DIAG, b"\x01hi"), fds(1, 7))]),
    "stdio_fds": (HELLO_ST, 0, [rec(msg(TRAP, bytes(8)), fds(3, 4))]),
    "sink_out_of_range": (HELLO_ST, 0,
                          [rec(msg(LOG_REOPEN, struct.pack("<II", 9, 0)))]),
    "reopen": (HELLO_ST | RUNNING, 0,
               [rec(msg(LOG_REOPEN, struct.pack("<II", 0, 0)))] * 3),
    "reopen_rotate": (HELLO_ST | RUNNING | 0x10, 0,
                      [rec(msg(LOG_REOPEN, struct.pack("<II", 0, 0)))] * 3),
    "reopen_journald": (HELLO_ST, 0,
                        [rec(msg(LOG_REOPEN, struct.pack("<II", 1, 0)))]),
    "broker_reopen": (BROKER_ST | HELLO_ST, OTHER,
                      [rec(msg(LOG_REOPEN, struct.pack("<II", 0, 0)))]),
    "diag_bad_level": (HELLO_ST, 0, [rec(msg(DIAG, b"\x09hi"))]),
    "diag_control": (HELLO_ST, 0, [rec(msg(DIAG, b"\x01\x1b[2J\x07\\\xff\n"))]),
    "diag_flood": (HELLO_ST, 0, [rec(msg(DIAG, b"\x01flood"))] * 80),
    "trap": (HELLO_ST, 0, [rec(msg(TRAP, struct.pack("<iI", 59, 0xc000003e)))]),
    "trap_unknown": (HELLO_ST, 0, [rec(msg(TRAP, struct.pack("<iI", 9999, 7)))]),
    "peer_lost": (HELLO_ST, OTHER, [rec(msg(PEER_LOST, struct.pack("<II", 1, 0)))]),
    "peer_lost_old": (HELLO_ST, OTHER,
                      [rec(msg(PEER_LOST, struct.pack("<II", 0, 0)))]),
    "stdin_closed": (HELLO_ST | 0x80, 0, [rec(msg(ATT_STDIN_CLOSED))] * 2),
    "stdin_closed_no_pipe": (HELLO_ST, 0, [rec(msg(ATT_STDIN_CLOSED))]),
    "broker_stdin_closed": (BROKER_ST | HELLO_ST | 0x80, 0,
                            [rec(msg(ATT_STDIN_CLOSED))]),
    "att_closed": (BROKER_ST | HELLO_ST | 0x40, 0,
                   [rec(msg(ATT_CLOSED, struct.pack("<II", 1, 0)))]),
    "att_closed_unasked": (BROKER_ST | HELLO_ST, 0,
                           [rec(msg(ATT_CLOSED, bytes(8)))]),
    "notify": (BROKER_ST | HELLO_ST | 0x20, 0, [rec(msg(NOTIFY, b"READY=1"))]),
    "notify_bad": (BROKER_ST | HELLO_ST | 0x20, 0,
                   [rec(msg(NOTIFY, b"MAINPID=1"))]),
    "notify_no_relay": (BROKER_ST | HELLO_ST, 0, [rec(msg(NOTIFY, b"READY=1"))]),
    "logger_sends_notify": (HELLO_ST | 0x20, 0, [rec(msg(NOTIFY, b"READY=1"))]),
    "att_client_upward": (HELLO_ST, 0,
                          [rec(msg(ATT_CLIENT_GONE, struct.pack("<II", 1, 0)))]),
    "bad_flags": (HELLO_ST, 0, [rec(msg(DIAG, b"\x01x", flags=1))]),
    "empty_dgram": (HELLO_ST, 0, [rec(b"")]),
    "violation_respawn": (RUNNING, OTHER,
                          [rec(msg(77)), rec(hello(LOGGER), PID),
                           rec(msg(77)), rec(hello(LOGGER), PID),
                           rec(msg(DIAG, b"\x01after"))]),
}

os.makedirs(OUT, exist_ok=True)
for name, (s0, s1, recs) in sorted(seeds.items()):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([s0, s1]) + b"".join(recs))
print("%d seeds in %s" % (len(seeds), OUT))
