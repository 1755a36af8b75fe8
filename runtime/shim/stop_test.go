package shim

import (
	"context"
	"errors"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/proto/shim/v1/shimgrpc"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/test/testutil"
)

// exitingShim is a shim API whose Shutdown ends with the shim's exit: with
// its teardown (the pid file removed, the answer lost or not) or without it
// (killed: the call fails, the pid file stays).
type exitingShim struct {
	shimgrpc.ShimClient
	exit func()
	err  error
}

func (s exitingShim) Shutdown(context.Context, *shimv1.ShutdownRequest, ...grpc.CallOption) (*shimv1.ShutdownResponse, error) {
	s.exit()
	if s.err != nil {
		return nil, s.err
	}
	return &shimv1.ShutdownResponse{}, nil
}

// exitingClient is a launched shim's client (pid 4242, in a fresh state
// dir with its pid file) whose Shutdown exits the shim, tearing down first
// when teardown is set, and fails with err.
func exitingClient(t *testing.T, teardown bool, err error) *Client {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(shimdir.PidFile(dir), []byte(strconv.Itoa(4242)), 0o644); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	exit := func() {
		if teardown {
			os.Remove(shimdir.PidFile(dir))
		}
		close(exited) // reaped
	}
	return &Client{
		ShimClient: exitingShim{exit: exit, err: err},
		close:      func() error { return nil }, stateDir: dir, pid: 4242, exited: exited,
	}
}

// A shim that died (SIGKILL, OOM) stopped nothing: its pause and containers
// are still in the pod cgroup. Stop must not report that as a stop, or the
// caller (the sandbox's Release) skips the kill of what is left: the e2e
// TestKilledShimLosesSandbox found the first sandbox's pause and container
// in the pod cgroup after the pod was deleted, whenever the daemon released
// the lost sandbox before it had reaped the killed shim.
func TestStopOfAKilledShimIsNoStop(t *testing.T) {
	c := exitingClient(t, false, errors.New("ttrpc: closed"))
	err := c.Stop(context.Background(), true)
	if !errors.Is(err, ErrGone) {
		t.Fatalf("Stop of a shim killed as it was asked: %v, want an error wrapping ErrGone", err)
	}
	if err := c.Stop(context.Background(), true); !errors.Is(err, ErrGone) {
		t.Errorf("Stop of the reaped killed shim: %v, want an error wrapping ErrGone", err)
	}
}

// A shim that tore down has stopped, whether its answer came or it exited
// first, and stopping it again is no error.
func TestStopOfATornDownShimSucceeds(t *testing.T) {
	for _, answerLost := range []bool{false, true} {
		var err error
		if answerLost {
			err = errors.New("ttrpc: closed")
		}
		c := exitingClient(t, true, err)
		for i := range 2 {
			if err := c.Stop(context.Background(), true); err != nil {
				t.Errorf("answer lost %v: stop %d: %v", answerLost, i, err)
			}
		}
	}
}

// A shim connected to after a restart is not this process's child: Stop
// waits for its exit on its pidfd, whether it ends after its answer or
// before (the answer lost).
func TestStopWaitsForAShimItDidNotLaunch(t *testing.T) {
	for _, answerLost := range []bool{false, true} {
		pid := testutil.StartNonChild(t)
		dir := t.TempDir()
		if err := os.WriteFile(shimdir.PidFile(dir), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		var callErr error
		if answerLost {
			callErr = errors.New("ttrpc: closed")
		}
		exit := func() {
			os.Remove(shimdir.PidFile(dir))
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Error(err)
			}
		}
		c := &Client{ShimClient: exitingShim{exit: exit, err: callErr}, close: func() error { return nil }, stateDir: dir, pid: pid}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := c.Stop(ctx, true); err != nil {
			t.Errorf("answer lost %v: Stop: %v", answerLost, err)
		}
		cancel()
		if !c.Exited() {
			t.Errorf("answer lost %v: Stop returned while shim %d runs", answerLost, pid)
		}
	}
}
