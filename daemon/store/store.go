package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
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
	return s.SavePods([]*corev1.Pod{pod})
}

// saveParallel bounds the pod files SavePods writes at once. A flush waits
// on the disk, not the CPU: the journal commits concurrent fsyncs together,
// so 200 pods take about a tenth of the time they take one by one.
const saveParallel = 32

// SavePods writes each accepted pod atomically, creating its directory, the
// fsyncs running side by side. When it fails, none of the pods is kept: the
// ones written are removed again.
func (s *Store) SavePods(pods []*corev1.Pod) error {
	var g errgroup.Group
	g.SetLimit(saveParallel)
	for _, pod := range pods {
		g.Go(func() error { return s.savePod(pod) })
	}
	err := g.Wait()
	if err == nil {
		return s.syncPodsDir()
	}
	for _, pod := range pods {
		if rerr := s.RemovePod(string(pod.UID)); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

func (s *Store) savePod(pod *corev1.Pod) error {
	uid := string(pod.UID)
	if err := os.MkdirAll(s.Layout.PodDir(uid), 0o700); err != nil {
		return fmt.Errorf("save pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	data, err := json.Marshal(pod)
	if err != nil {
		return fmt.Errorf("save pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if err := writeFile(s.Layout.PodFile(uid), data, 0o600); err != nil {
		return fmt.Errorf("save pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// syncPodsDir makes the new pod directories' names durable.
func (s *Store) syncPodsDir() error {
	if err := atomicfile.SyncDir(s.Layout.PodsDir()); err != nil {
		return fmt.Errorf("save pods: %w", err)
	}
	return nil
}

// Quarantined is a file of a pod that did not decode (corrupt, truncated)
// and was moved aside, so that one bad file never stops the daemon.
type Quarantined struct {
	UID string
	// File is where the file is now.
	File string
	// Err says why it could not be read.
	Err error
}

// LoadPods reads every accepted pod. A pod directory without pod.json (a
// crash before the first write finished) is skipped; a pod.json that cannot
// be read back (corrupt, truncated, naming another pod) is moved aside
// (Quarantine) and reported, and the other pods load.
func (s *Store) LoadPods() ([]*corev1.Pod, []Quarantined, error) {
	ents, err := os.ReadDir(s.Layout.PodsDir())
	if err != nil {
		return nil, nil, fmt.Errorf("load pods: %w", err)
	}
	if err := sweepTrash(s.Layout.PodsDir()); err != nil {
		return nil, nil, fmt.Errorf("load pods: %w", err)
	}
	var pods []*corev1.Pod
	var bad []Quarantined
	for _, e := range ents {
		if !e.IsDir() || isTrash(e.Name()) {
			continue
		}
		uid := e.Name()
		pod := &corev1.Pod{}
		err := readJSON(s.Layout.PodFile(uid), pod)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err == nil && string(pod.UID) != uid:
			err = &corruptError{file: s.Layout.PodFile(uid), err: fmt.Errorf("it names pod UID %q", pod.UID)}
		}
		if err != nil {
			q, qerr := s.Quarantine(uid, s.Layout.PodFile(uid), err)
			if qerr != nil {
				return nil, nil, fmt.Errorf("load pod %s: %w (and %w)", uid, err, qerr)
			}
			bad = append(bad, q)
			continue
		}
		pods = append(pods, pod)
	}
	return pods, bad, nil
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

// LoadState reads a pod's worker state into v. A missing file leaves v
// alone; a file that cannot be read back is moved aside (Quarantine) and
// the quarantine is returned: v may then be partly filled, start afresh.
func (s *Store) LoadState(uid string, v any) (*Quarantined, error) {
	err := readJSON(s.Layout.StateFile(uid), v)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	q, qerr := s.Quarantine(uid, s.Layout.StateFile(uid), err)
	if qerr != nil {
		return nil, fmt.Errorf("load state of pod %s: %w (and %w)", uid, err, qerr)
	}
	return &q, nil
}

// Quarantine moves file of pod uid into the pod's quarantine dir as
// <name>.corrupt-<UTC time>, for why.
func (s *Store) Quarantine(uid, file string, why error) (Quarantined, error) {
	dir := s.Layout.QuarantineDir(uid)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Quarantined{}, fmt.Errorf("quarantine %s: %w", file, err)
	}
	dst := filepath.Join(dir, filepath.Base(file)+".corrupt-"+time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(file, dst); err != nil {
		return Quarantined{}, fmt.Errorf("quarantine %s: %w", file, err)
	}
	return Quarantined{UID: uid, File: dst, Err: why}, nil
}

// corruptError is a file that was read and did not decode.
type corruptError struct {
	file string
	err  error
}

func (e *corruptError) Error() string { return fmt.Sprintf("%s does not decode: %v", e.file, e.err) }
func (e *corruptError) Unwrap() error { return e.err }

// readJSON decodes file into v; a decode failure is a *corruptError.
func readJSON(file string, v any) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &corruptError{file: file, err: err}
	}
	return nil
}

// RemovePod deletes the pod's persistent directory (spec, state, logs) and
// its run directory. Mounts below them must be gone already. A kill at any
// point leaves the pod either whole or gone (removeTree), never a pod.json
// without its state: the restarted daemon would take that for a new pod and
// start what was being deleted.
func (s *Store) RemovePod(uid string) error {
	if err := removeTree(s.Layout.PodDir(uid)); err != nil {
		return fmt.Errorf("remove pod %s: %w", uid, err)
	}
	if err := os.RemoveAll(s.Layout.ShimDir(uid)); err != nil {
		return fmt.Errorf("remove pod %s: %w", uid, err)
	}
	return nil
}

// trashPrefix names a directory removeTree has committed to removing; no
// pod UID or namespace name starts with a dot.
const trashPrefix = ".removing-"

// removeAll is os.RemoveAll; tests replace it to stop a removal half-way.
var removeAll = os.RemoveAll

// writeFile is atomicfile.WriteFile; tests fail chosen writes.
var writeFile = atomicfile.WriteFile

// removeTree deletes dir all or nothing as seen by a restarted daemon: it
// is first renamed to a trash name in its parent (the commit point, made
// durable by syncing the parent), then removed. A trash left by a kill is
// finished off by sweepTrash when its parent is next loaded.
func removeTree(dir string) error {
	parent := filepath.Dir(dir)
	trash := filepath.Join(parent, trashPrefix+filepath.Base(dir))
	if err := removeAll(trash); err != nil {
		return err
	}
	switch err := os.Rename(dir, trash); {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	}
	if err := atomicfile.SyncDir(parent); err != nil {
		return err
	}
	return removeAll(trash)
}

// isTrash reports whether a directory entry is a removal in progress.
func isTrash(name string) bool { return strings.HasPrefix(name, trashPrefix) }

// sweepTrash removes what removeTree left in dir when it was killed.
func sweepTrash(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range ents {
		if isTrash(e.Name()) {
			if err := removeAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("finish removing %s: %w", filepath.Join(dir, e.Name()), err)
			}
		}
	}
	return nil
}
