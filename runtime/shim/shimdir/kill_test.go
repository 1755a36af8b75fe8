package shimdir

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/podd-dev/podd/test/testutil"
)

// A shim that ends between Kill's check of its pid file and the kill is
// not killed by its pid: that pid may be another process's by then (pids
// wrap), here a process of the test.
func TestKillNeverKillsTheShimsPidOnceTheShimEnded(t *testing.T) {
	testutil.RequireRoot(t)
	for attempt := 1; ; attempt++ {
		stateDir := t.TempDir()
		// A process the pid file's check takes for the shim of stateDir.
		shim := testutil.FakeShim(t, stateDir)
		if err := os.WriteFile(PidFile(stateDir), []byte(strconv.Itoa(shim.Process.Pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		var killed func() bool
		afterShimCheck = func() {
			// The shim ends; another process takes its pid.
			_ = shim.Process.Kill()
			_ = shim.Wait()
			killed = testutil.ProcessAtPid(t, shim.Process.Pid)
		}
		t.Cleanup(func() { afterShimCheck = func() {} })
		// A pod cgroup that does not exist: nothing else to kill.
		if err := Kill(stateDir, fmt.Sprintf("/podd-test-none-%d", os.Getpid())); err != nil {
			t.Fatal(err)
		}
		if killed == nil {
			if attempt < 5 {
				continue
			}
			t.Fatalf("no process of the test took pid %d in %d attempts", shim.Process.Pid, attempt)
		}
		if killed() {
			t.Fatalf("Kill killed pid %d, the ended shim's, now another process's", shim.Process.Pid)
		}
		return
	}
}
