package podworker

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/internal/limiter"
)

// runWorker runs w until the test ends and returns a func that stops it (a
// daemon shutdown) and waits until Run returned.
func runWorker(t *testing.T, w *Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		w.Run(ctx)
	}()
	stop = func() {
		cancel()
		<-stopped
	}
	t.Cleanup(stop)
	return stop
}

func phase(w *Worker) corev1.PodPhase { return w.Snapshot().Status.Phase }

func running(w *Worker, name string) bool {
	for _, cs := range w.Snapshot().Status.ContainerStatuses {
		if cs.Name == name && cs.State.Running != nil {
			return true
		}
	}
	return false
}

// deleteAndWait deletes the pod with grace and waits until it is removed.
func deleteAndWait(t *testing.T, w *Worker, grace int64) {
	t.Helper()
	w.Delete(&grace)
	select {
	case <-w.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("pod not removed 20 s after delete; phase %s", phase(w))
	}
}

func checkNoLeaks(t *testing.T, h *podworkertest.Host) {
	t.Helper()
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// The worker brings a pod up through the fakes and takes it all down again.
func TestRunCreatesAndRemovesPod(t *testing.T) {
	w, h := newTestWorker(t, testPod("run"))
	runWorker(t, w)
	eventually(t, "container app running", 10*time.Second, func() bool { return running(w, "app") })
	if phase(w) != corev1.PodRunning {
		t.Errorf("phase %s, want Running", phase(w))
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A panic in a sandbox step is the pod's failure: an event, a failed sandbox
// with back-off, then a retry that succeeds; the daemon (this test) lives.
func TestPanicInSandboxStepFailsTheSandbox(t *testing.T) {
	w, h := newTestWorker(t, testPod("panic-setup"))
	h.Script("network.setup", podworkertest.FaultPanic, 1)
	runWorker(t, w)
	eventually(t, "container app running after the retry", 10*time.Second, func() bool { return running(w, "app") })
	if !hasEvent(w, corev1.EventTypeWarning, EventWorkerPanic) {
		t.Error("no PodWorkerPanic event")
	}
	if !hasEvent(w, corev1.EventTypeWarning, "FailedCreatePodSandBox") {
		t.Error("the panic was not reported as a failed sandbox")
	}
	w.mu.Lock()
	bo := w.state.History.SandboxBackoff
	w.mu.Unlock()
	if bo.Delay <= 0 {
		t.Errorf("sandbox back-off %+v after the panic, want a delay", bo)
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A panic while starting an app container (in its own goroutine) tears the
// sandbox down; the next sandbox runs the container.
func TestPanicInContainerStartFailsTheSandbox(t *testing.T) {
	w, h := newTestWorker(t, testPod("panic-start"))
	h.Script("container.create", podworkertest.FaultPanic, 1)
	runWorker(t, w)
	eventually(t, "container app running in a second sandbox", 10*time.Second, func() bool {
		return h.Count("shim.launch") >= 2 && running(w, "app")
	})
	if !hasEvent(w, corev1.EventTypeWarning, EventWorkerPanic) {
		t.Error("no PodWorkerPanic event")
	}
	if n := h.Count("network.teardown"); n < 1 {
		t.Error("the first sandbox was not torn down")
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A worker that panics every round backs off (planner settings: 20 ms
// doubling to 100 ms) instead of spinning, and the pod can still be deleted.
func TestPanicEveryRoundBacksOff(t *testing.T) {
	w, h := newTestWorker(t, testPod("panic-always"))
	h.Script("network.setup", podworkertest.FaultPanic, 0)
	runWorker(t, w)
	eventually(t, "three panics", 10*time.Second, func() bool { return h.Count("network.setup") >= 3 })
	n0 := h.Count("network.setup")
	time.Sleep(500 * time.Millisecond) // a window to count calls in, not a wait for a state
	if n := h.Count("network.setup") - n0; n > 12 {
		t.Errorf("%d sandbox attempts in 500 ms: no back-off", n)
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// Issue 13: the host's cgroup migrations are warmed before each step that
// migrates a process: a sandbox's creation before anything of it is made
// (its shim's launch migrates the shim), a container's before the shim is
// asked (its init is migrated), so the kernel's wait runs beside the
// intent's write and the create child's start.
func TestWarmsMigrationsBeforeSandboxAndContainerCreation(t *testing.T) {
	w, h := newTestWorker(t, testPod("warm"))
	type seen struct{ launched, created int }
	var mu sync.Mutex
	var calls []seen
	w.deps.WarmMigrations = func() {
		mu.Lock()
		calls = append(calls, seen{h.Count("shim.launch"), h.Count("container.create") + h.Count("container.hold")})
		mu.Unlock()
	}
	runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	mu.Lock()
	got := slices.Clone(calls)
	mu.Unlock()
	if len(got) == 0 || got[0] != (seen{0, 0}) {
		t.Fatalf("warm-ups (shims launched, containers created before each) %v: want the first before the shim's launch", got)
	}
	if !slices.Contains(got, seen{1, 0}) {
		t.Fatalf("warm-ups (shims launched, containers created before each) %v: want one after the launch, before the container's creation", got)
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A daemon shutdown while a pod's sandbox waits for the work budget ends
// the worker. It used to go round at once: the wait ended with the
// context, the round asked to act again at once, and the loop never looked
// at the context (with the budget held, it spun; in the daemon, until a
// slot freed and it made the sandbox with the cancelled context).
func TestWorkerStopsWhileItsSandboxWaitsForTheBudget(t *testing.T) {
	h := podworkertest.NewHost()
	deps := testDeps(t, h)
	deps.Work = limiter.New(1)
	hold, _ := deps.Work.Acquire(context.Background(), limiter.Maintain)
	defer hold()
	w := New(deps, testPod("budget-stop"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		w.Run(ctx)
	}()
	eventually(t, "the sandbox waiting for the budget", 10*time.Second, func() bool { return deps.Work.Stats().Waiting == 1 })
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not return after its context ended")
	}
	if h.Count("network.pin") != 0 {
		t.Fatal("a sandbox was made while the budget was held")
	}
}

// A sandbox creation cut short by the daemon's stop is not the pod's
// failure: nothing of it is left, no failure is recorded (which the next
// daemon would back off on), and the next daemon makes the sandbox at once.
func TestStopDuringSandboxCreationRecordsNoFailure(t *testing.T) {
	pod := testPod("stop-creating")
	deps, h := savedPodDeps(t, pod)
	h.AddGate = make(chan struct{})
	w := New(deps, pod, nil)
	stop := runWorker(t, w)
	eventually(t, "the sandbox's network being set up", 10*time.Second, func() bool { return h.Count("network.pin") == 1 })
	w2 := restart(t, w, stop)
	h.AddGate = nil
	w2.mu.Lock()
	failure := w2.state.SandboxFailure
	w2.mu.Unlock()
	if failure != nil {
		t.Errorf("the stop's cancellation recorded as the pod's failure: %+v", failure)
	}
	runWorker(t, w2)
	eventually(t, "app running after the restart", 10*time.Second, func() bool { return running(w2, "app") })
	if n := h.Count("network.pin"); n != 2 {
		t.Errorf("%d sandbox attempts, want 2 (the cut one, then the next daemon's)", n)
	}
	deleteAndWait(t, w2, 0)
	checkNoLeaks(t, h)
}

// A container start cut short by the daemon's stop is not the container's
// failure either: no start failure is recorded for the next daemon to back
// off on.
func TestStopDuringContainerStartRecordsNoFailure(t *testing.T) {
	pod := testPod("stop-starting")
	deps, h := savedPodDeps(t, pod)
	h.Script("container.create", podworkertest.FaultHang, 0)
	w := New(deps, pod, nil)
	stop := runWorker(t, w)
	eventually(t, "the container being created", 10*time.Second, func() bool { return h.Count("container.create") >= 1 })
	stop()
	w.mu.Lock()
	failures := maps.Clone(w.state.StartFailures)
	w.mu.Unlock()
	if len(failures) != 0 {
		t.Errorf("the stop's cancellation recorded as start failures: %+v", failures)
	}
	w2 := restart(t, w, stop)
	h.Script("container.create", podworkertest.FaultNone, 0)
	runWorker(t, w2)
	eventually(t, "app running after the restart", 10*time.Second, func() bool { return running(w2, "app") })
	deleteAndWait(t, w2, 0)
	checkNoLeaks(t, h)
}
