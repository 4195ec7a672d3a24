/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/syncmsg.h: the JSON records of the sync and attach pipes (spec
 * 5.3, 5.5). Formats only: bytes in a message (the runtime's stderr) are
 * copied escaped, never interpreted. Never does I/O.
 */
#ifndef VIGIL_MON_SYNCMSG_H
#define VIGIL_MON_SYNCMSG_H

#include <stddef.h>
#include <stdint.h>

/* spec 5.5: a whole record is at most this long (newline included). */
#define MON_SYNC_REC_MAX_API 4095
#define MON_SYNC_REC_MAX_LEGACY 511

/*
 * Writes `{"<key>": <value>}\n` or, when msglen > 0,
 * `{"<key>": <value>, "message": "<escaped msg>"}\n` into buf (which has
 * room for max + 1 bytes; a NUL follows the record) and returns the
 * record's length, never more than max. Escaping as upstream (spec 5.3);
 * valid UTF-8 is copied, each invalid byte becomes U+FFFD. A message too
 * long for max is cut at a character boundary and ends in "...".
 */
size_t mon_sync_format(char *buf, size_t max, const char *key, int64_t value,
    const char *msg, size_t msglen);

#endif
