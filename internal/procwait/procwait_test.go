package procwait

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
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

// A process that is not this one's child (a shell's background job, left
// to init): AwaitEnd waits while it runs, gives ctx's error when ctx ends
// first, and returns once it is killed.
func TestAwaitEndOfANonChild(t *testing.T) {
	pid := testutil.StartNonChild(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := AwaitEnd(ctx, pid); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AwaitEnd of a running process = %v, want %v", err, context.DeadlineExceeded)
	}
	done := make(chan error, 1)
	go func() { done <- AwaitEnd(context.Background(), pid) }()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("AwaitEnd after the kill = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("AwaitEnd did not return after the process was killed")
	}
}

// An ended child not yet reaped (a zombie) has ended; a pid that runs
// nothing has too.
func TestAwaitEndOfAZombieAndOfNoProcess(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	AwaitExit(cmd.Process.Pid)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := AwaitEnd(ctx, cmd.Process.Pid); err != nil {
		t.Errorf("AwaitEnd of a zombie = %v, want nil", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := AwaitEnd(ctx, cmd.Process.Pid); err != nil {
		t.Errorf("AwaitEnd of a reaped pid = %v, want nil", err)
	}
}
