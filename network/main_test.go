package network

import (
	"os"
	"testing"

	"github.com/podd-dev/podd/test/testutil"
)

// TestMain removes the portmap plugin's shared nat chains when the
// package's hostPort tests made them.
func TestMain(m *testing.M) { os.Exit(testutil.RunRemovingPortmapChains(m)) }
