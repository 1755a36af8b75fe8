package testutil

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// StartNonChild starts a process that is not this one's child (a shell's
// background `sleep`, left to init when the shell exits), as a shim is to
// a restarted daemon; it is killed when the test ends. It returns its pid.
func StartNonChild(t testing.TB) int {
	t.Helper()
	out, err := exec.Command("sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("pid %q: %v", out, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}
