package shim_test

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// Issue 7 item 2: a shim killed with its containers (a crash, or the
// daemon's kill of a shim that did not answer) leaves libcontainer state
// behind. A new shim in the same state dir re-creates a container with the
// same ID (the pause), instead of failing "container with given ID already
// exists" on every retry.
func TestCreateAfterCrashClearsStaleState(t *testing.T) {
	p := startPod(t)
	cfg := p.config("pause", p.rootfs("r"), "sleep", "1000")
	p.create(cfg)
	pid := p.c.Pid()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	removeCgroupDirs(p.cgroup) // kills the container, as the daemon's shimdir.Kill does
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("shim %d still alive after SIGKILL", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.c.Close()
	if m, _ := filepath.Glob(filepath.Join(shimdir.RuncDir(p.stateDir), "pause")); len(m) != 1 {
		t.Fatalf("no stale libcontainer state left to test with: %v", m)
	}
	p.launch(filepath.Join(binDir, "podd-shim"))
	p.create(cfg)
}
