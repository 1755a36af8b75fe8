package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/podd-dev/podd/test/testutil"
)

// TestPodctlLeavesOutGRPCTracing: podctl is built without grpc's tracing
// (x/net/trace and html/template, their package initialisation and some
// 7 MB of binary), which every command's start paid for: apply's is part
// of a pod's apply→Running (issue 13). It lists podctl's dependencies with
// the build tags the Makefile builds it with.
func TestPodctlLeavesOutGRPCTracing(t *testing.T) {
	tags := makefileVar(t, "PODCTL_TAGS")
	out, err := exec.Command("go", "list", "-tags", tags, "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -tags %s -deps: %v\n%s", tags, err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "golang.org/x/net/trace" || pkg == "html/template" {
			t.Errorf("podctl built with tags %q links %s", tags, pkg)
		}
	}
}

// makefileVar returns the value the Makefile gives name.
func makefileVar(t *testing.T, name string) string {
	t.Helper()
	vars, err := testutil.MakefileVars(name)
	if err != nil {
		t.Fatal(err)
	}
	return vars[name]
}
