package libct

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/internal/procstat"
	"github.com/podd-dev/podd/test/testutil"
)

// listedPids is a cgroup manager whose listings are scripted: each
// GetAllPids returns the next one (the last again once used up).
type listedPids struct {
	cgroups.Manager
	mu       sync.Mutex
	listings [][]int
}

func (l *listedPids) GetAllPids() ([]int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := l.listings[0]
	if len(l.listings) > 1 {
		l.listings = l.listings[1:]
	}
	return next, nil
}

func (l *listedPids) Path(string) string { return "" } // cgroup v1: no cgroup.kill

// Signalling every process of a container (cgroup v1, or a signal other
// than SIGKILL) signals only processes that are in its cgroup when
// signalled: a pid the listing gave may have ended since, and been given
// to a process outside the container (here: the test's own child, stopped
// so that a signal sent to it stays pending where the test can see it).
func TestSignalAllSkipsAPidNoLongerTheContainers(t *testing.T) {
	outside := exec.Command("sleep", "60")
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = outside.Process.Kill(); _ = outside.Wait() })
	pid := outside.Process.Pid
	if err := unix.Kill(pid, unix.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the process stopped", func() (bool, error) {
		st, err := procstat.Read(pid)
		return err == nil && st.State == 'T', err
	})
	stale := &Container{id: "c", cgroup: &listedPids{listings: [][]int{{pid}, {}}}}
	if err := stale.signalAll(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if pendingSignal(t, pid, unix.SIGTERM) {
		t.Fatalf("signalAll sent SIGTERM to pid %d, which the cgroup no longer listed", pid)
	}
	listed := &Container{id: "c", cgroup: &listedPids{listings: [][]int{{pid}}}}
	if err := listed.signalAll(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !pendingSignal(t, pid, unix.SIGTERM) {
		t.Fatalf("signalAll did not send SIGTERM to pid %d, which the cgroup lists", pid)
	}
}

// pendingSignal reports whether sig is pending for process pid (a stopped
// process keeps it so).
func pendingSignal(t *testing.T, pid int, sig unix.Signal) bool {
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
