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

mirror="http://127.0.0.1:$REGISTRY_PORT"
rm -rf "$WORK/root" "$WORK/run"
mkdir -p "$WORK/cni"
cat > "$WORK/podd.yaml" <<YAML
registryMirrors:
  registry.k8s.io: ["$mirror"]
  k8s.gcr.io: ["$mirror"]
  gcr.io: ["$mirror"]
  docker.io: ["$mirror"]
YAML
sock=$WORK/run/cri.sock
"$BIN_DIR/podd" --config "$WORK/podd.yaml" --root "$WORK/root" --run-root "$WORK/run" \
  --socket "$WORK/run/podd.sock" --cri-socket "$sock" --cni-conf-dir "$WORK/cni" \
  --manifests "" --bin-dir "$BIN_DIR" > "$WORK/podd.log" 2>&1 &
pid=$!
stop() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # podd's mounts (the netns dir is a shared mount of itself), innermost first.
  awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$WORK/root" "$WORK/run"
}
trap stop EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; kill -0 "$pid" || break; sleep 0.1; done
[ -S "$sock" ] || { echo "critest: podd did not serve $sock; see $WORK/podd.log" >&2; exit 1; }
echo "critest: podd pid $pid serving $sock (log $WORK/podd.log)" >&2
BIN_DIR=$BIN_DIR REGISTRY_PORT=$REGISTRY_PORT FOCUS=$FOCUS "$CONFORMANCE_DIR/run-critest.sh" "$sock" "$@"
