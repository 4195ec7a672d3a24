/* SPDX-License-Identifier: Apache-2.0 */
/* tests/fuzz/pidfile_fuzz.c: the runtime's pid file is untrusted text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "monitor/mon.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pid_t pid = 0;

	if (mon_pidfile_parse((const char *)data, size, &pid) == 0 &&
	    pid <= 0)
		abort(); /* never a wait on pid 0 or a group */
	return 0;
}
