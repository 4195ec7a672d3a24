/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/fault.c: the failpoint table of a FAULTS=1 build (common/fault.h).
 * Not compiled into a release build (GNUmakefile).
 */
#ifndef VIGIL_FAULTS
#error "common/fault.c belongs only to FAULTS=1 builds"
#endif

#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/diag.h"
#include "common/errtext.h"
#include "common/fault.h"

/*
 * The forbidden calls logger.syscall and broker.syscall may make (issue 7,
 * security 39), each with arguments that would do no harm if a profile
 * ever let it run (bubblewrap's way): a bad fd, an empty path, pid -1,
 * signal 0.
 */
static const char *const fault_syscalls[] = {
	"openat", "socket", "execve", "kill", "ptrace", NULL,
};

/* The roles chan.corrupt_next takes. */
static const char *const fault_roles[] = { "logger", "broker", NULL };

struct fault {
	const char *name;
	enum fault_kind kind;
	unsigned flags;
	bool on;
	long long num;
	char word[FAULT_WORD_MAX + 1];
};

static struct fault faults[FAULT_COUNT] = {
#define FAULT_ROW(id, n, k, f) [FAULT_##id] = { .name = n, .kind = k, .flags = f },
	FAULT_LIST(FAULT_ROW)
#undef FAULT_ROW
};

static void
disarm_all(void)
{
	for (size_t i = 0; i < FAULT_COUNT; i++) {
		faults[i].on = false;
		faults[i].num = 0;
		faults[i].word[0] = '\0';
	}
}

static struct fault *
lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < FAULT_COUNT; i++)
		if (strlen(faults[i].name) == len &&
		    memcmp(faults[i].name, name, len) == 0)
			return &faults[i];
	return NULL;
}

static bool
word_in(const char *w, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(w, list[i]) == 0)
			return true;
	return false;
}

/* A word failpoint takes one of a fixed set: a typo fails at start. */
static int
check_word(struct fault *f, char *err, size_t n)
{
	const char *const *list = NULL;
	const char *what = NULL;

	if (f == &faults[FAULT_LOGGER_SYSCALL] ||
	    f == &faults[FAULT_BROKER_SYSCALL]) {
		list = fault_syscalls;
		what = "openat, socket, execve, kill or ptrace";
	} else if (f == &faults[FAULT_CHAN_CORRUPT_NEXT]) {
		list = fault_roles;
		what = "logger or broker";
	}
	if (list == NULL || word_in(f->word, list))
		return 0;
	(void)snprintf(err, n, "VIGIL_FAULTS: %s takes %s, not '%s'",
	    f->name, what, f->word);
	return -1;
}

static int
set_value(struct fault *f, const char *v, size_t len, char *err, size_t n)
{
	if (f->kind == FAULT_KIND_NUMBER) {
		long long x = 0;

		if (v == NULL) {
			f->num = 1;
			return 0;
		}
		if (len == 0 || len > 18)
			goto bad;
		for (size_t i = 0; i < len; i++) {
			if (v[i] < '0' || v[i] > '9')
				goto bad;
			x = x * 10 + (v[i] - '0');
		}
		f->num = x;
		return 0;
	}
	if (v == NULL || len == 0 || len > FAULT_WORD_MAX) {
		(void)snprintf(err, n, "VIGIL_FAULTS: %s takes a word of 1 to %d "
		    "characters [a-z0-9_]", f->name, FAULT_WORD_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
		    (v[i] >= '0' && v[i] <= '9') || v[i] == '_')) {
			(void)snprintf(err, n, "VIGIL_FAULTS: %s takes a word of "
			    "[a-z0-9_], not '%.*s'", f->name, (int)len, v);
			return -1;
		}
	memcpy(f->word, v, len);
	f->word[len] = '\0';
	return check_word(f, err, n);
bad:
	(void)snprintf(err, n, "VIGIL_FAULTS: %s takes a number, not '%.*s'",
	    f->name, (int)(len > 64 ? 64 : len), v);
	return -1;
}

int
fault_parse(const char *spec, char *err, size_t n)
{
	const char *p = spec;

	disarm_all();
	if (spec == NULL)
		return 0;
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		const char *eq;
		size_t len, nlen;
		struct fault *f;

		len = end != NULL ? (size_t)(end - p) : strlen(p);
		eq = memchr(p, '=', len);
		nlen = eq != NULL ? (size_t)(eq - p) : len;
		f = lookup(p, nlen);
		if (f == NULL) {
			(void)snprintf(err, n, "VIGIL_FAULTS: unknown failpoint "
			    "'%.*s'", (int)(nlen > 64 ? 64 : nlen), p);
			goto fail;
		}
		if (f->on) {
			(void)snprintf(err, n, "VIGIL_FAULTS: %s given twice",
			    f->name);
			goto fail;
		}
		if (set_value(f, eq != NULL ? eq + 1 : NULL,
		    eq != NULL ? len - nlen - 1 : 0, err, n) < 0)
			goto fail;
		f->on = true;
		if (end == NULL)
			break;
		p = end + 1;
		if (*p == '\0') {
			(void)snprintf(err, n, "VIGIL_FAULTS: empty entry after ','");
			goto fail;
		}
	}
	return 0;
fail:
	disarm_all();
	return -1;
}

void
fault_init(void)
{
	char err[256];

	if (fault_parse(getenv("VIGIL_FAULTS"), err, sizeof(err)) < 0) {
		(void)fprintf(stderr, "[conmon:e]: %s\n", err);
		exit(1);
	}
	for (size_t i = 0; i < FAULT_COUNT; i++) {
		if (!faults[i].on)
			continue;
		if (faults[i].kind == FAULT_KIND_WORD)
			diag_warnx("fault injection: %s=%s armed",
			    faults[i].name, faults[i].word);
		else
			diag_warnx("fault injection: %s=%lld armed",
			    faults[i].name, faults[i].num);
	}
}

bool
fault_on(enum fault_id id)
{
	return faults[id].on;
}

long long
fault_num(enum fault_id id)
{
	return faults[id].on ? faults[id].num : 0;
}

const char *
fault_word(enum fault_id id)
{
	return faults[id].on ? faults[id].word : "";
}

void
fault_disarm(enum fault_id id)
{
	faults[id].on = false;
}

const char *
fault_name(enum fault_id id)
{
	return faults[id].name;
}

void
fault_forked(const char *role)
{
	size_t rlen = strlen(role);

	for (size_t i = 0; i < FAULT_COUNT; i++) {
		struct fault *f = &faults[i];

		if (!f->on || !(f->flags & FAULT_ONCE))
			continue;
		if ((strncmp(f->name, role, rlen) == 0 && f->name[rlen] == '.') ||
		    (strncmp(f->name, "chan.", 5) == 0 &&
		    strcmp(f->word, role) == 0))
			f->on = false;
	}
}

/*
 * logger.syscall, broker.syscall: make the named forbidden call once. In
 * a sandboxed child it traps and never returns (security 39); if it does
 * return, a profile let it through (a SANITIZE=1 build refuses openat
 * with an errno instead, tests/sanitize.seccomp), and that is said.
 */
void
fault_syscall(const char *name)
{
	long rc = -1;

	errno = 0;
	if (strcmp(name, "openat") == 0)
		rc = syscall(SYS_openat, -1, "vigil-fault", O_RDONLY | O_CLOEXEC);
	else if (strcmp(name, "socket") == 0)
		rc = syscall(SYS_socket, -1, 0, 0);
	else if (strcmp(name, "execve") == 0)
		rc = syscall(SYS_execve, "", NULL, NULL);
	else if (strcmp(name, "kill") == 0)
		rc = syscall(SYS_kill, (long)getpid(), 0); /* signal 0: a probe */
	else if (strcmp(name, "ptrace") == 0)
		rc = syscall(SYS_ptrace, 0x4201 /* PTRACE_SEIZE */, -1, 0, 0);
	else
		errno = EINVAL; /* fault_parse() let no other name in */
	diag_warnx("fault injection: %s was not trapped: returned %ld (%s)",
	    name, rc, errtext(errno));
}

void
fault_syscall_once(enum fault_id id)
{
	char name[FAULT_WORD_MAX + 1];

	if (!fault_on(id))
		return;
	(void)snprintf(name, sizeof(name), "%s", fault_word(id));
	fault_disarm(id); /* before the call: it may not return */
	fault_syscall(name);
}

/* A real crash: a trapping instruction, SIGILL (a sandboxed child cannot
 * signal itself, and this needs no system call). */
void
fault_crash(void)
{
	__builtin_trap();
}
