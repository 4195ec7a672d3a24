/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/notify.h: the broker's sd-notify filter (spec 13), pure so that
 * tests and the fuzz target drive it without a socket.
 */
#ifndef VIGIL_ATT_NOTIFY_H
#define VIGIL_ATT_NOTIFY_H

#include <stddef.h>

/*
 * Splits in[0..len) at LF and CR, keeps the lines on spec 13's list
 * (common/notify.h) and writes them to out joined by LF, without a
 * trailing one. out has room for len bytes and may be in itself. Returns
 * the bytes written: 0 when no line was kept (nothing is to be sent).
 */
size_t att_notify_filter(const char *in, size_t len, char *out);

#endif
