package podworker

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/runtime/spec"
	"github.com/podd-dev/podd/runtime/volume"
)

// ObjectChanged tells the worker that a ConfigMap or Secret of its
// namespace that its pod refers to was applied: the next round rewrites
// its configMap, secret and projected volumes (one ..data swap each, as
// the kubelet's sync does) and looks again at whatever waits for it.
func (w *Worker) ObjectChanged() {
	w.mu.Lock()
	w.refresh = projects(w.pod)
	w.mu.Unlock()
	w.poke()
}

// projects reports whether pod has a volume written from objects.
func projects(pod *corev1.Pod) bool {
	for i := range pod.Spec.Volumes {
		if volume.Projects(&pod.Spec.Volumes[i]) {
			return true
		}
	}
	return false
}

// refreshVolumes prepares the volumes of a pod whose sandbox exists again
// when an object changed (or the daemon restarted: it may have changed
// meanwhile). It runs in the loop, between rounds, so never beside a
// sandbox's creation or teardown. A failure keeps the old content, as the
// kubelet does, and is the pod's event.
func (w *Worker) refreshVolumes(ctx context.Context) {
	w.mu.Lock()
	todo := w.refresh && w.state.Sandbox != nil && w.state.Deletion == nil
	w.refresh = false
	w.mu.Unlock()
	if !todo {
		return
	}
	vols, err := w.deps.volumes().Prepare(ctx, w.pod, w.deps.Layout.PodDir(w.uid))
	if err != nil {
		slog.Warn("Refresh volumes", "pod", w.key, "uid", w.uid, "err", err)
		w.event(corev1.EventTypeWarning, "FailedMount", "", "MountVolume.SetUp failed: "+err.Error())
		return
	}
	w.mu.Lock()
	w.volumes = vols
	w.mu.Unlock()
}

// objects is the pod's namespace's ConfigMaps and Secrets for env, nil
// when the daemon gave none.
func (w *Worker) objects() spec.Objects {
	if w.deps.Objects == nil {
		return nil
	}
	return w.deps.Objects(w.pod.Namespace)
}

// warnInvalidEnv records the envFrom keys of c that are skipped because
// they are not env var names (the kubelet's event); never a value.
func (w *Worker) warnInvalidEnv(c *corev1.Container, fp string) {
	for _, msg := range spec.InvalidEnvFrom(c, w.pod.Namespace, w.objects()) {
		w.event(corev1.EventTypeWarning, "InvalidEnvironmentVariableNames", fp, msg)
	}
}
