package volume

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/internal/undo"
	"github.com/podd-dev/podd/runtime/atomicdir"
	"github.com/podd-dev/podd/runtime/spec/downward"
)

// Objects finds the ConfigMaps and Secrets of the pod's namespace; ok is
// false for one that does not exist. What it returns is the caller's.
type Objects interface {
	ConfigMap(name string) (cm *corev1.ConfigMap, ok bool)
	Secret(name string) (s *corev1.Secret, ok bool)
}

// The default modes of projected files, as the API defaults them.
const (
	defaultConfigMapMode = corev1.ConfigMapVolumeSourceDefaultMode
	defaultSecretMode    = corev1.SecretVolumeSourceDefaultMode
	defaultProjectedMode = corev1.ProjectedVolumeSourceDefaultMode
)

// Projects reports whether v is written from objects (configMap, secret,
// projected): such a volume is rewritten when they change.
func Projects(v *corev1.Volume) bool {
	return v.ConfigMap != nil || v.Secret != nil || v.Projected != nil
}

// payload is the files of a projecting volume, keyed by path.
type payload map[string]atomicdir.File

// keyed is a ConfigMap's or Secret's data as the volume sees it.
type keyed struct {
	kind, name string
	data       map[string][]byte
}

func configMapData(objs Objects, name string) (keyed, bool) {
	k := keyed{kind: "configmap", name: name}
	if objs == nil {
		return k, false
	}
	cm, ok := objs.ConfigMap(name)
	if !ok {
		return k, false
	}
	k.data = make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for key, v := range cm.Data {
		k.data[key] = []byte(v)
	}
	for key, v := range cm.BinaryData {
		k.data[key] = v
	}
	return k, true
}

func secretData(objs Objects, name string) (keyed, bool) {
	k := keyed{kind: "secret", name: name}
	if objs == nil {
		return k, false
	}
	s, ok := objs.Secret(name)
	if !ok {
		return k, false
	}
	k.data = make(map[string][]byte, len(s.Data)+len(s.StringData))
	for key, v := range s.Data {
		k.data[key] = v
	}
	for key, v := range s.StringData {
		k.data[key] = []byte(v)
	}
	return k, true
}

// project adds the object's keys to out as the kubelet's MakePayload does:
// every key at its own name without items, else each item's key at its
// path. A missing object or key is an error wrapping ErrNotFound (the pod
// waits for it) unless optional, when it is left out.
func project(out payload, k keyed, found bool, items []corev1.KeyToPath, optional *bool, mode int32, group *int64) error {
	opt := optional != nil && *optional
	if !found {
		if opt {
			return nil
		}
		return fmt.Errorf("%s %q %w", k.kind, k.name, ErrNotFound)
	}
	if len(items) == 0 {
		for key, v := range k.data {
			out[key] = file(v, mode, group)
		}
		return nil
	}
	for _, it := range items {
		v, ok := k.data[it.Key]
		if !ok {
			if opt {
				continue
			}
			return fmt.Errorf("%s %q has no key %q: %w", k.kind, k.name, it.Key, ErrNotFound)
		}
		m := mode
		if it.Mode != nil {
			m = *it.Mode
		}
		out[path.Clean(it.Path)] = file(v, m, group)
	}
	return nil
}

// file is one projected file; with a pod fsGroup it belongs to that group
// and the group may read it (the kubelet's SetVolumeOwnership).
func file(data []byte, mode int32, group *int64) atomicdir.File {
	f := atomicdir.File{Data: data, Mode: os.FileMode(mode).Perm(), Group: group}
	if group != nil {
		f.Mode |= 0o440
	}
	return f
}

func fsGroup(pod *corev1.Pod) *int64 {
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		g := *sc.FSGroup
		return &g
	}
	return nil
}

func modeOr(m *int32, def int32) int32 {
	if m != nil {
		return *m
	}
	return def
}

// volumePayload computes the files of a configMap, secret or projected
// volume of pod from objs.
func volumePayload(pod *corev1.Pod, v *corev1.Volume, objs Objects) (payload, error) {
	out := payload{}
	g := fsGroup(pod)
	switch {
	case v.ConfigMap != nil:
		s := v.ConfigMap
		k, ok := configMapData(objs, s.Name)
		return out, project(out, k, ok, s.Items, s.Optional, modeOr(s.DefaultMode, defaultConfigMapMode), g)
	case v.Secret != nil:
		s := v.Secret
		k, ok := secretData(objs, s.SecretName)
		return out, project(out, k, ok, s.Items, s.Optional, modeOr(s.DefaultMode, defaultSecretMode), g)
	case v.Projected != nil:
		return out, projectSources(out, pod, v.Projected, objs, g)
	}
	return nil, errors.New("not a configMap, secret or projected volume")
}

// projectSources adds each source of a projected volume to out.
func projectSources(out payload, pod *corev1.Pod, p *corev1.ProjectedVolumeSource, objs Objects, g *int64) error {
	mode := modeOr(p.DefaultMode, defaultProjectedMode)
	for i, src := range p.Sources {
		var err error
		switch {
		case src.ConfigMap != nil:
			s := src.ConfigMap
			k, ok := configMapData(objs, s.Name)
			err = project(out, k, ok, s.Items, s.Optional, mode, g)
		case src.Secret != nil:
			s := src.Secret
			k, ok := secretData(objs, s.Name)
			err = project(out, k, ok, s.Items, s.Optional, mode, g)
		case src.DownwardAPI != nil:
			err = projectDownward(out, pod, src.DownwardAPI.Items, mode, g)
		default:
			err = errors.New("unsupported source")
		}
		if err != nil {
			return fmt.Errorf("sources[%d]: %w", i, err)
		}
	}
	return nil
}

func projectDownward(out payload, pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, mode int32, g *int64) error {
	for i, it := range items {
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = downward.FieldValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			val, err = downward.ResourceValue(pod, "", it.ResourceFieldRef, nodeAllocatable())
		default:
			err = errors.New("no source")
		}
		if err != nil {
			return fmt.Errorf("downwardAPI.items[%d]: %w", i, err)
		}
		out[path.Clean(it.Path)] = file([]byte(val), modeOr(it.Mode, mode), g)
	}
	return nil
}

// prepareProjection makes <podDir>/volumes/<name> (a tmpfs for a secret
// or a projected volume, so secrets never reach the disk) and writes the
// volume's files into it with the atomic-writer layout. Run again, it
// rewrites only what changed, in one swap.
func prepareProjection(pod *corev1.Pod, v *corev1.Volume, podDir string, objs Objects, rollback *undo.Stack) (string, error) {
	files, err := volumePayload(pod, v, objs)
	if err != nil {
		return "", err
	}
	if err := ensureVolumesDir(podDir); err != nil {
		return "", err
	}
	dir := filepath.Join(VolumesDir(podDir), v.Name)
	if _, err := mkdirOwned(dir, 0o755, rollback); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	if v.Secret != nil || v.Projected != nil {
		if err := mountTmpfs(dir, 0, "0755", rollback); err != nil {
			return "", err
		}
	}
	if _, err := atomicdir.Write(dir, files); err != nil {
		return "", err
	}
	return dir, nil
}
