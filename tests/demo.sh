#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/demo.sh CONMON: run one busybox container under the given monitor
# with runc (`make demo`): prints the container's log and its exit code.
# Uses the integration harness (cached rootfs in build/test-rootfs, private
# runc root, everything cleaned up afterwards).
set -eu
if [ $# -ne 1 ]; then
	echo "usage: tests/demo.sh /absolute/path/to/conmon" >&2
	exit 2
fi
cd "$(dirname "$0")/.."
exec python3 tests/integration/run.py --demo "$1"
