#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/musl-libs.sh DIR: build the three libraries vigil links, libseccomp,
# libcap-ng and libevent (its core), as static PIC archives against musl
# into DIR (DIR/include, DIR/lib), for the shipped static-pie binary
# (README "Building").
#
# The sources are Debian's own source packages of the -dev packages
# installed here, at exactly their versions with Debian's patches (their
# security fixes included): `apt-get source` with a private sources list
# made of this machine's Debian repositories as deb-src, so nothing of the
# machine's apt configuration changes. apt checks each download against
# the archive's signed Release file.
#
# DIR/include also gets links to the kernel's headers (linux, asm,
# asm-generic): musl-gcc searches only musl's own directory.
#
# Rebuilds only when a version changes (DIR/versions). Needs musl-tools,
# gperf and dpkg-dev (tests/deps.sh installs them).
set -eu

dir=${1:?usage: tests/musl-libs.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# source package, the installed -dev package whose version it must match
pkgs="libseccomp:libseccomp-dev libcap-ng:libcap-ng-dev libevent:libevent-dev"

# Debian's hardening flags but _FORTIFY_SOURCE, which musl has not
CFLAGS="-O2 -g -fPIE -fstack-protector-strong -fstack-clash-protection"
[ "$(uname -m)" = x86_64 ] && CFLAGS="$CFLAGS -fcf-protection"
CFLAGS="$CFLAGS -Wformat -Werror=format-security"

# what was built, and how: a change of either builds them again
versions="CFLAGS=$CFLAGS
"
for p in $pkgs; do
	dev=${p#*:}
	v=$(dpkg-query -W -f='${source:Version}' "$dev" 2>/dev/null) || v=
	if [ -z "$v" ]; then
		echo "musl-libs: $dev is not installed (tests/deps.sh)" >&2
		exit 1
	fi
	versions="$versions${p%%:*}=$v
"
done
if [ -f "$dir/versions" ] && [ "$(cat "$dir/versions")" = "$(printf %s "$versions")" ] &&
    [ -f "$dir/lib/libevent_core.a" ]; then
	exit 0
fi

for t in musl-gcc gperf dpkg-source; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "musl-libs: $t not found (tests/deps.sh installs it)" >&2
		exit 1
	fi
done

rm -rf "$dir/src" "$dir/include" "$dir/lib" "$dir/versions"
mkdir -p "$dir/src" "$dir/apt/lists/partial" "$dir/include"

# this machine's Debian repositories, as deb-src
apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
    'Created-By: Packages' 'Origin: Debian' | sort -u |
    sed 's/^/deb-src /' > "$dir/apt/sources.list"
if [ ! -s "$dir/apt/sources.list" ]; then
	echo "musl-libs: apt knows no Debian repository (apt-get update?)" >&2
	exit 1
fi
apt_opts="-o Dir::Etc::SourceList=$dir/apt/sources.list
-o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$dir/apt/lists
-o APT::Sandbox::User=root"
echo "musl-libs: fetching the source packages ($(printf %s "$versions" |
    grep -v '^CFLAGS=' | tr '\n' ' '))"
# shellcheck disable=SC2086
apt-get $apt_opts --error-on=any -q update > "$dir/apt/update.log" 2>&1 || {
	cat "$dir/apt/update.log" >&2
	echo "musl-libs: apt-get update of the deb-src lists failed (offline?" \
	    "\`make STATIC=0\` builds against glibc without them)" >&2
	exit 1
}
# shellcheck disable=SC2086,SC2046
(cd "$dir/src" && apt-get $apt_opts -q source $(printf %s "$versions" |
    grep -v '^CFLAGS=')) \
    > "$dir/apt/source.log" 2>&1 || {
	cat "$dir/apt/source.log" >&2
	echo "musl-libs: apt-get source failed: is an installed -dev package" \
	    "older than the archive's (apt-get upgrade)?" >&2
	exit 1
}

ln -s /usr/include/linux "$dir/include/linux"
ln -s /usr/include/asm-generic "$dir/include/asm-generic"
ln -s "/usr/include/$(gcc -dumpmachine)/asm" "$dir/include/asm"

# the libraries' own make runs, not a part of a calling make's job server
unset MAKEFLAGS MFLAGS MAKELEVEL
CC="musl-gcc -isystem $dir/include"
export CC CFLAGS
common="--prefix=$dir --disable-shared --enable-static --with-pic -q"

build() { # NAME: configure output and errors kept in src/NAME.log
	echo "musl-libs: building $1"
	log="$dir/src/$1.log"
	shift
	if ! "$@" > "$log" 2>&1; then
		tail -n 30 "$log" >&2
		echo "musl-libs: building failed; the whole log: $log" >&2
		exit 1
	fi
}

# shellcheck disable=SC2086
(
	cd "$dir"/src/libseccomp-*/
	build libseccomp sh -c "./configure $common && make -j2 && make install"
)
# shellcheck disable=SC2086
(
	cd "$dir"/src/libcap-ng-*/
	build libcap-ng sh -c "./configure $common --without-python \
	    --without-python3 && make -C src -j2 && make -C src install"
)
# dpkg-source's patches leave Makefile.am newer than Makefile.in, and
# automake is not needed for what they change (a flag for shared
# libraries): the generated files are marked current again.
# shellcheck disable=SC2086
(
	cd "$dir"/src/libevent-*/
	touch aclocal.m4 && touch configure Makefile.in config.h.in
	build libevent sh -c "./configure $common --disable-openssl \
	    --disable-samples --disable-libevent-regress --disable-debug-mode \
	    --disable-thread-support && make -j2 && make install"
)

printf %s "$versions" > "$dir/versions"
echo "musl-libs: done: $dir/lib"
