#!/usr/bin/env bash
# CRI start latency and footprint of podd, next to podd's own API, in one run.
#
# usage: hack/bench-cri.sh [N=10] [MEM_PODS=10]
# Environment (defaults in brackets)
#   BIN_DIR [bin]            podd binaries; crictl is built there if missing
#   CONFORMANCE_DIR [../shared/conformance]  the kit: test images, registry, bench-crictl.sh
#   REGISTRY_PORT [5081]     the kit's registry for this run
#   WORK [/tmp/podd-bench-cri] podd's roots and log (removed after, log kept)
#
# 1. The kit's bench-crictl.sh against podd's CRI socket: N times `crictl
#    runp` + `create` + `start` of one busybox container, each a new crictl
#    process, then MEM_PODS sandboxes running together and the PSS of the
#    daemon and the shims.
# 2. The daemon's RSS with MEM_PODS CRI sandboxes running.
# 3. podd's own API, same image and command, same daemon: N times `podctl
#    apply` of a one-container pod until `podctl get` shows it Running
#    (polled every 20 ms: a client process per poll, as crictl's side pays
#    a process per call).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}; MEM_PODS=${2:-10}
BIN_DIR=$(cd "${BIN_DIR:-bin}" && pwd)
CONFORMANCE_DIR=$(cd "${CONFORMANCE_DIR:-../shared/conformance}" && pwd)
REGISTRY_PORT=${REGISTRY_PORT:-5081}
WORK=${WORK:-/tmp/podd-bench-cri}
IMAGE=registry.k8s.io/e2e-test-images/busybox:1.29-2
[ "$(id -u)" = 0 ] || { echo "bench-cri: podd needs root" >&2; exit 2; }
OUT_DIR=$BIN_DIR ./hack/build-cri-tools.sh crictl
mkdir -p "$WORK"

images=$WORK/images
[ -f "$images/refs.json" ] || python3 "$CONFORMANCE_DIR/mkimages.py" "$images" >&2
python3 "$CONFORMANCE_DIR/critest-registry.py" "$images" "$REGISTRY_PORT" --log "$WORK/registry.log" >> "$WORK/registry.out" 2>&1 &
reg=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/" > /dev/null 2>&1 && break; sleep 0.1; done

. ./hack/podd-standalone.sh
start_podd
cleanup() { stop_podd; kill "$reg" 2>/dev/null || true; wait "$reg" 2>/dev/null || true; }
trap cleanup EXIT

echo "== CRI (crictl, the kit's bench-crictl.sh) =="
# The memory step leaves MEM_PODS sandboxes for 5 s; read the daemon's RSS
# in that window from a second process.
(
  for _ in $(seq 600); do
    n=$(pgrep -fc "podd-shim .*--state-dir $WORK/run/" || true)
    if [ "$n" -ge "$MEM_PODS" ]; then
      sleep 2
      echo "daemon with $n CRI sandboxes running: RSS $(awk '/^VmRSS:/ {print $2, $3}' /proc/"$PODD_PID"/status)," \
        "PSS $(awk '/^Pss:/ {print $2, $3}' /proc/"$PODD_PID"/smaps_rollup)"
      break
    fi
    sleep 0.5
  done
) &
rss=$!
CRICTL=$BIN_DIR/crictl IMAGE=$IMAGE SHIM_PATTERN="podd-shim .*--state-dir $WORK/run/" \
  "$CONFORMANCE_DIR/bench-crictl.sh" "$PODD_CRI_SOCK" "$N" "$MEM_PODS"
wait "$rss" || true

echo "== podd's own API (podctl apply until Running) =="
podctl=("$BIN_DIR/podctl" --socket "$PODD_SOCK")
ms() { echo $((($2 - $1) / 1000000)); }
: > "$WORK/apply"
for i in $(seq 0 "$N"); do
  cat > "$WORK/pod.yaml" << YAML
apiVersion: v1
kind: Pod
metadata: {name: lat$i}
spec:
  terminationGracePeriodSeconds: 0
  containers: [{name: sleeper, image: $IMAGE, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}]
YAML
  t0=$(date +%s%N)
  "${podctl[@]}" apply -f "$WORK/pod.yaml" > /dev/null
  until "${podctl[@]}" get pod "lat$i" -o json | grep -q '"phase": *"Running"'; do sleep 0.02; done
  t1=$(date +%s%N)
  # lat0 is the warm-up, as in bench-crictl.sh.
  [ "$i" = 0 ] || { ms "$t0" "$t1" >> "$WORK/apply"; echo "iter $i: apply->Running ms = $(ms "$t0" "$t1")"; }
  "${podctl[@]}" delete pod "lat$i" > /dev/null
done
sort -n "$WORK/apply" | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "podctl apply->Running: median %s min %s max %s (n=%d)\n", m, a[1], a[NR], NR}'
