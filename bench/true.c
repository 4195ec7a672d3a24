/* SPDX-License-Identifier: Apache-2.0 */
/* bench/true.c: a static `true` (musl, bench/run.sh) for fork+exec+wait (figure 5). */
int
main(void)
{
	return 0;
}
