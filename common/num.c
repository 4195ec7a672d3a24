/* SPDX-License-Identifier: Apache-2.0 */
/* common/num.c: whole-string, range-checked number parsing. */
#include <errno.h>
#include <stdlib.h>

#include "common/num.h"

int
num_parse(const char *s, int base, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, base);
	if (end == s || *end != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}
