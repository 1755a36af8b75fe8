package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes what the package built once for all its tests (the
// busybox image archive) when they are done: each run left a /tmp/podd-img*
// directory behind.
func TestMain(m *testing.M) {
	code := m.Run()
	if imgTar != "" {
		os.RemoveAll(filepath.Dir(imgTar))
	}
	os.Exit(code)
}
