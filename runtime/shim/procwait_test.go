package shim

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// Waiting for many children holds no OS thread each, and every wait ends
// with the child's exit status once it exits.
func TestWaitCmdHoldsNoThread(t *testing.T) {
	const n = 40
	before := threads(t)
	var cmds []*exec.Cmd
	done := make(chan error, n)
	for range n {
		cmd := exec.Command("sleep", "1000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		go func() { done <- waitCmd(cmd) }()
	}
	t.Cleanup(func() {
		for _, c := range cmds {
			c.Process.Kill()
		}
	})
	// Each wait has started once its child is being waited on; waiting
	// in a blocking call would have taken a thread each by then.
	if got := threads(t); got-before >= n/2 {
		t.Errorf("%d threads while waiting for %d children (%d before)", got, n, before)
	}
	for _, c := range cmds {
		c.Process.Kill()
	}
	for range n {
		err := <-done
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != -1 {
			t.Fatalf("wait for a killed child: %v, want an exit error by a signal", err)
		}
	}
}

func TestWaitCmdReturnsTheExitCode(t *testing.T) {
	cmd := exec.Command("sh", "-c", "exit 3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := waitCmd(cmd); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("waitCmd = %v, want exit status 3", err)
	}
}

func threads(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
