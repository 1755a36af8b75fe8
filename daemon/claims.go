package daemon

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/runtime/volume"
)

// claimVolumes is the workers' Volumes on this host: runtime/volume, with
// a persistentVolumeClaim volume resolved to its claim's directory in the
// pod's namespace, configMap, secret and projected volumes to the objects
// of that namespace.
type claimVolumes struct{ d *Daemon }

func (v claimVolumes) Prepare(ctx context.Context, pod *corev1.Pod, podDir string) (map[string]string, error) {
	return volume.PrepareWith(ctx, pod, podDir, volume.Sources{
		Claims: func(name string) (string, error) {
			return v.d.claimDir(pod.Namespace, name)
		},
		Objects: namespaceObjects{o: v.d.objects, ns: pod.Namespace},
	})
}

func (claimVolumes) Cleanup(ctx context.Context, podDir string) error {
	return volume.Cleanup(ctx, podDir)
}

// claimDir returns the volume of claim name in ns, created if a crash
// lost it; a claim that does not exist is an error the pod's events show
// (the sandbox creation is retried with its back-off until it is applied).
func (d *Daemon) claimDir(ns, name string) (string, error) {
	if _, ok := d.objects.get(resClaims, ns, name); !ok {
		return "", fmt.Errorf("persistentvolumeclaim %q %w", name, volume.ErrClaimNotFound)
	}
	return d.store.EnsureClaimDir(ns, name)
}

// claimUser returns "namespace/name" of a pod not yet removed that has a
// volume of claim name in ns, or "". The caller holds applyMu, so no pod
// using it is applied meanwhile.
func (d *Daemon) claimUser(ns, name string) string {
	for _, e := range d.pods.list() {
		p := e.worker.Snapshot()
		if p.Namespace == ns && usesClaim(p, name) {
			return podKey(p.Namespace, p.Name)
		}
	}
	return ""
}

func usesClaim(p *corev1.Pod, claim string) bool {
	for _, v := range p.Spec.Volumes {
		if c := v.PersistentVolumeClaim; c != nil && c.ClaimName == claim {
			return true
		}
	}
	return false
}
