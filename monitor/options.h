/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/options.h: conmon's command line (spec 1). Owns the parsed
 * options and their validation in conmon's order (spec 1.5). Never opens a
 * file (the log open of check 18 is monitor/paths.c), never forks.
 */
#ifndef VIGIL_MON_OPTIONS_H
#define VIGIL_MON_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/diag.h"

/*
 * A repeatable option's values, in command-line order. The array is
 * malloc'd and NULL-terminated (v[n] == NULL); its strings point into argv.
 */
struct mon_strv {
	char **v;
	size_t n;
};

/* One line of output for a failed check, with its prefix (spec 1.5). */
#define MON_OPTS_MSG_MAX 4352

struct mon_opts {
	/* As given (NULL or false/0/-1 when absent); strings point into argv. */
	bool api_version;
	char *bundle;
	char *cid;
	char *conmon_pidfile;
	char *container_pidfile; /* also --pidfile */
	char *cuuid;
	bool exec;
	bool exec_attach;
	char *exec_process_spec;
	char *exit_command;
	struct mon_strv exit_command_args;
	int exit_delay;
	char *exit_dir;
	bool full_attach;
	bool leave_stdin_open;
	char *log_level;
	struct mon_strv log_paths;
	int64_t log_size_max;	     /* default -1 */
	int64_t log_global_size_max; /* default -1 */
	bool log_global_size_max_set;
	char *log_tag;
	struct mon_strv log_labels;
	bool no_container_partial_message;
	bool log_rotate;
	int log_max_files; /* default 1 */
	bool log_max_files_set;
	struct mon_strv log_allowlist_dirs;
	char *name;
	bool no_new_keyring;
	bool no_pivot;
	bool no_sync_log;
	char *persist_dir;
	bool replace_listen_pid;
	char *restore;
	char *runtime;
	struct mon_strv runtime_args;
	struct mon_strv runtime_opts; /* also --restore-arg */
	char *sdnotify_socket;
	char *socket_dir_path; /* default "/var/run/crio" */
	bool socket_dir_path_set;
	bool stdin_;
	bool sync;
	bool syslog;
	bool systemd_cgroup;
	bool terminal;
	int timeout;
	bool version;
	bool help;
	char *print_seccomp_profile; /* ROLE: print its profile text, exit */
	char *export_seccomp_pfc;    /* ROLE: print its filter's PFC, exit */
	char *seccomp_notify_socket;
	char *seccomp_notify_plugins;

	/* Derived by mon_opts_check() (spec 1.3, 9.1). */
	enum diag_level level;	  /* from --log-level, default warn */
	char *cwd;		  /* getcwd() at startup (malloc'd) */
	char *bundle_path;	  /* --bundle, or cwd for create/restore */
	char *pidfile_path;	  /* --container-pidfile or <cwd>/pidfile-<cid> */
	char *k8s_path;		  /* last k8s-file path, or NULL (malloc'd) */
	bool journald;		  /* some -l selected journald */
	bool passthrough;	  /* some -l selected passthrough */
	bool partial_msg_warning; /* check 23 fired: print the warning */
};

/* Sets every default of spec 1.2. */
void mon_opts_init(struct mon_opts *);
/* Frees the lists' arrays and the derived strings; argv stays untouched. */
void mon_opts_free(struct mon_opts *);

/*
 * GLib-compatible parse of argv (spec 1.1). On failure returns -1 and puts
 * the whole line in msg: "conmon: option parsing failed: <reason>".
 * Like GLib, -h, -? and --help stop the parse at once and set help.
 */
int mon_opts_parse(struct mon_opts *, int argc, char **argv, char *msg,
    size_t msglen) VIGIL_MUST_CHECK;

/*
 * --print-seccomp-profile ROLE and --export-seccomp-pfc ROLE (README
 * "Auditing vigil's sandbox"): the embedded profile text, and libseccomp's
 * PFC of exactly the filter a ROLE child loads, on stdout. Like --version
 * they need no other option. -1 with the whole line in msg.
 */
int mon_opts_print_profile(const char *role, char *msg, size_t msglen)
    VIGIL_MUST_CHECK;
int mon_opts_export_pfc(const char *role, char *msg, size_t msglen)
    VIGIL_MUST_CHECK;

/* `--version` (exactly the two lines of spec 1.4) and `--help` texts. */
void mon_opts_print_version(void);
void mon_opts_print_help(void);

/*
 * Checks 3-17 of spec 1.5, in that order, and fills the derived fields.
 * On failure returns -1 with the whole line (with its prefix) in msg.
 */
int mon_opts_check(struct mon_opts *, char *msg, size_t msglen)
    VIGIL_MUST_CHECK;

/*
 * Checks 19-22 of spec 1.5 (after the log file was opened, check 18).
 * Returns -1 with the line in msg on failure. Check 23 is a warning: it
 * sets partial_msg_warning and does not fail.
 */
int mon_opts_check_late(struct mon_opts *, char *msg, size_t msglen)
    VIGIL_MUST_CHECK;

/*
 * Options that parse but whose feature is not built yet: returns -1 with
 * "[conmon:e]: option --X is not supported yet" for the first one given.
 * Also refuses seccomp notify (spec 14.3). Runs after every spec 1.5 check.
 */
int mon_opts_check_supported(const struct mon_opts *, char *msg,
    size_t msglen) VIGIL_MUST_CHECK;

#endif
