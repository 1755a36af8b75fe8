package main

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podd-dev/podd/test/testutil"
)

// TestShimDependencies keeps podd-shim lean: libcontainer re-executes it for
// every container start, so it must not link Kubernetes packages or the
// daemon.
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
// initialisation) and without grpc's tracing (x/net/trace, html/template),
// whose package init every container start (and, before the C exec helper,
// every exec) paid for in the re-executed init (issue 13). It lists the shim's dependencies with the
// build tags the Makefile builds it with.
func TestShimLeavesOutUnusedInits(t *testing.T) {
	tags := makefileShimTags(t)
	out, err := exec.Command("go", "list", "-tags", tags, "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -tags %s -deps: %v\n%s", tags, err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/checkpoint-restore/") || pkg == "golang.org/x/net/trace" || pkg == "html/template" {
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

// TestShimIsStatic: podd-shim is built as make build builds it (the
// Makefile's SHIM_TAGS and SHIM_LDFLAGS) into a static executable: no
// dynamic loader runs at each of its execs (two per container start, one
// per exec), and it needs no shared library on the host.
func TestShimIsStatic(t *testing.T) {
	out := filepath.Join(t.TempDir(), "podd-shim")
	cmd, err := testutil.ShimBuild(out)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("podd-shim has a %s program header: it is linked dynamically", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("podd-shim needs shared libraries %v", libs)
	}
}
