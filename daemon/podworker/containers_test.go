package podworker

import (
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/spec"
)

// R30: app containers start in parallel, each in its own goroutine.
func TestAppContainersStartInParallel_R30(t *testing.T) {
	pod := testPod("parallel")
	pod.Spec.Containers = []corev1.Container{
		{Name: "a", Image: "busybox:latest"}, {Name: "b", Image: "busybox:latest"}, {Name: "c", Image: "busybox:latest"},
	}
	w, h := newTestWorker(t, pod)
	h.CreateBarrier = 3
	runWorker(t, w)
	eventually(t, "a, b and c running", 10*time.Second, func() bool {
		return running(w, "a") && running(w, "b") && running(w, "c")
	})
	if most := h.MaxCreates(); most != 3 {
		t.Errorf("at most %d creates in flight, want all 3 at once", most)
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// R50, R54: a delete runs preStop, then the stop signal, then SIGKILL when
// the grace runs out (never sooner than 2 s after preStop); grace 0 skips
// preStop and kills at once.
func TestKillWithPreStopAndGrace_R50(t *testing.T) {
	for _, tc := range []struct {
		name      string
		grace     int64
		preStop   bool
		wantSigs  []syscall.Signal
		termAfter time.Duration // the stop signal comes no sooner
		killAfter time.Duration // SIGKILL comes no sooner
	}{
		{"grace 3 s, preStop sleeps 1 s", 3, true, []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}, time.Second, 3 * time.Second},
		{"grace 1 s, no preStop", 1, false, []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}, 0, time.Second},
		{"grace 0: SIGKILL only, preStop skipped", 0, true, []syscall.Signal{syscall.SIGKILL}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod("kill")
			if tc.preStop {
				pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}}
			}
			w, h := newTestWorker(t, pod)
			h.IgnoreTerm = true // the container holds on until SIGKILL
			runWorker(t, w)
			eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
			start := time.Now()
			deleteAndWait(t, w, tc.grace)
			sigs := h.SignalsTo("app-0")
			if len(sigs) != len(tc.wantSigs) {
				t.Fatalf("signals %+v, want %v", sigs, tc.wantSigs)
			}
			for i, s := range sigs {
				if s.Sig != tc.wantSigs[i] {
					t.Errorf("signal %d is %v, want %v", i, s.Sig, tc.wantSigs[i])
				}
			}
			if d := sigs[0].At.Sub(start); len(sigs) > 1 && d < tc.termAfter-50*time.Millisecond {
				t.Errorf("stop signal after %v, before preStop could end (%v)", d, tc.termAfter)
			}
			if d := sigs[len(sigs)-1].At.Sub(start); d < tc.killAfter-50*time.Millisecond {
				t.Errorf("SIGKILL after %v, want no sooner than %v", d, tc.killAfter)
			}
			if tc.grace == 0 && hasEvent(w, corev1.EventTypeWarning, "FailedPreStopHook") {
				t.Error("preStop ran with grace 0")
			}
			checkNoLeaks(t, h)
		})
	}
}

// A stop waits for the instance's exit on the shim's events, not by asking
// the shim over and over: 200 pods stopping at once each asked 40 times a
// second, and the State calls took both cores (issue 13: a default-grace
// delete of 200 pods whose containers exit on TERM took 16 s).
func TestStopWaitsOnEventsNotPolls(t *testing.T) {
	w, h := newTestWorker(t, testPod("stop"))
	h.TermExitAfter = time.Second // as `trap 'exit 0' TERM; while :; do sleep 1; done`
	runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	before := h.Count("shim.state")
	start := time.Now()
	deleteAndWait(t, w, 30)
	took := time.Since(start)
	if sigs := h.SignalsTo("app-0"); len(sigs) != 1 || sigs[0].Sig != syscall.SIGTERM {
		t.Fatalf("signals %+v, want one SIGTERM", sigs)
	}
	if took < h.TermExitAfter {
		t.Fatalf("the pod was gone after %v, before its container exited (%v)", took, h.TermExitAfter)
	}
	// The worker's own rounds observe a few times; a poll every 25 ms asks
	// about 40 times in the second the container takes.
	if n := h.Count("shim.state") - before; n > 12 {
		t.Errorf("the shim was asked for its state %d times while one container took %v to exit on TERM; want it to wait on the exit event", n, h.TermExitAfter)
	}
	checkNoLeaks(t, h)
}

// The worker follows the shim's events again when the stream ends while the
// shim lives on (a subscriber that fell behind is dropped by the shim), also
// when the first tries to open it again fail; stops then still wake on the
// exit event.
func TestShimEventsFollowedAgainAfterTheStreamEnds(t *testing.T) {
	w, h := newTestWorker(t, testPod("events"))
	h.TermExitAfter = 300 * time.Millisecond
	runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	eventually(t, "events followed", 10*time.Second, func() bool { return h.Count("shim.events") == 1 })
	h.Script("shim.events", podworkertest.FaultError, 2)
	h.EndEventStreams(w.deps.Layout.ShimDir(w.uid))
	eventually(t, "events followed again after two failed tries", 10*time.Second, func() bool { return h.Count("shim.events") == 4 })
	before := h.Count("shim.state")
	deleteAndWait(t, w, 30)
	if n := h.Count("shim.state") - before; n > 10 {
		t.Errorf("the shim was asked for its state %d times during a stop of %v; want it to wait on the exit event", n, h.TermExitAfter)
	}
	checkNoLeaks(t, h)
}

// An exit while the worker is not yet subscribed to the shim's events (a
// stream opened again, or after a daemon restart) is seen once the
// subscription is up, not at the safety resync a minute later.
func TestExitBeforeTheEventsSubscriptionIsSeen(t *testing.T) {
	pod := testPod("subscribe")
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	w, h := newTestWorker(t, pod)
	runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	h.EventsGate = make(chan struct{})
	h.EndEventStreams(w.deps.Layout.ShimDir(w.uid))
	eventually(t, "events asked for again", 10*time.Second, func() bool { return h.Count("shim.events") >= 2 })
	h.ExitContainers(w.deps.Layout.ShimDir(w.uid), func(st *shimv1.ContainerState) bool { return st.GetId() != spec.PauseID }, 0)
	close(h.EventsGate)
	eventually(t, "the exit seen", 10*time.Second, func() bool { return !running(w, "app") })
	deleteAndWait(t, w, 0)
}
