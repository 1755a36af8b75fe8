package podworker

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/probes"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/spec"
)

// probedPod is testPod with a readiness probe (period 1 s, threshold 3)
// against a server of the test that answers with code.
func probedPod(t *testing.T, uid string, code *atomic.Int32) *corev1.Pod {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(int(code.Load())) }))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	pod := testPod(uid)
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "127.0.0.1", Port: intstr.FromInt32(int32(port)), Path: "/"}},
		PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
	}
	return pod
}

// pumpProbes hands w's probe updates to w, as the daemon does.
func pumpProbes(w *Worker) {
	go func() {
		for u := range w.deps.Probes.Updates() {
			w.ProbeUpdate(u)
		}
	}()
}

// podReady reports the pod's Ready condition.
func podReady(w *Worker) bool {
	for _, c := range w.Snapshot().Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// restartWithNewProbes is restart with the new daemon's own probe manager
// (the probes live in the daemon), its updates pumped to the new worker.
func restartWithNewProbes(t *testing.T, w *Worker, stop func()) *Worker {
	t.Helper()
	deps := *w.deps
	deps.Probes = probes.NewManager(probes.Config{})
	t.Cleanup(deps.Probes.Close)
	w2 := restartWith(t, w, stop, &deps)
	pumpProbes(w2)
	return w2
}

// probing reports whether w's probe manager runs the readiness probe of
// instance id of container app.
func probing(w *Worker, id string) bool {
	_, ok := w.deps.Probes.Get(probes.ContainerKey{PodUID: w.uid, Container: "app", InstanceID: id}, probes.Readiness)
	return ok
}

// A container running after a daemon restart gets its probes back however
// the restarted worker first finds it running: also when the shim did not
// answer the reconnect's first look (a busy host), or when its start was
// still under way in the shim then (the daemon was killed while the shim
// started it). Without its readiness probe the pod never became ready
// again, and a Deployment's rollout waited on it for ever.
func TestRestoredContainerGetsItsProbes(t *testing.T) {
	app := func(c *shimv1.ContainerState) bool { return c.GetId() != spec.PauseID }
	for _, tc := range []struct {
		name string
		// before runs on the host between the two daemons; after, once the
		// restored worker reconciled.
		before, after func(h *podworkertest.Host, shimDir string)
	}{
		{"the reconnect's look fails", func(h *podworkertest.Host, _ string) { h.Script("shim.state", podworkertest.FaultError, 1) }, nil},
		{"the start still under way", func(h *podworkertest.Host, dir string) { h.StartingContainers(dir, app) },
			func(h *podworkertest.Host, dir string) { h.FinishStarts(dir) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var code atomic.Int32
			code.Store(http.StatusOK)
			w, h := newTestWorker(t, probedPod(t, "reprobe", &code))
			pumpProbes(w)
			stop := runWorker(t, w)
			eventually(t, "pod ready", 10*time.Second, func() bool { return podReady(w) })
			dir := w.deps.Layout.ShimDir(w.uid)
			tc.before(h, dir)
			w2 := restartWithNewProbes(t, w, stop)
			runWorker(t, w2)
			waitReconciled(t, w2)
			if tc.after != nil {
				tc.after(h, dir)
			}
			eventually(t, "the readiness probe of app-0 running again", 5*time.Second, func() bool { return probing(w2, "app-0") })
			eventually(t, "pod ready", 5*time.Second, func() bool { return podReady(w2) })
			noRestarts(t, w2)
			deleteAndWait(t, w2, 0)
			checkNoLeaks(t, h)
		})
	}
}
