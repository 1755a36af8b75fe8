package podworker

import (
	"encoding/json"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// Published is a snapshot of the pod as clients see it, shared by every
// reader until the worker publishes the next: read without the worker's
// lock, and encoded once however often it is listed.
type Published struct {
	// Pod must not be modified: it is every reader's.
	Pod *corev1.Pod

	once sync.Once
	json []byte
	err  error
}

// NewPublished makes pod a snapshot; pod is the snapshot's from now on.
func NewPublished(pod *corev1.Pod) *Published { return &Published{Pod: pod} }

// JSON is the pod's encoding, made by the first caller.
func (p *Published) JSON() ([]byte, error) {
	p.once.Do(func() { p.json, p.err = json.Marshal(p.Pod) })
	return p.json, p.err
}

// Published returns the pod's current published snapshot. It never waits
// for the worker, whatever the worker is doing.
func (w *Worker) Published() *Published { return w.published.Load() }

// Snapshot returns a copy of the pod with its current status.
func (w *Worker) Snapshot() *corev1.Pod { return w.Published().Pod.DeepCopy() }

// publish makes snap what readers see and returns it; snap is theirs from
// now on.
func (w *Worker) publish(snap *corev1.Pod) *Published {
	p := NewPublished(snap)
	w.published.Store(p)
	return p
}
