package podworker

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// fakeRecorder keeps what the worker recorded.
type fakeRecorder struct {
	mu       sync.Mutex
	phases   map[string][]string // kind → phases, in order
	restarts int
}

func (r *fakeRecorder) StartPhase(kind, phase string, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if took < 0 {
		panic("negative phase duration")
	}
	if r.phases == nil {
		r.phases = map[string][]string{}
	}
	r.phases[kind] = append(r.phases[kind], phase)
}

func (r *fakeRecorder) ContainerRestarted() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restarts++
}

func (r *fakeRecorder) restartCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.restarts
}

func (r *fakeRecorder) kinds(kind string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.phases[kind])
}

func TestStartTimingMarksConsecutivePhases(t *testing.T) {
	t0 := time.Unix(1000, 0)
	st := newStartTiming(kindSandbox, t0)
	st.mark("queue", t0.Add(10*time.Millisecond))
	st.markParts("network", t0.Add(110*time.Millisecond),
		phaseTime{"netns", 20 * time.Millisecond}, phaseTime{"cni_add", 70 * time.Millisecond})
	st.mark("shim", t0.Add(150*time.Millisecond))
	want := []phaseTime{{"queue", 10 * time.Millisecond}, {"netns", 20 * time.Millisecond},
		{"cni_add", 70 * time.Millisecond}, {"network", 10 * time.Millisecond}, {"shim", 40 * time.Millisecond}}
	if !slices.Equal(st.phases, want) {
		t.Errorf("phases %v, want %v", st.phases, want)
	}
	attrs := st.attrs()
	if len(attrs) != len(want)+1 {
		t.Fatalf("attrs %v: want one per phase and the total", attrs)
	}
	if last := attrs[len(attrs)-1]; last.(interface{ String() string }).String() != "total=150" {
		t.Errorf("last attr %v, want total=150", last)
	}
}

// Parts the callee measured longer than the phase (clock skew between the
// two) never make the remainder negative.
func TestStartTimingPartsNeverNegative(t *testing.T) {
	t0 := time.Unix(1000, 0)
	st := newStartTiming(kindSandbox, t0)
	st.markParts("network", t0.Add(time.Millisecond), phaseTime{"cni_add", 2 * time.Millisecond})
	if got := st.phases[1].took; got != 0 {
		t.Errorf("remainder %v, want 0", got)
	}
}

// A pod start through the fakes records every sandbox and container phase,
// each with a total, in the order they ran, and the shim side's steps
// (par_*, which ran beside the network) after them. With StartAhead the
// container is made while the network is set up (up to prestart) and its
// start is the release (held, start_call).
func TestStartPhasesRecorded(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		ahead                      bool
		wantSandbox, wantContainer []string
	}{
		{"as made", false,
			[]string{"queue", "cleanup", "persist_intent", "volumes", "netns", "cni_add", "network", "pod_files", "shim", "pause", "par_shim", "par_netns_wait", "par_pause", "total"},
			[]string{"image", "queue", "cleanup", "layers", "rootfs", "spec", "shim_call", "post_start", "total"}},
		{"made ahead", true,
			[]string{"queue", "cleanup", "persist_intent", "volumes", "netns", "cni_add", "network", "pod_files", "shim", "pause", "prestart", "par_shim", "par_netns_wait", "par_pause", "par_prestart", "total"},
			[]string{"image", "layers", "rootfs", "pause_wait", "spec", "shim_call", "held", "start_call", "post_start", "total"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod("timing")
			pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
			w, h := newTestWorker(t, pod)
			w.deps.StartAhead = tc.ahead
			rec := &fakeRecorder{}
			w.deps.Recorder = rec
			runWorker(t, w)
			eventually(t, "container app running", 10*time.Second, func() bool { return running(w, "app") })
			eventually(t, "container start recorded", 10*time.Second, func() bool { return len(rec.kinds(kindContainer)) > 0 })
			if got := rec.kinds(kindSandbox); !slices.Equal(got, tc.wantSandbox) {
				t.Errorf("sandbox phases %v, want %v", got, tc.wantSandbox)
			}
			if got := rec.kinds(kindContainer); !slices.Equal(got, tc.wantContainer) {
				t.Errorf("container phases %v, want %v", got, tc.wantContainer)
			}
			eventually(t, "pod start recorded", 10*time.Second, func() bool { return slices.Equal(rec.kinds(kindPod), []string{"total"}) })
			deleteAndWait(t, w, 0)
			checkNoLeaks(t, h)
		})
	}
}

// The shim's own timings split the CreateContainer call; the rest of the
// call is the round trip.
func TestShimPhasesSplitTheCall(t *testing.T) {
	t0 := time.Unix(1000, 0)
	st := newStartTiming(kindContainer, t0)
	resp := &shimv1.CreateContainerResponse{Phases: []*shimv1.StartPhase{
		{Name: "libcontainer_create", Nanos: int64(30 * time.Millisecond)},
		{Name: "libcontainer_start", Nanos: int64(50 * time.Millisecond)},
	}}
	st.markParts("pause", t0.Add(100*time.Millisecond), prefixed("pause_", shimPhases(resp))...)
	want := []phaseTime{{"pause_libcontainer_create", 30 * time.Millisecond}, {"pause_libcontainer_start", 50 * time.Millisecond}, {"pause", 20 * time.Millisecond}}
	if !slices.Equal(st.phases, want) {
		t.Errorf("phases %v, want %v", st.phases, want)
	}
	if got := shimPhases(nil); got != nil {
		t.Errorf("phases of a failed call %v, want none", got)
	}
}

// An instance that replaces one that exited counts as a restart; the first
// does not.
func TestRestartCounted(t *testing.T) {
	w, h := newTestWorker(t, testPod("restart"))
	rec := &fakeRecorder{}
	w.deps.Recorder = rec
	runWorker(t, w)
	eventually(t, "container app running", 10*time.Second, func() bool { return running(w, "app") })
	if got := rec.restartCount(); got != 0 {
		t.Fatalf("restarts %d after the first start, want 0", got)
	}
	if _, err := w.currentShim().Signal(context.Background(), &shimv1.SignalRequest{Id: "app-0", Signal: 15}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the restart counted", 20*time.Second, func() bool { return rec.restartCount() == 1 })
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}
