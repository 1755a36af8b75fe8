package podworker

import (
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// Recorder takes the worker's figures (the daemon's metrics). Deps leaves
// it nil to record nothing.
type Recorder interface {
	// StartPhase records how long one phase of a start of kind ("sandbox",
	// "container") took; phase "total" is the whole start.
	StartPhase(kind, phase string, took time.Duration)
	// ContainerRestarted counts an instance that replaced an earlier one.
	ContainerRestarted()
}

// Start kinds and phases, as the debug line and the histogram name them.
const (
	kindSandbox   = "sandbox"
	kindContainer = "container"
	phaseTotal    = "total"
	// kindRemoval times a deleted pod's removal (debug line only).
	kindRemoval = "removal"
)

// phaseTime is how long one named phase of a start took.
type phaseTime struct {
	name string
	took time.Duration
}

// startTiming times the phases of one sandbox or container start, or of a
// pod's removal (kindRemoval): each mark closes the phase that ran since
// the previous mark.
type startTiming struct {
	kind   string
	begun  time.Time
	last   time.Time
	phases []phaseTime
	// sides are steps that ran beside the phases (not part of the total).
	sides []phaseTime
}

// side records a step that ran beside the phases.
func (t *startTiming) side(name string, took time.Duration) {
	t.sides = append(t.sides, phaseTime{name: name, took: took})
}

func newStartTiming(kind string, now time.Time) *startTiming {
	return &startTiming{kind: kind, begun: now, last: now}
}

// mark ends phase name at now; on nil it does nothing.
func (t *startTiming) mark(name string, now time.Time) {
	if t == nil {
		return
	}
	t.phases = append(t.phases, phaseTime{name: name, took: now.Sub(t.last)})
	t.last = now
}

// attrs renders the phases (and the total up to the last mark) as log
// attributes with stable keys, in milliseconds.
func (t *startTiming) attrs() []any {
	out := make([]any, 0, len(t.phases)+len(t.sides)+1)
	for _, p := range t.phases {
		out = append(out, slog.Float64(p.name, ms(p.took)))
	}
	for _, p := range t.sides {
		out = append(out, slog.Float64(p.name, ms(p.took)))
	}
	return append(out, slog.Float64(phaseTotal, ms(t.last.Sub(t.begun))))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// finishStart reports a finished start: one debug line ("Start timing":
// pod, uid, kind, id, ok, phases_ms.<phase>) and, for a start that
// succeeded, one histogram sample per phase and one for the total.
func (w *Worker) finishStart(t *startTiming, id string, err error) {
	if t == nil {
		return
	}
	slog.Debug("Start timing", "pod", w.key, "uid", w.uid, "kind", t.kind, "id", id, "ok", err == nil,
		slog.Group("phases_ms", t.attrs()...))
	if err != nil || w.deps.Recorder == nil {
		return
	}
	for _, p := range slices.Concat(t.phases, t.sides) {
		w.deps.Recorder.StartPhase(t.kind, p.name, p.took)
	}
	w.deps.Recorder.StartPhase(t.kind, phaseTotal, t.last.Sub(t.begun))
}

// markParts ends phase name at now, split into parts whose durations the
// callee measured; name keeps what the parts do not cover.
func (t *startTiming) markParts(name string, now time.Time, parts ...phaseTime) {
	rest := now.Sub(t.last)
	for _, p := range parts {
		rest -= p.took
		t.phases = append(t.phases, p)
	}
	t.phases = append(t.phases, phaseTime{name: name, took: max(rest, 0)})
	t.last = now
}

// shimPhases are the steps the shim timed in a CreateContainer call (none
// when the call failed).
func shimPhases(resp *shimv1.CreateContainerResponse) []phaseTime {
	var out []phaseTime
	for _, p := range resp.GetPhases() {
		out = append(out, phaseTime{name: p.GetName(), took: time.Duration(p.GetNanos())})
	}
	return out
}

// prefixed names phases as steps of a larger one ("pause_libcontainer_start").
func prefixed(prefix string, phases []phaseTime) []phaseTime {
	for i := range phases {
		phases[i].name = prefix + phases[i].name
	}
	return phases
}

// Pod start: kind "pod", phase "total" is acceptance → every app container
// running, as the kubelet's pod start duration.
const kindPod = "pod"

// recordPodStart records, once, how long a newly accepted pod took to have
// all its app containers running.
func (w *Worker) recordPodStart(st *corev1.PodStatus) {
	if w.startRecorded || w.accepted.IsZero() || !allRunning(w.pod, st) {
		return
	}
	w.startRecorded = true
	took := time.Since(w.accepted)
	slog.Debug("Pod running", "pod", w.key, "uid", w.uid, "since_accept_ms", ms(took))
	if w.deps.Recorder != nil {
		w.deps.Recorder.StartPhase(kindPod, phaseTotal, took)
	}
}

// allRunning says whether status st of pod has every container running.
func allRunning(pod *corev1.Pod, st *corev1.PodStatus) bool {
	if st.Phase != corev1.PodRunning || len(st.ContainerStatuses) != len(pod.Spec.Containers) {
		return false
	}
	for _, cs := range st.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

// finishRemoval reports a pod's removal: one debug line ("Removal
// timing": pod, uid, ok, since_delete_ms from the delete request,
// phases_ms.<phase>).
func (w *Worker) finishRemoval(t *startTiming, err error) {
	w.mu.Lock()
	var since float64
	if d := w.state.Deletion; d != nil && !d.RequestedAt.IsZero() {
		since = ms(t.last.Sub(d.RequestedAt))
	}
	w.mu.Unlock()
	slog.Debug("Removal timing", "pod", w.key, "uid", w.uid, "ok", err == nil, "since_delete_ms", since,
		slog.Group("phases_ms", t.attrs()...))
}
