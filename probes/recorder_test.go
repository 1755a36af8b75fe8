package probes

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

type fakeRecorder struct {
	mu   sync.Mutex
	runs []string
}

func (r *fakeRecorder) ProbeRan(probeType, result string, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, probeType+" "+result)
}

func (r *fakeRecorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.runs)
}

// Every run is recorded with the kubelet's probe_type and result labels.
func TestManager_RecordsEveryRun(t *testing.T) {
	h := newHarness(t)
	rec := &fakeRecorder{}
	h.m.recorder = rec
	start := &fakeProber{script: []result{f(), s()}}
	h.add(key1, Startup, h.probe("start", start, nil))
	h.waitCalls(start, 1)
	h.clock.Advance(10 * time.Second)
	h.waitCalls(start, 2)
	want := []string{"startup failed", "startup successful"}
	testutil.WaitFor(t, 5*time.Second, "two runs recorded", func() (bool, error) { return len(rec.got()) >= 2, nil })
	if got := rec.got(); !slices.Equal(got, want) {
		t.Errorf("recorded %v, want %v", got, want)
	}
}
