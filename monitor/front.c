/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/front.c: the launcher's work before the detach (spec 3.1 steps
 * 1-6): inherited fds, OOM score, manager pipes, the fork and the conmon
 * pidfile. Errors here are visible to the manager: print and exit 1.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/diag.h"
#include "common/errtext.h"
#include "common/io.h"
#include "common/num.h"
#include "common/sandbox.h"
#include "monitor/mon.h"

#include "identity.h" /* generated: build/gen/identity.h (CHILD_USER) */

/* Fallback scan range when /proc is not mounted. */
#define MON_FD_SCAN_MAX 1024

static void
fds_add(struct mon *m, int fd, size_t *cap)
{
	if (m->n_inherited == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		int *n = reallocarray(m->inherited, ncap, sizeof(*n));
		if (n == NULL)
			fatal("Failed to record inherited file descriptors");
		m->inherited = n;
		*cap = ncap;
	}
	m->inherited[m->n_inherited++] = fd;
}

/* spec 2.2 rule 1: the set of fds >= 3 open at startup. */
void
mon_fds_record(struct mon *m)
{
	size_t cap = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (d == NULL) {
		for (int fd = 3; fd < MON_FD_SCAN_MAX; fd++)
			if (fcntl(fd, F_GETFD) >= 0)
				fds_add(m, fd, &cap);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		int64_t fd;
		if (num_parse(de->d_name, 10, 3, INT32_MAX, &fd) < 0)
			continue;
		if (fd == dirfd(d))
			continue;
		fds_add(m, (int)fd, &cap);
	}
	(void)closedir(d); /* read-only directory stream */
}

/* spec 3.1 step 2: remember the score, then -1000; failure is silent. */
void
mon_oom_lower(struct mon *m)
{
	int fd = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		diag_debug("cannot open oom_score_adj: %s", errtext(errno));
		return;
	}
	n = io_read(fd, m->oom_saved, sizeof(m->oom_saved) - 1);
	if (n > 0) {
		m->oom_saved[n] = '\0';
		if (io_write_all(fd, "-1000", 5) == 5)
			m->oom_changed = true;
		else
			diag_debug("cannot lower oom_score_adj: %s",
			    errtext(errno));
	}
	(void)close(fd); /* nothing buffered */
}

/* spec 4.2 step 6, 10.5: the runtime and the exit command get it back. */
void
mon_oom_restore(const struct mon *m)
{
	int fd;

	if (!m->oom_changed)
		return;
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	VIGIL_IGNORE(io_write_all(fd, m->oom_saved, strlen(m->oom_saved)));
	(void)close(fd); /* best effort, as conmon: the child runs on */
}

/* spec 5.1: a decimal fd number in the variable, made close-on-exec. */
static int
env_fd(const char *var)
{
	const char *s = getenv(var);
	int64_t v;

	if (s == NULL)
		return -1;
	if (num_parse(s, 10, 0, INT32_MAX, &v) < 0)
		fatal("unable to parse %s", var);
	if (v > 0 && io_set_cloexec((int)v, true) < 0)
		fatal("unable to make %s CLOEXEC", var);
	return (int)v;
}

/* spec 3.1 step 4, 5.2: wait for the manager's first start byte. */
void
mon_start_pipe(struct mon *m)
{
	char buf[MON_START_READ_MAX];

	m->start_fd = env_fd("_OCI_STARTPIPE");
	if (m->start_fd <= 0) {
		m->start_fd = -1;
		return;
	}
	if (io_read(m->start_fd, buf, sizeof(buf)) < 0)
		fatal("start-pipe read failed");
	if (m->o->exec_attach)
		return; /* spec 5.2: the runtime child reads it a second time */
	(void)close(m->start_fd); /* read side: nothing to flush */
	m->start_fd = -1;
}

/*
 * spec 3.1 step 9 parses _OCI_SYNCPIPE in the daemon, where an error is
 * invisible; vigil parses it before the detach so a bad value is a
 * visible failure (exit 1) rather than a silent one.
 */
void
mon_sync_pipe(struct mon *m)
{
	m->sync_fd = env_fd("_OCI_SYNCPIPE");
	if (!m->o->exec_attach)
		return;
	/* spec 3.1 step 9, likewise before the detach */
	m->attach_fd = env_fd("_OCI_ATTACHPIPE");
	if (m->attach_fd < 0) {
		errno = ENOENT;
		fatal("--attach specified but _OCI_ATTACHPIPE was not");
	}
}

/*
 * The id of `name` in an /etc/passwd or /etc/group style file (field 3):
 * 1 found, 0 not there, -1 the file cannot be read (errno). The files are
 * read directly, not through NSS: the binary is static (GNUmakefile), and
 * a static glibc would dlopen() NSS modules of the installed glibc. A
 * name served only by another NSS source (systemd-userdb, LDAP) is not
 * found: the start fails naming it (README "The children's identity").
 */
static int
id_in_file(const char *path, const char *name, int64_t *id)
{
	char line[1024];
	size_t nlen = strlen(name);
	int found = 0;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *pw, *num, *end;

		if (strncmp(line, name, nlen) != 0 || line[nlen] != ':')
			continue;
		pw = line + nlen + 1;
		if ((num = strchr(pw, ':')) == NULL)
			continue;
		num++;
		if ((end = strchr(num, ':')) == NULL)
			continue;
		*end = '\0';
		if (num_parse(num, 10, 0, UINT32_MAX - 1, id) == 0)
			found = 1;
	}
	(void)fclose(f); /* read-only */
	return found;
}

/* One name of the identity: its id, or -1 with msg. */
static int
mon_id_lookup(const char *path, const char *kind, const char *name,
    const char *setting, int64_t *id, char *msg, size_t msglen)
{
	int rc = id_in_file(path, name, id);

	if (rc < 0) {
		(void)snprintf(msg, msglen, "Failed to find the sandbox %s %s "
		    "(build setting %s): %s: %s", kind, name, setting, path,
		    errtext(errno));
		return -1;
	}
	if (rc == 0) {
		(void)snprintf(msg, msglen, "Failed to find the sandbox %s %s "
		    "(build setting %s): no such %s", kind, name, setting, kind);
		return -1;
	}
	if (*id == 0) {
		(void)snprintf(msg, msglen, "The sandbox %s %s (build setting "
		    "%s) is %s 0: refused", kind, name, setting,
		    strcmp(kind, "user") == 0 ? "uid" : "gid");
		return -1;
	}
	return 0;
}

int
mon_identity_resolve(const char *user, const char *group, uid_t *uid,
    gid_t *gid, char *msg, size_t msglen)
{
	int64_t u, g;

	if (mon_id_lookup("/etc/passwd", "user", user, "CHILD_USER", &u, msg,
		msglen) < 0 ||
	    mon_id_lookup("/etc/group", "group", group, "CHILD_GROUP", &g, msg,
		msglen) < 0)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

/*
 * The sandboxed children's identity when root (architecture.md "Sandbox"
 * step 3): names fixed at build time, resolved here in the reaper before
 * any child is forked; an unknown name fails the start. And the one line
 * that says a kernel lacks Landlock (step 5), which the children skip.
 */
void
mon_child_identity(struct mon *m)
{
	char msg[256];
	int abi;

	if (geteuid() == 0 &&
	    mon_identity_resolve(VIGIL_CHILD_USER, VIGIL_CHILD_GROUP,
		&m->child_uid, &m->child_gid, msg, sizeof(msg)) < 0) {
		/* after the detach: the manager reads it on the sync pipe */
		mon_sync_report(m, -1, msg, strlen(msg));
		fatalx("%s", msg);
	}
	if ((abi = sandbox_landlock_abi()) >= 0)
		diag_debug("Landlock ABI %d: the children open no path", abi);
	else if (sandbox_landlock_absent(errno))
		diag_info("Landlock is not available (%s): the children run "
		    "without a filesystem restriction", errtext(errno));
	/* any other failure: each child fails its start naming the step */
}

static void
write_conmon_pidfile(struct mon *m, pid_t daemon)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)daemon);

	/* atomic, not durable: a pid means nothing after a host crash, and
	 * the fsync was most of the launcher's time (bench figure 3) */
	if (mon_write_atomic_path(m->o->conmon_pidfile, buf, (size_t)n,
	    0644, false) < 0) {
		int saved = errno;
		/* spec 3.2, decision for vigil: a failure is a failure */
		(void)kill(daemon, SIGKILL);
		(void)waitpid(daemon, NULL, 0);
		errno = saved;
		fatal("Failed to write conmon pidfile: %s",
		    m->o->conmon_pidfile);
	}
}

/*
 * spec 3.1 step 6, 3.2: fork; the launcher writes --conmon-pidfile and
 * exits 0. The daemon waits on a pipe until the pidfile exists, so a
 * launcher that fails never leaves a daemon running a container.
 */
void
mon_detach(struct mon *m)
{
	int go[2];
	pid_t pid;
	char c;

	if (m->o->sync) {
		m->self = getpid();
		return;
	}
	if (pipe2(go, O_CLOEXEC) < 0)
		fatal("Failed to create pipe");
	pid = fork();
	if (pid < 0)
		fatal("Failed to fork the monitor");
	if (pid > 0) {
		(void)close(go[0]); /* the daemon's end */
		if (m->o->conmon_pidfile != NULL)
			write_conmon_pidfile(m, pid);
		if (io_write_all(go[1], "g", 1) < 0)
			fatal("Failed to release the monitor");
		_exit(0);
	}
	(void)close(go[1]); /* the launcher's end */
	if (io_read(go[0], &c, 1) != 1)
		_exit(1); /* the launcher failed and said so */
	(void)close(go[0]); /* done with it */
	m->self = getpid();
}
