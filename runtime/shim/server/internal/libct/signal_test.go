package libct

import (
	"sync"
	"testing"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"

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
	pid := testutil.StoppedChild(t)
	stale := &Container{id: "c", cgroup: &listedPids{listings: [][]int{{pid}, {}}}}
	if err := stale.signalAll(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if testutil.SignalPending(t, pid, unix.SIGTERM) {
		t.Fatalf("signalAll sent SIGTERM to pid %d, which the cgroup no longer listed", pid)
	}
	listed := &Container{id: "c", cgroup: &listedPids{listings: [][]int{{pid}}}}
	if err := listed.signalAll(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !testutil.SignalPending(t, pid, unix.SIGTERM) {
		t.Fatalf("signalAll did not send SIGTERM to pid %d, which the cgroup lists", pid)
	}
}
