/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/k8scat.c: checks every record of a k8s-file log and writes the
 * container bytes of one stream back out (F -> content LF, P -> content),
 * so the benchmark compares their sha256 with the generated stream's.
 *
 *     k8scat LOG stdout|stderr
 *
 * A record is "YYYY-MM-DDThh:mm:ss.nnnnnnnnn+hh:mm STREAM TAG CONTENT\n"
 * (the harness's K8S_RE). Prints "records F P" of the stream on stderr;
 * exits 1 on the first malformed record.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TS_LEN 35
#define HDR_LEN (TS_LEN + 1 + 6 + 1 + 1 + 1)
#define OUT_MAX (1u << 20)

static char out[OUT_MAX];
static size_t olen;

static void
flush(void)
{
	size_t off = 0;

	while (off < olen) {
		ssize_t w = write(1, out + off, olen - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			perror("k8scat: write");
			exit(1);
		}
		off += (size_t)w;
	}
	olen = 0;
}

static void
emit(const char *p, size_t n)
{
	while (n > 0) {
		size_t k = OUT_MAX - olen;
		if (k > n)
			k = n;
		memcpy(out + olen, p, k);
		olen += k;
		p += k;
		n -= k;
		if (olen == OUT_MAX)
			flush();
	}
}

/* "dddd-dd-ddTdd:dd:dd.ddddddddd+dd:dd" */
static int
ts_ok(const char *p)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddddddddd+dd:dd";

	for (size_t i = 0; i < TS_LEN; i++) {
		char c = pat[i];
		if (c == 'd') {
			if (p[i] < '0' || p[i] > '9')
				return 0;
		} else if (c == '+') {
			if (p[i] != '+' && p[i] != '-')
				return 0;
		} else if (p[i] != c)
			return 0;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	struct stat sb;
	const char *data, *p, *end, *want;
	unsigned long long nf = 0, np = 0, line = 0;
	int fd;

	if (argc != 3 || (strcmp(argv[2], "stdout") != 0 &&
	    strcmp(argv[2], "stderr") != 0)) {
		(void)fprintf(stderr, "usage: k8scat LOG stdout|stderr\n");
		return 2;
	}
	want = argv[2];
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		perror(argv[1]);
		return 1;
	}
	if (sb.st_size == 0) {
		(void)fprintf(stderr, "records 0 0\n");
		return 0;
	}
	data = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	(void)madvise((void *)data, (size_t)sb.st_size, MADV_SEQUENTIAL);
	p = data;
	end = data + sb.st_size;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t len;
		line++;
		if (lf == NULL) {
			(void)fprintf(stderr, "k8scat: record %llu has no LF\n",
			    line);
			return 1;
		}
		len = (size_t)(lf - p);
		if (len < HDR_LEN || !ts_ok(p) || p[TS_LEN] != ' ' ||
		    (memcmp(p + TS_LEN + 1, "stdout", 6) != 0 &&
		    memcmp(p + TS_LEN + 1, "stderr", 6) != 0) ||
		    p[TS_LEN + 7] != ' ' ||
		    (p[TS_LEN + 8] != 'F' && p[TS_LEN + 8] != 'P') ||
		    p[TS_LEN + 9] != ' ') {
			(void)fprintf(stderr,
			    "k8scat: record %llu is malformed: %.60s\n", line,
			    p);
			return 1;
		}
		if (memcmp(p + TS_LEN + 1, want, 6) == 0) {
			emit(p + HDR_LEN, len - HDR_LEN);
			if (p[TS_LEN + 8] == 'F') {
				emit("\n", 1);
				nf++;
			} else
				np++;
		}
		p = lf + 1;
	}
	flush();
	(void)fprintf(stderr, "records %llu %llu\n", nf, np);
	return 0;
}
