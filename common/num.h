/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/num.h: the only way vigil turns text into a number. Whole string,
 * range-checked, explicit base (style.md): base 0 for options (spec 1.1),
 * base 10 for _OCI_* variables, pid files and ctl numbers.
 */
#ifndef VIGIL_NUM_H
#define VIGIL_NUM_H

#include <stdint.h>

#include "common/compiler.h"

/*
 * Parses all of s like strtoll(s, &end, base): optional leading white
 * space, optional sign. Fails with EINVAL when s is empty or not wholly a
 * number, ERANGE when the value lies outside [min, max].
 */
int num_parse(const char *s, int base, int64_t min, int64_t max,
    int64_t *out) VIGIL_MUST_CHECK;

#endif
