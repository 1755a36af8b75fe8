package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPauseDependencies keeps podd-pause to the standard library and x/sys.
func TestPauseDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "github.com/podd-dev/podd/cmd/podd-pause" && !strings.HasPrefix(pkg, "golang.org/x/sys/") {
			t.Errorf("podd-pause links %s", pkg)
		}
	}
}
