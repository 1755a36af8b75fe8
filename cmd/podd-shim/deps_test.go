package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/podd-dev/podd/test/testutil"
)

// TestShimDependencies keeps podd-shim lean: it runs for every pod (and
// its C exec helper for every exec), so it must not link Kubernetes
// packages or the daemon.
func TestShimDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{"k8s.io/", "sigs.k8s.io/", "github.com/podd-dev/podd/daemon", "github.com/podd-dev/podd/network", "github.com/podd-dev/podd/probes", "github.com/podd-dev/podd/hooks"}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("podd-shim links %s", pkg)
			}
		}
	}
}

// TestShimLeavesOutUnusedInits: the shim is built without libcontainer's
// checkpoint/restore (go-criu registers protobuf descriptors at package
// initialisation), whose package init every container start (and, before
// the C exec helper, every exec) paid for in the re-executed init, and
// without gRPC: it serves ttrpc only, and gRPC's package initialisation,
// server and HTTP/2 cost every idle shim ~0.3 MiB (issue 13). ttrpc's few
// gRPC packages (codes, status) are allowed. It lists the shim's
// dependencies with the build tags the Makefile builds it with.
func TestShimLeavesOutUnusedInits(t *testing.T) {
	tags := makefileShimTags(t)
	out, err := exec.Command("go", "list", "-tags", tags, "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -tags %s -deps: %v\n%s", tags, err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/checkpoint-restore/") || pkg == "google.golang.org/grpc" ||
			strings.HasPrefix(pkg, "golang.org/x/net/http2") || pkg == "golang.org/x/net/trace" || pkg == "html/template" || pkg == "github.com/podd-dev/podd/proto/shim/v1/shimgrpc" {
			t.Errorf("podd-shim built with tags %q links %s", tags, pkg)
		}
	}
}

// makefileShimTags returns the SHIM_TAGS the Makefile builds podd-shim with.
func makefileShimTags(t *testing.T) string {
	t.Helper()
	vars, err := testutil.MakefileVars("SHIM_TAGS")
	if err != nil {
		t.Fatal(err)
	}
	return vars["SHIM_TAGS"]
}
