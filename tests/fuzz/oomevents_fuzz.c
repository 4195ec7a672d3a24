/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/oomevents_fuzz.c: memory.events (spec 12) and the text of
 * /proc/<pid>/cgroup are kernel-written, but their parsers must hold on
 * any bytes; the chosen directory never leaves the cgroup tree.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/mon.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mon_oom_events ev;
	char dir[PATH_MAX];

	mon_oom_parse_events((const char *)data, size, &ev);
	if ((ev.has_oom && ev.oom < 0) || (ev.has_kill && ev.oom_kill < 0))
		abort(); /* counters are non-negative */
	if (ev.invalid > size)
		abort();
	(void)mon_oom_is_new(&ev, 0, 0);
	for (int v = 1; v <= 2; v++) {
		if (mon_oom_cgroup_dir((const char *)data, size, v, "/r", dir,
		    sizeof(dir)) < 0)
			continue;
		size_t n = strlen(dir);

		if (strncmp(dir, "/r", 2) != 0 || strstr(dir, "/../") != NULL ||
		    (n >= 3 && strcmp(dir + n - 3, "/..") == 0))
			abort(); /* never outside the tree */
	}
	return 0;
}
