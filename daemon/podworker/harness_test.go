package podworker

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podd-dev/podd/daemon/events"
	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/probes"
)

// testPod is a pod with one app container; edit it before newTestWorker.
func testPod(uid string) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: types.UID("uid-" + uid)},
		Spec: corev1.PodSpec{
			NodeName:                      "node",
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: &grace,
			DNSPolicy:                     corev1.DNSDefault,
			Containers:                    []corev1.Container{{Name: "app", Image: "busybox:latest", ImagePullPolicy: corev1.PullIfNotPresent}},
		},
	}
}

// testDeps wires a worker to host h, with its state under a temp dir.
func testDeps(t testing.TB, h *podworkertest.Host) *Deps {
	dir := t.TempDir()
	layout := store.Layout{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run"), CgroupParent: "/podd-fake"}
	st, err := store.Open(layout)
	if err != nil {
		t.Fatal(err)
	}
	resolv := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 10.0.0.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pm := probes.NewManager(probes.Config{})
	t.Cleanup(pm.Close)
	return &Deps{
		Layout: layout, Store: st, Images: h, Network: h, Shims: podworkertest.Shims[ShimClient]{Host: h}, Volumes: h, Rootfs: h,
		Probes: pm, Events: events.New(time.Now),
		Planner:    planner.Config{BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond},
		ShimBinary: "/fake/podd-shim", PauseBinary: "/fake/podd-pause",
		ResolvConf: resolv, NodeIP: "192.0.2.1",
		RuntimeTimeout: 2 * time.Second,
	}
}

// newTestWorker returns a worker for pod on a fresh fake host.
func newTestWorker(t testing.TB, pod *corev1.Pod) (*Worker, *podworkertest.Host) {
	deps, h := savedPodDeps(t, pod)
	return New(deps, pod, nil), h
}

// savedPodDeps returns the deps of a worker for pod, accepted (saved) on a
// fake host, for a test to change before it makes the worker.
func savedPodDeps(t testing.TB, pod *corev1.Pod) (*Deps, *podworkertest.Host) {
	h := podworkertest.NewHost()
	deps := testDeps(t, h)
	if err := diskStore(deps).SavePod(pod); err != nil {
		t.Fatal(err)
	}
	return deps, h
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hasEvent reports whether the pod has an event with reason.
func hasEvent(w *Worker, typ, reason string) bool {
	for _, e := range w.deps.Events.Pod(w.uid) {
		if e.Type == typ && e.Reason == reason {
			return true
		}
	}
	return false
}

// diskStore is the store testDeps made.
func diskStore(deps *Deps) *store.Store { return deps.Store.(*store.Store) }
