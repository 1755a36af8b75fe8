# podd build, test and demo. Every target is safe to run again.
SHELL := /bin/bash
GO ?= go
BIN := bin
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
# protoc-gen-go-ttrpc is a command of the ttrpc module: its version is the
# ttrpc version in go.mod.
PROTOC_GEN_GO_TTRPC_VERSION := v1.2.9
STATICCHECK_VERSION := v0.8.2
GOBIN_DIR := $(shell $(GO) env GOPATH)/bin
# libseccomp-dev and pkg-config: podd-shim links libseccomp (cgo, build tag
# seccomp) so that libcontainer can apply seccomp filters. runc: the peer
# that make bench measures exec cost against. gcc and libc6-dev (its static
# libc): podd-pause is a static C binary (hack/build-pause.sh).
APT_PACKAGES := busybox-static containernetworking-plugins protobuf-compiler iptables iproute2 procps libseccomp-dev pkg-config runc gcc libc6-dev
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/podd-dev/podd/internal/version.Version=$(VERSION)
# podd-shim's and podd-create's build tags: seccomp links libseccomp;
# runc_nocriu leaves out
# libcontainer's checkpoint/restore (go-criu and its protobuf descriptors),
# which podd never uses and every container start and exec paid for in the
# package initialisation of the re-executed init (issue 13). podd-shim does
# not link gRPC (cmd/podd-shim's TestShimLeavesOutUnusedInits).
SHIM_TAGS := seccomp,runc_nocriu
# their extra linker flags (none); test/testutil.ShimBuild reads both
# variables. Linked statically (-extldflags=-static, with netgo,osusergo)
# an exec of it cost ~0.4 ms less CPU, but the cgroup v2 VM suite stalled
# at its first container starts in 2 of 4 CI runs with it (issue 13 note).
SHIM_LDFLAGS :=
# podctl's: grpcnotrace as well; its package initialisation and the pages
# it touches are part of every command's start (a 23 MB binary, not 31).
PODCTL_TAGS := grpcnotrace
TEST_TIMEOUT ?= 25m
TEST_FUZZTIME ?= 3s
FUZZTIME ?= 1m

.PHONY: help deps tools build crictl critest conformance kubelet kubelet-e2e bench-cri test test-cgroupv2 unit-test e2e-test fuzz proto lint bench demo demo-stop clean install

help: ## show the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-z0-9-]+:.*## /{printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## install the apt packages and Go tools podd needs (idempotent)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(MAKE) --no-print-directory tools

# Each Go tool is installed at its pinned version, again when the installed
# one reports another version.
tools: ## install the pinned Go tools: protoc plugins, staticcheck (idempotent)
	@$(GOBIN_DIR)/protoc-gen-go --version 2>/dev/null | grep -qxF 'protoc-gen-go $(PROTOC_GEN_GO_VERSION)' || \
	  $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@$(GOBIN_DIR)/protoc-gen-go-grpc --version 2>/dev/null | grep -qxF 'protoc-gen-go-grpc $(PROTOC_GEN_GO_GRPC_VERSION:v%=%)' || \
	  $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	@$(GO) version -m $(GOBIN_DIR)/protoc-gen-go-ttrpc 2>/dev/null | grep -qE '^\s+mod\s+github.com/containerd/ttrpc\s+$(PROTOC_GEN_GO_TTRPC_VERSION)\s' || \
	  $(GO) install github.com/containerd/ttrpc/cmd/protoc-gen-go-ttrpc@$(PROTOC_GEN_GO_TTRPC_VERSION)
	@$(GOBIN_DIR)/staticcheck -version 2>/dev/null | grep -qF '($(STATICCHECK_VERSION:v%=%))' || \
	  $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

build: ## build bin/podd, bin/podctl, bin/podd-shim, bin/podd-create, bin/podd-pause
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/podd ./cmd/podd
# podctl is linked statically (no cgo: it needs none): no dynamic loader
# at each start, ~1.4 of its ~7.6 ms before it reaches the daemon.
	CGO_ENABLED=0 $(GO) build -tags $(PODCTL_TAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/podctl ./cmd/podctl
# podd-create is the shim's create child and libcontainer's container init,
# a binary of its own so that those starts pay only for libcontainer.
	CGO_ENABLED=1 $(GO) build -tags $(SHIM_TAGS) -ldflags '$(LDFLAGS) $(SHIM_LDFLAGS)' -o $(BIN)/ ./cmd/podd-shim ./cmd/podd-create
	./hack/build-pause.sh $(BIN)/podd-pause

crictl: ## build bin/crictl and bin/critest (cri-tools, from the Go module proxy or cache)
	OUT_DIR=$(BIN) GO=$(GO) ./hack/build-cri-tools.sh crictl critest

# CONFORMANCE_DIR is the conformance kit (images, registry, runner);
# CRITEST_FOCUS the ginkgo focus ("" for every spec).
CONFORMANCE_DIR ?= ../shared/conformance
CRITEST_FOCUS ?= Image Manager
critest: deps build ## run critest against a podd of its own (not part of make test)
	BIN_DIR=$(BIN) CONFORMANCE_DIR=$(CONFORMANCE_DIR) FOCUS='$(CRITEST_FOCUS)' ./hack/critest.sh

# conformance is critest with every spec (issue 9 names it so); the
# variable is the target's, so critest, its prerequisite, sees it too.
conformance: CRITEST_FOCUS :=
conformance: critest ## run every critest spec against a podd of its own (critest with CRITEST_FOCUS=)

# The kubelet kubelet-e2e runs: built once into bin/ from the Go module proxy
# (or the module cache), rebuilt when the version changes.
KUBELET_VERSION ?= v1.37.2
kubelet: ## build bin/kubelet, an upstream kubelet (cold: 12-27 min on 2 cores; then seconds)
	OUT_DIR=$(BIN) KUBELET_VERSION=$(KUBELET_VERSION) GO=$(GO) ./hack/build-kubelet.sh

# kubelet-e2e: test/e2e/kubelet_test.go with a podd of its own; the
# kubelet's log is kept in KUBELET_E2E_LOG.
KUBELET_E2E_TIMEOUT ?= 20m
KUBELET_E2E_LOG ?= /tmp/podd-kubelet-e2e.log
kubelet-e2e: deps build kubelet ## run an upstream kubelet standalone on podd's CRI socket (not part of make test)
	OUT_DIR=$(BIN) GO=$(GO) ./hack/build-cri-tools.sh crictl
	PODD_TEST_ROOT=1 PODD_BIN_DIR=$(CURDIR)/$(BIN) PODD_KUBELET=$(CURDIR)/$(BIN)/kubelet PODD_KUBELET_LOG=$(KUBELET_E2E_LOG) \
	  $(GO) test -count=1 -run '^TestKubelet' -v -timeout $(KUBELET_E2E_TIMEOUT) ./test/e2e

test: deps build lint ## the whole suite: unit tests, end-to-end tests as root, each fuzz target briefly
	PODD_TEST_ROOT=1 PODD_BIN_DIR=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -p 2 ./...
	FUZZTIME=$(TEST_FUZZTIME) GO=$(GO) ./hack/fuzz.sh

fuzz: ## run every fuzz target for FUZZTIME (default 1m) each
	FUZZTIME=$(FUZZTIME) GO=$(GO) ./hack/fuzz.sh

# The e2e tests make test-cgroupv2 runs in the cgroup v2 VM: pods with
# limits and OOMKilled (main process and child), exec (and its confinement:
# the exec helper is cloned into the cgroup with CLONE_INTO_CGROUP), logs, delete with a
# grace period (exit codes 143/137), a readiness probe across a kill -9 of
# the daemon and its recovery, the leak census (every test ends with it),
# the device filter, podctl top's CPU against the v2 cpu.stat, the CRI
# metrics read from the v2 files, and the pause holder (forked into its
# cgroup with CLONE_INTO_CGROUP on v2) and its death.
V2VM_E2E := TestR22_TerminationReasons|TestExecRunsWithTheContainersSecurity|TestPauseHolderIsUnprivilegedAndHoldsThePodNamespaces|TestPauseKilledLosesSandbox|TestExecStdinExitCodeAndTTY|TestLogsFollow|TestStopExitCodes|TestProbesAndEventsSurviveDaemonCrash|TestNothingLeftAfterDeleteAndFailedCreate|TestDeviceFilterRefusesHostBlockDevice|TestTopPodsMatchesCgroupCPU|TestCRIMetrics

# The suite takes some 100 s in the VM; a VM that stopped (see the console
# heartbeat in suite.sh) is killed well before CI's own limit, and a guest
# whose heartbeat stopped for 90 s is booted again once (V2VM_FROZEN in
# test/v2vm/run-in-v2vm.sh).
V2VM_SUITE_TIMEOUT := 600

test-cgroupv2: deps build ## podd checks and an e2e subset on a pure cgroup v2 host (a QEMU VM, test/v2vm)
	$(GO) test -c -o $(BIN)/e2e.test ./test/e2e
	$(GO) run ./test/image/cmd/mkbusybox -o $(BIN)/busybox-oci.tar
	E2E_RUN='^($(V2VM_E2E))$$' V2VM_PASSENV=E2E_RUN V2VM_TIMEOUT=$(V2VM_SUITE_TIMEOUT) V2VM_FROZEN=90 ./test/v2vm/run-in-v2vm.sh test/v2vm/suite.sh

unit-test: ## unit tests only (no root needed)
	$(GO) test -count=1 ./...

proto: deps tools ## regenerate the committed gRPC and ttrpc code
	PATH=$(GOBIN_DIR):$$PATH ./hack/gen-proto.sh proto

lint: tools ## gofmt, go vet, staticcheck, go.mod tidy, generated code current, no build outputs tracked
	@./hack/check-tracked-files.sh
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@PATH=$(GOBIN_DIR):$$PATH ./hack/check-proto.sh
	$(GO) vet ./...
	$(GOBIN_DIR)/staticcheck ./...

# The issue 13 benchmarks run once each (each takes its own sample: 20
# starts per side, a burst of 200 pods per delete kind, 50 idle pods, 100
# probed pods per probe handler); sizes can be lowered for a quick run with
# PODD_BENCH_START_RUNS, PODD_BENCH_BURST_PODS, PODD_BENCH_FOOTPRINT_PODS,
# PODD_BENCH_IDLE_SECONDS, PODD_BENCH_PROBE_PODS and PODD_BENCH_PROBE_SECONDS.
BENCH_ONCE := ^Benchmark(StartLatency|Burst|BurstDefaultGrace|Footprint|ProbeCPU)$$
# podman is the peer BenchmarkStartLatency measures `podman kube play`
# against; only make bench installs it. The benchmark gives it a
# containers.conf of its own (runc, cgroupfs, file events, no default
# ulimits, CNI) and its own storage, so the host's configuration is untouched.
BENCH_APT_PACKAGES := podman

bench: build ## benchmarks, reported as ratios against a peer measured in the same run
	@missing=""; for p in $(BENCH_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	PODD_TEST_ROOT=1 PODD_BIN_DIR=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -skip '$(BENCH_ONCE)' -benchtime 3x ./...
	PODD_TEST_ROOT=1 PODD_BIN_DIR=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench '$(BENCH_ONCE)' -benchtime 1x -timeout 60m ./test/e2e

bench-cri: deps build ## CRI latency (crictl runp+create+start) and footprint next to podd's own apply->Running
	BIN_DIR=$(BIN) CONFORMANCE_DIR=$(CONFORMANCE_DIR) ./hack/bench-cri.sh

demo: deps build ## start podd in the background and run the example web pod
	./hack/demo.sh

demo-stop: ## stop the demo daemon and its pod
	./hack/demo.sh stop

install: build ## install binaries and systemd units
	install -D -m 0755 $(BIN)/podd $(DESTDIR)/usr/local/bin/podd
	install -D -m 0755 $(BIN)/podctl $(DESTDIR)/usr/local/bin/podctl
	install -D -m 0755 $(BIN)/podd-shim $(DESTDIR)/usr/local/bin/podd-shim
	install -D -m 0755 $(BIN)/podd-create $(DESTDIR)/usr/local/bin/podd-create
	install -D -m 0755 $(BIN)/podd-pause $(DESTDIR)/usr/local/bin/podd-pause
	install -D -m 0644 contrib/systemd/podd.service $(DESTDIR)/etc/systemd/system/podd.service
	install -D -m 0644 contrib/systemd/podd.socket $(DESTDIR)/etc/systemd/system/podd.socket
	install -d -m 0755 $(DESTDIR)/etc/podd/manifests

clean: ## remove build output
	rm -rf $(BIN)
