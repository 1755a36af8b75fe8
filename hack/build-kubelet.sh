#!/usr/bin/env bash
# Build an upstream kubelet from the Go module proxy (or the module cache,
# so it works offline once fetched) into OUT_DIR, for make kubelet-e2e.
#
# usage: hack/build-kubelet.sh
# Environment: OUT_DIR [bin], KUBELET_VERSION [v1.37.2], GO [go],
#              WORK [${XDG_CACHE_HOME:-~/.cache}/podd/kubelet-<version>]
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod requires every
# staging module (k8s.io/api, apimachinery, client-go, ...) at v0.0.0 and
# replaces them with ./staging/src/... paths that are not in the module zip.
# So the script writes a wrapper module in WORK that requires
# k8s.io/kubernetes vX.Y.Z and requires + replaces each staging module with
# v0.Y.Z from the proxy. Nothing is done when OUT_DIR/kubelet already reports
# KUBELET_VERSION. A cold build compiles ~2000 packages: 12-27 minutes on 2
# cores; with Go's build cache warm, a minute.
set -euo pipefail
GO=${GO:-go}
OUT_DIR=${OUT_DIR:-bin}
KUBELET_VERSION=${KUBELET_VERSION:-v1.37.2}
WORK=${WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/podd/kubelet-$KUBELET_VERSION}
STAGING_VERSION="v0.${KUBELET_VERSION#v1.}"      # v1.37.2 -> v0.37.2
mkdir -p "$OUT_DIR" "$WORK"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

if [ -x "$OUT_DIR/kubelet" ] && [ "$("$OUT_DIR/kubelet" --version 2>/dev/null)" = "Kubernetes $KUBELET_VERSION" ]; then
  exit 0
fi
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
cd "$WORK"

# The staging list is read from k8s.io/kubernetes's own go.mod: the k8s.io/*
# modules it requires at v0.0.0.
K8S_DIR=$("$GO" mod download -json "k8s.io/kubernetes@$KUBELET_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$K8S_DIR" ] || { echo "build-kubelet: go mod download k8s.io/kubernetes@$KUBELET_VERSION failed" >&2; exit 1; }
GO_LINE=$(grep -m1 '^go ' "$K8S_DIR/go.mod")
GODEBUG_LINE=$(grep -m1 '^godebug ' "$K8S_DIR/go.mod" || true)
mapfile -t STAGING < <(awk '/^require \(/{r=1;next} r&&/^\)/{r=0} r&&$1 ~ /^k8s\.io\// && $2=="v0.0.0"{print $1}' "$K8S_DIR/go.mod" | sort -u)
[ "${#STAGING[@]}" -gt 10 ] || { echo "build-kubelet: no staging modules found in $K8S_DIR/go.mod" >&2; exit 1; }

# The wrapper module is rewritten each time; go.sum is kept while it is unchanged.
{
  echo "module podd-kubelet-build"
  echo
  echo "$GO_LINE"
  [ -z "$GODEBUG_LINE" ] || echo "$GODEBUG_LINE"
  echo
  echo "require k8s.io/kubernetes $KUBELET_VERSION"
  echo
  echo "require ("
  for m in "${STAGING[@]}"; do echo "	$m $STAGING_VERSION"; done
  echo ")"
  echo
  echo "replace ("
  for m in "${STAGING[@]}"; do echo "	$m => $m $STAGING_VERSION"; done
  echo ")"
} > go.mod.new
if ! cmp -s go.mod.new go.mod.gen 2>/dev/null; then
  cp go.mod.new go.mod; cp go.mod.new go.mod.gen; rm -f go.sum
fi
rm -f go.mod.new
printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kubelet"\n' > tools.go
"$GO" mod tidy

# The version ldflags of k8s.io/kubernetes's hack/lib/version.sh; kubelet is
# built with cgo upstream.
minor=${KUBELET_VERSION#v1.}; minor=${minor%%.*}
build_date=$(date -u -d "@$(stat -c %Y "$K8S_DIR/go.mod")" +%Y-%m-%dT%H:%M:%SZ)
ldf="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldf+=" -X $pkg.gitVersion=$KUBELET_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldf+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
echo "build-kubelet: building kubelet $KUBELET_VERSION into $OUT_DIR (cold: 12-27 minutes on 2 cores)" >&2
"$GO" build -trimpath -ldflags "$ldf" -o "$OUT_DIR/kubelet.tmp" k8s.io/kubernetes/cmd/kubelet
mv "$OUT_DIR/kubelet.tmp" "$OUT_DIR/kubelet"
"$OUT_DIR/kubelet" --version >&2
