#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/run.sh: `make bench` — vigil (the binary given) against Debian's
# conmon, side by side (bench/bench.py). QUICK=1 in the environment runs the
# short version. Installs conmon, runc and busybox-static if missing (root),
# builds the static helpers into build/bench/.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
vigil=${1:-$repo/build/conmon}
out=$repo/build/bench
CC=${CC:-gcc}

missing=
for p in conmon runc busybox-static; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "bench: missing packages:$missing (run as root)" >&2
		exit 1
	fi
	echo "bench: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
if [ "$(id -u)" != 0 ]; then
	echo "bench: runs containers with runc: run as root" >&2
	exit 1
fi

mkdir -p "$out"
# `true` (the floor of figure 3's launcher row and of figure 5's
# fork+exec+wait) and `idle` (figure 1's floor) against musl, as
# build/conmon is: the least start-up and memory a static C program has
# here (glibc's start-up takes 0.2-0.3 ms more on a VM)
for t in gen k8scat pipecopy idle true spawn mlaunch rtwrap attach; do
	if [ ! -x "$out/$t" ] || [ "$here/$t.c" -nt "$out/$t" ]; then
		cc=$CC
		case $t in true | idle) cc=musl-gcc ;; esac
		echo "  CC      bench/$t.c"
		$cc -static -O2 -Wall -Wextra -Werror -D_GNU_SOURCE \
		    -o "$out/$t.tmp" "$here/$t.c"
		mv "$out/$t.tmp" "$out/$t"
	fi
done
# the floor without libc (figure 5): x86-64 only, skipped elsewhere
if [ "$(uname -m)" = x86_64 ] &&
    { [ ! -x "$out/idle0" ] || [ "$here/idle0.c" -nt "$out/idle0" ]; }; then
	echo "  CC      bench/idle0.c"
	$CC -static -nostdlib -O2 -fno-stack-protector -Wall -Wextra -Werror \
	    -o "$out/idle0.tmp" "$here/idle0.c" && mv "$out/idle0.tmp" "$out/idle0"
fi

exec python3 "$here/bench.py" "$vigil"
