/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/monitor/oom_test.c: spec 12's memory.events vectors
 * (05-oom-detection.bats), the cgroup path selection for both layouts,
 * and the `oom` file's creation (security 29).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "monitor/mon.h"

static bool
detects(const char *text, int64_t last_oom, int64_t last_kill)
{
	struct mon_oom_events ev;

	mon_oom_parse_events(text, strlen(text), &ev);
	return mon_oom_is_new(&ev, last_oom, last_kill);
}

Test(oom, spec_vectors)
{
	static const struct {
		const char *text;
		bool oom;
	} v[] = {
		{ "low 0\nhigh 0\nmax 0\noom 5\noom_kill 3\noom_group_kill 0\n",
		    true },
		{ "oom 0\noom_kill 0\n", false },
		{ "oom invalid_number\noom_kill 1\n", true },
		{ "low 0\nhigh 7\nmax 9\n", false },
		{ "", false },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		cr_assert_eq(detects(v[i].text, 0, 0), v[i].oom, "vector %zu",
		    i);
}

Test(oom, invalid_number_is_counted_and_skipped)
{
	struct mon_oom_events ev;
	const char *t = "oom invalid_number\noom_kill 1\n";

	mon_oom_parse_events(t, strlen(t), &ev);
	cr_assert_eq(ev.invalid, 1);
	cr_assert(!ev.has_oom);
	cr_assert(ev.has_kill);
	cr_assert_eq(ev.oom_kill, 1);
}

Test(oom, each_counter_alone_is_compared_with_its_own_last)
{
	/* spec 12: increments of either counter alone are detected */
	cr_assert(detects("oom 6\noom_kill 3\n", 5, 3));
	cr_assert(detects("oom 5\noom_kill 4\n", 5, 3));
	cr_assert(!detects("oom 5\noom_kill 3\n", 5, 3));
	/* 2.1.6 compared both with one value: 3 then 3 was missed */
	cr_assert(detects("oom 3\noom_kill 3\n", 0, 3));
}

Test(oom, rejects_malformed_lines)
{
	static const char *bad[] = { "oom  5", "oom -5", "oom +5", "oom 5x",
		"oom 0x5", "oom 99999999999999999999", "oom_kill ", "oom\t5" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!detects(bad[i], 0, 0), "%s", bad[i]);
	cr_assert(!detects("oomx 5\noom_killer 5\n", 0, 0));
	cr_assert(detects("oom 5", 0, 0), "no final newline");
}

Test(oom, embedded_nul_is_not_a_number)
{
	struct mon_oom_events ev;

	mon_oom_parse_events("oom 5\0" "1\n", 8, &ev);
	cr_assert(!ev.has_oom);
	cr_assert_eq(ev.invalid, 1);
}

static int
dir_of(const char *text, int version, char *out)
{
	return mon_oom_cgroup_dir(text, strlen(text), version, "/fake",
	    out, PATH_MAX);
}

/* The hybrid layout of this machine: v1 controllers plus a `0::` line. */
static const char hybrid[] =
    "9:name=systemd:/\n"
    "8:pids:/a\n"
    "4:memory:/process_api/8c67\n"
    "3:cpu,cpuacct:/b\n"
    "0::/unified/path\n";

Test(oom, v2_takes_the_0_line_not_the_first)
{
	char out[PATH_MAX];

	cr_assert_eq(dir_of(hybrid, 2, out), 0);
	cr_assert_str_eq(out, "/fake/unified/path");
	cr_assert_eq(dir_of("0::/machine.slice/x.scope\n", 2, out), 0);
	cr_assert_str_eq(out, "/fake/machine.slice/x.scope");
	cr_assert_eq(dir_of("0::/\n", 2, out), 0);
	cr_assert_str_eq(out, "/fake");
}

Test(oom, v1_takes_the_memory_controller)
{
	char out[PATH_MAX];

	cr_assert_eq(dir_of(hybrid, 1, out), 0);
	cr_assert_str_eq(out, "/fake/memory/process_api/8c67");
	cr_assert_eq(dir_of("5:cpu,memory,pids:/x/y", 1, out), 0);
	cr_assert_str_eq(out, "/fake/memory/x/y");
	cr_assert_eq(dir_of("4:memory:/\n", 1, out), 0);
	cr_assert_str_eq(out, "/fake/memory");
}

Test(oom, missing_controller_is_enoent)
{
	char out[PATH_MAX];

	errno = 0;
	cr_assert_eq(dir_of("0::/x\n", 1, out), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(dir_of("4:memory:/x\n4:memoryx:/y\n", 2, out), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(dir_of("4:nomemory:/x\n", 1, out), -1);
	cr_assert_eq(dir_of("", 1, out), -1);
}

Test(oom, rejects_paths_outside_the_tree)
{
	static const char *bad[] = { "0::x\n", "0::\n", "0::/../etc\n",
		"0::/a/..\n", "0::/a/./b\n", "0::/a/../../b\n" };
	char out[PATH_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		cr_assert_eq(dir_of(bad[i], 2, out), -1, "%s", bad[i]);
		cr_assert_eq(errno, EINVAL, "%s", bad[i]);
	}
	cr_assert_eq(dir_of("0::/a/..b/.c\n", 2, out), 0);
}

Test(oom, too_long_is_enametoolong)
{
	char out[16];

	errno = 0;
	cr_assert_eq(mon_oom_cgroup_dir("0::/abcdefghijklmnop", 20, 2, "/r",
	    out, sizeof(out)), -1);
	cr_assert_eq(errno, ENAMETOOLONG);
}

static int
tmpdir(char *buf, size_t len)
{
	(void)snprintf(buf, len, "/tmp/oomtest.XXXXXX");
	cr_assert_not_null(mkdtemp(buf));
	return open(buf, O_DIRECTORY | O_PATH | O_CLOEXEC);
}

Test(oom, creates_an_empty_file_0644)
{
	char d[64], p[96];
	struct stat st;
	int fd = tmpdir(d, sizeof(d));

	cr_assert_eq(mon_oom_file_create(fd), 0);
	(void)snprintf(p, sizeof(p), "%s/oom", d);
	cr_assert_eq(lstat(p, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0644);
	cr_assert_eq(st.st_size, 0);
	/* an existing regular file is fine (a second OOM) */
	cr_assert_eq(mon_oom_file_create(fd), 0);
	(void)unlink(p);
	(void)rmdir(d);
	(void)close(fd);
}

Test(oom, sec29_symlink_is_not_followed)
{
	char d[64], p[96], target[96];
	struct stat st;
	int fd = tmpdir(d, sizeof(d));

	(void)snprintf(p, sizeof(p), "%s/oom", d);
	(void)snprintf(target, sizeof(target), "%s/target", d);
	cr_assert_eq(symlink(target, p), 0);
	errno = 0;
	cr_assert_eq(mon_oom_file_create(fd), -1);
	cr_assert_eq(errno, ELOOP);
	cr_assert_eq(lstat(target, &st), -1, "the link was followed");
	cr_assert_eq(lstat(p, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the link was replaced");
	(void)unlink(p);
	(void)rmdir(d);
	(void)close(fd);
}
