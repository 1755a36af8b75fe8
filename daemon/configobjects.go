package daemon

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/manifest"
)

// namespaceObjects is the ConfigMaps and Secrets of one namespace as the
// pods' volumes and env read them (runtime/volume.Objects, spec.Objects).
type namespaceObjects struct {
	o  *objects
	ns string
}

func (n namespaceObjects) ConfigMap(name string) (*corev1.ConfigMap, bool) {
	obj, ok := n.o.get(resConfigMaps, n.ns, name)
	if !ok {
		return nil, false
	}
	cm, ok := obj.(*corev1.ConfigMap)
	return cm, ok
}

func (n namespaceObjects) Secret(name string) (*corev1.Secret, bool) {
	obj, ok := n.o.get(resSecrets, n.ns, name)
	if !ok {
		return nil, false
	}
	s, ok := obj.(*corev1.Secret)
	return s, ok
}

// objectApplied pushes a created or changed ConfigMap or Secret to the
// workers of the pods of its namespace that refer to it: their volumes
// are rewritten and what waits for it is looked at again at once.
func (d *Daemon) objectApplied(obj manifest.Object) {
	kind := manifest.KindOf(obj)
	if kind != manifest.KindConfigMap && kind != manifest.KindSecret {
		return
	}
	for _, e := range d.pods.list() {
		if p := e.worker.Snapshot(); p != nil && p.Namespace == obj.GetNamespace() && refersTo(p, kind, obj.GetName()) {
			e.worker.ObjectChanged()
		}
	}
}

// refersTo reports whether pod reads the ConfigMap or Secret name: in a
// volume, an env var, an envFrom or (a Secret) imagePullSecrets.
func refersTo(pod *corev1.Pod, kind, name string) bool {
	cm := kind == manifest.KindConfigMap
	for _, v := range pod.Spec.Volumes {
		switch {
		case cm && v.ConfigMap != nil && v.ConfigMap.Name == name,
			!cm && v.Secret != nil && v.Secret.SecretName == name:
			return true
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if (cm && s.ConfigMap != nil && s.ConfigMap.Name == name) || (!cm && s.Secret != nil && s.Secret.Name == name) {
					return true
				}
			}
		}
	}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, f := range c.EnvFrom {
			if (cm && f.ConfigMapRef != nil && f.ConfigMapRef.Name == name) || (!cm && f.SecretRef != nil && f.SecretRef.Name == name) {
				return true
			}
		}
		for _, e := range c.Env {
			if s := e.ValueFrom; s != nil && ((cm && s.ConfigMapKeyRef != nil && s.ConfigMapKeyRef.Name == name) ||
				(!cm && s.SecretKeyRef != nil && s.SecretKeyRef.Name == name)) {
				return true
			}
		}
	}
	if !cm {
		for _, r := range pod.Spec.ImagePullSecrets {
			if r.Name == name {
				return true
			}
		}
	}
	return false
}
