/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/profile.c: parses the seccomp profile texts of seccomp-profiles/
 * and adds their rules to a libseccomp filter. Never reads a file and
 * never trusts the text: it is fuzzed (tests/fuzz/profile_fuzz.c).
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <seccomp.h>

#include "common/errtext.h"
#include "common/num.h"
#include "common/profile.h"

/* Longest number or name we accept as one value ("0x" + 16 digits). */
#define PROFILE_WORD_MAX 32
/* Longest piece of the text quoted in an error. */
#define PROFILE_QUOTE_MAX 40

struct profile_name {
	const char *name;
	uint64_t value;
};

/*
 * The constants a condition may name. Values come from the system
 * headers, so they are those of the native architecture.
 */
static const struct profile_name profile_consts[] = {
    {"F_DUPFD_CLOEXEC", F_DUPFD_CLOEXEC},
    {"F_GETFD", F_GETFD},
    {"F_SETFD", F_SETFD},
    {"F_GETFL", F_GETFL},
    {"F_SETFL", F_SETFL},
    {"FD_CLOEXEC", FD_CLOEXEC},
    {"O_NONBLOCK", O_NONBLOCK},
    {"O_CLOEXEC", O_CLOEXEC},
    {"PROT_NONE", PROT_NONE},
    {"PROT_READ", PROT_READ},
    {"PROT_WRITE", PROT_WRITE},
    {"PROT_EXEC", PROT_EXEC},
    {"MAP_SHARED", MAP_SHARED},
    {"MAP_PRIVATE", MAP_PRIVATE},
    {"MAP_ANONYMOUS", MAP_ANONYMOUS},
    {"MAP_FIXED", MAP_FIXED},
    {"MADV_DONTNEED", MADV_DONTNEED},
    {"MADV_FREE", MADV_FREE},
    {"AT_EMPTY_PATH", AT_EMPTY_PATH},
    {"TIOCSWINSZ", TIOCSWINSZ},
    {"TIOCGWINSZ", TIOCGWINSZ},
    {"TCGETS", TCGETS},
    {"MSG_DONTWAIT", MSG_DONTWAIT},
    {"MSG_NOSIGNAL", MSG_NOSIGNAL},
    {"MSG_CMSG_CLOEXEC", MSG_CMSG_CLOEXEC},
    {"MSG_TRUNC", MSG_TRUNC},
    {"SOCK_NONBLOCK", SOCK_NONBLOCK},
    {"SOCK_CLOEXEC", SOCK_CLOEXEC},
    {"SOL_SOCKET", SOL_SOCKET},
    {"SO_SNDBUF", SO_SNDBUF},
};

/* The errnos a refusing rule may return (security.md: under five). */
static const struct profile_name profile_errnos[] = {
    {"EPERM", EPERM},
    {"EACCES", EACCES},
    {"ENOSYS", ENOSYS},
    {"EINVAL", EINVAL},
};

/* A piece of the text: not NUL-terminated. */
struct profile_span {
	const char *p;
	size_t len;
};

/* The tokens of one rule line, before its '#'. */
struct profile_cursor {
	const char *p;
	const char *end;
	unsigned line;
	char *err;
	size_t errlen;
};

static bool
profile_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool
profile_span_is(struct profile_span s, const char *word)
{
	return s.len == strlen(word) && memcmp(s.p, word, s.len) == 0;
}

/* Writes "line N: <what>" and fails. */
static int profile_fail(struct profile_cursor *, const char *, ...)
    VIGIL_PRINTF(2, 3);

static int
profile_fail(struct profile_cursor *c, const char *fmt, ...)
{
	char what[192];
	va_list ap;

	va_start(ap, fmt);
	/* a message cut short is still a message */
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->err != NULL && c->errlen > 0)
		(void)snprintf(c->err, c->errlen, "line %u: %s", c->line, what);
	errno = EINVAL;
	return -1;
}

/* Length of a span as quoted in a message: bounded, never the whole text. */
static int
profile_qlen(struct profile_span s)
{
	return (int)(s.len < PROFILE_QUOTE_MAX ? s.len : PROFILE_QUOTE_MAX);
}

/* The next white-space separated token; false at the end of the rule. */
static bool
profile_next(struct profile_cursor *c, struct profile_span *t)
{
	while (c->p < c->end && profile_is_space(*c->p))
		c->p++;
	if (c->p == c->end)
		return false;
	t->p = c->p;
	while (c->p < c->end && !profile_is_space(*c->p))
		c->p++;
	t->len = (size_t)(c->p - t->p);
	return true;
}

static int
profile_lookup(const struct profile_name *tab, size_t n, struct profile_span s,
    uint64_t *out)
{
	for (size_t i = 0; i < n; i++) {
		if (profile_span_is(s, tab[i].name)) {
			*out = tab[i].value;
			return 0;
		}
	}
	return -1;
}

static bool
profile_digit(unsigned char ch, int base)
{
	if (ch >= '0' && ch <= '9')
		return true;
	return base == 16 &&
	       ((ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'));
}

/* A decimal or 0x hex number, whole span, 0 .. INT64_MAX. */
static int
profile_number(struct profile_span s, uint64_t *out)
{
	char buf[PROFILE_WORD_MAX];
	size_t i = 0;
	int base = 10;
	int64_t v;

	if (s.len >= sizeof(buf))
		return -1;
	if (s.len > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == s.len)
		return -1;
	for (; i < s.len; i++)
		if (!profile_digit((unsigned char)s.p[i], base))
			return -1;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	if (num_parse(buf, base, 0, INT64_MAX, &v) < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* One piece of a value `s`: a number or a constant's name. */
static int
profile_value_part(struct profile_cursor *c, struct profile_span s,
    struct profile_span part, uint64_t *v)
{
	if (part.len == 0)
		return profile_fail(
		    c, "bad value '%.*s'", profile_qlen(s), s.p);
	if (part.p[0] >= '0' && part.p[0] <= '9') {
		if (profile_number(part, v) < 0)
			return profile_fail(
			    c, "bad number '%.*s'", profile_qlen(part), part.p);
		return 0;
	}
	if (profile_lookup(
		profile_consts, VIGIL_NELEM(profile_consts), part, v) < 0)
		return profile_fail(
		    c, "unknown constant %.*s", profile_qlen(part), part.p);
	return 0;
}

/* A value: numbers and constant names joined by '|', OR'ed. */
static int
profile_value(struct profile_cursor *c, struct profile_span s, uint64_t *out)
{
	const char *p = s.p, *end = s.p + s.len, *bar;
	struct profile_span part;
	uint64_t v = 0;

	*out = 0;
	for (;;) {
		bar = memchr(p, '|', (size_t)(end - p));
		part.p = p;
		part.len = (size_t)((bar != NULL ? bar : end) - p);
		if (profile_value_part(c, s, part, &v) < 0)
			return -1;
		*out |= v;
		if (bar == NULL)
			return 0;
		p = bar + 1;
	}
}

/* "argN": N in 0..5, the syscall arguments seccomp can see. */
static int
profile_arg(struct profile_cursor *c, struct profile_span s, unsigned *arg)
{
	if (s.len != 4 || memcmp(s.p, "arg", 3) != 0 || s.p[3] < '0' ||
	    s.p[3] > '5')
		return profile_fail(c, "bad argument index '%.*s' (arg0..arg5)",
		    profile_qlen(s), s.p);
	*arg = (unsigned)(s.p[3] - '0');
	return 0;
}

/* "argN == V", "argN != V" or "argN & MASK == V"; `s` is the argN. */
static int
profile_cond(
    struct profile_cursor *c, struct profile_span s, struct profile_rule *r)
{
	struct profile_cond *cond;
	struct profile_span op, v;

	if (r->ncond == PROFILE_MAX_CONDS)
		return profile_fail(
		    c, "too many conditions (at most %d)", PROFILE_MAX_CONDS);
	cond = &r->cond[r->ncond];
	if (profile_arg(c, s, &cond->arg) < 0)
		return -1;
	for (unsigned i = 0; i < r->ncond; i++)
		if (r->cond[i].arg == cond->arg) /* libseccomp refuses it */
			return profile_fail(
			    c, "arg%u compared twice", cond->arg);
	if (!profile_next(c, &op))
		return profile_fail(
		    c, "incomplete condition on arg%u", cond->arg);
	if (profile_span_is(op, "&")) {
		cond->op = PROFILE_MASKED_EQ;
		if (!profile_next(c, &v))
			return profile_fail(
			    c, "incomplete condition on arg%u", cond->arg);
		if (profile_value(c, v, &cond->mask) < 0)
			return -1;
		if (!profile_next(c, &op) || !profile_span_is(op, "=="))
			return profile_fail(
			    c, "expected 'arg%u & MASK == VALUE'", cond->arg);
	} else if (profile_span_is(op, "==")) {
		cond->op = PROFILE_EQ;
	} else if (profile_span_is(op, "!=")) {
		cond->op = PROFILE_NE;
	} else {
		return profile_fail(
		    c, "expected ==, != or & after arg%u", cond->arg);
	}
	if (!profile_next(c, &v))
		return profile_fail(
		    c, "incomplete condition on arg%u", cond->arg);
	if (profile_value(c, v, &cond->value) < 0)
		return -1;
	if (cond->op == PROFILE_MASKED_EQ && (cond->value & ~cond->mask) != 0)
		return profile_fail(c,
		    "arg%u: value outside the mask never matches", cond->arg);
	r->ncond++;
	return 0;
}

/* "errno NAME", which must end the rule. */
static int
profile_errno(struct profile_cursor *c, struct profile_rule *r)
{
	struct profile_span s, extra;
	uint64_t v;

	if (!profile_next(c, &s))
		return profile_fail(c, "errno needs a name (EPERM, EACCES, "
				       "ENOSYS, EINVAL)");
	if (profile_lookup(profile_errnos, VIGIL_NELEM(profile_errnos), s, &v) <
	    0)
		return profile_fail(
		    c, "unknown errno %.*s", profile_qlen(s), s.p);
	if (profile_next(c, &extra))
		return profile_fail(c, "unexpected '%.*s' after errno %.*s",
		    profile_qlen(extra), extra.p, profile_qlen(s), s.p);
	r->err = (int)v;
	return 0;
}

/* The system call name, resolved for the native architecture. */
static int
profile_syscall(
    struct profile_cursor *c, struct profile_span s, struct profile_rule *r)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			ch == '_'))
			return profile_fail(c, "bad system call name '%.*s'",
			    profile_qlen(s), s.p);
	}
	if (s.len >= sizeof(r->name))
		return profile_fail(c, "system call name too long '%.*s'",
		    profile_qlen(s), s.p);
	memcpy(r->name, s.p, s.len);
	r->name[s.len] = '\0';
	/*
	 * A name known to libseccomp but absent on this architecture gets
	 * a negative pseudo number, which seccomp_rule_add ignores, so one
	 * profile serves several architectures.
	 */
	r->nr = seccomp_syscall_resolve_name(r->name);
	if (r->nr == __NR_SCMP_ERROR)
		return profile_fail(c, "unknown system call %s", r->name);
	return 0;
}

static bool
profile_same_conds(const struct profile_rule *a, const struct profile_rule *b)
{
	if (a->ncond != b->ncond)
		return false;
	for (unsigned i = 0; i < a->ncond; i++) {
		const struct profile_cond *x = &a->cond[i], *y = &b->cond[i];
		if (x->arg != y->arg || x->op != y->op ||
		    x->value != y->value ||
		    (x->op == PROFILE_MASKED_EQ && x->mask != y->mask))
			return false;
	}
	return true;
}

/*
 * libseccomp silently keeps one of two rules that differ only in their
 * action, so that is an error, never a quiet override. The same rule
 * twice is harmless (a test build's additions may repeat a role's line).
 */
static int
profile_check_dup(struct profile_cursor *c, const struct profile *prof,
    const struct profile_rule *r)
{
	for (size_t i = 0; i < prof->n; i++) {
		const struct profile_rule *o = &prof->rules[i];
		if (o->nr == r->nr && o->err != r->err &&
		    profile_same_conds(o, r))
			return profile_fail(c,
			    "%s: the rule of line %u with another action",
			    r->name, o->line);
	}
	return 0;
}

/* One rule: the text between the line's start and its '#'. */
static int
profile_rule(struct profile_cursor *c, struct profile *prof)
{
	struct profile_rule *r;
	struct profile_span t;

	if (prof->n == PROFILE_MAX_RULES)
		return profile_fail(
		    c, "too many rules (at most %d)", PROFILE_MAX_RULES);
	r = &prof->rules[prof->n];
	memset(r, 0, sizeof(*r));
	r->line = c->line;
	if (!profile_next(c, &t) || profile_syscall(c, t, r) < 0)
		return -1;
	while (profile_next(c, &t)) {
		if (profile_span_is(t, "errno")) {
			if (profile_errno(c, r) < 0)
				return -1;
		} else if (t.len >= 3 && memcmp(t.p, "arg", 3) == 0) {
			if (profile_cond(c, t, r) < 0)
				return -1;
		} else {
			return profile_fail(
			    c, "unexpected '%.*s'", profile_qlen(t), t.p);
		}
	}
	if (profile_check_dup(c, prof, r) < 0)
		return -1;
	prof->n++;
	return 0;
}

/* True when [p, end) holds only white space. */
static bool
profile_blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (!profile_is_space(*p))
			return false;
	return true;
}

/* One line [p, end): a comment, a blank line or a rule with its reason. */
static int
profile_line(struct profile_cursor *c, struct profile *prof, const char *p,
    const char *end)
{
	const char *hash = memchr(p, '#', (size_t)(end - p));
	const char *body_end = hash != NULL ? hash : end;

	if (profile_blank(p, body_end))
		return 0;
	/* security.md: every rule carries its reason */
	if (hash == NULL || profile_blank(hash + 1, end))
		return profile_fail(c, "rule without a reason (# why)");
	c->p = p;
	c->end = body_end;
	return profile_rule(c, prof);
}

int
profile_parse(const char *text, struct profile *prof, char *err, size_t errlen)
{
	struct profile_cursor c = {.err = err, .errlen = errlen};
	const char *p = text, *nl;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	prof->n = 0;
	if (text == NULL) {
		c.line = 0;
		return profile_fail(&c, "no profile text");
	}
	for (c.line = 1; *p != '\0'; c.line++) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (profile_line(&c, prof, p, nl) < 0)
			return -1;
		p = *nl == '\n' ? nl + 1 : nl;
	}
	return 0;
}

const char *
profile_text_of(const char *role)
{
	if (role == NULL)
		return NULL;
	for (const struct profile_text *t = profile_texts; t->role != NULL; t++)
		if (strcmp(t->role, role) == 0)
			return t->text;
	return NULL;
}

static struct scmp_arg_cmp
profile_cmp(const struct profile_cond *cond)
{
	struct scmp_arg_cmp cmp = {.arg = cond->arg};

	switch (cond->op) {
	case PROFILE_EQ:
		cmp.op = SCMP_CMP_EQ;
		cmp.datum_a = cond->value;
		break;
	case PROFILE_NE:
		cmp.op = SCMP_CMP_NE;
		cmp.datum_a = cond->value;
		break;
	case PROFILE_MASKED_EQ:
		cmp.op = SCMP_CMP_MASKED_EQ;
		cmp.datum_a = cond->mask;
		cmp.datum_b = cond->value;
		break;
	}
	return cmp;
}

int
profile_apply(const struct profile *prof, void *ctx, char *err, size_t errlen)
{
	struct scmp_arg_cmp cmp[PROFILE_MAX_CONDS];

	for (size_t i = 0; i < prof->n; i++) {
		const struct profile_rule *r = &prof->rules[i];
		uint32_t action = r->err != 0 ? SCMP_ACT_ERRNO((uint32_t)r->err)
					      : SCMP_ACT_ALLOW;
		int rc;

		for (unsigned j = 0; j < r->ncond && j < PROFILE_MAX_CONDS; j++)
			cmp[j] = profile_cmp(&r->cond[j]);
		rc = seccomp_rule_add_array(ctx, action, r->nr, r->ncond, cmp);
		if (rc < 0) {
			if (err != NULL && errlen > 0)
				(void)snprintf(err, errlen, "line %u: %s: %s",
				    r->line, r->name, errtext(-rc));
			errno = -rc;
			return -1;
		}
	}
	return 0;
}
