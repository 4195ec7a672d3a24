/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/options.c: conmon 2.2.1's command line (spec 1): one option table,
 * a GLib-compatible parser over it and the checks of spec 1.5 in conmon's
 * order. Never opens a file and never prints an error: the caller does.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/compiler.h"
#include "common/diag.h"
#include "common/errtext.h"
#include "common/num.h"
#include "common/profile.h"
#include "common/sandbox.h"
#include "monitor/options.h"

#include "version.h" /* generated: build/gen/version.h */

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif
#ifndef VIGIL_COMMIT
#define VIGIL_COMMIT "unknown"
#endif

/* spec 1.4: the conmon behaviour level managers compare against. */
#define MON_CONMON_VERSION "2.2.1"
#define MON_SOCKET_DIR_DEFAULT "/var/run/crio"
#define MON_PARSE_ERR "conmon: option parsing failed: "
#define MON_ERR "[conmon:e]: "
/* spec 1.1: GLib quotes values with U+201C and U+201D. */
#define MON_LQ "\xe2\x80\x9c"
#define MON_RQ "\xe2\x80\x9d"
/* spec 9.7: CONTAINER_ID is the first 12 bytes; the cid must be longer. */
#define MON_CID_SHORT_MAX 12
/* Longest "-x, --name" column of --help; names are ours, all shorter. */
#define MON_HELP_LEFT_MAX 64

enum mon_opt_type {
	MON_OPT_FLAG,
	MON_OPT_STR,
	MON_OPT_INT,
	MON_OPT_INT64,
	MON_OPT_STRV
};

struct mon_opt_def {
	const char *lname;
	char sname;		/* 0: no short form */
	enum mon_opt_type type;
	size_t off;		/* the field in struct mon_opts */
	size_t set_off;		/* a bool set when given, or MON_NOSET */
	bool hidden;		/* deprecated alias: parsed, not in --help */
	const char *help;
};

#define MON_NOSET SIZE_MAX
#define MON_OFF(f) offsetof(struct mon_opts, f)
#define MON_O(l, s, t, f, h)                                                  \
	{ l, s, MON_OPT_##t, MON_OFF(f), MON_NOSET, false, h }
#define MON_OS(l, t, f, setf, h)                                              \
	{ l, 0, MON_OPT_##t, MON_OFF(f), MON_OFF(setf), false, h }
#define MON_OH(l, t, f) { l, 0, MON_OPT_##t, MON_OFF(f), MON_NOSET, true, NULL }

/* spec 1.2, in its order: conmon 2.2.1's options and their short forms. */
static const struct mon_opt_def mon_opt_defs[] = {
	MON_O("api-version", 0, FLAG, api_version, "Conmon API version to use"),
	MON_O("bundle", 'b', STR, bundle, "Location of the OCI Bundle path"),
	MON_O("cid", 'c', STR, cid, "Identification of Container"),
	MON_O("conmon-pidfile", 'P', STR, conmon_pidfile,
	    "PID file for the conmon process"),
	MON_O("container-pidfile", 'p', STR, container_pidfile,
	    "PID file for the initial pid inside of container "
	    "(deprecated alias --pidfile)"),
	MON_OH("pidfile", STR, container_pidfile),
	MON_O("cuuid", 'u', STR, cuuid, "Container UUID"),
	MON_O("exec", 'e', FLAG, exec,
	    "Exec a command into a running container"),
	MON_O("exec-attach", 0, FLAG, exec_attach, "Attach to an exec session"),
	MON_O("exec-process-spec", 0, STR, exec_process_spec,
	    "Path to the process spec for execution"),
	MON_O("exit-command", 0, STR, exit_command,
	    "Path to the program to execute when the container terminates"),
	MON_O("exit-command-arg", 0, STRV, exit_command_args,
	    "Additional arg to pass to the exit command. Can be specified "
	    "multiple times"),
	MON_O("exit-delay", 0, INT, exit_delay,
	    "Delay before invoking the exit command (in seconds)"),
	MON_O("exit-dir", 0, STR, exit_dir,
	    "Path to the directory where exit files are written"),
	MON_O("full-attach", 0, FLAG, full_attach,
	    "Don't truncate the path to the attach socket; ignore "
	    "--socket-dir-path"),
	MON_O("leave-stdin-open", 0, FLAG, leave_stdin_open,
	    "Leave stdin open when attached client disconnects"),
	MON_O("log-level", 0, STR, log_level,
	    "Print debug logs based on log level"),
	MON_O("log-path", 'l', STRV, log_paths,
	    "Log driver and path: [k8s-file:]PATH, journald, passthrough or "
	    "none. Can be specified multiple times"),
	MON_O("log-size-max", 0, INT64, log_size_max,
	    "Maximum size of log file"),
	MON_OS("log-global-size-max", INT64, log_global_size_max,
	    log_global_size_max_set, "Maximum size of all log files"),
	MON_O("log-tag", 0, STR, log_tag, "Additional tag to use for logging"),
	MON_O("log-label", 0, STRV, log_labels,
	    "Additional label to include in logs. Can be specified multiple "
	    "times"),
	MON_O("no-container-partial-message", 0, FLAG,
	    no_container_partial_message,
	    "Do not set CONTAINER_PARTIAL_MESSAGE=true for partial lines in "
	    "journald"),
	MON_O("log-rotate", 0, FLAG, log_rotate,
	    "Rotate the log instead of truncating it at log-size-max"),
	MON_OS("log-max-files", INT, log_max_files, log_max_files_set,
	    "Number of backup log files to keep (default: 1)"),
	MON_O("log-allowlist-dir", 0, STRV, log_allowlist_dirs,
	    "Allowed log directory. Can be specified multiple times"),
	MON_O("name", 'n', STR, name, "Container name"),
	MON_O("no-new-keyring", 0, FLAG, no_new_keyring,
	    "Do not create a new session keyring for the container"),
	MON_O("no-pivot", 0, FLAG, no_pivot, "Do not use pivot_root"),
	MON_O("no-sync-log", 0, FLAG, no_sync_log,
	    "Do not manually call sync on logs after container shutdown"),
	MON_O("persist-dir", '0', STR, persist_dir,
	    "Persistent directory for a container that can be used for "
	    "storing container data"),
	MON_O("replace-listen-pid", 0, FLAG, replace_listen_pid,
	    "Replace listen pid if set for oci-runtime pid"),
	MON_O("restore", 0, STR, restore,
	    "Restore a container from a checkpoint"),
	MON_OH("restore-arg", STRV, runtime_opts),
	MON_O("runtime", 'r', STR, runtime, "Path to the OCI runtime"),
	MON_O("runtime-arg", 0, STRV, runtime_args,
	    "Additional arg to pass to the runtime. Can be specified multiple "
	    "times"),
	MON_O("runtime-opt", 0, STRV, runtime_opts,
	    "Additional opts to pass to the restore or exec command. Can be "
	    "specified multiple times (deprecated alias --restore-arg)"),
	MON_O("sdnotify-socket", 0, STR, sdnotify_socket,
	    "Path to the host's sd-notify socket to relay messages to"),
	MON_OS("socket-dir-path", STR, socket_dir_path, socket_dir_path_set,
	    "Location of container attach sockets"),
	MON_O("stdin", 'i', FLAG, stdin_,
	    "Open up a pipe to pass stdin to the container"),
	MON_O("sync", 0, FLAG, sync,
	    "Keep the main conmon process as its child by only forking once"),
	MON_O("syslog", 0, FLAG, syslog,
	    "Log to syslog (use with cgroupfs cgroup manager)"),
	MON_O("systemd-cgroup", 's', FLAG, systemd_cgroup,
	    "Enable systemd cgroup manager, rather then use the cgroupfs "
	    "directly"),
	MON_O("terminal", 't', FLAG, terminal, "Allocate a pseudo-TTY"),
	MON_O("timeout", 'T', INT, timeout,
	    "Kill container after specified timeout in seconds."),
	MON_O("version", 0, FLAG, version, "Print the version and exit"),
	MON_O("print-seccomp-profile", 0, STR, print_seccomp_profile,
	    "Print the seccomp profile of a sandboxed role (logger or "
	    "attach) and exit"),
	MON_O("export-seccomp-pfc", 0, STR, export_seccomp_pfc,
	    "Print the seccomp filter a role's child loads, as libseccomp's "
	    "PFC, and exit"),
	MON_O("seccomp-notify-socket", 0, STR, seccomp_notify_socket,
	    "Path to the socket where the seccomp notification fd is received"),
	MON_O("seccomp-notify-plugins", 0, STR, seccomp_notify_plugins,
	    "Plugins to use for managing the seccomp notifications"),
};

enum mon_given {
	MON_GIVEN_BOOL,
	MON_GIVEN_STR,
	MON_GIVEN_STRV
};

/*
 * Options that parse but whose feature is not built yet, in the order they
 * are refused. An issue that builds a feature deletes its row; the NULL
 * row ends the table (every feature is built today: it is the only one).
 */
static const struct {
	const char *name;
	enum mon_given kind;
	size_t off;
} mon_unsupported[] = {
	{ NULL, MON_GIVEN_BOOL, 0 },
};

enum mon_log_driver {
	MON_LOG_UNKNOWN,
	MON_LOG_K8S,
	MON_LOG_JOURNALD,
	MON_LOG_PASSTHROUGH,
	MON_LOG_NONE
};

/* spec 9.1: driver names; none, off and null all mean "no logging". */
static const struct {
	const char *name;
	enum mon_log_driver driver;
} mon_log_drivers[] = {
	{ "k8s-file", MON_LOG_K8S },
	{ "journald", MON_LOG_JOURNALD },
	{ "passthrough", MON_LOG_PASSTHROUGH },
	{ "none", MON_LOG_NONE },
	{ "off", MON_LOG_NONE },
	{ "null", MON_LOG_NONE },
};

static int mon_fail(char *, size_t, const char *, ...) VIGIL_PRINTF(3, 4);

/*
 * Puts one line into msg and fails. A line longer than msg is cut: that
 * only shortens what the user reads.
 */
static int
mon_fail(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msglen == 0)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(msg, msglen, fmt, ap);	/* a cut line is still useful */
	va_end(ap);
	return -1;
}

static void *
mon_field(struct mon_opts *o, size_t off)
{
	return (char *)o + off;
}

void
mon_opts_init(struct mon_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->log_size_max = -1;
	o->log_global_size_max = -1;
	o->log_max_files = 1;
	o->socket_dir_path = (char *)MON_SOCKET_DIR_DEFAULT;
	o->level = DIAG_WARN;
}

static void
mon_strv_free(struct mon_strv *sv)
{
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static void
mon_derived_free(struct mon_opts *o)
{
	free(o->cwd);
	free(o->bundle_path);
	free(o->pidfile_path);
	free(o->k8s_path);
	o->cwd = o->bundle_path = o->pidfile_path = o->k8s_path = NULL;
	o->journald = o->passthrough = o->partial_msg_warning = false;
}

void
mon_opts_free(struct mon_opts *o)
{
	mon_strv_free(&o->exit_command_args);
	mon_strv_free(&o->log_paths);
	mon_strv_free(&o->log_labels);
	mon_strv_free(&o->log_allowlist_dirs);
	mon_strv_free(&o->runtime_args);
	mon_strv_free(&o->runtime_opts);
	mon_derived_free(o);
}

/* Appends s, keeping the array NULL-terminated for execv-style users. */
static int
mon_strv_push(struct mon_strv *sv, char *s)
{
	char **nv;

	if (sv->n > SIZE_MAX / sizeof(*nv) - 2) {
		errno = ENOMEM;
		return -1;
	}
	nv = realloc(sv->v, (sv->n + 2) * sizeof(*nv));
	if (nv == NULL)
		return -1;
	sv->v = nv;
	nv[sv->n++] = s;
	nv[sv->n] = NULL;
	return 0;
}

static const struct mon_opt_def *
mon_opt_long(const char *name, size_t len)
{
	for (size_t i = 0; i < VIGIL_NELEM(mon_opt_defs); i++) {
		const char *l = mon_opt_defs[i].lname;

		if (strncmp(l, name, len) == 0 && l[len] == '\0')
			return &mon_opt_defs[i];
	}
	return NULL;
}

static const struct mon_opt_def *
mon_opt_short(char c)
{
	for (size_t i = 0; i < VIGIL_NELEM(mon_opt_defs); i++)
		if (mon_opt_defs[i].sname == c)
			return &mon_opt_defs[i];
	return NULL;
}

/*
 * Appends to the list a row fills. Each list is named by its field, not
 * reached by offset arithmetic, so -fanalyzer can follow every array.
 */
static int
mon_opt_push(struct mon_opts *o, const struct mon_opt_def *d, char *val)
{
	switch (d->off) {
	case MON_OFF(exit_command_args):
		return mon_strv_push(&o->exit_command_args, val);
	case MON_OFF(log_paths):
		return mon_strv_push(&o->log_paths, val);
	case MON_OFF(log_labels):
		return mon_strv_push(&o->log_labels, val);
	case MON_OFF(log_allowlist_dirs):
		return mon_strv_push(&o->log_allowlist_dirs, val);
	case MON_OFF(runtime_args):
		return mon_strv_push(&o->runtime_args, val);
	case MON_OFF(runtime_opts):
		return mon_strv_push(&o->runtime_opts, val);
	}
	abort();	/* a STRV row names a list missing above */
}

/*
 * spec 1.1: like GLib's strtol(s, &end, 0) with a whole-string check;
 * "spelled" is the option as the user wrote it (-T or --timeout).
 */
static int
mon_opt_int(const struct mon_opt_def *d, const char *val, const char *spelled,
    int64_t *out, char *msg, size_t msglen)
{
	int64_t min = INT64_MIN, max = INT64_MAX;

	if (d->type == MON_OPT_INT) {
		min = INT_MIN;
		max = INT_MAX;
	}
	if (num_parse(val, 0, min, max, out) == 0)
		return 0;
	if (errno == ERANGE)
		return mon_fail(msg, msglen, MON_PARSE_ERR "Integer value "
		    MON_LQ "%s" MON_RQ " for %s out of range", val, spelled);
	return mon_fail(msg, msglen, MON_PARSE_ERR "Cannot parse integer value "
	    MON_LQ "%s" MON_RQ " for %s", val, spelled);
}

/* Stores one occurrence; the last wins, lists accumulate (spec 1.1). */
static int
mon_opt_store(struct mon_opts *o, const struct mon_opt_def *d, char *val,
    const char *spelled, char *msg, size_t msglen)
{
	void *field = mon_field(o, d->off);
	int64_t v;

	switch (d->type) {
	case MON_OPT_FLAG:
		*(bool *)field = true;
		break;
	case MON_OPT_STR:
		*(char **)field = val;
		break;
	case MON_OPT_INT:
	case MON_OPT_INT64:
		if (mon_opt_int(d, val, spelled, &v, msg, msglen) == -1)
			return -1;
		if (d->type == MON_OPT_INT)
			*(int *)field = (int)v;
		else
			*(int64_t *)field = v;
		break;
	case MON_OPT_STRV:
		if (mon_opt_push(o, d, val) == -1)
			return mon_fail(msg, msglen, MON_PARSE_ERR "%s",
			    errtext(errno));
		break;
	}
	if (d->set_off != MON_NOSET)
		*(bool *)mon_field(o, d->set_off) = true;
	return 0;
}

/*
 * spec 1.1: --name, --name=value or --name value; a value may start with
 * '-'; a flag given a value ignores it. GLib answers --help on the spot.
 */
static int
mon_parse_long(struct mon_opts *o, int argc, char **argv, int *i, char *msg,
    size_t msglen)
{
	char *arg = argv[*i], *name = arg + 2, *eq, *val;
	const struct mon_opt_def *d;
	char spelled[MON_HELP_LEFT_MAX];

	if (strcmp(name, "help") == 0 || strcmp(name, "help-all") == 0) {
		o->help = true;
		return 0;
	}
	eq = strchr(name, '=');
	d = mon_opt_long(name, eq != NULL ? (size_t)(eq - name) : strlen(name));
	if (d == NULL)
		return mon_fail(msg, msglen, MON_PARSE_ERR "Unknown option %s",
		    arg);
	(void)snprintf(spelled, sizeof(spelled), "--%s", d->lname); /* fits */
	if (d->type == MON_OPT_FLAG)
		val = NULL;
	else if (eq != NULL)
		val = eq + 1;
	else if (*i + 1 < argc)
		val = argv[++*i];
	else
		return mon_fail(msg, msglen, MON_PARSE_ERR
		    "Missing argument for %s", spelled);
	return mon_opt_store(o, d, val, spelled, msg, msglen);
}

/*
 * spec 1.1: a cluster of short flags (-ti); a letter that takes a value
 * must be the last one and takes the next argument (-cx is an error).
 */
static int
mon_parse_short(struct mon_opts *o, int argc, char **argv, int *i,
    char *msg, size_t msglen)
{
	char *arg = argv[*i], *val;
	const struct mon_opt_def *d;
	char spelled[3] = { '-', 0, 0 };

	for (size_t j = 1; arg[j] != '\0'; j++) {
		if (arg[j] == 'h' || arg[j] == '?') {
			o->help = true;
			return 0;
		}
		d = mon_opt_short(arg[j]);
		if (d == NULL)	/* GLib names the whole argument */
			return mon_fail(msg, msglen, MON_PARSE_ERR
			    "Unknown option %s", arg);
		spelled[1] = arg[j];
		val = NULL;
		if (d->type != MON_OPT_FLAG) {
			if (arg[j + 1] != '\0' || *i + 1 >= argc)
				return mon_fail(msg, msglen, MON_PARSE_ERR
				    "Missing argument for %s", spelled);
			val = argv[++*i];
		}
		if (mon_opt_store(o, d, val, spelled, msg, msglen) == -1)
			return -1;
	}
	return 0;
}

int
mon_opts_parse(struct mon_opts *o, int argc, char **argv, char *msg,
    size_t msglen)
{
	const char *a;
	int r;

	for (int i = 1; i < argc && !o->help; i++) {
		a = argv[i];
		if (strcmp(a, "--") == 0)
			break;	/* spec 1.1: the rest is positional */
		if (a[0] == '-' && a[1] == '-')
			r = mon_parse_long(o, argc, argv, &i, msg, msglen);
		else if (a[0] == '-' && a[1] != '\0')
			r = mon_parse_short(o, argc, argv, &i, msg, msglen);
		else
			continue; /* spec 1.1: podman's "--api-version 1" */
		if (r == -1)
			return -1;
	}
	return 0;
}

void
mon_opts_print_version(void)
{
	/* spec 1.4: nothing else on stdout; a failed write changes nothing. */
	(void)fputs("conmon version " MON_CONMON_VERSION "\n"
	    "commit: vigil-" VIGIL_VERSION "-" VIGIL_COMMIT "\n", stdout);
}

/* "[conmon:e]: unknown role 'X' for --OPT (one of: attach, logger)". */
static int
mon_unknown_role(const char *role, const char *opt, char *msg, size_t msglen)
{
	char known[128] = "";
	size_t off = 0;

	for (const struct profile_text *t = profile_texts; t->role != NULL;
	    t++) {
		int n = snprintf(known + off, sizeof(known) - off, "%s%s",
		    off > 0 ? ", " : "", t->role);
		if (n < 0 || (size_t)n >= sizeof(known) - off)
			break; /* a cut list is still a hint */
		off += (size_t)n;
	}
	return mon_fail(msg, msglen, MON_ERR "unknown role '%s' for --%s "
	    "(one of: %s)", role, opt, known);
}

int
mon_opts_print_profile(const char *role, char *msg, size_t msglen)
{
	const char *text = profile_text_of(role);

	if (text == NULL)
		return mon_unknown_role(role, "print-seccomp-profile", msg,
		    msglen);
	if (fputs(text, stdout) == EOF || fflush(stdout) == EOF)
		return mon_fail(msg, msglen, MON_ERR "Failed to write the %s "
		    "profile: %s", role, errtext(errno));
	return 0;
}

int
mon_opts_export_pfc(const char *role, char *msg, size_t msglen)
{
	char err[256];

	if (profile_text_of(role) == NULL)
		return mon_unknown_role(role, "export-seccomp-pfc", msg,
		    msglen);
	/* the PFC goes to the fd, past stdio: nothing may wait in front */
	if (fflush(stdout) == EOF)
		return mon_fail(msg, msglen, MON_ERR "Failed to write the %s "
		    "filter: %s", role, errtext(errno));
	if (sandbox_filter_export(role, STDOUT_FILENO, SANDBOX_EXPORT_PFC,
		err, sizeof(err)) < 0)
		return mon_fail(msg, msglen, MON_ERR "Failed to export the %s "
		    "filter: %s", role, err);
	return 0;
}

static size_t
mon_help_left(char *buf, size_t len, char sname, const char *lname)
{
	int n;

	if (sname != 0)
		n = snprintf(buf, len, "-%c, --%s", sname, lname);
	else
		n = snprintf(buf, len, "--%s", lname);
	if (n < 0 || (size_t)n >= len)
		return len;	/* cut: still printed, only misaligned */
	return (size_t)n;
}

/* spec 1.4: GLib's layout; hidden aliases are named by their target. */
void
mon_opts_print_help(void)
{
	char left[MON_HELP_LEFT_MAX];
	size_t w = mon_help_left(left, sizeof(left), 'h', "help");
	const struct mon_opt_def *d;

	for (size_t i = 0; i < VIGIL_NELEM(mon_opt_defs); i++) {
		size_t n = mon_help_left(left, sizeof(left),
		    mon_opt_defs[i].sname, mon_opt_defs[i].lname);

		if (!mon_opt_defs[i].hidden && n > w)
			w = n;
	}
	w += 4;
	/* Output errors are ignored: the caller exits 0 as conmon does. */
	(void)fputs("Usage:\n  conmon [OPTION\xe2\x80\xa6] - conmon utility\n\n"
	    "Help Options:\n", stdout);
	(void)printf("  %-*s%s\n\nApplication Options:\n", (int)w, "-h, --help",
	    "Show help options");
	for (size_t i = 0; i < VIGIL_NELEM(mon_opt_defs); i++) {
		d = &mon_opt_defs[i];
		if (d->hidden)
			continue;
		(void)mon_help_left(left, sizeof(left), d->sname, d->lname);
		(void)printf("  %-*s%s\n", (int)w, left, d->help);
	}
	(void)fputs("\n", stdout);
}

/* Checks 3-5 of spec 1.5: conmon's own "conmon: " prefix. */
static int
mon_check_counts(const struct mon_opts *o, char *msg, size_t msglen)
{
	if (o->log_max_files < 0)
		return mon_fail(msg, msglen, "conmon: log-max-files must be "
		    "non-negative, got %d", o->log_max_files);
	if (o->log_rotate && o->log_max_files == 0)
		return mon_fail(msg, msglen, "conmon: log-max-files must be at "
		    "least 1 when log-rotate is enabled, got %d",
		    o->log_max_files);
	if (o->cid == NULL)
		return mon_fail(msg, msglen,
		    "conmon: Container ID not provided. Use --cid");
	return 0;
}

/* Checks 6-13 of spec 1.5: level, session kind, runtime. */
static int
mon_check_mode(struct mon_opts *o, char *msg, size_t msglen)
{
	if (o->log_level != NULL && diag_level_parse(o->log_level,
	    &o->level) == -1)
		return mon_fail(msg, msglen, MON_ERR "No such log level %s",
		    o->log_level);
	if (o->exec && o->restore != NULL)
		return mon_fail(msg, msglen, MON_ERR
		    "Cannot use 'exec' and 'restore' at the same time");
	if (o->exec_attach && !o->exec)
		return mon_fail(msg, msglen, MON_ERR
		    "Attach can only be specified with exec");
	if (o->exec_attach && !o->api_version)
		return mon_fail(msg, msglen, MON_ERR "Attach can only be "
		    "specified for a non-legacy exec session");
	/* spec 1.3: a legacy exec (--exec without --api-version) needs none */
	if (o->cuuid == NULL && !(o->exec && !o->api_version))
		return mon_fail(msg, msglen, MON_ERR
		    "Container UUID not provided. Use --cuuid");
	if (o->runtime == NULL)
		return mon_fail(msg, msglen, MON_ERR
		    "Runtime path not provided. Use --runtime");
	/* spec 1.3: access(X_OK), so a directory passes as upstream's tests */
	if (access(o->runtime, X_OK) == -1)
		return mon_fail(msg, msglen, MON_ERR
		    "Runtime path %s is not valid %s", o->runtime,
		    errtext(errno));
	if (o->exec && o->exec_process_spec == NULL)
		return mon_fail(msg, msglen, MON_ERR "Exec process spec path "
		    "not provided. Use --exec-process-spec");
	return 0;
}

/* Check 14 of spec 1.5 and the defaults of spec 1.3 built from the cwd. */
static int
mon_check_cwd(struct mon_opts *o, char *msg, size_t msglen)
{
	size_t len;
	int n;

	o->cwd = getcwd(NULL, 0);
	if (o->cwd == NULL)
		return mon_fail(msg, msglen, MON_ERR
		    "Failed to get working directory");
	if (o->bundle != NULL || !o->exec) {
		o->bundle_path = strdup(o->bundle != NULL ? o->bundle : o->cwd);
		if (o->bundle_path == NULL)
			goto nomem;
	}
	if (o->container_pidfile != NULL) {
		o->pidfile_path = strdup(o->container_pidfile);
		if (o->pidfile_path == NULL)
			goto nomem;
		return 0;
	}
	len = strlen(o->cwd) + strlen("/pidfile-") + strlen(o->cid) + 1;
	if ((o->pidfile_path = malloc(len)) == NULL)
		goto nomem;
	n = snprintf(o->pidfile_path, len, "%s/pidfile-%s", o->cwd, o->cid);
	if (n < 0 || (size_t)n >= len) {
		errno = EOVERFLOW;	/* cannot happen: len is exact */
		goto nomem;
	}
	return 0;
nomem:
	return mon_fail(msg, msglen, MON_ERR "%s", errtext(errno));
}

/* spec 9.1: the next ':'-separated piece of s from *pos, skipping empties. */
static bool
mon_piece(const char *s, size_t *pos, const char **p, size_t *len)
{
	size_t i = *pos;

	while (s[i] == ':')
		i++;
	if (s[i] == '\0')
		return false;
	*p = s + i;
	*len = strcspn(s + i, ":");
	*pos = i + *len;
	return true;
}

static enum mon_log_driver
mon_log_driver(const char *p, size_t len)
{
	for (size_t i = 0; i < VIGIL_NELEM(mon_log_drivers); i++) {
		const char *n = mon_log_drivers[i].name;

		if (strncmp(n, p, len) == 0 && n[len] == '\0')
			return mon_log_drivers[i].driver;
	}
	return MON_LOG_UNKNOWN;
}

/* spec 9.1: one --log-path value; a k8s-file path replaces the last one. */
static int
mon_log_path(struct mon_opts *o, const char *val, char *msg, size_t msglen)
{
	const char *drv, *path = NULL;
	size_t dlen, plen = 0, pos = 0;
	enum mon_log_driver d;

	if (!mon_piece(val, &pos, &drv, &dlen))
		return mon_fail(msg, msglen, MON_ERR
		    "log-path must not be empty");
	if (!mon_piece(val, &pos, &path, &plen))
		path = NULL;
	d = mon_log_driver(drv, dlen);
	/* a leading ':' means "no driver"; no ':' at all, a bare path */
	if (val[0] == ':' || (strchr(val, ':') == NULL &&
	    d == MON_LOG_UNKNOWN)) {
		path = drv;
		plen = dlen;
		d = MON_LOG_K8S;
	}
	switch (d) {
	case MON_LOG_K8S:
		if (path == NULL)
			return mon_fail(msg, msglen, MON_ERR
			    "k8s-file requires a filename");
		free(o->k8s_path);
		if ((o->k8s_path = strndup(path, plen)) == NULL)
			return mon_fail(msg, msglen, MON_ERR "%s",
			    errtext(errno));
		return 0;
	case MON_LOG_JOURNALD:
		o->journald = true;
		return 0;
	case MON_LOG_PASSTHROUGH:
		o->passthrough = true;
		return 0;
	case MON_LOG_NONE:
		return 0;
	case MON_LOG_UNKNOWN:
		break;
	}
	return mon_fail(msg, msglen, MON_ERR "No such log driver %.*s",
	    (int)(dlen < MON_OPTS_MSG_MAX ? dlen : MON_OPTS_MSG_MAX), drv);
}

int
mon_opts_check(struct mon_opts *o, char *msg, size_t msglen)
{
	mon_derived_free(o);	/* a second call starts afresh */
	o->level = DIAG_WARN;
	if (mon_check_counts(o, msg, msglen) == -1 ||
	    mon_check_mode(o, msg, msglen) == -1 ||
	    mon_check_cwd(o, msg, msglen) == -1)
		return -1;
	if (o->exit_delay < 0)
		return mon_fail(msg, msglen, MON_ERR "Delay before invoking "
		    "exit command must be greater than or equal to 0");
	if (o->log_paths.n == 0)
		return mon_fail(msg, msglen, MON_ERR
		    "Log driver not provided. Use --log-path");
	for (size_t i = 0; i < o->log_paths.n; i++)
		if (mon_log_path(o, o->log_paths.v[i], msg, msglen) == -1)
			return -1;
	return 0;
}

/*
 * spec 9.7: LABEL=VALUE with one '=' and a name of A-Z, 0-9, '_'. vigil
 * also refuses a leading '_': journald drops such fields silently.
 */
static int
mon_label_check(const char *l, char *msg, size_t msglen)
{
	const char *eq = strchr(l, '=');

	if (eq == l)
		return mon_fail(msg, msglen, MON_ERR "Container labels must be "
		    "in format LABEL=VALUE (no LABEL present in '%s')", l);
	if (eq == NULL || strchr(eq + 1, '=') != NULL)
		return mon_fail(msg, msglen, MON_ERR "Container labels must be "
		    "in format LABEL=VALUE (none or more than one '=' present "
		    "in '%s')", l);
	for (const char *p = l; p < eq; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    (*p == '_' && p != l))
			continue;
		return mon_fail(msg, msglen, MON_ERR "Container label names "
		    "must contain only uppercase letters, numbers and "
		    "underscore (in '%s')", l);
	}
	return 0;
}

int
mon_opts_check_late(struct mon_opts *o, char *msg, size_t msglen)
{
	bool k8s_only = o->k8s_path != NULL && !o->journald;

	if (k8s_only && o->log_tag != NULL)
		return mon_fail(msg, msglen, MON_ERR
		    "k8s-file doesn't support --log-tag");
	if (k8s_only && o->log_labels.n > 0)
		return mon_fail(msg, msglen, MON_ERR
		    "k8s-file doesn't support --log-label");
	if (o->journald && (o->cid == NULL ||
	    strlen(o->cid) <= MON_CID_SHORT_MAX))
		return mon_fail(msg, msglen, MON_ERR
		    "Container ID must be longer than 12 characters");
	for (size_t i = 0; o->journald && i < o->log_labels.n; i++)
		if (mon_label_check(o->log_labels.v[i], msg, msglen) == -1)
			return -1;
	/* spec 1.5 check 23: a warning only, printed by the caller */
	o->partial_msg_warning = o->no_container_partial_message &&
	    !o->journald;
	return 0;
}

int
mon_opts_check_supported(const struct mon_opts *o, char *msg, size_t msglen)
{
	const void *f;
	bool given = false;

	for (size_t i = 0; mon_unsupported[i].name != NULL; i++) {
		f = (const char *)o + mon_unsupported[i].off;
		switch (mon_unsupported[i].kind) {
		case MON_GIVEN_BOOL:
			given = *(const bool *)f;
			break;
		case MON_GIVEN_STR:
			given = *(char *const *)f != NULL;
			break;
		case MON_GIVEN_STRV:
			given = ((const struct mon_strv *)f)->n > 0;
			break;
		}
		if (given)
			return mon_fail(msg, msglen, MON_ERR "option %s is not "
			    "supported yet", mon_unsupported[i].name);
	}
	/* spec 14.3: accepted by the parser, refused before the fork */
	if (o->seccomp_notify_socket != NULL ||
	    o->seccomp_notify_plugins != NULL)
		return mon_fail(msg, msglen, MON_ERR
		    "seccomp notify is not supported");
	return 0;
}
