#!/usr/bin/env bash
# make demo: start podd in the background on its own roots, import a busybox
# image built from the host's busybox-static, run examples/web.yaml, show it,
# and fetch its page from the pod IP. `make demo-stop` (this script with
# "stop") deletes the pod and stops the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=${PODD_DEMO_DIR:-/tmp/podd-demo}
SOCK=$DEMO/podd.sock
PODCTL="bin/podctl --socket $SOCK"

stop() {
  if [ -S "$SOCK" ]; then
    for p in $($PODCTL get pods -o name 2>/dev/null); do
      $PODCTL delete "${p%%/*}" "${p#*/}" --grace-period 2 >/dev/null 2>&1 || true
    done
  fi
  if [ -f "$DEMO/podd.pid" ]; then kill "$(cat "$DEMO/podd.pid")" 2>/dev/null || true; sleep 1; fi
  ip link del podd0 2>/dev/null || true   # the bridge of podd's default network
  umount "$DEMO/run/netns" 2>/dev/null || true   # the pin dir, a bind mount of itself
  rm -rf "$DEMO"
  echo "demo stopped"
}

if [ "${1:-}" = stop ]; then stop; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "make demo needs root (namespaces, mounts, cgroups)"; exit 1; fi
if [ -S "$SOCK" ]; then stop; fi

mkdir -p "$DEMO/cni"
bin/podd --root "$DEMO/root" --run-root "$DEMO/run" --socket "$SOCK" \
  --cni-conf-dir "$DEMO/cni" --manifests "" --cgroup-parent /podd-demo \
  >"$DEMO/podd.log" 2>&1 &
echo $! > "$DEMO/podd.pid"
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "podd did not start:"; cat "$DEMO/podd.log"; exit 1; }
echo "podd running (pid $(cat "$DEMO/podd.pid"), log $DEMO/podd.log)"

go run ./test/image/cmd/mkbusybox -o "$DEMO/busybox.tar" -ref busybox:latest
$PODCTL image import "$DEMO/busybox.tar" --name busybox:latest
start=$(date +%s%N)
$PODCTL apply -f examples/web.yaml
for _ in $(seq 300); do
  if $PODCTL get pods web | grep -q ' 2/2 *Running'; then break; fi
  sleep 0.1
done
end=$(date +%s%N)
$PODCTL get pods -o wide
echo "apply -> Running and Ready: $(( (end - start) / 1000000 )) ms"
ip=$($PODCTL get pods web -o json | sed -n 's/.*"podIP": *"\([^"]*\)".*/\1/p' | head -1)
echo "fetching http://$ip:8080/ from the host:"
busybox wget -qO- "http://$ip:8080/"
echo
echo "Try: $PODCTL describe pod web; $PODCTL logs web -c client"
echo "Stop the demo with: make demo-stop"
