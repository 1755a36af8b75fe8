package podworker

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
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
