/* SPDX-License-Identifier: Apache-2.0 */
/* common/errtext.h: strerror() in glibc's words on any C library. */
#ifndef VIGIL_ERRTEXT_H
#define VIGIL_ERRTEXT_H

/*
 * The text of errnum as glibc's strerror() gives it; "Unknown error N"
 * for a value without one. The result may be overwritten by the next
 * call (only for unknown values).
 */
const char *errtext(int errnum);

#endif
