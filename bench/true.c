/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/true.c: a static `true` (against musl, bench/run.sh) for
 * fork+exec+wait and the launcher row's floor (figures 3 and 5).
 */
int
main(void)
{
	return 0;
}
