package testutil

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// SignalPending reports whether sig is pending for process pid (a stopped
// process keeps a signal other than SIGKILL and SIGCONT pending, where a
// test can see that it was sent).
func SignalPending(t testing.TB, pid int, sig syscall.Signal) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "ShdPnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return mask&(1<<(uint(sig)-1)) != 0
		}
	}
	t.Fatalf("no ShdPnd in /proc/%d/status", pid)
	return false
}

// StoppedChild starts `sleep 60` as a child of the test, stops it with
// SIGSTOP and returns its pid; cleanup kills and reaps it.
func StoppedChild(t testing.TB) int {
	t.Helper()
	var attr syscall.ProcAttr
	pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "60"}, &attr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil)
	})
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil); err != nil || !ws.Stopped() {
		t.Fatalf("sleep %d did not stop: %v (%v)", pid, ws, err)
	}
	return pid
}
