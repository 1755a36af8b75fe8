package podworker

import (
	"fmt"

	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/runtime/idmap"
)

// userNamespace returns the user namespace of a pod with hostUsers: false:
// the one its state holds (every sandbox of the pod has the same), else a
// block of the daemon's range, recorded in the state, which the caller
// persists before it makes anything. nil for a pod in the host's.
func (w *Worker) userNamespace() (*idmap.Mappings, error) {
	if hu := w.pod.Spec.HostUsers; hu == nil || *hu {
		return nil, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state.UserNS != nil {
		return w.state.UserNS, nil
	}
	m, err := w.deps.UserNS.Allocate(w.uid)
	if err != nil {
		return nil, fmt.Errorf("user namespace of pod %s: %w", w.key, err)
	}
	w.state.UserNS = &m
	return &m, nil
}

// heldUserNamespace is the pod's user namespace as its state holds it.
func (w *Worker) heldUserNamespace() *idmap.Mappings {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state.UserNS
}

// reachContainerRoot lets the root of the pod's user namespace, if it has
// one, reach the container root in dir (sandbox.Searchable).
func (w *Worker) reachContainerRoot(ids *idmap.Mappings, dir string) error {
	if ids == nil {
		return nil
	}
	return sandbox.Searchable(w.deps.Layout.Root, dir)
}

// idmappedVolumes maps every volume of the pod to its user namespace's
// mappings, as the kubelet sets them on every mount of such a pod.
func idmappedVolumes(vols map[string]string, ids *idmap.Mappings) map[string]idmap.Mappings {
	if ids == nil {
		return nil
	}
	out := make(map[string]idmap.Mappings, len(vols))
	for name := range vols {
		out[name] = *ids
	}
	return out
}
