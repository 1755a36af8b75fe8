package podworker

import (
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podd-dev/podd/daemon/planner"
)

// richOutput is a planner output for w's pod with conditions and a running
// container, as in the rounds of a started pod.
func richOutput(w *Worker) planner.Output {
	now := metav1.NewTime(time.Unix(1_700_000_000, 0))
	st := w.state.Status
	st.Phase = corev1.PodRunning
	st.PodIP, st.PodIPs = "10.88.0.2", []corev1.PodIP{{IP: "10.88.0.2"}}
	for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		st.Conditions = append(st.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	st.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: "busybox:latest", ImageID: "sha256:0123", ContainerID: "podd://0123",
		Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
	return planner.Output{Status: st, History: planner.History{Containers: map[string]planner.ContainerHistory{"app": {InstanceID: "i1"}}}}
}

// A round whose planner output changes nothing (most rounds of a running
// pod) encodes the output once to compare it, not the worker's state
// again too: the encoding of what the worker committed last is kept.
func TestCommitOfUnchangedOutputEncodesOnce(t *testing.T) {
	w, _ := newTestWorker(t, testPod("commit"))
	out := richOutput(w)
	w.commit(out, false)
	if w.Snapshot().Status.Phase != corev1.PodRunning {
		t.Fatal("the first commit did not publish the output")
	}
	published := w.Published()
	commit := testing.AllocsPerRun(50, func() { w.commit(out, false) })
	if w.Published() != published {
		t.Fatal("a commit of an unchanged output published again")
	}
	encode := testing.AllocsPerRun(50, func() {
		json.Marshal(struct {
			H planner.History
			S corev1.PodStatus
		}{out.History, out.Status})
	})
	if commit > encode*1.5 {
		t.Errorf("a commit of an unchanged output made %.0f allocations; one encoding of it makes %.0f", commit, encode)
	}
}

// A change after an unchanged round is still seen: the kept encoding
// follows every commit.
func TestCommitSeesAChangeAfterUnchangedRounds(t *testing.T) {
	w, _ := newTestWorker(t, testPod("commit2"))
	out := richOutput(w)
	w.commit(out, false)
	w.commit(out, false)
	out2 := richOutput(w)
	out2.Status.ContainerStatuses[0].RestartCount = 1
	w.commit(out2, false)
	if got := w.Snapshot().Status.ContainerStatuses[0].RestartCount; got != 1 {
		t.Fatalf("restart count after a changed commit = %d, want 1", got)
	}
	w.commit(out, false)
	if got := w.Snapshot().Status.ContainerStatuses[0].RestartCount; got != 0 {
		t.Fatalf("restart count after the change was undone = %d, want 0", got)
	}
}

// Issue 13: a created sandbox is written by the next round's commit, even
// a round whose planner output changed nothing, and before that round acts:
// the disk never lacks the sandbox its containers run in.
func TestCommitWritesACreatedSandboxInAnUnchangedRound(t *testing.T) {
	w, _ := newTestWorker(t, testPod("commit3"))
	out := richOutput(w)
	w.commit(out, false)
	// As makeTimedSandbox leaves it.
	w.mu.Lock()
	w.state.SandboxCreating = ""
	w.state.Sandbox = &Sandbox{ID: "sb-1", IP: "10.88.0.2"}
	w.unsaved = true
	w.mu.Unlock()
	onDisk := func() *State {
		var st State
		if _, err := diskStore(w.deps).LoadState(w.uid, &st); err != nil {
			t.Fatal(err)
		}
		return &st
	}
	if st := onDisk(); st.Sandbox != nil {
		t.Fatalf("sandbox on disk before the commit: %+v", st.Sandbox)
	}
	w.commit(out, false)
	if st := onDisk(); st.Sandbox == nil || st.Sandbox.ID != "sb-1" || st.SandboxCreating != "" {
		t.Fatalf("on disk after an unchanged commit: sandbox %+v, creating %q; want sandbox sb-1", st.Sandbox, st.SandboxCreating)
	}
	// Written once: the next unchanged round writes nothing.
	published := w.Published()
	w.commit(out, false)
	if w.Published() != published {
		t.Fatal("a second unchanged commit wrote and published again")
	}
}
