#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/check.sh: every test, as `make check` (the README's test command and
# CI's) runs it: dependencies, build, unit tests (criterion), fuzz-corpus
# replay, integration tests against the built monitor. Prints the counts of
# each stage and, as its very last line, `N passed, N failed[, N skipped]`
# summed over all of them; exits non-zero if anything failed.
#
# SANITIZE=1, FAULTS=1 (environment or make variables) select the build
# variant exactly as the GNUmakefile does, and the tests run against it.
set -u

cd "$(dirname "$0")/.." || exit 1
MAKE=${MAKE:-make}

variant=
[ "${STATIC:-}" = 0 ] && [ "${SANITIZE:-}" != 1 ] && [ "${VALGRIND:-}" != 1 ] &&
    variant="$variant-glibc"
[ "${SANITIZE:-}" = 1 ] && variant="$variant-sanitize"
[ "${FAULTS:-}" = 1 ] && variant="$variant-faults"
[ "${ANALYZE:-}" = 1 ] && variant="$variant-analyze"
[ "${SECCOMP_AUDIT:-}" = 1 ] && variant="$variant-audit"
BUILD=build
[ -n "$variant" ] && BUILD="build/variant$variant"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

passed=0
failed=0
skipped=0
summary=

note() {
	summary="$summary
check: $1"
}

# run NAME CMD...: run CMD with its output shown and kept in $tmp/NAME.log;
# its exit status in $tmp/NAME.rc.
run() {
	name=$1
	shift
	echo "==> $name: $*"
	{ "$@" 2>&1; echo $? > "$tmp/$name.rc"; } | tee "$tmp/$name.log"
	return "$(cat "$tmp/$name.rc")"
}

finish() {
	echo
	echo "check: build directory $BUILD$summary"
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ]
	exit $?
}

# 1. dependencies and build: without them nothing else can run
if ! run deps sh tests/deps.sh; then
	failed=$((failed + 1))
	note "deps: FAILED"
	finish
fi
if ! run build $MAKE; then
	failed=$((failed + 1))
	note "build: FAILED"
	finish
fi
note "build: ok"

# 2. unit tests: criterion's closing line
#    [====] Synthesis: Tested: X | Passing: Y | Failing: Z | Crashing: W
run unit $MAKE unit
unit_rc=$?
syn=$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/unit.log" | grep 'Synthesis:' | tail -n 1)
if [ -n "$syn" ]; then
	num() { echo "$syn" | sed -n "s/.*$1: *\([0-9][0-9]*\).*/\1/p"; }
	up=$(num Passing)
	uf=$(num Failing)
	uc=$(num Crashing)
	up=${up:-0} uf=${uf:-0} uc=${uc:-0}
	ufail=$((uf + uc))
	if [ "$unit_rc" -ne 0 ] && [ "$ufail" -eq 0 ]; then
		ufail=1		# criterion failed without counting a test
	fi
	passed=$((passed + up))
	failed=$((failed + ufail))
	note "unit: $up passed, $ufail failed"
else
	failed=$((failed + 1))
	note "unit: FAILED (status $unit_rc, no criterion synthesis line)"
fi

# 3. corpus replay: one pass per target that prints `replayed N inputs`
run replay $MAKE replay
replay_rc=$?
rp=$(grep -c 'replayed [0-9][0-9]* inputs' "$tmp/replay.log")
rf=0
if [ "$replay_rc" -ne 0 ]; then
	targets=$(ls tests/fuzz/*_fuzz.c 2>/dev/null | wc -l)
	rf=$((targets - rp))
	[ "$rf" -lt 1 ] && rf=1
fi
passed=$((passed + rp))
failed=$((failed + rf))
note "replay: $rp passed, $rf failed"

# 4. integration tests against the monitor just built
run integration $MAKE integration
int_rc=$?
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' \
    "$tmp/integration.log" | tail -n 1)
if [ -n "$last" ]; then
	ip=$(echo "$last" | sed 's/^\([0-9]*\) passed.*/\1/')
	if_=$(echo "$last" | sed 's/.* \([0-9]*\) failed.*/\1/')
	is=$(echo "$last" | sed -n 's/.* \([0-9]*\) skipped$/\1/p')
	is=${is:-0}
	if [ "$int_rc" -ne 0 ] && [ "$if_" -eq 0 ]; then
		if_=1
	fi
	passed=$((passed + ip))
	failed=$((failed + if_))
	skipped=$((skipped + is))
	note "integration: $ip passed, $if_ failed, $is skipped"
else
	failed=$((failed + 1))
	note "integration: FAILED (status $int_rc, no summary line)"
fi

finish
