package podworker

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/internal/limiter"
)

// checkingStore is a StateStore that, at every save, checks that what
// clients could read (the worker's snapshot) was already on disk: the status
// and deletion shown never run ahead of the last state written.
type checkingStore struct {
	StateStore
	mu       sync.Mutex
	w        *Worker
	saved    string // status and deletion of the last state written
	failures []string
}

// durablePart is what a client sees of a pod that must survive a crash.
func durablePart(status corev1.PodStatus, deleting bool) string {
	status.Phase = "" // the snapshot defaults an empty phase to Pending
	b, _ := json.Marshal(struct {
		S corev1.PodStatus
		D bool
	}{status, deleting})
	return string(b)
}

func (s *checkingStore) SaveState(uid string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		snap := s.w.Snapshot()
		if shown := durablePart(snap.Status, snap.DeletionTimestamp != nil); shown != s.saved {
			s.failures = append(s.failures, shown)
		}
	}
	var st State
	if err := json.Unmarshal(v.(json.RawMessage), &st); err != nil {
		return err
	}
	if err := s.StateStore.SaveState(uid, v); err != nil {
		return err
	}
	s.saved = durablePart(st.Status, st.Deletion != nil)
	return nil
}

// A client never reads a status or a deletion that a crash could lose: the
// worker writes its state before it publishes it (a kill -9 between the two
// used to show a restart count, or a deletion, that the restarted daemon
// did not know).
func TestPublishedStatusIsOnDiskFirst(t *testing.T) {
	pod := testPod("durable")
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "side", Image: "busybox:latest"})
	h := podworkertest.NewHost()
	deps := testDeps(t, h)
	if err := diskStore(deps).SavePod(pod); err != nil {
		t.Fatal(err)
	}
	cs := &checkingStore{StateStore: deps.Store}
	deps.Store = cs
	w := New(deps, pod, nil)
	cs.mu.Lock()
	cs.w, cs.saved = w, durablePart(w.Snapshot().Status, false)
	cs.mu.Unlock()
	runWorker(t, w)
	eventually(t, "both containers running", 10*time.Second, func() bool { return running(w, "app") && running(w, "side") })
	deleteAndWait(t, w, 0)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.failures) > 0 {
		t.Fatalf("%d times a client could read a state not yet written; first: %s\nwritten: %s", len(cs.failures), cs.failures[0], cs.saved)
	}
	checkNoLeaks(t, h)
}

// countingStore counts state writes and keeps the last one.
type countingStore struct {
	StateStore
	mu    sync.Mutex
	saves int
	last  State
}

func (s *countingStore) SaveState(uid string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if err := json.Unmarshal(v.(json.RawMessage), &s.last); err != nil {
		return err
	}
	return s.StateStore.SaveState(uid, v)
}

// A new pod's first round writes its state once before the sandbox's first
// step: the round's status goes to disk with the sandbox's intent, not in a
// write of its own just before it (one durable write less on every
// start's critical path). Watchers still hear of the round's status, once
// it is written.
func TestFirstRoundCommitsWithTheSandboxIntent(t *testing.T) {
	pod := testPod("intent")
	deps, h := savedPodDeps(t, pod)
	cs := &countingStore{StateStore: deps.Store}
	deps.Store = cs
	var notified []string
	var mu sync.Mutex
	deps.OnChange = func(p *Published) {
		mu.Lock()
		notified = append(notified, string(p.Pod.Status.Phase))
		mu.Unlock()
	}
	type atPin struct {
		saves    int
		creating string
		phase    corev1.PodPhase
		notified int
	}
	pins := make(chan atPin, 10)
	h.OnStep("network.pin", func() {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		pins <- atPin{cs.saves, cs.last.SandboxCreating, cs.last.Status.Phase, len(notified)}
	})
	w := New(deps, pod, nil)
	runWorker(t, w)
	var first atPin
	select {
	case first = <-pins:
	case <-time.After(10 * time.Second):
		t.Fatal("no sandbox was made")
	}
	if first.saves != 1 {
		t.Errorf("state written %d times before the sandbox's first step, want 1 (the intent, with the round's status)", first.saves)
	}
	if first.creating == "" || first.phase != corev1.PodPending {
		t.Errorf("state on disk at the first step: creating %q, phase %q; want the intent and the round's Pending", first.creating, first.phase)
	}
	if first.notified != 1 {
		t.Errorf("watchers notified %d times before the sandbox's first step, want 1 (the round's status)", first.notified)
	}
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A first round whose sandbox waits for the work budget writes its status
// before it waits: clients never wait on other pods' starts to see it.
func TestFirstRoundWaitingForTheBudgetWritesFirst(t *testing.T) {
	pod := testPod("budget")
	deps, h := savedPodDeps(t, pod)
	cs := &countingStore{StateStore: deps.Store}
	deps.Store = cs
	notified := make(chan corev1.PodPhase, 10)
	deps.OnChange = func(p *Published) { notified <- p.Pod.Status.Phase }
	deps.Work = limiter.New(1)
	hold, _ := deps.Work.Acquire(context.Background(), limiter.Maintain)
	w := New(deps, pod, nil)
	runWorker(t, w)
	select {
	case phase := <-notified:
		if phase != corev1.PodPending {
			t.Errorf("watchers heard phase %q, want Pending", phase)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the round's status was not published while its sandbox waited for the budget")
	}
	cs.mu.Lock()
	saves, creating := cs.saves, cs.last.SandboxCreating
	cs.mu.Unlock()
	if saves != 1 || creating != "" {
		t.Errorf("while waiting: %d writes, creating %q; want the round's status written, no intent", saves, creating)
	}
	if h.Count("network.pin") != 0 {
		t.Fatal("the sandbox was made while the budget was held")
	}
	hold()
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}
