#!/usr/bin/env bash
# Build crictl and critest (sigs.k8s.io/cri-tools) from the Go module proxy
# (or the module cache, so it works offline once fetched) into OUT_DIR.
#
# usage: hack/build-cri-tools.sh [crictl|critest]...   (default: both)
# Environment: OUT_DIR [bin], CRI_TOOLS_VERSION [v1.37.0], GO [go]
#
# critest is a ginkgo test binary: `go install .../cmd/critest` refuses it
# ("no non-test Go files"), so it is built with `go test -c` in a copy of the
# module (the module cache is read-only). Built once; delete a binary to
# rebuild it.
set -euo pipefail
GO=${GO:-go}
OUT_DIR=${OUT_DIR:-bin}
CRI_TOOLS_VERSION=${CRI_TOOLS_VERSION:-v1.37.0}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(crictl critest)

todo=()
for b in "${want[@]}"; do
  case $b in crictl|critest) ;; *) echo "build-cri-tools: unknown tool $b" >&2; exit 2 ;; esac
  [ -x "$OUT_DIR/$b" ] || todo+=("$b")
done
[ ${#todo[@]} -gt 0 ] || exit 0

mod=sigs.k8s.io/cri-tools@$CRI_TOOLS_VERSION
dir=$(cd /tmp && GOFLAGS=-mod=mod "$GO" mod download -json "$mod" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] && [ -f "$dir/go.mod" ] || { echo "build-cri-tools: go mod download $mod failed" >&2; exit 1; }
src=$(mktemp -d /tmp/cri-tools-src.XXXXXX)
trap 'rm -rf "$src"' EXIT
cp -r "$dir/." "$src" && chmod -R u+w "$src"
ld="-X sigs.k8s.io/cri-tools/pkg/version.Version=${CRI_TOOLS_VERSION#v}"
for b in "${todo[@]}"; do
  echo "build-cri-tools: building $b $CRI_TOOLS_VERSION into $OUT_DIR" >&2
  case $b in
    crictl) (cd "$src" && CGO_ENABLED=0 "$GO" build -o "$OUT_DIR/crictl.tmp" -ldflags "$ld" ./cmd/crictl) ;;
    critest) (cd "$src" && CGO_ENABLED=0 "$GO" test -c -o "$OUT_DIR/critest.tmp" -ldflags "$ld" ./cmd/critest) ;;
  esac
  mv "$OUT_DIR/$b.tmp" "$OUT_DIR/$b"
done
