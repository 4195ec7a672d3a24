/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/ctl.c: the ctl and winsz line grammar (spec 8.2, 8.5). Pure: no
 * I/O, no allocation, and nothing is ever read past a line's LF.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/num.h"
#include "attach/ctl.h"

/*
 * Longest line text, without its LF, that is not over-long: spec 8.2 counts
 * the LF in conmon's 199-byte buffer, so 198 bytes of text are one too many.
 */
#define ATT_CTL_TEXT_MAX (ATT_CTL_LINE_MAX - 2)

void
att_ctl_feed(struct att_ctl_line *l, const char *data, size_t len,
    att_ctl_line_cb cb, void *arg)
{
	const char *lf;
	size_t n;

	while (len > 0) {
		lf = memchr(data, '\n', len);
		n = lf != NULL ? (size_t)(lf - data) : len;
		/* spec 8.2, vigil: drop the whole line, not 199-byte pieces */
		if (l->len > ATT_CTL_TEXT_MAX || n > ATT_CTL_TEXT_MAX - l->len)
			l->discarding = true;
		if (l->discarding) {
			l->len = 0;
		} else {
			memcpy(l->buf + l->len, data, n);
			l->len += n;
		}
		if (lf == NULL)
			return;
		/* spec 8.2, vigil: every complete line on its own, in order */
		cb(arg, l->buf, l->discarding ? 0 : l->len, l->discarding);
		l->len = 0;
		l->discarding = false;
		data = lf + 1;
		len -= n + 1;
	}
}

/* sscanf's white space in the C locale; a NUL is not white space. */
static bool
att_ctl_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

/*
 * One sscanf("%d") conversion at line[*off] (spec 8.2): white space
 * skipped, an optional sign, then decimal digits up to the first non-digit
 * (a NUL ends them like any other). Fails without a digit. Also fails on a
 * value outside int: glibc would store a wrapped value there, vigil counts
 * it as no conversion, so such a line gets the format warning (security
 * 14: `1 2147483648 5`) and no wrapped number is ever printed.
 */
static int
att_ctl_scan_int(const char *line, size_t len, size_t *off, int *out)
{
	char tok[ATT_CTL_LINE_MAX];
	size_t i = *off, start, digits;
	int64_t v;

	while (i < len && att_ctl_space(line[i]))
		i++;
	start = i;
	if (i < len && (line[i] == '+' || line[i] == '-'))
		i++;
	digits = i;
	while (i < len && line[i] >= '0' && line[i] <= '9')
		i++;
	if (i == digits)
		return -1;
	/* att_ctl_text() bounded len by ATT_CTL_TEXT_MAX < sizeof(tok) */
	memcpy(tok, line + start, i - start);
	tok[i - start] = '\0';
	if (num_parse(tok, 10, INT_MIN, INT_MAX, &v) == -1)
		return -1;
	*out = (int)v;
	*off = i;
	return 0;
}

/* sscanf("%d %d ...") into n ints: how many were converted, in order. */
static size_t
att_ctl_scan(const char *line, size_t len, int *v, size_t n)
{
	size_t off = 0, i;

	for (i = 0; i < n; i++)
		if (att_ctl_scan_int(line, len, &off, &v[i]) == -1)
			break;
	return i;
}

/*
 * The text a parser looks at: up to the first LF, if one was passed in
 * (vigil: nothing read past a LF). An over-long line is never acted upon
 * (spec 8.2), so it fails as badly formed.
 */
static int
att_ctl_text(const char *line, size_t *len)
{
	const char *lf;

	if (*len > 0 && (lf = memchr(line, '\n', *len)) != NULL)
		*len = (size_t)(lf - line);
	return *len > ATT_CTL_TEXT_MAX ? -1 : 0;
}

/* spec 8.2, 8.5: both numbers within 0..1000, whatever the type. */
static int
att_ctl_size(int h, int w, char *why, size_t whylen)
{
	if (h >= 0 && h <= ATT_CTL_SIZE_MAX && w >= 0 && w <= ATT_CTL_SIZE_MAX)
		return 0;
	/* a text cut by a short why is still the warning's start */
	(void)snprintf(why, whylen,
	    "Invalid window size: %dx%d (must be between 0 and 1000)", h, w);
	errno = ERANGE;
	return -1;
}

/* spec 8.2: checked in order: three numbers, then the type, then sizes. */
int
att_ctl_parse(const char *line, size_t len, struct att_ctl_msg *msg, char *why,
    size_t whylen)
{
	int v[3];

	if (att_ctl_text(line, &len) == -1 ||
	    att_ctl_scan(line, len, v, VIGIL_NELEM(v)) < VIGIL_NELEM(v)) {
		/* a text cut by a short why is still the warning's start */
		(void)snprintf(why, whylen, "Invalid control message format");
		errno = EPROTO;
		return -1;
	}
	if (v[0] != ATT_CTL_RESIZE && v[0] != ATT_CTL_REOPEN) {
		/* a text cut by a short why is still the warning's start */
		(void)snprintf(
		    why, whylen, "Invalid control message type: %d", v[0]);
		errno = EPROTO;
		return -1;
	}
	if (att_ctl_size(v[1], v[2], why, whylen) == -1)
		return -1;
	/* spec 8.2: text after the third number is ignored */
	msg->type = v[0];
	msg->height = v[1];
	msg->width = v[2];
	return 0;
}

/* spec 8.5: ctl's grammar minus the type, checked in the same order. */
int
att_winsz_parse(const char *line, size_t len, struct att_ctl_msg *msg,
    char *why, size_t whylen)
{
	int v[2];

	if (att_ctl_text(line, &len) == -1 ||
	    att_ctl_scan(line, len, v, VIGIL_NELEM(v)) < VIGIL_NELEM(v)) {
		/* a text cut by a short why is still the warning's start */
		(void)snprintf(why, whylen, "Failed to parse window size");
		errno = EPROTO;
		return -1;
	}
	if (att_ctl_size(v[0], v[1], why, whylen) == -1)
		return -1;
	msg->type = ATT_CTL_RESIZE;
	msg->height = v[0];
	msg->width = v[1];
	return 0;
}
