/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/replay.c: runs a fuzz target over its corpus without clang
 * (make check). Each argument is a file or a directory of files, read in
 * sorted order; a missing or empty directory fails the run.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads all of path into an exact-size buffer, so sanitizers see overreads. */
static void
replay_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t len;
	FILE *f;

	if ((f = fopen(path, "rbe")) == NULL)
		err(1, "%s", path);
	if (fstat(fileno(f), &st) == -1)
		err(1, "%s", path);
	if (st.st_size < 0 || (uintmax_t)st.st_size >= SIZE_MAX)
		errx(1, "%s: too large", path);
	/* malloc(0) may return NULL: an empty file gets one unused byte */
	if ((buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL)
		err(1, "%s", path);
	len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f))
		errx(1, "%s: read error", path);
	/* read-only: nothing to lose; the target always returns 0 */
	(void)fclose(f);
	(void)LLVMFuzzerTestOneInput(buf, len);
	free(buf);
}

static int
replay_select(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* Every regular file of dir, sorted; returns how many. */
static size_t
replay_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent **names;
	struct stat st;
	size_t done = 0;
	int n, r;

	if ((n = scandir(dir, &names, replay_select, alphasort)) == -1)
		err(1, "%s", dir);
	for (int i = 0; i < n; i++) {
		r = snprintf(
		    path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (r < 0 || (size_t)r >= sizeof(path))
			errx(1, "%s/%s: path too long", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			replay_file(path);
			done++;
		}
		free(names[i]);
	}
	free(names);
	if (done == 0)
		errx(1, "%s: no inputs", dir);
	return done;
}

int
main(int argc, char **argv)
{
	struct stat st;
	size_t total = 0;

	if (argc < 2)
		errx(1, "usage: %s file-or-directory...", argv[0]);
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1)
			err(1, "%s", argv[i]);
		if (S_ISDIR(st.st_mode)) {
			total += replay_dir(argv[i]);
		} else {
			replay_file(argv[i]);
			total++;
		}
	}
	printf("replayed %zu inputs\n", total);
	return 0;
}
