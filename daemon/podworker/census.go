package podworker

import corev1 "k8s.io/api/core/v1"

// Census is what one pod counts for the daemon's gauges.
type Census struct {
	// SandboxRunning: the pod has a sandbox; Shim: the worker is connected
	// to its shim.
	SandboxRunning, Shim bool
	// RunningContainers counts the running init and app containers.
	RunningContainers int
}

// Census counts what the pod runs now, without a call to its shim.
func (w *Worker) Census() Census {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := Census{SandboxRunning: w.state.Sandbox != nil, Shim: w.shim != nil}
	snap := w.Published().Pod
	for _, list := range [][]corev1.ContainerStatus{snap.Status.InitContainerStatuses, snap.Status.ContainerStatuses} {
		for _, cs := range list {
			if cs.State.Running != nil {
				c.RunningContainers++
			}
		}
	}
	return c
}

// RunningInstances maps each running container's name to its instance
// key, the name of its cgroup under the pod cgroup.
func (w *Worker) RunningInstances() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]string{}
	snap := w.Published().Pod
	for _, list := range [][]corev1.ContainerStatus{snap.Status.InitContainerStatuses, snap.Status.ContainerStatuses} {
		for _, cs := range list {
			if h, ok := w.state.History.Containers[cs.Name]; ok && cs.State.Running != nil && h.InstanceID != "" {
				out[cs.Name] = h.InstanceID
			}
		}
	}
	return out
}
