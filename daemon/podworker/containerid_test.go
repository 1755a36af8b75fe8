package podworker

import (
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/store"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

var containerIDForm = regexp.MustCompile(`^podd://[0-9a-f]{64}$`)

func appStatus(w *Worker) corev1.ContainerStatus {
	for _, cs := range w.Snapshot().Status.ContainerStatuses {
		if cs.Name == "app" {
			return cs
		}
	}
	return corev1.ContainerStatus{}
}

// exitApp makes the app's running instance exit with code 1, as its process
// would.
func exitApp(t *testing.T, w *Worker, h *podworkertest.Host) {
	t.Helper()
	isApp := func(c *shimv1.ContainerState) bool { return c.GetLabels()[labelContainer] == "app" }
	if !h.ExitContainers(w.deps.Layout.ShimDir(w.uid), isApp, 1) {
		t.Fatal("no shim")
	}
	w.poke()
}

// Issue 8 item 7: every instance gets its own random 64-hex container ID,
// the same after a daemon restart, never given to the next instance.
func TestContainerIDIsUniquePerInstanceAndSurvivesRestart(t *testing.T) {
	w, h := newTestWorker(t, testPod("cid"))
	stop := runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	first := appStatus(w).ContainerID
	if !containerIDForm.MatchString(first) {
		t.Fatalf("containerID %q, want podd://<64 hex>", first)
	}

	w2 := restart(t, w, stop)
	stop2 := runWorker(t, w2)
	<-w2.Reconciled()
	eventually(t, "app running after the restart", 10*time.Second, func() bool { return running(w2, "app") })
	if got := appStatus(w2).ContainerID; got != first {
		t.Fatalf("containerID after a daemon restart %q, want %q", got, first)
	}

	exitApp(t, w2, h)
	eventually(t, "app restarted", 10*time.Second, func() bool {
		cs := appStatus(w2)
		return cs.RestartCount == 1 && cs.State.Running != nil
	})
	cs := appStatus(w2)
	if cs.ContainerID == first || !containerIDForm.MatchString(cs.ContainerID) {
		t.Errorf("restarted instance has containerID %q (first was %q): want a new one", cs.ContainerID, first)
	}
	if last := cs.LastTerminationState.Terminated; last == nil || last.ContainerID != first {
		t.Errorf("lastState %+v, want the first instance's containerID %s", last, first)
	}
	second := cs.ContainerID

	w3 := restart(t, w2, stop2)
	runWorker(t, w3)
	<-w3.Reconciled()
	eventually(t, "app running after the second restart", 10*time.Second, func() bool { return running(w3, "app") })
	if cs := appStatus(w3); cs.ContainerID != second || cs.LastTerminationState.Terminated.ContainerID != first {
		t.Errorf("after a daemon restart: containerID %q lastState %q, want %q and %q",
			cs.ContainerID, cs.LastTerminationState.Terminated.ContainerID, second, first)
	}
	deleteAndWait(t, w3, 0)
	checkNoLeaks(t, h)
}

// Issue 8 item 7, upgrade: a state written before container IDs existed
// (containerID podd://<key>, no stored ID) restores with IDs derived from
// the pod and the instance key, the same ones an unlabelled instance of the
// old shim is observed with; a new instance then gets a random ID.
func TestRestoreOfLegacyStateDerivesStableContainerIDs(t *testing.T) {
	pod := testPod("legacy")
	uid := string(pod.UID)
	old := func(key string) *corev1.ContainerStateTerminated {
		return &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", ContainerID: "podd://" + key}
	}
	legacy := func() *State {
		return &State{
			History: planner.History{Containers: map[string]planner.ContainerHistory{
				"app": {RestartCount: 1, InstanceID: "app-1", LastTermination: old("app-0")},
			}},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", ContainerID: "podd://app-1", RestartCount: 1,
				State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
				LastTerminationState: corev1.ContainerState{Terminated: old("app-0")},
			}}},
		}
	}
	want1 := planner.ContainerIDPrefix + store.LegacyContainerID(uid, "app-1")
	want0 := planner.ContainerIDPrefix + store.LegacyContainerID(uid, "app-0")

	w, _ := newTestWorker(t, pod)
	w = New(w.deps, pod, legacy())
	if got := w.state.History.Containers["app"].ContainerID; planner.ContainerIDPrefix+got != want1 {
		t.Errorf("history containerID %q, want %q", got, want1)
	}
	if got := w.state.History.Containers["app"].LastTermination.ContainerID; got != want0 {
		t.Errorf("history lastState containerID %q, want %q", got, want0)
	}
	cs := appStatus(w)
	if cs.ContainerID != want1 || cs.LastTerminationState.Terminated.ContainerID != want0 {
		t.Errorf("restored status shows %q (last %q), want %q (last %q)",
			cs.ContainerID, cs.LastTerminationState.Terminated.ContainerID, want1, want0)
	}
	// The old shim's instance has no container ID label.
	w.mu.Lock()
	i := w.instance(&shimv1.ContainerState{Id: "app-1", Labels: map[string]string{labelContainer: "app"}})
	w.mu.Unlock()
	if planner.ContainerIDPrefix+i.ContainerID != want1 || i.Restart != 1 {
		t.Errorf("unlabelled instance observed as %q restart %d, want %q restart 1", i.ContainerID, i.Restart, want1)
	}
	// A second restore derives the same IDs; a stored ID is kept.
	if again := New(w.deps, pod, legacy()); again.state.History.Containers["app"].ContainerID != w.state.History.Containers["app"].ContainerID {
		t.Error("derived containerID differs between restores")
	}
	st := legacy()
	h := st.History.Containers["app"]
	h.ContainerID = store.NewContainerID()
	st.History.Containers["app"] = h
	if got := New(w.deps, pod, st).state.History.Containers["app"].ContainerID; got != h.ContainerID {
		t.Errorf("stored containerID %q replaced by %q", h.ContainerID, got)
	}
}
