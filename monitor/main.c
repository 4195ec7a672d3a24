/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/main.c: conmon's entry point as a list of steps (spec 3.1).
 * Validation errors print one line and exit 1 before anything runs.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <elf.h>
#include <link.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/diag.h"
#include "common/fault.h"
#include "common/sandbox.h"
#include "monitor/mon.h"

static void
fail_line(const char *msg)
{
	(void)fprintf(stderr, "%s\n", msg);
	exit(1);
}

static void
mon_init(struct mon *m, struct mon_opts *o)
{
	memset(m, 0, sizeof(*m));
	m->o = o;
	m->sync_fd = m->start_fd = m->attach_fd = -1;
	m->log_dirfd = m->log_fd = -1;
	m->devnull = -1;
	m->out_r = m->out_w = m->err_r = m->err_w = -1;
	m->ctr_pidfd = -1;
	m->logger.role = "logger";
	m->logger.chan_role = CHAN_LOGGER;
	m->logger.chan = -1;
	m->logger.backoff_ms = MON_RESPAWN_MIN_MS;
	m->broker.role = "attach";
	m->broker.chan_role = CHAN_BROKER;
	m->broker.chan = -1;
	m->broker.backoff_ms = MON_RESPAWN_MIN_MS;
	m->bundle_dirfd = m->att_listener = -1;
	m->ctl_r = m->ctl_w = m->winsz_r = m->winsz_w = -1;
	m->in_r = m->in_w = m->cons_fd = m->pty = -1;
	m->peer_held = -1;
}

/*
 * The binary's RELRO segment (the GOT, .init_array, .data.rel.ro) made
 * read-only, as -z relro promises (style.md "Build"): glibc's start-up
 * does it, musl 1.2.3's static-pie start-up (rcrt1.o) relocates and
 * leaves it writable. After the relocations and constructors, before
 * anything else; harmless where it is read-only already. A failure is
 * said and start-up goes on (the segment stays as it was).
 */
extern const ElfW(Ehdr) __ehdr_start; /* GNU ld: the loaded ELF header */

static void
relro_protect(void)
{
	/* a PIE's ELF header is at address 0 of its image: the load base */
	uintptr_t base = (uintptr_t)&__ehdr_start, start, end;
	const ElfW(Phdr) *ph =
	    (const ElfW(Phdr) *)(base + __ehdr_start.e_phoff);
	size_t n = __ehdr_start.e_phnum, page = (size_t)getpagesize();

	for (size_t i = 0; i < n; i++) {
		if (ph[i].p_type != PT_GNU_RELRO)
			continue;
		start = (base + ph[i].p_vaddr) & ~(page - 1);
		end = (base + ph[i].p_vaddr + ph[i].p_memsz) & ~(page - 1);
		if (end > start &&
		    mprotect((void *)start, end - start, PROT_READ) < 0)
			diag_warn("Failed to make the RELRO segment read-only:");
	}
}

int
main(int argc, char **argv)
{
	static struct mon_opts o;
	static struct mon m;
	char msg[MON_OPTS_MSG_MAX];

	relro_protect();
	sandbox_title_init(argc, argv);
	umask(0022); /* spec 2.3 (2.1.8+) */
	mon_opts_init(&o);
	mon_init(&m, &o);
	/* spec 2.2 rule 1: before we open anything ourselves */
	mon_fds_record(&m);
	if (mon_opts_parse(&o, argc, argv, msg, sizeof(msg)) < 0)
		fail_line(msg);
	if (o.version) {
		mon_opts_print_version();
		return 0;
	}
	if (o.help) {
		mon_opts_print_help();
		return 0;
	}
	/* README "Auditing vigil's sandbox": like --version, nothing else */
	if (o.print_seccomp_profile != NULL &&
	    mon_opts_print_profile(o.print_seccomp_profile, msg,
		sizeof(msg)) < 0)
		fail_line(msg);
	if (o.export_seccomp_pfc != NULL &&
	    mon_opts_export_pfc(o.export_seccomp_pfc, msg, sizeof(msg)) < 0)
		fail_line(msg);
	if (o.print_seccomp_profile != NULL || o.export_seccomp_pfc != NULL)
		return 0;
	if (mon_opts_check(&o, msg, sizeof(msg)) < 0)
		fail_line(msg);
	diag_set_level(o.level);
	if (o.syslog)
		diag_open_syslog(o.cid, o.log_tag);
#ifdef VIGIL_FAULTS
	fault_init(); /* VIGIL_FAULTS (common/fault.h); exits 1 on an error */
#endif
	(void)snprintf(m.short_id, sizeof(m.short_id), "%s", o.cid);
	if (mon_log_open(&m) < 0) /* spec 1.5 check 18 */
		fatal("Failed to open log file");
	if (mon_opts_check_late(&o, msg, sizeof(msg)) < 0)
		fail_line(msg);
	if (o.partial_msg_warning)
		diag_warnx("--no-container-partial-message has no effect "
		    "without journald log driver");
	mon_oom_lower(&m);
	mon_signals_early();
	mon_start_pipe(&m); /* spec 1.5 checks 24-26 */
	if (mon_opts_check_supported(&o, msg, sizeof(msg)) < 0)
		fail_line(msg);
	mon_sync_pipe(&m);
#ifdef VIGIL_SECCOMP_AUDIT
	/* children will run: say they do not enforce (stderr and syslog) */
	mon_audit_init();
#endif
	mon_detach(&m);
	mon_child_identity(&m); /* file reads: off the launcher's path */
	mon_daemon(&m);
}
