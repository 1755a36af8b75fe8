package volume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
)

// VolumesDir is where a pod's emptyDir and downwardAPI volumes live.
func VolumesDir(podDir string) string { return filepath.Join(podDir, "volumes") }

// undoStack holds the steps that reverse what Prepare made so far.
type undoStack []func() error

func (u *undoStack) push(f func() error) { *u = append(*u, f) }

// run undoes in reverse order; it keeps going after a failed step.
func (u undoStack) run() error {
	var errs []error
	for i := len(u) - 1; i >= 0; i-- {
		errs = append(errs, u[i]())
	}
	return errors.Join(errs...)
}

// Prepare makes every volume of pod ready and returns, per volume name, the
// host path to bind-mount. It is idempotent: an existing emptyDir (and its
// content) is kept, a tmpfs already mounted is not mounted again, so it can
// run again after a container or sandbox restart. On failure it undoes what
// this call created and names the volume (`spec.volumes[2].hostPath: ...`).
// The caller validated the pod (daemon/manifest).
func Prepare(ctx context.Context, pod *corev1.Pod, podDir string) (_ map[string]string, err error) {
	var undo undoStack
	defer func() {
		if err != nil {
			if uerr := undo.run(); uerr != nil {
				slog.Warn("undo volume setup", "pod", pod.Name, "uid", pod.UID, "err", uerr)
			}
		}
	}()
	paths := make(map[string]string, len(pod.Spec.Volumes))
	for i := range pod.Spec.Volumes {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("prepare volumes of pod %q: %w", pod.Name, err)
		}
		v := &pod.Spec.Volumes[i]
		var p string
		var err error
		switch {
		case v.EmptyDir != nil:
			p, err = prepareEmptyDir(pod, v, podDir, &undo)
		case v.HostPath != nil:
			p, err = prepareHostPath(v.HostPath, &undo)
		case v.DownwardAPI != nil:
			p, err = prepareDownwardAPI(pod, v, podDir, &undo)
		default:
			err = errors.New("unsupported volume source")
		}
		if err != nil {
			return nil, fmt.Errorf("spec.volumes[%d]%s of pod %q: %w", i, sourceField(v), pod.Name, err)
		}
		paths[v.Name] = p
	}
	return paths, nil
}

func sourceField(v *corev1.Volume) string {
	switch {
	case v.EmptyDir != nil:
		return ".emptyDir"
	case v.HostPath != nil:
		return ".hostPath"
	case v.DownwardAPI != nil:
		return ".downwardAPI"
	}
	return ""
}

// mkdirOwned creates dir (its parent must exist) with perm, exactly, and
// reports whether it made it; if it made it, the undo removes it.
func mkdirOwned(dir string, perm os.FileMode, undo *undoStack) (bool, error) {
	if err := os.Mkdir(dir, perm); err != nil {
		if errors.Is(err, os.ErrExist) {
			fi, statErr := os.Lstat(dir)
			if statErr == nil && !fi.IsDir() {
				return false, fmt.Errorf("%s exists and is not a directory", dir)
			}
			return false, nil
		}
		return false, err
	}
	undo.push(func() error { return removeTree(dir) })
	// Mkdir is subject to the umask; the mode must be exact (0777 emptyDir).
	return true, os.Chmod(dir, perm)
}

func ensureVolumesDir(podDir string) error {
	if err := os.MkdirAll(VolumesDir(podDir), 0o750); err != nil {
		return fmt.Errorf("create %s: %w", VolumesDir(podDir), err)
	}
	return nil
}
