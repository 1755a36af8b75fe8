package podworker

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/probes"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/spec"
	"github.com/podd-dev/podd/test/testutil"
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

// A probe update that leaves the instance's results as they were (a
// readiness probe failing again, a warning) is an event, not a round of
// the pod's worker; one that changes them is.
func TestUnchangedProbeResultDoesNotWakeThePod(t *testing.T) {
	pod := testPod("probe-same")
	// Its readiness comes from the updates below only: the probe never runs.
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
		InitialDelaySeconds: 3600, PeriodSeconds: 3600,
	}
	w, h := newTestWorker(t, pod)
	runWorker(t, w)
	eventually(t, "container app running", 10*time.Second, func() bool { return running(w, "app") })
	count := func() int { return h.Count("shim.state") }
	n0 := settledStateCalls(t, count)
	id := w.Snapshot().Status.ContainerStatuses[0].ContainerID
	w.mu.Lock()
	inst := w.state.History.Containers["app"].InstanceID
	w.mu.Unlock()
	key := probes.ContainerKey{PodUID: w.uid, Container: "app", InstanceID: inst}
	for range 5 {
		w.ProbeUpdate(probes.Update{Key: key, Kind: probes.Readiness, Result: probes.Failure, RunFailed: true, Output: "HTTP probe failed with statuscode: 500"})
	}
	w.ProbeUpdate(probes.Update{Key: key, Kind: probes.Liveness, Result: probes.Success, Warning: "Probe terminated redirects"})
	if n := settledStateCalls(t, count) - n0; n > 0 {
		t.Errorf("%d rounds for probe results that changed nothing, want 0", n)
	}
	if !hasEvent(w, corev1.EventTypeWarning, "Unhealthy") || !hasEvent(w, corev1.EventTypeWarning, "ProbeWarning") {
		t.Error("the failed run and the warning were not recorded as events")
	}
	if cs := w.Snapshot().Status.ContainerStatuses; cs[0].Ready {
		t.Fatal("ready before its probe succeeded")
	}
	w.ProbeUpdate(probes.Update{Key: key, Kind: probes.Readiness, Result: probes.Success})
	eventually(t, "the pod ready", 5*time.Second, func() bool {
		cs := w.Snapshot().Status.ContainerStatuses
		return len(cs) == 1 && cs[0].Ready && cs[0].ContainerID == id
	})
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A shim that dies ends its events stream, which wakes the worker: the
// lost sandbox is replaced at once, not at the next resync.
func TestLostShimIsNoticedWithoutAResync(t *testing.T) {
	w, h := newTestWorker(t, testPod("lost-shim"))
	runWorker(t, w)
	eventually(t, "container app running", 10*time.Second, func() bool { return running(w, "app") })
	settledStateCalls(t, func() int { return h.Count("shim.state") })
	h.KillShim(w.deps.Layout.ShimDir(w.uid))
	eventually(t, "a second sandbox running the app", 5*time.Second, func() bool {
		return h.Count("shim.launch") == 2 && running(w, "app")
	})
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// Each failed run of a liveness or startup probe, which counts towards a
// restart, is logged with its output; a readiness probe's are events only.
func TestFailedLivenessRunIsLogged(t *testing.T) {
	pod := testPod("probe-log")
	w, _ := newTestWorker(t, pod)
	runWorker(t, w)
	eventually(t, "container app running", 10*time.Second, func() bool { return running(w, "app") })
	w.mu.Lock()
	inst := w.state.History.Containers["app"].InstanceID
	w.mu.Unlock()
	var buf testutil.SyncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	key := probes.ContainerKey{PodUID: w.uid, Container: "app", InstanceID: inst}
	// Runs that failed below the threshold: the state stays Success.
	w.ProbeUpdate(probes.Update{Key: key, Kind: probes.Readiness, Result: probes.Success, RunFailed: true, Output: "readiness said no"})
	w.ProbeUpdate(probes.Update{Key: key, Kind: probes.Liveness, Result: probes.Success, RunFailed: true, Output: "liveness said no"})
	slog.SetDefault(prev)
	out := buf.String()
	if !strings.Contains(out, `msg="Probe failed"`) || !strings.Contains(out, "probe=Liveness") || !strings.Contains(out, `output="liveness said no"`) {
		t.Errorf("no log line for the failed liveness run:\n%s", out)
	}
	if strings.Contains(out, "readiness said no") {
		t.Errorf("a failed readiness run was logged:\n%s", out)
	}
	deleteAndWait(t, w, 0)
}
