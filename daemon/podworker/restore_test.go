package podworker

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/network"
	"github.com/podd-dev/podd/runtime/shim"
)

// restart stops w's loop (a daemon shutdown: the pod keeps running) and
// returns a new worker for the same pod from its persisted state, as the
// daemon's restore does.
func restart(t *testing.T, w *Worker, stop func()) *Worker {
	t.Helper()
	return restartWith(t, w, stop, w.deps)
}

// restartWith is restart with the new daemon's deps.
func restartWith(t *testing.T, w *Worker, stop func(), deps *Deps) *Worker {
	t.Helper()
	stop()
	st := &State{}
	if q, err := diskStore(w.deps).LoadState(w.uid, st); err != nil || q != nil {
		t.Fatalf("load state: %v %v", q, err)
	}
	return New(deps, w.pod, st)
}

// waitReconciled waits for w's first round after a restart.
func waitReconciled(t *testing.T, w *Worker) {
	t.Helper()
	select {
	case <-w.Reconciled():
	case <-time.After(10 * time.Second):
		t.Fatal("restored worker never reconciled")
	}
}

// noRestarts fails the test for each of w's containers that restarted.
func noRestarts(t *testing.T, w *Worker) {
	t.Helper()
	for _, cs := range w.Snapshot().Status.ContainerStatuses {
		if cs.RestartCount != 0 {
			t.Errorf("container %s restarted %d times", cs.Name, cs.RestartCount)
		}
	}
}

// After a daemon restart the worker reconnects to the running shim: same
// sandbox, same container instance, no restart.
func TestRestoreReconnectsWithoutRestart(t *testing.T) {
	w, h := newTestWorker(t, testPod("restore"))
	stop := runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	w.mu.Lock()
	sb := w.state.Sandbox.ID
	w.mu.Unlock()
	launches := h.Count("shim.launch")

	w2 := restart(t, w, stop)
	runWorker(t, w2)
	waitReconciled(t, w2)
	eventually(t, "app running after the restart", 10*time.Second, func() bool { return running(w2, "app") })
	w2.mu.Lock()
	sb2 := w2.state.Sandbox.ID
	w2.mu.Unlock()
	if sb2 != sb || h.Count("shim.launch") != launches {
		t.Errorf("sandbox %s → %s, launches %d → %d: the restart replaced the sandbox", sb, sb2, launches, h.Count("shim.launch"))
	}
	noRestarts(t, w2)
	deleteAndWait(t, w2, 0)
	checkNoLeaks(t, h)
}

// A creation a crash cut short is undone before anything else: its shim is
// killed and its network torn down, then a new sandbox is made.
func TestRestoreUndoesInterruptedCreation(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   func(id string) *State
	}{
		{"SandboxCreating recorded", func(id string) *State { return &State{SandboxCreating: id} }},
		{"state file lost (SandboxUnknown)", func(string) *State { return &State{SandboxUnknown: true} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := podworkertest.NewHost()
			deps := testDeps(t, h)
			pod := testPod("crashed")
			if err := diskStore(deps).SavePod(pod); err != nil {
				t.Fatal(err)
			}
			// What the interrupted creation left: a network and a shim.
			const old = "0123456789abcdef"
			ctx := context.Background()
			if _, err := h.Setup(ctx, network.SetupRequest{SandboxID: old}); err != nil {
				t.Fatal(err)
			}
			if _, err := h.LaunchShim(ctx, shim.LaunchConfig{StateDir: deps.Layout.ShimDir(string(pod.UID))}); err != nil {
				t.Fatal(err)
			}
			w := New(deps, pod, tc.st(old))
			runWorker(t, w)
			eventually(t, "app running in a new sandbox", 10*time.Second, func() bool { return running(w, "app") })
			if h.Count("shim.kill") == 0 {
				t.Error("the old shim was not killed")
			}
			w.mu.Lock()
			creating, unknown := w.state.SandboxCreating, w.state.SandboxUnknown
			w.mu.Unlock()
			if creating != "" || unknown {
				t.Errorf("state still says creating %q, unknown %v", creating, unknown)
			}
			deleteAndWait(t, w, 0)
			if tc.name == "SandboxCreating recorded" && h.HasNetwork(old) {
				t.Error("the interrupted creation's network is still there")
			}
			h.ForgetNetwork(old) // otherwise the start-up GC's (not in any record)
			checkNoLeaks(t, h)
		})
	}
}

// A pod deleted while its sandbox is being created ends with nothing left:
// the creation finishes or fails, then the delete tears it all down.
func TestDeleteDuringCreate(t *testing.T) {
	for _, step := range []string{"volumes.prepare", "network.setup", "shim.launch", "pause.create", "image.get", "image.layers", "container.create"} {
		t.Run(step, func(t *testing.T) {
			w, h := newTestWorker(t, testPod("delete-during-create"))
			w.deps.RuntimeTimeout = 300 * time.Millisecond
			h.Script(step, podworkertest.FaultHang, 1)
			runWorker(t, w)
			eventually(t, "the hanging step reached", 10*time.Second, func() bool { return h.Count(step) > 0 })
			deleteAndWait(t, w, 0)
			checkNoLeaks(t, h)
			if p := w.Snapshot().Status.Phase; p == corev1.PodRunning {
				t.Errorf("removed pod still reports %s", p)
			}
		})
	}
}

// A shim that does not answer after a restart is not lost: the worker
// keeps trying without evidence that it is gone (shim.ErrGone), and keeps
// the sandbox and its containers once it answers.
func TestRestoreWaitsForASilentShim(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fault      podworkertest.FaultKind
		times      int
		kill       bool
		newSandbox bool
	}{
		{"connect fails twice", podworkertest.FaultError, 2, false, false},
		{"connect fails once", podworkertest.FaultError, 1, false, false},
		{"shim gone: evidence", podworkertest.FaultNone, 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, h := newTestWorker(t, testPod("silent"))
			stop := runWorker(t, w)
			eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
			w.mu.Lock()
			sb := w.state.Sandbox.ID
			w.mu.Unlock()
			if tc.fault != podworkertest.FaultNone {
				h.Script("shim.connect", tc.fault, tc.times)
			}
			if tc.kill {
				h.KillShim(w.deps.Layout.ShimDir(w.uid))
			}
			w2 := restart(t, w, stop)
			runWorker(t, w2)
			waitReconciled(t, w2)
			eventually(t, "app running after the restart", 10*time.Second, func() bool {
				w2.mu.Lock()
				moved := w2.state.Sandbox != nil && w2.state.Sandbox.ID != sb
				w2.mu.Unlock()
				return moved == tc.newSandbox && running(w2, "app")
			})
			w2.mu.Lock()
			sb2 := w2.state.Sandbox.ID
			w2.mu.Unlock()
			if (sb2 != sb) != tc.newSandbox {
				t.Errorf("sandbox %s → %s; want a new one: %v", sb, sb2, tc.newSandbox)
			}
			if n := h.Count("shim.connect"); n < tc.times+1 && !tc.kill {
				t.Errorf("%d connects, want at least %d", n, tc.times+1)
			}
			deleteAndWait(t, w2, 0)
			checkNoLeaks(t, h)
		})
	}
}

// A container that was ready before a daemon restart stays ready after it
// until its readiness probe fails its threshold again (R47), as one that
// had started keeps its startup probe passed: a fresh probe worker started
// not ready, so every restored pod left its Services' endpoints until its
// next probe success (the Service issue's kill -9 test lost requests).
func TestRestoreKeepsReadinessUntilTheProbeFails(t *testing.T) {
	var code atomic.Int32
	code.Store(http.StatusOK)
	pod := probedPod(t, "ready", &code)
	pod.Spec.Containers[0].StartupProbe = pod.Spec.Containers[0].ReadinessProbe.DeepCopy()
	pod.Spec.Containers[0].StartupProbe.FailureThreshold = 30
	w, h := newTestWorker(t, pod)
	pumpProbes(w)
	stop := runWorker(t, w)
	eventually(t, "pod ready", 10*time.Second, func() bool { return podReady(w) })

	// The daemon restarts with a new probe manager, and the app now fails
	// its probes.
	code.Store(http.StatusInternalServerError)
	w2 := restartWithNewProbes(t, w, stop)
	runWorker(t, w2)
	waitReconciled(t, w2)
	if !podReady(w2) {
		t.Fatalf("the restored pod is not ready before any probe ran: %+v", w2.Snapshot().Status.Conditions)
	}
	eventually(t, "a failed readiness run", 10*time.Second, func() bool { return hasEvent(w2, corev1.EventTypeWarning, "Unhealthy") })
	if !podReady(w2) {
		// One failed run (of a period of 1 s) is below the threshold of 3.
		t.Errorf("one failed readiness run took the readiness away: %+v", w2.Snapshot().Status.Conditions)
	}
	eventually(t, "not ready once the threshold is reached", 15*time.Second, func() bool { return !podReady(w2) })
	for _, cs := range w2.Snapshot().Status.ContainerStatuses {
		if cs.RestartCount != 0 || cs.Started == nil || !*cs.Started {
			t.Errorf("container %s after the restart: restarts %d, started %v", cs.Name, cs.RestartCount, cs.Started)
		}
	}
	deleteAndWait(t, w2, 0)
	checkNoLeaks(t, h)
}
