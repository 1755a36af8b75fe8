package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/podd-dev/podd/test/testutil"
)

// TestMain removes what the package built once for all its tests (the
// busybox image archive) when they are done: each run left a /tmp/podd-img*
// directory behind; and the portmap plugin's shared nat chains when its
// tests made them. Re-executed as BenchmarkProbeCPU's httpGet peer, it is
// that.
func TestMain(m *testing.M) {
	if os.Getenv(httpGetPeerURLs) != "" {
		os.Exit(httpGetPeerMain())
	}
	code := testutil.RunRemovingPortmapChains(m)
	if imgTar != "" {
		os.RemoveAll(filepath.Dir(imgTar))
	}
	os.Exit(code)
}
