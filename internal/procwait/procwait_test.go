package procwait

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAwaitExitReturnsWhenTheChildEndsWithoutReapingIt(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The child ends when w is closed: its read of stdin returns.
	cmd := exec.Command("sh", "-c", "read x || true")
	cmd.Stdin = r
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	go func() {
		AwaitExit(pid)
		close(done)
	}()
	select {
	case <-done:
		w.Close()
		_ = cmd.Wait()
		t.Fatal("AwaitExit returned while the child runs")
	case <-time.After(200 * time.Millisecond):
	}
	w.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("AwaitExit did not return after the child ended")
	}
	if st := procState(t, pid); st != "Z" {
		t.Errorf("child state after AwaitExit = %q, want Z (ended, not reaped)", st)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("Wait after AwaitExit: %v", err)
	}
}

func TestAwaitExitOfANonChildReturns(t *testing.T) {
	done := make(chan struct{})
	go func() {
		AwaitExit(1) // not our child: nothing to wait for
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("AwaitExit(1) did not return")
	}
}

func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return strings.Fields(s[i+1:])[0]
}
