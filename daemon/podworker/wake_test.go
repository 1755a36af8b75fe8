package podworker

import (
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/planner"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/spec"
)

// The loop sleeps until the planner's NextWake, at most the resync: it
// polls nothing on its own, and plans again at once only after acting.
func TestNextWait(t *testing.T) {
	now := time.Unix(1000, 0)
	start := planner.Action{Kind: planner.ActionStartContainer}
	kill := planner.Action{Kind: planner.ActionKillContainer}
	for _, tc := range []struct {
		name    string
		out     planner.Output
		stalled bool
		want    time.Duration
	}{
		{"idle running pod: the resync", planner.Output{}, false, resync},
		{"back-off ends in 3 s", planner.Output{NextWake: now.Add(3 * time.Second)}, false, 3 * time.Second},
		{"deadline after the resync: the resync", planner.Output{NextWake: now.Add(2 * resync)}, false, resync},
		{"NextWake already due: not a busy loop", planner.Output{NextWake: now.Add(-time.Second)}, false, minWait},
		{"acted: plan again at once", planner.Output{Actions: []planner.Action{kill, start}}, false, 0},
		{"kills run in the background: they wake the loop", planner.Output{Actions: []planner.Action{kill}}, false, resync},
		{"kills and a back-off", planner.Output{Actions: []planner.Action{kill}, NextWake: now.Add(time.Second)}, false, time.Second},
		{"stalled teardown: retried after a pause", planner.Output{Actions: []planner.Action{start}}, true, stallRetry},
		{"stalled, NextWake sooner", planner.Output{NextWake: now.Add(100 * time.Millisecond)}, true, 100 * time.Millisecond},
	} {
		if got := nextWait(tc.out, tc.stalled, now, resync); got != tc.want {
			t.Errorf("%s: nextWait = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Pods started together spread their resyncs over resync..1.5×resync.
func TestJitteredResync(t *testing.T) {
	lo, hi := resync*3/2, resync
	for range 1000 {
		d := jittered(resync)
		if d < resync || d > resync*3/2 {
			t.Fatalf("jittered(%v) = %v, want within [%v, %v]", resync, d, resync, resync*3/2)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if hi-lo < resync/4 {
		t.Errorf("1000 resyncs within %v..%v: not spread", lo, hi)
	}
}

// settledStateCalls waits until the worker stopped asking the shim for its
// state (no call for 300 ms) and returns the count.
func settledStateCalls(t *testing.T, count func() int) int {
	t.Helper()
	n := count()
	for quiet := time.Now(); time.Since(quiet) < 300*time.Millisecond; {
		time.Sleep(20 * time.Millisecond) // a window to count calls in
		if m := count(); m != n {
			n, quiet = m, time.Now()
		}
	}
	return n
}

// An idle running pod (no probe, no back-off, no deadline) costs nothing:
// its worker waits for the shim's events instead of asking the shim for
// its state every few seconds; a container's exit still wakes it at once.
func TestIdlePodDoesNotPollTheShim(t *testing.T) {
	w, h := newTestWorker(t, testPod("idle"))
	runWorker(t, w)
	eventually(t, "container app running", 10*time.Second, func() bool { return running(w, "app") })
	count := func() int { return h.Count("shim.state") }
	n0 := settledStateCalls(t, count)
	time.Sleep(6 * time.Second) // a window to count calls in, longer than the old 5 s poll
	if n := count() - n0; n > 0 {
		t.Errorf("the idle pod's worker asked the shim for its state %d times in 6 s, want 0", n)
	}
	h.ExitContainers(w.deps.Layout.ShimDir(w.uid), func(c *shimv1.ContainerState) bool { return c.GetId() != spec.PauseID }, 1)
	eventually(t, "the exit seen and the container restarted", 5*time.Second, func() bool {
		cs := w.Snapshot().Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount == 1 && cs[0].State.Running != nil
	})
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}
