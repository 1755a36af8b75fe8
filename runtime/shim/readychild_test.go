package shim_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// waitingCreateChildren lists the shim's create children that wait for
// their request (started with the pause).
func waitingCreateChildren(p *testPod) []string {
	return shimChildrenWith(p, "create-container\x00ready")
}

// A pod's first create child starts with its pause, before the first
// container's request, and that container's creation uses it: its exec
// and Go start (some 20 ms on a 2-core host) run beside the pause's start
// instead of after it (issue 13). With plain stdio and with a terminal.
func TestPauseStartsTheFirstCreateChild(t *testing.T) {
	for _, tty := range []bool{false, true} {
		t.Run(map[bool]string{false: "stdio", true: "tty"}[tty], func(t *testing.T) {
			p := startPod(t)
			nsPath := newNetns(t, "pr"+filepath.Base(p.dir))
			if got := waitingCreateChildren(p); len(got) != 0 {
				t.Fatalf("create children waiting before the pause: %v", got)
			}
			p.create(p.holderConfig(nsPath))
			var ready []string
			testutil.WaitFor(t, 10*time.Second, "a create child waiting for its request", func() (bool, error) {
				ready = waitingCreateChildren(p)
				return len(ready) == 1, nil
			})
			args, want := []string{"echo", "hi"}, " stdout F hi"
			if tty {
				args, want = []string{"tty"}, " stdout F /dev/pts/0"
			}
			app := p.config("app-0", p.rootfs("r"), args...)
			app.Tty = tty
			app.Namespaces = []*shimv1.Namespace{{Type: "net", Path: nsPath}, {Type: "ipc", Container: "pause"}, {Type: "uts", Container: "pause"}, {Type: "pid"}}
			p.create(app)
			if st := p.waitStopped("app-0", 10*time.Second); st.GetExitCode() != 0 {
				t.Fatalf("container exit %d %q, want 0", st.GetExitCode(), st.GetReason())
			}
			testutil.WaitFor(t, 5*time.Second, "the container's output", func() (bool, error) {
				lines := p.logLines(app)
				return len(lines) == 1 && strings.HasSuffix(strings.TrimRight(lines[0], "\r"), want), fmt.Errorf("log %q, want one record ending %q", lines, want)
			})
			if pid, _ := strconv.Atoi(ready[0]); running(pid) {
				t.Errorf("the create child %s that waited is still running: the container did not use it", ready[0])
			}
			if got := waitingCreateChildren(p); len(got) != 0 {
				t.Errorf("create children waiting after the creation: %v", got)
			}
		})
	}
}

// A shim's ready create child left unused (a pod whose only container is
// its pause) ends with the shim (its parent-death signal), even one that
// could not end by itself: here it is stopped. Left running, it would
// keep the shim's cgroup from being removed.
func TestReadyCreateChildEndsWithTheShim(t *testing.T) {
	p := startPod(t)
	nsPath := newNetns(t, "pd"+filepath.Base(p.dir))
	p.create(p.holderConfig(nsPath))
	var ready []string
	testutil.WaitFor(t, 10*time.Second, "a create child waiting for its request", func() (bool, error) {
		ready = waitingCreateChildren(p)
		return len(ready) == 1, nil
	})
	pid, err := strconv.Atoi(ready[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := p.c.Stop(ctx, true); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "the shim's ready create child to end with the shim", func() (bool, error) {
		return !running(pid), nil
	})
}
