#!/usr/bin/env bash
# Generates the Go code of every .proto file under proto/ into OUT (make proto:
# proto itself; check-proto.sh: a temporary directory). The protoc plugins
# must be on PATH (make tools installs the pinned ones).
#   - podd/v1: messages and gRPC (the daemon's API);
#   - shim/v1: messages and ttrpc in shimv1, which podd-shim links; gRPC in
#     shimv1/shimgrpc, which only the daemon links (to reach shims that
#     serve gRPC): the service's file is mapped to that package for the
#     gRPC plugin alone.
# Usage: gen-proto.sh OUT
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: gen-proto.sh OUT}
mod=github.com/podd-dev/podd/proto
protoc -I proto \
	--go_out="$out" --go_opt=paths=source_relative \
	--go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
	podd/v1/pod.proto
protoc -I proto \
	--go_out="$out" --go_opt=paths=source_relative \
	--go-ttrpc_out="$out" --go-ttrpc_opt=paths=source_relative,prefix=TTRPC \
	shim/v1/shim.proto shim/v1/service.proto
protoc -I proto \
	--go-grpc_out="$out" --go-grpc_opt=module=$mod,Mshim/v1/service.proto=$mod/shim/v1/shimgrpc\;shimgrpc \
	shim/v1/service.proto
