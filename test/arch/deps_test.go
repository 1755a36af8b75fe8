package arch

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/podd-dev/podd/"

// deps lists a package's transitive dependencies.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", mod+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out))
}

// STYLE rule 15: the dependency rules of DESIGN.md, as a table of
// package → forbidden prefixes (and why).
func TestDependencyDirection(t *testing.T) {
	for _, tc := range []struct {
		pkg, why string
		bad      []string
	}{
		{"cmd/podd", "the daemon never links libcontainer (only podd-shim and podd-create do)",
			[]string{"github.com/opencontainers/runc/libcontainer"}},
		{"cmd/podd-shim", "the shim runs for every pod: no k8s.io, and the daemon converts seccomp profiles",
			[]string{"k8s.io", "sigs.k8s.io", "github.com/moby/profiles", mod + "runtime/spec", mod + "daemon"}},
		{"cmd/podd-create", "podd-create starts twice for every container start (create child, init): libcontainer and nothing of the shim's API",
			[]string{"google.golang.org/grpc", "google.golang.org/protobuf", "github.com/containerd/ttrpc", "k8s.io", "sigs.k8s.io",
				mod + "proto", mod + "runtime/shim/server", mod + "daemon"}},
		{"cmd/podctl", "the CLI talks to the daemon only through the API",
			[]string{mod + "daemon", mod + "runtime", mod + "network", "github.com/opencontainers/runc"}},
		{"runtime/shim", "the daemon-side shim client must not drag libcontainer into podd",
			[]string{"github.com/opencontainers/runc/libcontainer"}},
		{"network", "network never imports the daemon", []string{mod + "daemon"}},
		{"probes", "probes never import the daemon or the runtime", []string{mod + "daemon", mod + "runtime"}},
		{"hooks", "hooks never import the daemon or the runtime", []string{mod + "daemon", mod + "runtime"}},
		{"runtime/image", "runtime never imports the daemon; runtime/spec uses image.Config, never the reverse",
			[]string{mod + "daemon", mod + "runtime/spec"}},
		{"runtime/spec", "runtime never imports the daemon", []string{mod + "daemon"}},
		{"runtime/volume", "runtime never imports the daemon", []string{mod + "daemon"}},
		{"daemon/podworker", "workers record through their Recorder: only the daemon wires Prometheus in (package daemon/metrics)", []string{"github.com/prometheus"}},
		{"probes", "probes record through their Recorder: only the daemon wires Prometheus in", []string{"github.com/prometheus"}},
		{"daemon/cri", "the CRI edge only translates (STYLE rule 20): it calls the daemon's services through interfaces",
			[]string{mod + "runtime/shim", mod + "network", mod + "daemon/podworker", mod + "daemon/store", "github.com/opencontainers/runc"}},
		{"daemon/planner", "the planner is pure", []string{"os/exec", "google.golang.org/grpc", mod + "runtime", mod + "network"}},
	} {
		for _, d := range deps(t, tc.pkg) {
			for _, b := range tc.bad {
				if d == b || strings.HasPrefix(d, b+"/") {
					t.Errorf("%s links %s: %s", tc.pkg, d, tc.why)
				}
			}
		}
	}
}

// libcontainer is imported by the shim's wrapper of it and by the create
// child only (its API changes between runc releases).
func TestLibcontainerImportedByOnePackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var users []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, "github.com/opencontainers/runc/libcontainer") && !strings.HasSuffix(imp, "/nsenter") {
				users = append(users, f[0])
				break
			}
		}
	}
	allowed := map[string]bool{mod + "runtime/shim/server/internal/libct": true, mod + "runtime/shim/createchild": true}
	for _, u := range users {
		if !allowed[u] {
			t.Errorf("%s imports libcontainer; only runtime/shim/server/internal/libct and runtime/shim/createchild may", u)
		}
	}
}
