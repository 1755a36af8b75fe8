# podd on a pure cgroup v2 host: run inside the VM (make test-cgroupv2 does,
# through suite.sh) from a podd checkout with bin/ built:
#   run-in-v2vm.sh test/v2vm/podd-v2-checks.sh
# Needs: bin/podd bin/podctl bin/podd-shim bin/podd-create bin/podd-pause and $BUSYBOX_TAR
# (default bin/busybox-oci.tar, from go run ./test/image/cmd/mkbusybox);
# V2VM_SHARE naming $BUSYBOX_TAR when it lies under /tmp; TRACE=1 (with
# V2VM_PASSENV=TRACE) times every iptables and CNI plugin call.
# The pods use the host network: the network is not under test here.
# Prints one "CHECK ok|FAIL name" line per check; exits 1 if any failed.
set -u
T0=$(date +%s.%N)
BIN=$PWD/bin
BUSYBOX_TAR=${BUSYBOX_TAR:-$BIN/busybox-oci.tar}
D=/var/lib/podd            # tmpfs in the VM
SOCK=/run/podd/podd.sock
# Every call is bounded: a hung call is a failed check and a dump (diagnose),
# not a suite that waits until CI's own limit.
PODCTL="timeout 60 $BIN/podctl --socket $SOCK"
OUT=${V2VM_OUT:-/scratch}
fails=0
el() { awk -v s="$T0" -v n="$(date +%s.%N)" 'BEGIN{printf "%.1f", n-s}'; }
check() { # check NAME CMD...: runs CMD, records ok/FAIL
	local name=$1; shift
	if "$@"; then echo "CHECK ok   $name [$(el)s]"; else echo "CHECK FAIL $name [$(el)s]"; fails=$((fails+1)); fi
}
# diagnose: what a stalled check leaves to read -- the processes and what
# they wait on, CPU/memory/IO pressure, the daemon's and the shims' last lines.
diagnose() {
	echo "--- diagnose [$(el)s]: $*"
	ps -eo pid,ppid,stat,wchan:24,pcpu,etime,args --sort=-pcpu | head -40
	for f in /proc/pressure/*; do echo "$f: $(tr '\n' ' ' < $f)"; done
	echo "--- end of podd.log"; tail -30 $OUT/podd.log
	for l in /run/podd/pods/*/shim.log; do [ -f "$l" ] && { echo "--- $l"; tail -10 "$l"; }; done
	echo "--- end of diagnose"
}
PODD_PID=; DEAD=
waitfor() { # waitfor SECONDS CMD...: polls CMD every 0.5 s; gives up when podd has died
	local lim=$1; shift; local end=$(( $(date +%s) + lim ))
	while [ "$(date +%s)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		[ -n "$DEAD" ] && return 1
		if [ -n "$PODD_PID" ] && ! kill -0 $PODD_PID 2>/dev/null; then
			echo "podd (pid $PODD_PID) is dead; end of its log:"; tail -25 $OUT/podd.log; DEAD=1; return 1
		fi
		sleep 0.5
	done
	"$@" && return 0
	diagnose "waitfor $lim $*: still false"
	return 1
}
phase() { $PODCTL get pods "$1" -o json 2>/dev/null | sed -n 's/.*"phase": *"\([^"]*\)".*/\1/p' | head -1; }
is_phase() { [ "$(phase "$1")" = "$2" ]; }
section() { echo; echo "=== $* [$(el)s]"; }

section "host facts"
uname -r; cat /proc/self/cgroup; echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
grep cgroup /proc/mounts; nproc; free -m | sed -n 2p

section "start podd"
mkdir -p /run/podd/cni
CNIBIN=/usr/lib/cni
if [ "${TRACE:-0}" = 1 ]; then # time every iptables and CNI plugin call into $OUT/trace.log
	mkdir -p /scratch/wrap /scratch/cniwrap
	mkwrap() { printf '#!/bin/sh\ns=$(date +%%s.%%N); %s "$@"; rc=$?; echo "$s $(date +%%s.%%N) rc=$rc %s $CNI_COMMAND $*" >> %s/trace.log; exit $rc\n' "$2" "$(basename $2)" "$OUT" > $1; chmod +x $1; }
	for b in iptables ip6tables iptables-save iptables-restore; do mkwrap /scratch/wrap/$b /usr/sbin/$b; done
	for b in /usr/lib/cni/*; do mkwrap /scratch/cniwrap/$(basename $b) $b; done
	CNIBIN=/scratch/cniwrap; PATH=/scratch/wrap:$PATH
fi
# --cgroup-parent: a root other than /var/lib/podd derives its own parent
# (/podd-<id>); the checks below read /podd.
$BIN/podd --root $D/root --run-root /run/podd --socket $SOCK --cni-conf-dir /run/podd/cni --cni-bin-dir $CNIBIN \
	--cgroup-parent /podd --manifests "" --log-level debug > $OUT/podd.log 2>&1 &
PODD_PID=$!
check "podd socket up" waitfor 60 test -S $SOCK

section "image import"
check "image import" $PODCTL image import "$BUSYBOX_TAR" --name busybox:latest

section "apply: two containers with limits, and an OOM pod"
cat > /scratch/pods.yaml <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 2
  containers:
  - name: a
    image: busybox:latest
    command: ["sh", "-c", "echo hello from a; trap 'exit 0' TERM; while true; do sleep 1; done"]
    resources:
      requests: {cpu: 250m, memory: 64Mi}
      limits: {cpu: 250m, memory: 64Mi}
  - name: b
    image: busybox:latest
    command: ["sh", "-c", "echo hello from b; cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max 2>&1; trap 'exit 0' TERM; while true; do sleep 1; done"]
    resources:
      limits: {cpu: 250m, memory: 64Mi}
---
apiVersion: v1
kind: Pod
metadata: {name: oom}
spec:
  hostNetwork: true
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:latest
    command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"]
    resources:
      limits: {memory: 32Mi}
---
apiVersion: v1
kind: Pod
metadata: {name: oomchild}
spec:
  hostNetwork: true
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:latest
    command: ["sh", "-c", "echo allocating; dd if=/dev/zero of=/dev/null bs=100M count=1; echo survived; sleep 3600"]
    resources:
      limits: {memory: 32Mi}
EOF
ta=$(date +%s.%N)
check "apply" $PODCTL apply -f /scratch/pods.yaml
check "pod two Running" waitfor 180 is_phase two Running
echo "apply -> two Running: $(awk -v s="$ta" -v n="$(date +%s.%N)" 'BEGIN{printf "%.1f", n-s}') s"
check "pod oom Failed" waitfor 180 is_phase oom Failed
# a child (not the container's init) over the limit: the kubelet on v2 sets
# memory.oom.group=1, so the whole container dies (Failed, 137); podd?
oomchild_done() { is_phase oomchild Failed || $PODCTL logs oomchild -c c 2>/dev/null | grep -q survived; }
waitfor 90 oomchild_done
oomlog=$($PODCTL logs oomchild -c c | tr '\n' '|')
echo "oomchild: phase $(phase oomchild); log: $oomlog"
check "oomchild killed as a group (kubelet on v2: memory.oom.group=1)" sh -c "! echo '$oomlog' | grep -q survived"

section "OOMKilled"
# (podctl calls are slow in the VM: one call, several checks)
oomjson=$($PODCTL get pods oom -o json)
echo "$oomjson" | grep -E '"(reason|exitCode)"'
check "oom reason OOMKilled" sh -c "echo '$oomjson' | grep -q '\"reason\": *\"OOMKilled\"'"
check "oom exit code 137" sh -c "echo '$oomjson' | grep -q '\"exitCode\": *137'"

section "logs"
check "logs a" sh -c "$PODCTL logs two -c a | tee /dev/stderr | grep -q 'hello from a'"

section "exec"
# containerd/CRI-O on a v2 host give each container a private cgroup namespace:
# /proc/self/cgroup is 0::/ and /sys/fs/cgroup is the container's own cgroup
ex=$($PODCTL exec two -c a -- sh -c 'cat /proc/self/cgroup; grep cgroup /proc/self/mountinfo; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max')
check "exec" test $? = 0
echo "$ex"
check "container in a private cgroupns (0::/)" sh -c "echo '$ex' | grep -qx '0::/'"
check "container sees its memory.max (64Mi)" sh -c "echo '$ex' | grep -qx 67108864"

section "cgroup checks"
# the containers of pod two: the leaf cgroups holding a sleep loop
uid=$($PODCTL get pods two -o json | sed -n 's/.*"uid": *"\([^"]*\)".*/\1/p' | head -1)
echo "pod two uid=$uid"
POD=/sys/fs/cgroup/podd/pod$uid
ctrdirs=$(for dir in $(find $POD -mindepth 1 -type d ! -name pause); do [ -n "$(cat $dir/cgroup.procs)" ] && echo $dir; done)
echo "non-empty cgroups of pod two: $ctrdirs"
n64=0; ncpu=0; nw=0
for dir in $ctrdirs; do
	[ "$(cat $dir/memory.max 2>/dev/null)" = 67108864 ] && n64=$((n64+1))
	[ "$(cat $dir/cpu.max 2>/dev/null)" = "25000 100000" ] && ncpu=$((ncpu+1))
	# 250m: 256 shares; the runtimes' weight (runc >= 1.3.2) ceil(10^((64+1000)/612-7/34)) = 35
	[ "$(cat $dir/cpu.weight 2>/dev/null)" = 35 ] && nw=$((nw+1))
done
check "2 containers memory.max=64Mi" test $n64 = 2
check "2 containers cpu.max=25000 100000" test $ncpu = 2
check "2 containers cpu.weight=35 (250m)" test $nw = 2
haspids() { [ -n "$ctrdirs" ] || return 1; for d in $ctrdirs; do [ "$(cat $d/pids.max)" = max ] || return 1; done; }
check "pids.max present in the containers (max: no container limit)" haspids
check "pod cgroup pids.max=4096 (podPidsLimit default)" test "$(cat $POD/pids.max 2>/dev/null)" = 4096
oomgroup() { [ -n "$ctrdirs" ] || return 1; for d in $ctrdirs; do [ "$(cat $d/memory.oom.group)" = 1 ] || return 1; done; }
check "memory.oom.group=1 in the containers" oomgroup
# v2 leaf rule: the pod cgroup holds no process and delegates the controllers
innerpod() { [ -z "$(cat $POD/cgroup.procs)" ] && for c in cpu memory pids; do grep -qw $c $POD/cgroup.subtree_control || return 1; done; }
check "pod cgroup: inner node, cpu memory pids delegated" innerpod
pausein() { [ -n "$(cat $POD/pause/cgroup.procs)" ]; }
check "pause in the pod's pause cgroup" pausein
shimin() { p=$(cat /run/podd/pods/$uid/shim.pid 2>/dev/null || pgrep -f "podd-shim --pod-uid $uid" | head -1); [ -n "$p" ] && grep -qx "0::/podd/shims/pod$uid" /proc/$p/cgroup; }
check "shim in its own cgroup /podd/shims/pod<uid>" shimin
echo "--- /proc/<pid>/cgroup of pod processes:"
for dir in $ctrdirs; do for p in $(cat $dir/cgroup.procs); do echo "$p $(tr '\0' ' ' < /proc/$p/cmdline | cut -c1-50) -> $(cat /proc/$p/cgroup)"; done; done

section "cgroup tree"
for dir in $(find /sys/fs/cgroup/podd -type d | sort); do
	printf '%s procs=[%s] subtree_control=[%s]\n ' "$dir" "$(cat $dir/cgroup.procs 2>/dev/null | tr '\n' ' ')" "$(cat $dir/cgroup.subtree_control 2>/dev/null)"
	for f in memory.max memory.oom.group cpu.max cpu.weight pids.max; do
		[ -f $dir/$f ] && printf ' %s=%s' $f "$(cat $dir/$f)"
	done
	echo
done

section "shim logs (warnings and errors)"
for f in $(find /run/podd/pods -maxdepth 2 -type f -name '*.log' 2>/dev/null); do
	u=$(basename $(dirname $f)); cp $f $OUT/shim-$u.log
	echo "$f: $(wc -l < $f) lines"; grep -E 'level=(ERROR|WARN)' $f | head -20
done

section "delete"
td=$(date +%s.%N)
check "delete two" $PODCTL delete pod two --grace-period 2
check "delete oom" $PODCTL delete pod oom oomchild --grace-period 0
echo "delete took $(awk -v s="$td" -v n="$(date +%s.%N)" 'BEGIN{printf "%.1f", n-s}') s"
gone() { l=$($PODCTL get pods -o name) && ! echo "$l" | grep -qE 'two|oom'; }
check "pods gone" waitfor 60 gone
nocg() { [ -z "$(find /sys/fs/cgroup/podd -mindepth 1 -type d -name 'pod*' 2>/dev/null)" ]; }
check "no pod cgroup left" waitfor 30 nocg
echo "left under /sys/fs/cgroup/podd:"; find /sys/fs/cgroup/podd -type d 2>/dev/null | sort
echo "mounts left:"; grep -c -E 'overlay|nsfs' /proc/mounts

section "stop podd"
if [ -z "$DEAD" ] && kill $PODD_PID; then wait $PODD_PID; echo "podd exit $?"; else echo "podd was not running"; fails=$((fails+1)); fi
section "podd errors and warnings (level=ERROR|WARN)"
grep -E 'level=(ERROR|WARN)|^panic|^fatal' $OUT/podd.log || echo "(none)"
if [ -f $OUT/trace.log ]; then
	section "trace: iptables and CNI plugin calls (seconds)"
	awk '{printf "%6.2f %s\n", $2-$1, substr($0, index($0,$3))}' $OUT/trace.log | sort -k2 | awk '{n[$3" "$4]++; t[$3" "$4]+=$1} END {for (k in n) printf "%-30s calls=%d total=%.1fs\n", k, n[k], t[k]}'
fi
echo; echo "podd.log: $(wc -l < $OUT/podd.log) lines (in \$V2VM_OUT/podd.log)"
echo "failed checks: $fails; elapsed $(el) s"
[ $fails = 0 ]
