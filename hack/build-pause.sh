#!/usr/bin/env bash
# Builds podd-pause, the pod namespace holder, from cmd/podd-pause/c/pause.c
# into $1: a static C binary (no dynamic loader, no libc to share or to find
# in the pause's mount namespace), size-optimised and stripped. make build,
# the shim's tests and cmd/podd-pause's test build it with this one command.
# CC (default cc) is the compiler; a static libc is in libc6-dev.
set -euo pipefail
out=${1:?usage: build-pause.sh OUTPUT}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/cmd/podd-pause/c/pause.c
exec "${CC:-cc}" -std=c11 -Wall -Wextra -Os -static -s \
	-fno-asynchronous-unwind-tables -o "$out" "$src"
