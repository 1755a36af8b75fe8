package probes

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestManager_InitialStates(t *testing.T) {
	h := newHarness(t)
	for _, k := range []Kind{Startup, Liveness, Readiness} {
		fp := &fakeProber{hang: true}
		h.add(key1, k, h.probe(k.String(), fp, func(p *corev1.Probe) { p.InitialDelaySeconds = 60 }))
	}
	for k, want := range map[Kind]Result{Startup: Unknown, Liveness: Success, Readiness: Failure} {
		if got, ok := h.m.Get(key1, k); !ok || got != want {
			t.Errorf("Get(%s) = (%v, %v), want %v", k, got, ok, want)
		}
	}
	if _, ok := h.m.Get(ContainerKey{PodUID: "other"}, Liveness); ok {
		t.Error("Get of an unknown container reported a state")
	}
}

func TestManager_AddErrors(t *testing.T) {
	h := newHarness(t)
	h.add(key1, Liveness, h.probe("live", &fakeProber{}, nil))
	if err := h.m.Add(key1, Liveness, h.probe("live2", &fakeProber{}, nil), Target{}); err == nil {
		t.Error("adding the same probe twice succeeded")
	}
	if err := h.m.Add(key1, Startup, h.probe("start", &fakeProber{}, nil), Target{}); err == nil || !strings.Contains(err.Error(), "before") {
		t.Errorf("startup after liveness: err = %v, want an ordering error", err)
	}
	if err := h.m.Add(key1, Readiness, nil, Target{}); err == nil {
		t.Error("nil probe accepted")
	}
}

func TestManager_R43_StartupGatesLivenessAndReadiness(t *testing.T) {
	h := newHarness(t)
	start, live, ready := &fakeProber{script: []result{f(), s()}}, &fakeProber{script: []result{s()}}, &fakeProber{script: []result{s()}}
	h.add(key1, Startup, h.probe("start", start, nil))
	h.add(key1, Liveness, h.probe("live", live, nil))
	h.add(key1, Readiness, h.probe("ready", ready, nil))

	h.waitCalls(start, 1)
	h.clock.Advance(10 * time.Second)
	h.waitCalls(start, 2) // Success: the gate opens
	if got := h.next(); got.Kind != Startup || got.Result != Success {
		t.Fatalf("update = %+v, want Startup Success", got)
	}
	h.workerDone(key1, Startup)
	// Liveness and readiness run at once after the gate opens, not a period later.
	h.waitCalls(live, 1)
	h.waitCalls(ready, 1)
	if got := h.next(); got.Kind != Readiness || got.Result != Success {
		t.Fatalf("update = %+v, want Readiness Success", got)
	}
	h.clock.Advance(10 * time.Second)
	h.waitCalls(start, 2) // R43: startup is not run again
	h.waitCalls(live, 2)
}

func TestManager_R43_NoRunsBeforeStartupSucceeds(t *testing.T) {
	h := newHarness(t)
	start, live := &fakeProber{script: []result{f(), f(), f()}}, &fakeProber{}
	h.add(key1, Startup, h.probe("start", start, nil))
	h.add(key1, Liveness, h.probe("live", live, nil))
	h.waitCalls(start, 1)
	for i := 2; i <= 3; i++ {
		h.clock.Advance(10 * time.Second)
		h.waitCalls(start, i)
	}
	if got := h.next(); got.Kind != Startup || got.Result != Failure {
		t.Fatalf("update = %+v, want Startup Failure", got)
	}
	h.workerDone(key1, Startup)
	h.clock.Advance(time.Minute)
	if live.Calls() != 0 {
		t.Fatalf("liveness ran %d times though startup never succeeded", live.Calls())
	}
}

func TestManager_R46_OnHoldUntilNextInstance(t *testing.T) {
	h := newHarness(t)
	first := &fakeProber{script: []result{f()}}
	h.add(key1, Liveness, h.probe("first", first, func(p *corev1.Probe) { p.FailureThreshold = 1 }))
	h.waitCalls(first, 1)
	if got := h.next(); got.Result != Failure || got.Output != "bad" {
		t.Fatalf("update = %+v, want Failure with output", got)
	}
	h.workerDone(key1, Liveness)
	h.clock.Advance(time.Minute)
	h.waitCalls(first, 1) // on hold: no more runs for this instance

	h.m.RemoveContainer(key1)
	key2 := key1
	key2.InstanceID = "web-1"
	second := &fakeProber{script: []result{s(), f()}}
	h.add(key2, Liveness, h.probe("second", second, func(p *corev1.Probe) { p.FailureThreshold = 1 }))
	if got, _ := h.m.Get(key2, Liveness); got != Success {
		t.Fatalf("new instance starts at %v, want Success", got)
	}
	h.waitCalls(second, 1)
	h.clock.Advance(10 * time.Second)
	h.waitCalls(second, 2)
	if got := h.next(); got.Key != key2 || got.Result != Failure {
		t.Fatalf("update = %+v, want Failure of the new instance", got)
	}
}

func TestManager_R49_HangingProbeBlocksNoOtherPod(t *testing.T) {
	h := newHarness(t)
	keyA := ContainerKey{PodUID: "uid-a", Container: "a", InstanceID: "a-0"}
	keyB := ContainerKey{PodUID: "uid-b", Container: "b", InstanceID: "b-0"}
	hung, fine := &fakeProber{hang: true}, &fakeProber{script: []result{s(), f(), f(), f()}}
	h.add(keyA, Readiness, h.probe("hung", hung, nil))
	h.add(keyB, Readiness, h.probe("fine", fine, nil))
	h.waitCalls(hung, 1)
	h.waitCalls(fine, 1)
	for i := 2; i <= 4; i++ {
		h.clock.Advance(10 * time.Second)
		h.waitCalls(fine, i)
	}
	for _, want := range []Result{Success, Failure} {
		if got := h.next(); got.Key != keyB || got.Result != want {
			t.Fatalf("update = %+v, want %v of pod b", got, want)
		}
	}

	h.m.mu.Lock()
	hungWorker := h.m.workers[workerID{keyA, Readiness}]
	h.m.mu.Unlock()
	h.m.Remove("uid-a")
	select {
	case <-hungWorker.done: // the hanging run was cancelled
	case <-time.After(5 * time.Second):
		t.Fatal("removing the pod did not stop its hanging probe")
	}
	if _, ok := h.m.Get(keyA, Readiness); ok {
		t.Fatal("removed pod still has a probe state")
	}
	if _, ok := h.m.Get(keyB, Readiness); !ok {
		t.Fatal("Remove of pod a removed pod b's probe")
	}
}

func TestManager_NoUpdateAfterRemove(t *testing.T) {
	h := newHarness(t)
	fp := &fakeProber{script: []result{s()}}
	h.add(key1, Readiness, h.probe("p", fp, func(p *corev1.Probe) { p.InitialDelaySeconds = 1 }))
	h.waitTimers(1)
	h.m.RemoveContainer(key1)
	h.clock.Advance(time.Second)
	if fp.Calls() != 0 {
		t.Fatalf("removed probe ran %d times", fp.Calls())
	}
	h.noPending()
}

func TestManager_CloseClosesUpdates(t *testing.T) {
	m := NewManager(Config{Clock: newFakeClock()})
	fp := &fakeProber{hang: true}
	m.newProber = func(*corev1.Probe, Target) (prober, error) { return fp, nil }
	if err := m.Add(key1, Liveness, &corev1.Probe{}, Target{}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, ok := <-m.Updates(); ok {
		t.Fatal("Updates still open after Close")
	}
	if err := m.Add(key1, Readiness, &corev1.Probe{}, Target{}); err == nil {
		t.Fatal("Add after Close succeeded")
	}
}

// After a daemon restart, a probe the instance had passed resumes from
// there: readiness starts Success with no initial delay, and failed runs
// keep it ready until failureThreshold (a fresh worker reported each failed
// run as not ready, and the restored pod left its Services' endpoints until
// its first success); a startup probe already passed is not run again and
// does not hold liveness back.
func TestManager_ResumePassedProbes(t *testing.T) {
	h := newHarness(t)
	ready := &fakeProber{script: []result{f(), f(), f()}}
	if err := h.m.Resume(key1, Readiness, h.probe("ready", ready, func(p *corev1.Probe) { p.InitialDelaySeconds = 60 }), Target{}); err != nil {
		t.Fatal(err)
	}
	if got, ok := h.m.Get(key1, Readiness); !ok || got != Success {
		t.Fatalf("resumed readiness = (%v, %v), want Success", got, ok)
	}
	var results []Result
	for i := 1; i <= 3; i++ {
		if i > 1 {
			h.clock.Advance(10 * time.Second)
		}
		h.waitCalls(ready, i)
		select {
		case u := <-h.m.Updates(): // every failed run is reported
			h.received++
			results = append(results, u.Result)
		case <-time.After(5 * time.Second):
			t.Fatalf("no update for failed run %d", i)
		}
	}
	if want := []Result{Success, Success, Failure}; !slices.Equal(results, want) {
		t.Errorf("readiness after failed runs 1..3 = %v, want %v (ready until the threshold)", results, want)
	}

	key2 := ContainerKey{PodUID: "p", Container: "c2", InstanceID: "c2-0"}
	start, live := &fakeProber{script: []result{f()}}, &fakeProber{script: []result{s()}}
	if err := h.m.Resume(key2, Startup, h.probe("start", start, nil), Target{}); err != nil {
		t.Fatal(err)
	}
	h.add(key2, Liveness, h.probe("live", live, nil))
	h.waitCalls(live, 1) // not held behind the startup gate
	h.clock.Advance(time.Minute)
	h.waitCalls(live, 2)
	if start.Calls() != 0 {
		t.Errorf("a startup probe already passed ran %d times", start.Calls())
	}
}
