/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/idle.c: a static process that only waits, the floor for one
 * monitor process's memory (figure 5). Built static against musl, as
 * build/conmon is (bench/run.sh).
 */
#include <unistd.h>

int
main(void)
{
	for (;;)
		(void)pause();
}
