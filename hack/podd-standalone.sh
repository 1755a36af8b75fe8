# Sourced by hack/critest.sh and hack/bench-cri.sh: a podd of their own,
# with its own root, run root, sockets and CNI dir under $WORK, whose
# registryMirrors send every registry the conformance kit names to the
# kit's registry on 127.0.0.1:$REGISTRY_PORT, and a service CIDR of its own
# (SERVICE_CIDR, else derived from $WORK).
#
# start_podd sets PODD_PID and PODD_CRI_SOCK and PODD_SOCK; stop_podd (set
# as the EXIT trap) stops it -- with --drain, so its pods and CRI sandboxes
# stop with it instead of outliving it as a host's pods do -- and removes
# its mounts and roots, and the portmap plugin's shared chains if it made
# them.

start_podd() {
  local mirror="http://127.0.0.1:$REGISTRY_PORT"
  # The portmap plugin's shared nat chains, made by the first hostPort
  # sandbox and never removed by the plugin: removed by stop_podd when this
  # run made them and they are empty (as the e2e tests' TestMain does).
  PORTMAP_HAD=false
  if iptables -w -t nat -S CNI-HOSTPORT-DNAT > /dev/null 2>&1; then PORTMAP_HAD=true; fi
  rm -rf "$WORK/root" "$WORK/run"
  mkdir -p "$WORK/cni"
  cat > "$WORK/podd.yaml" <<YAML
registryMirrors:
  registry.k8s.io: ["$mirror"]
  k8s.gcr.io: ["$mirror"]
  gcr.io: ["$mirror"]
  docker.io: ["$mirror"]
YAML
  # The default service CIDR belongs to the first daemon that claims it:
  # each $WORK gets one of its own in 10.100-149 (the e2e daemons use
  # 10.150-199), so these runs, the tests and a host's podd coexist.
  local h
  h=$(printf %s "$WORK" | cksum | cut -d' ' -f1)
  SERVICE_CIDR=${SERVICE_CIDR:-10.$((100 + h % 50)).0.0/16}
  PODD_CRI_SOCK=$WORK/run/cri.sock
  PODD_SOCK=$WORK/run/podd.sock
  "$BIN_DIR/podd" --config "$WORK/podd.yaml" --root "$WORK/root" --run-root "$WORK/run" \
    --socket "$PODD_SOCK" --cri-socket "$PODD_CRI_SOCK" --cni-conf-dir "$WORK/cni" \
    --manifests "" --bin-dir "$BIN_DIR" --service-cidr "$SERVICE_CIDR" --drain "$@" > "$WORK/podd.log" 2>&1 &
  PODD_PID=$!
  trap stop_podd EXIT
  for _ in $(seq 100); do [ -S "$PODD_CRI_SOCK" ] && break; kill -0 "$PODD_PID" || break; sleep 0.1; done
  [ -S "$PODD_CRI_SOCK" ] || { echo "podd did not serve $PODD_CRI_SOCK; see $WORK/podd.log" >&2; exit 1; }
  echo "podd pid $PODD_PID serving $PODD_CRI_SOCK (log $WORK/podd.log)" >&2
}

stop_podd() {
  kill -TERM "$PODD_PID" 2>/dev/null || true
  wait "$PODD_PID" 2>/dev/null || true
  # podd's mounts (the netns dir is a shared mount of itself), innermost first.
  awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  # What a host's podd keeps across restarts but a run of its own must not
  # leave: its bridge, its masquerade chain and its (empty, drained) cgroup
  # parent.
  local net cg
  net=$(sed -n 's/.*msg="podd serving".* network=\([^ ]*\).*/\1/p' "$WORK/podd.log" | tail -1)
  cg=$(sed -n 's/.*msg="podd serving".* cgroup-parent=\([^ ]*\).*/\1/p' "$WORK/podd.log" | tail -1)
  # Both run under the caller's set -e, where a failure ends the trap and
  # makes a passing run exit 1: no bridge (no sandbox ran, as in critest's
  # Image Manager specs) or no cgroup of a hierarchy is nothing to remove.
  if [ -n "$net" ]; then
    ip link del "$net" 2> /dev/null || true
    # podd's masquerade of its network (cni.MasqueradeChain).
    local chain
    chain=PODD-NM-$(printf %s "$net" | sha256sum | cut -c1-10)
    iptables -w -t nat -D POSTROUTING -m comment --comment "podd masquerade of network $net" -j "$chain" 2> /dev/null || true
    iptables -w -t nat -F "$chain" 2> /dev/null || true
    iptables -w -t nat -X "$chain" 2> /dev/null || true
  fi
  if [ -n "$cg" ]; then
    find /sys/fs/cgroup/*"$cg" /sys/fs/cgroup"$cg" -depth -type d -exec rmdir {} + 2> /dev/null || true
  fi
  if [ "${PORTMAP_HAD:-true}" = false ]; then
    remove_portmap_chains
  fi
  rm -rf "$WORK/root" "$WORK/run"
  return 0
}

# remove_portmap_chains removes the portmap plugin's shared nat chains and
# the jumps to them, unless a hostPort rule is still in them.
remove_portmap_chains() {
  local out
  out=$(iptables -w -t nat -S CNI-HOSTPORT-DNAT 2> /dev/null) || return 0
  if printf '%s\n' "$out" | grep -q -- '^-A CNI-HOSTPORT-DNAT'; then return 0; fi
  iptables -w -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2> /dev/null || true
  iptables -w -t nat -D OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2> /dev/null || true
  iptables -w -t nat -D POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ 2> /dev/null || true
  local ch
  for ch in CNI-HOSTPORT-DNAT CNI-HOSTPORT-MASQ CNI-HOSTPORT-SETMARK; do
    iptables -w -t nat -F "$ch" 2> /dev/null || true
    iptables -w -t nat -X "$ch" 2> /dev/null || true
  done
}
