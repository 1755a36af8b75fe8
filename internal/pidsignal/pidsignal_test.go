package pidsignal

import (
	"bytes"
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// listings returns a lister that gives each listing in turn.
func listings(ls ...[]int) func() ([]int, error) {
	return func() ([]int, error) {
		next := ls[0]
		if len(ls) > 1 {
			ls = ls[1:]
		}
		return next, nil
	}
}

// A process is signalled only when both listings name it: one the second
// listing no longer names may have ended, its pid another process's.
func TestListedSignalsOnlyWhatBothListingsName(t *testing.T) {
	pid := testutil.StoppedChild(t)
	if n, err := Listed(listings([]int{pid}, []int{}), syscall.SIGTERM); err != nil || n != 0 {
		t.Fatalf("Listed: %d, %v", n, err)
	}
	if testutil.SignalPending(t, pid, syscall.SIGTERM) {
		t.Fatalf("pid %d was signalled, though the second listing no longer named it", pid)
	}
	// Named once by each listing (the first twice, as cgroup v1's
	// hierarchies do), and a pid no process has: signalled once, counted.
	if n, err := Listed(listings([]int{pid, pid, 1 << 30}, []int{pid, 1 << 30}), syscall.SIGTERM); err != nil || n != 2 {
		t.Fatalf("Listed: %d, %v; want 2 named by the second listing", n, err)
	}
	if !testutil.SignalPending(t, pid, syscall.SIGTERM) {
		t.Fatalf("pid %d, named by both listings, was not signalled", pid)
	}
	// A process started between the listings is left for the next call.
	other := testutil.StoppedChild(t)
	if n, err := Listed(listings([]int{}, []int{other}), syscall.SIGTERM); err != nil || n != 1 {
		t.Fatalf("Listed: %d, %v", n, err)
	}
	if testutil.SignalPending(t, other, syscall.SIGTERM) {
		t.Errorf("pid %d, not in the first listing, was signalled", other)
	}
	boom := errors.New("no cgroup")
	if _, err := Listed(func() ([]int, error) { return nil, boom }, syscall.SIGTERM); !errors.Is(err, boom) {
		t.Errorf("Listed with a failing listing: %v", err)
	}
}

// Pin gives a process's command line with a pidfd that signals it; a pid
// no process has is an error.
func TestPin(t *testing.T) {
	pid := testutil.StoppedChild(t)
	fd, cmdline, err := Pin(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if !bytes.Contains(cmdline, []byte("sleep")) {
		t.Errorf("command line %q, want the stopped child's", cmdline)
	}
	if err := unix.PidfdSendSignal(fd, syscall.SIGTERM, nil, 0); err != nil {
		t.Fatal(err)
	}
	if !testutil.SignalPending(t, pid, syscall.SIGTERM) {
		t.Error("a signal through the pidfd did not reach the process")
	}
	if _, _, err := Pin(1<<22 + 1); err == nil {
		t.Error("Pin of a pid above pid_max's maximum succeeded")
	}
}
