/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/idle0.c: the absolute floor for one waiting process: no libc at
 * all (x86-64 only; gcc -static -nostdlib), pause(2) in a loop. Beside
 * bench/idle.c it shows what a static C library costs by itself.
 */
#if !defined(__x86_64__)
#error "idle0 is x86-64 only"
#endif

void _start(void);

void
_start(void)
{
	for (;;)
		__asm__ volatile("syscall" : : "a"(34) : "rcx", "r11", "memory");
}
