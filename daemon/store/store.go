package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/runtime/atomicfile"
)

// Store persists accepted pods and their worker state under Layout.Root.
type Store struct {
	Layout Layout
}

// Open makes sure the directories exist and returns the store.
func Open(l Layout) (*Store, error) {
	for _, d := range []string{l.PodsDir(), l.ImagesDir(), l.CNICacheDir(), l.RunRoot} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	return &Store{Layout: l}, nil
}

// SavePod writes the accepted pod atomically, creating its directory.
func (s *Store) SavePod(pod *corev1.Pod) error {
	uid := string(pod.UID)
	if err := os.MkdirAll(s.Layout.PodDir(uid), 0o700); err != nil {
		return fmt.Errorf("save pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	data, err := json.Marshal(pod)
	if err != nil {
		return fmt.Errorf("save pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if err := atomicfile.WriteFile(s.Layout.PodFile(uid), data, 0o600); err != nil {
		return fmt.Errorf("save pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// LoadPods reads every accepted pod. A pod directory without a readable
// pod.json (a crash before the first write finished) is removed.
func (s *Store) LoadPods() ([]*corev1.Pod, error) {
	ents, err := os.ReadDir(s.Layout.PodsDir())
	if err != nil {
		return nil, fmt.Errorf("load pods: %w", err)
	}
	var pods []*corev1.Pod
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		data, err := os.ReadFile(s.Layout.PodFile(e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load pod %s: %w", e.Name(), err)
		}
		pod := &corev1.Pod{}
		if err := json.Unmarshal(data, pod); err != nil {
			return nil, fmt.Errorf("load pod %s: %w", e.Name(), err)
		}
		pods = append(pods, pod)
	}
	return pods, nil
}

// SaveState writes a pod's worker state atomically.
func (s *Store) SaveState(uid string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("save state of pod %s: %w", uid, err)
	}
	if err := atomicfile.WriteFile(s.Layout.StateFile(uid), data, 0o600); err != nil {
		return fmt.Errorf("save state of pod %s: %w", uid, err)
	}
	return nil
}

// LoadState reads a pod's worker state into v. A missing file leaves v alone
// and returns nil.
func (s *Store) LoadState(uid string, v any) error {
	data, err := os.ReadFile(s.Layout.StateFile(uid))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load state of pod %s: %w", uid, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("load state of pod %s: %w", uid, err)
	}
	return nil
}

// RemovePod deletes the pod's persistent directory (spec, state, logs) and
// its run directory. Mounts below them must be gone already.
func (s *Store) RemovePod(uid string) error {
	if err := os.RemoveAll(s.Layout.PodDir(uid)); err != nil {
		return fmt.Errorf("remove pod %s: %w", uid, err)
	}
	if err := os.RemoveAll(s.Layout.ShimDir(uid)); err != nil {
		return fmt.Errorf("remove pod %s: %w", uid, err)
	}
	return nil
}
