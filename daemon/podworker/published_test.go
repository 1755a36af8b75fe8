package podworker

import (
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A pod is read (a list, a get) without waiting for its worker: a worker
// holds its lock while it encodes its state or takes the planner's output,
// and on a busy host a holder can lose its CPU for tens of ms; a list of
// 200 pods that queued behind such holders was the tail of its latency in
// a burst of starts.
func TestReadingAPodDoesNotWaitForItsWorker(t *testing.T) {
	w, _ := newTestWorker(t, testPod("busy"))
	w.mu.Lock()
	defer w.mu.Unlock()
	read := make(chan struct{})
	go func() {
		defer close(read)
		w.Snapshot()
		if _, err := w.Published().JSON(); err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-read:
	case <-time.After(5 * time.Second):
		t.Fatal("reading the pod waited for its worker's lock")
	}
}

// The published pod's JSON is the encoding of the snapshot that carries
// it, made again for each new snapshot; what a reader does with its copy
// changes neither.
func TestPublishedPodJSONFollowsTheSnapshot(t *testing.T) {
	w, _ := newTestWorker(t, testPod("pub"))
	first := w.Published()
	checkJSON(t, first, w.Snapshot())

	mine := w.Snapshot()
	mine.Labels = map[string]string{"changed": "by a reader"}
	mine.Status.Phase = corev1.PodFailed
	checkJSON(t, w.Published(), w.Snapshot())
	if w.Snapshot().Status.Phase == corev1.PodFailed {
		t.Fatal("a reader's copy changed the worker's snapshot")
	}

	runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	if w.Published() == first {
		t.Fatal("the pod started but its published snapshot is the first one")
	}
	checkJSON(t, w.Published(), w.Snapshot())
	deleteAndWait(t, w, 0)
}

func checkJSON(t *testing.T, p *Published, snap *corev1.Pod) {
	t.Helper()
	got, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("published JSON\n%s\nwant (the snapshot's)\n%s", got, want)
	}
}
