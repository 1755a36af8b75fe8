// Package pause tests podd-pause, the pod namespace holder. It is C
// (c/pause.c, built by hack/build-pause.sh), where the Go tool does not
// look: this package has test files only, and go vet and go build never see
// the C file (a .c file beside Go files would ask for cgo).
package pause

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// build compiles podd-pause into a temporary directory with the build
// command make build runs, and returns its path. Warnings fail the test:
// the build script compiles with -Wall -Wextra.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "podd-pause")
	out, err := exec.Command("../../hack/build-pause.sh", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("build podd-pause: %v\n%s", err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("building podd-pause warns:\n%s", s)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatal(err)
	}
	return bin
}
