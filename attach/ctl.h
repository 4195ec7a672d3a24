/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/ctl.h: the ctl and winsz FIFO grammar (spec 8.2, 8.5). Pure: a
 * line assembler that hands over each complete line (an over-long line as
 * one discarded unit) and the parsers of one line. Never does I/O.
 */
#ifndef VIGIL_ATT_CTL_H
#define VIGIL_ATT_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/compiler.h"

/* spec 8.2: conmon's buffer, 199 bytes including the newline */
#define ATT_CTL_LINE_MAX 199
/* spec 8.2: both numbers of a message must lie within 0..1000 */
#define ATT_CTL_SIZE_MAX 1000
/* Longest warning text of a rejected line. */
#define ATT_CTL_WHY_MAX 128

enum att_ctl_type {
	ATT_CTL_RESIZE = 1, /* spec 0.3 WinResizeEvent */
	ATT_CTL_REOPEN = 2, /* spec 0.3 ReopenLogsEvent */
};

struct att_ctl_msg {
	int type; /* ATT_CTL_RESIZE or ATT_CTL_REOPEN (winsz: RESIZE) */
	int height;
	int width;
};

/* Assembles lines from arbitrary pieces (spec 8.2 "several messages may
 * arrive in one read, and a message may be split across reads"). */
struct att_ctl_line {
	char buf[ATT_CTL_LINE_MAX];
	size_t len;	 /* bytes of the current line so far */
	bool discarding; /* the current line is over-long: drop to its LF */
};

/*
 * Called once per complete line, without its LF. For an over-long line
 * (ATT_CTL_LINE_MAX bytes or more with its LF) it is called once, when its
 * LF arrives, with overlong = true and no text (spec 8.2, vigil: the whole
 * line is discarded, never acted upon in pieces).
 */
typedef void (*att_ctl_line_cb)(void *arg, const char *line, size_t len,
    bool overlong);

void att_ctl_feed(struct att_ctl_line *, const char *data, size_t len,
    att_ctl_line_cb, void *arg);

/*
 * spec 8.2: "<type> <height> <width>[anything]", numbers as sscanf %d
 * (leading white space, sign, decimal digits; a value outside int is
 * rejected). Returns 0 with *msg, or -1 with the spec's warning text in
 * why (without the "[conmon:w]: " prefix): "Invalid control message
 * format", "Invalid control message type: <n>", "Invalid window size:
 * <h>x<w> (must be between 0 and 1000)".
 */
int att_ctl_parse(const char *line, size_t len, struct att_ctl_msg *msg,
    char *why, size_t whylen) VIGIL_MUST_CHECK;

/*
 * spec 8.5: "<height> <width>" as written to winsz directly. Returns 0
 * with *msg (type ATT_CTL_RESIZE), or -1 with "Failed to parse window
 * size" or the "Invalid window size: ..." text in why.
 */
int att_winsz_parse(const char *line, size_t len, struct att_ctl_msg *msg,
    char *why, size_t whylen) VIGIL_MUST_CHECK;

#endif
