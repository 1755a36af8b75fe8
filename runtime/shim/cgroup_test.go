package shim_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/podd-dev/podd/runtime/shim/shimdir"
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
		_ = shimdir.RemoveCgroup(cg)
	})
	if err := shimdir.JoinCgroup(cmd.Process.Pid, cg); err != nil {
		t.Fatal(err)
	}
	if err := shimdir.RemoveCgroup(cg); err != nil {
		t.Fatalf("remove a cgroup whose task exits within 0.2 s: %v", err)
	}
	for _, root := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(root, cg)); err == nil {
			t.Errorf("%s still exists", filepath.Join(root, cg))
		}
	}
}

// A cgroup that cannot be renamed (its target exists, as on cgroup v2,
// where no cgroup is ever renamed) moves by migration: every process of
// it goes, the spare shim's create child with the spare, and it is
// removed.
func TestMoveCgroupMigratesEveryProcess(t *testing.T) {
	testutil.RequireRoot(t)
	from := fmt.Sprintf("/podd-test-movefrom-%d", os.Getpid())
	to := fmt.Sprintf("/podd-test-moveto-%d", os.Getpid())
	var cmds []*exec.Cmd
	t.Cleanup(func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		_ = shimdir.RemoveCgroup(from)
		_ = shimdir.RemoveCgroup(to)
	})
	// Two processes in from; to exists (a third process in it): no rename.
	for _, cg := range []string{from, from, to} {
		c := exec.Command("sleep", "1000")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
		if err := shimdir.JoinCgroup(c.Process.Pid, cg); err != nil {
			t.Fatal(err)
		}
	}
	if err := shimdir.MoveCgroup(cmds[0].Process.Pid, from, to); err != nil {
		t.Fatal(err)
	}
	got := cgroupProcs(t, to)
	if len(got) != 3 || !slices.Contains(got, strconv.Itoa(cmds[0].Process.Pid)) || !slices.Contains(got, strconv.Itoa(cmds[1].Process.Pid)) {
		t.Errorf("%s holds %v, want its own and both processes of %s: %d and %d", to, got, from, cmds[0].Process.Pid, cmds[1].Process.Pid)
	}
	if dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + from); len(dirs) > 0 {
		t.Errorf("the moved cgroup is left: %v", dirs)
	}
}
