package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
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

// ProcessAtPid starts a sleeping child of the test at pid, which must be
// free (a process that ended and was reaped), by setting the last pid the
// kernel gave out: a process the code under test must not kill, standing
// where pid wrap-around would put any other. killed ends it with SIGTERM
// and reports whether it had been SIGKILLed before (a SIGKILL sent earlier
// decides the exit status, however late the process acts on it: no timing
// involved). nil when another process took the pid first (the caller tries
// again). Cleanup kills it. Needs root.
func ProcessAtPid(t testing.TB, pid int) (killed func() bool) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var status syscall.WaitStatus
	wait := func() {
		once.Do(func() {
			_ = cmd.Wait()
			status, _ = cmd.ProcessState.Sys().(syscall.WaitStatus)
		})
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); wait() })
	if cmd.Process.Pid != pid {
		return nil
	}
	return func() bool {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		wait()
		return status.Signaled() && status.Signal() == syscall.SIGKILL
	}
}

// FakeShim starts a process whose command line names podd-shim and
// stateDir, as a pod's shim's does ("podd-shim --state-dir stateDir"): a
// shell waiting on its standard input, for checks that look a shim up by
// its command line. Cleanup ends it.
func FakeShim(t testing.TB, stateDir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", "read x", "podd-shim", "--state-dir", stateDir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}
