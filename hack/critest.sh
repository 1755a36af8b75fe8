#!/usr/bin/env bash
# Run critest (the CRI validation suite) against a podd of its own, offline.
#
# usage: hack/critest.sh [extra critest / --ginkgo.* flags...]
# Environment (defaults in brackets)
#   BIN_DIR [bin]            podd binaries; crictl and critest are built there if missing
#   CONFORMANCE_DIR [../shared/conformance]  the conformance kit (run-critest.sh, images, registry)
#   FOCUS ['Image Manager']  ginkgo focus ("" runs every spec)
#   REGISTRY_PORT [5077]     the kit's registry, which podd's registryMirrors point at
#   WORK [/tmp/podd-critest] podd's roots and log for the run (removed after, log kept);
#                            24 characters at most (podd's shim sockets are under it)
#
# podd gets its own root, run root, sockets and cgroup parent, and a config
# file whose registryMirrors send every registry critest names to the kit's
# registry on 127.0.0.1. The kit's runner prints "passed X failed Y skipped Z".
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=$(cd "${BIN_DIR:-bin}" && pwd)
CONFORMANCE_DIR=${CONFORMANCE_DIR:-../shared/conformance}
FOCUS=${FOCUS-Image Manager}
REGISTRY_PORT=${REGISTRY_PORT:-5077}
WORK=${WORK:-/tmp/podd-critest}
[ "$(id -u)" = 0 ] || { echo "critest: podd needs root" >&2; exit 2; }
# A CRI sandbox's shim socket is $WORK/run/cri/<64-hex ID>/shim.sock, and a
# unix socket path has 107 bytes at most: every RunPodSandbox would fail.
[ "${#WORK}" -le 24 ] || { echo "critest: WORK=$WORK is longer than 24 characters: the shim sockets under it would not fit a unix socket path" >&2; exit 2; }
[ -x "$CONFORMANCE_DIR/run-critest.sh" ] || { echo "critest: no conformance kit at $CONFORMANCE_DIR (set CONFORMANCE_DIR)" >&2; exit 2; }
OUT_DIR=$BIN_DIR ./hack/build-cri-tools.sh crictl critest

. ./hack/podd-standalone.sh
start_podd
BIN_DIR=$BIN_DIR REGISTRY_PORT=$REGISTRY_PORT FOCUS=$FOCUS "$CONFORMANCE_DIR/run-critest.sh" "$PODD_CRI_SOCK" "$@"
