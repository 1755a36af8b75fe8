package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestShimDependencies keeps podd-shim lean: libcontainer re-executes it for
// every container start and exec, so it must not link Kubernetes packages or
// the daemon.
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
