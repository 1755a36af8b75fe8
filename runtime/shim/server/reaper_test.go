package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The sweep reaps an orphan that ended (a zombie child nobody waits for)
// and never one the reaper tracks: that one belongs to its waiter.
func TestReaperSweepsOnlyUntracked(t *testing.T) {
	r := newReaper(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var tracked, orphan *exec.Cmd
	if err := r.start(func() (int, error) {
		tracked = exec.Command("true")
		return startPid(tracked)
	}); err != nil {
		t.Fatal(err)
	}
	orphan = exec.Command("true")
	if _, err := startPid(orphan); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both children to end", func() bool { return isZombie(tracked.Process.Pid) && isZombie(orphan.Process.Pid) })
	if !anyZombie() {
		t.Fatal("anyZombie sees none")
	}
	r.sweep()
	if isZombie(orphan.Process.Pid) {
		t.Error("the untracked zombie was not reaped")
	}
	if !isZombie(tracked.Process.Pid) {
		t.Fatal("the tracked child was reaped by the sweep")
	}
	if err := tracked.Wait(); err != nil {
		t.Fatalf("the waiter could not reap its child: %v", err)
	}
	r.untrack(tracked.Process.Pid)
	r.mu.Lock()
	n := len(r.tracked)
	r.mu.Unlock()
	if n != 0 {
		t.Errorf("%d pids still tracked after untrack", n)
	}
}

// Running, the reaper sweeps a while after the SIGCHLD, not at it: by then
// a child with a waiter has been reaped by it (no sweep scans for it), and
// an orphan is reaped all the same.
func TestReaperRunSweepsAfterTheSignal(t *testing.T) {
	r := newReaper(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGCHLD)
	defer signal.Stop(ch)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.loop(ctx, ch); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	orphan := exec.Command("true")
	if _, err := startPid(orphan); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the orphan to end", func() bool { return isZombie(orphan.Process.Pid) })
	ended := time.Now()
	waitFor(t, "the orphan reaped", func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", orphan.Process.Pid))
		return os.IsNotExist(err)
	})
	if took := time.Since(ended); took < sweepDelay/2 {
		t.Errorf("the orphan was reaped %s after it ended, want the sweep about %s after its SIGCHLD", took, sweepDelay)
	}
}

// A start that fails tracks nothing.
func TestReaperStartFailureTracksNothing(t *testing.T) {
	r := newReaper(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := r.start(func() (int, error) { return 0, syscall.ENOENT }); err != syscall.ENOENT {
		t.Fatalf("start: %v", err)
	}
	if len(r.tracked) != 0 {
		t.Errorf("tracked %v after a failed start", r.tracked)
	}
}

// killTree kills a process, its children and theirs.
func TestKillTree(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 1000 & sleep 1000 & wait")
	if _, err := startPid(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, "two grandchildren", func() bool { return len(childPids(cmd.Process.Pid)) == 2 })
	kids := childPids(cmd.Process.Pid)
	killTree(cmd.Process.Pid)
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("shell ended with %v, want SIGKILL", err)
	}
	for _, k := range kids {
		waitFor(t, "grandchild gone", func() bool { return syscall.Kill(k, 0) != nil || isZombie(k) })
	}
	if slices.Contains(childPids(cmd.Process.Pid), kids[0]) {
		t.Error("a grandchild survived")
	}
}

// A descendant that ends after killTree listed the tree is not killed by
// its pid: that pid may be another process's by then (pids wrap), here a
// process of the test.
func TestKillTreeNeverKillsADescendantsPidOnceItEnded(t *testing.T) {
	testutil.RequireRoot(t)
	for attempt := 1; ; attempt++ {
		// Its own process group: the tree's group kill cannot reach the
		// test's process.
		cmd := exec.Command("sh", "-c", "sleep 1000 & wait; sleep 1000")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if _, err := startPid(cmd); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		waitFor(t, "a grandchild", func() bool { return len(childPids(cmd.Process.Pid)) == 1 })
		kid := childPids(cmd.Process.Pid)[0]
		var killed func() bool
		afterTreeListed = func() {
			// The grandchild ends (its shell reaps it and starts another
			// sleep); a process of the test takes its pid.
			_ = syscall.Kill(kid, syscall.SIGKILL)
			waitFor(t, "the grandchild reaped", func() bool { _, err := os.Stat(fmt.Sprintf("/proc/%d", kid)); return err != nil })
			killed = testutil.ProcessAtPid(t, kid)
		}
		t.Cleanup(func() { afterTreeListed = func() {} })
		killTree(cmd.Process.Pid)
		_ = cmd.Wait()
		if killed == nil {
			if attempt < 5 {
				continue
			}
			t.Fatalf("no process of the test took pid %d in %d attempts", kid, attempt)
		}
		if killed() {
			t.Fatalf("killTree killed pid %d, an ended descendant's, now another process's", kid)
		}
		return
	}
}

func startPid(cmd *exec.Cmd) (int, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	return cmd.Process.Pid, nil
}
