/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/sync.c: writes records to the manager's sync pipe (spec 5.3):
 * one record per write, sized for the manager's reader (spec 5.5).
 */
#include <errno.h>
#include <unistd.h>

#include "common/diag.h"
#include "common/io.h"
#include "monitor/mon.h"
#include "monitor/syncmsg.h"

/* spec 5.3: the key depends on the API version and the session kind. */
static const char *
sync_key(const struct mon *m)
{
	if (m->o->api_version)
		return "data";
	return m->o->exec ? "exit_code" : "pid";
}

void
mon_sync_report(struct mon *m, int64_t value, const char *msg, size_t msglen)
{
	char rec[MON_SYNC_REC_MAX_API + 1];
	size_t max = m->o->api_version ? MON_SYNC_REC_MAX_API :
	    MON_SYNC_REC_MAX_LEGACY;
	size_t n;

	if (m->sync_fd < 0)
		return;
	n = mon_sync_format(rec, max, sync_key(m), value, msg, msglen);
	if (io_write_all(m->sync_fd, rec, n) >= 0)
		return;
	if (errno == EPIPE) {
		/* spec 5.3: the manager went away; carry on without it */
		(void)close(m->sync_fd); /* nobody reads it */
		m->sync_fd = -1;
		return;
	}
	/* after the runtime fork the reaper never dies (style.md) */
	diag_warn("Unable to send container stderr message to parent");
}

/*
 * spec 5.4: --exec-attach: once the attach socket and the FIFOs exist,
 * {"data": 0} tells podman it may connect (no bundle: no message).
 */
void
mon_attach_ready(struct mon *m)
{
	char rec[MON_SYNC_REC_MAX_API + 1];
	size_t n;

	if (m->attach_fd < 0 || m->att_listener < 0)
		return;
	n = mon_sync_format(rec, MON_SYNC_REC_MAX_API, "data", 0, NULL, 0);
	if (io_write_all(m->attach_fd, rec, n) < 0)
		diag_warn("Failed to write to the attach pipe");
}
