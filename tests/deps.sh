#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/deps.sh: install what building and testing vigil needs (Debian).
# Idempotent: installs only what is missing and runs `apt-get update` only
# then. Prints what it installed. Fails clearly when something is missing
# and we are not root.
set -eu

PKGS="gcc make pkg-config libseccomp-dev libcap-ng-dev libevent-dev valgrind
libcriterion-dev runc busybox-static python3 socat podman musl-tools gperf
dpkg-dev"

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
	    grep -q '^install ok installed$'
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: dpkg-query not found: not a Debian system; install by hand:" \
	    $PKGS >&2
	exit 1
fi

missing=
for p in $PKGS; do
	installed "$p" || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "deps: nothing to install"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: missing:$missing; running apt-get update"
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
for p in $missing; do
	if ! installed "$p"; then
		echo "deps: $p is still not installed" >&2
		exit 1
	fi
done
echo "deps: installed:$missing"
