#!/usr/bin/env bash
# exec-probe-load.sh: the issue 13 exec-probe figure, measured by hand.
# Starts a private podd (own roots, bridge, subnet and cgroup parent), applies
# N pods whose one container has an exec liveness probe (`true`, every
# PERIOD s, default timeout 1 s), lets them settle, then samples for WINDOW s:
# CPU of the shims and pods (cpuacct of the cgroup parent), CPU of the daemon,
# restarts and probe-timeout events. Everything it made is removed at the end.
#   usage: hack/exec-probe-load.sh [N=100] [PERIOD=10] [WINDOW=60]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100}; PERIOD=${2:-10}; WINDOW=${3:-60}
BIN=${BIN:-$PWD/bin}
D=$(mktemp -d /tmp/podd-xload.XXXX)
BR=pxl$$; CG=/podd-xload-$$
SOCK=$D/podd.sock
PODCTL="$BIN/podctl --socket $SOCK"

cleanup() {
  set +e
  for i in $(seq $N); do $PODCTL delete pod x$i --grace-period 0 --wait=false >/dev/null 2>&1; done
  for i in $(seq $N); do
    for _ in $(seq 300); do $PODCTL get pods x$i >/dev/null 2>&1 || break; sleep 0.2; done
  done
  [ -f $D/podd.pid ] && kill "$(cat $D/podd.pid)" && sleep 2
  ip link del $BR 2>/dev/null
  umount $D/run/netns 2>/dev/null
  for c in /sys/fs/cgroup/*$CG /sys/fs/cgroup$CG; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  rm -rf "$D"
}
trap cleanup EXIT

mkdir -p $D/cni
cat > $D/cni/10.conflist <<J
{"cniVersion":"1.0.0","name":"$BR","plugins":[{"type":"bridge","bridge":"$BR","isGateway":true,"ipMasq":false,
"ipam":{"type":"host-local","ranges":[[{"subnet":"10.$((150 + $$ % 50)).0.0/16"}]],"dataDir":"$D/ipam"}}]}
J
$BIN/podd --root $D/root --run-root $D/run --socket $SOCK --cni-conf-dir $D/cni --manifests "" \
  --cgroup-parent $CG --bin-dir $BIN >$D/podd.log 2>&1 &
echo $! > $D/podd.pid
for _ in $(seq 100); do [ -S $SOCK ] && break; sleep 0.1; done
go run ./test/image/cmd/mkbusybox -o $D/busybox.tar -ref busybox:latest
$PODCTL image import $D/busybox.tar --name busybox:latest >/dev/null

for i in $(seq $N); do cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: x$i}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox:latest
    command: ["sleep", "1000000"]
    livenessProbe: {exec: {command: ["true"]}, periodSeconds: $PERIOD}
---
Y
done > $D/pods.yaml
$PODCTL apply -f $D/pods.yaml >/dev/null
# Wait (at most 10 min) until every pod has started once: when probes time
# out, restarts keep some from being Running at any one moment.
for _ in $(seq 600); do
  [ "$($PODCTL get pods 2>/dev/null | grep -cE ' (ContainerCreating|Pending) ')" = 0 ] && break; sleep 1
done
echo "$($PODCTL get pods 2>/dev/null | grep -c ' Running ') of $N pods running; settling for $((2 * PERIOD)) s"
sleep $((2 * PERIOD))

# The daemon makes the cgroup parent with the first pod: pick v1 or v2 now.
CPUACCT=/sys/fs/cgroup/cpuacct$CG/cpuacct.usage
[ -f $CPUACCT ] || CPUACCT=/sys/fs/cgroup$CG/cpu.stat
cpu() { if [[ $CPUACCT == *cpuacct.usage ]]; then cat $CPUACCT; else awk '/usage_usec/{print $2*1000}' $CPUACCT; fi; }
dcpu() { awk '{print $14 + $15}' /proc/"$(cat $D/podd.pid)"/stat; }
restarts() { $PODCTL get pods 2>/dev/null | awk 'NR > 1 {s += $4} END {print s + 0}'; }
# Repeated events are folded into one line "(xN over ...)": count N.
timeouts() { $PODCTL events -A 2>/dev/null | awk '/timed out/ {n = 1; if (match($0, /\(x[0-9]+ /)) n = substr($0, RSTART + 2, RLENGTH - 3); s += n} END {print s + 0}'; }
r0=$(restarts); t0=$(timeouts); c0=$(cpu); d0=$(dcpu); s0=$(date +%s%N)
sleep $WINDOW
c1=$(cpu); d1=$(dcpu); s1=$(date +%s%N); r1=$(restarts); t1=$(timeouts)
wall=$((s1 - s0)); tck=$(getconf CLK_TCK)
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "shims+pods CPU: $(( (c1 - c0) * 100 / wall )) % of a core"
echo "daemon CPU:     $(( (d1 - d0) * 1000000000 / tck * 100 / wall )) % of a core"
echo "restarts in the window: $((r1 - r0)); probe timeouts (events) in the window: $((t1 - t0))"
