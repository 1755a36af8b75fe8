package shim_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/test/testutil"
)

// A cgroup whose last task is still leaving is busy for a moment; removal
// waits for it (bounded) instead of leaving the cgroup behind.
func TestRemoveCgroupWaitsForTheLastTaskToLeave(t *testing.T) {
	testutil.RequireRoot(t)
	cg := fmt.Sprintf("/podd-test-rmretry-%d", os.Getpid())
	cmd := exec.Command("sleep", "0.2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		_ = shim.RemoveCgroup(cg)
	})
	if err := shim.JoinCgroup(cmd.Process.Pid, cg); err != nil {
		t.Fatal(err)
	}
	if err := shim.RemoveCgroup(cg); err != nil {
		t.Fatalf("remove a cgroup whose task exits within 0.2 s: %v", err)
	}
	for _, root := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(root, cg)); err == nil {
			t.Errorf("%s still exists", filepath.Join(root, cg))
		}
	}
}
