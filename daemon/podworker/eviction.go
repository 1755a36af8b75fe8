package podworker

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/runtime/diskusage"
	"github.com/podd-dev/podd/runtime/volume"
)

// CheckStorage measures each disk emptyDir of the pod that has a sizeLimit
// and, when one holds more, evicts the pod as the kubelet's eviction
// manager does (emptyDirLimitEviction): the planner fails it with reason
// Evicted and kills its containers at once. A pod that is finished, being
// deleted or already evicted is not measured. It reports whether the pod
// was evicted.
func (w *Worker) CheckStorage(ctx context.Context) bool {
	w.mu.Lock()
	skip := w.eviction != nil || w.state.Deletion != nil ||
		w.state.Status.Phase == corev1.PodSucceeded || w.state.Status.Phase == corev1.PodFailed
	w.mu.Unlock()
	if skip {
		return false
	}
	msg := w.storageOverLimit(ctx)
	if msg == "" {
		return false
	}
	slog.Info("Evicting pod", "pod", w.key, "uid", w.uid, "reason", planner.ReasonEvicted, "message", msg)
	w.mu.Lock()
	w.eviction = &planner.Eviction{Message: msg}
	w.mu.Unlock()
	w.poke()
	return true
}

// storageOverLimit returns the eviction message of the first disk emptyDir
// past its sizeLimit, or "". Memory emptyDirs are tmpfs mounts sized to
// their limit, and need no check.
func (w *Worker) storageOverLimit(ctx context.Context) string {
	dir := volume.VolumesDir(w.deps.Layout.PodDir(w.uid))
	for _, v := range w.pod.Spec.Volumes {
		e := v.EmptyDir
		if e == nil || e.Medium == corev1.StorageMediumMemory || e.SizeLimit == nil || e.SizeLimit.Sign() <= 0 {
			continue
		}
		// A partial count (ctx ended) is a lower bound: a limit it
		// already passes is passed.
		u, err := diskusage.Walk(ctx, filepath.Join(dir, v.Name))
		used := int64(u.Bytes)
		if err != nil && used <= e.SizeLimit.Value() {
			slog.Debug("measure emptyDir", "pod", w.key, "uid", w.uid, "volume", v.Name, "err", err)
			continue
		}
		if used > e.SizeLimit.Value() {
			return fmt.Sprintf("Usage of EmptyDir volume %q exceeds the limit %q.", v.Name, e.SizeLimit.String())
		}
	}
	return ""
}
