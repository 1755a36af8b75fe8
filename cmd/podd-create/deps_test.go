package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/podd-dev/podd/test/testutil"
)

// TestCreateLinksOnlyLibcontainer: podd-create runs twice on the way of
// every container start (the shim's create child, then libcontainer's init)
// and its start costs in proportion to what it links. It must link no RPC
// or protobuf runtime, nothing of the shim and nothing of the daemon (issue
// 13: on a 2-core VM the shim's binary cost 23 ms of CPU to start, one with
// libcontainer alone 10-13 ms). It lists podd-create's dependencies with the
// build tags the Makefile builds it with.
func TestCreateLinksOnlyLibcontainer(t *testing.T) {
	vars, err := testutil.MakefileVars("SHIM_TAGS")
	if err != nil {
		t.Fatal(err)
	}
	tags := vars["SHIM_TAGS"]
	out, err := exec.Command("go", "list", "-tags", tags, "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -tags %s -deps: %v\n%s", tags, err, out)
	}
	forbidden := []string{
		"google.golang.org/grpc", "google.golang.org/protobuf", "github.com/containerd/ttrpc",
		"k8s.io/", "sigs.k8s.io/", "github.com/checkpoint-restore/",
		"github.com/podd-dev/podd/proto", "github.com/podd-dev/podd/runtime/shim/server", "github.com/podd-dev/podd/daemon",
	}
	var linksLibcontainer bool
	for _, pkg := range strings.Fields(string(out)) {
		linksLibcontainer = linksLibcontainer || pkg == "github.com/opencontainers/runc/libcontainer"
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("podd-create built with tags %q links %s", tags, pkg)
			}
		}
	}
	if !linksLibcontainer {
		t.Error("podd-create does not link libcontainer: it is no container init")
	}
}
