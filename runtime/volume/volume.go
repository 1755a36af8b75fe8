package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/internal/undo"
	"github.com/podd-dev/podd/runtime/unmount"
)

// VolumesDir is where a pod's emptyDir and downwardAPI volumes live.
func VolumesDir(podDir string) string { return filepath.Join(podDir, "volumes") }

// Prepare makes every volume of pod ready and returns, per volume name, the
// host path to bind-mount. It is idempotent: an existing emptyDir (and its
// content) is kept, a tmpfs already mounted is not mounted again, so it can
// run again after a container or sandbox restart. On failure it undoes what
// this call created (the undo steps' failures are joined to the error) and
// names the volume (`spec.volumes[2].hostPath: ...`). The caller validated
// the pod (daemon/manifest).
func Prepare(ctx context.Context, pod *corev1.Pod, podDir string) (map[string]string, error) {
	return PrepareWithClaims(ctx, pod, podDir, nil)
}

// ErrNotFound is wrapped by the error of a volume whose claim, ConfigMap,
// Secret or key does not exist (yet): the pod waits for it.
var ErrNotFound = errors.New("not found")

// ErrClaimNotFound is the error ClaimDirs wraps for a claim that does not
// exist (yet); it is ErrNotFound.
var ErrClaimNotFound = ErrNotFound

// ClaimDirs returns the volume directory of the claim named name in the
// pod's namespace, creating it if need be, or an error that names the
// claim when it does not exist (`persistentvolumeclaim "data" not found`).
type ClaimDirs func(name string) (string, error)

// PrepareWithClaims is Prepare for a pod whose persistentVolumeClaim
// volumes claims resolves (nil: such a volume fails). A claim's volume is
// its directory, used in place like a hostPath: never created in the pod's
// directory, never removed with the pod.
func PrepareWithClaims(ctx context.Context, pod *corev1.Pod, podDir string, claims ClaimDirs) (map[string]string, error) {
	return PrepareWith(ctx, pod, podDir, Sources{Claims: claims})
}

// Sources resolves what a pod's volumes refer to outside the pod.
type Sources struct {
	// Claims resolves persistentVolumeClaim volumes (nil: such a volume fails).
	Claims ClaimDirs
	// Objects resolves configMap, secret and projected volumes (nil: every
	// object is missing).
	Objects Objects
}

// PrepareWith is Prepare for a pod whose volumes refer to claims, ConfigMaps
// and Secrets. A configMap, secret or projected volume is written with the
// atomic-writer layout (runtime/atomicdir); prepared again, it is rewritten
// in one swap if its objects changed, which is how updates reach it.
func PrepareWith(ctx context.Context, pod *corev1.Pod, podDir string, src Sources) (_ map[string]string, err error) {
	var rollback undo.Stack
	defer rollback.OnFailure(ctx, &err)
	paths, err := prepare(ctx, pod, podDir, src, &rollback)
	if err != nil {
		return nil, err
	}
	rollback.Release()
	return paths, nil
}

// prepare is Prepare, registering on rollback the undo of each thing it
// makes as soon as it exists.
func prepare(ctx context.Context, pod *corev1.Pod, podDir string, src Sources, rollback *undo.Stack) (map[string]string, error) {
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
			p, err = prepareEmptyDir(pod, v, podDir, rollback)
		case v.HostPath != nil:
			p, err = prepareHostPath(v.HostPath, rollback)
		case v.DownwardAPI != nil:
			p, err = prepareDownwardAPI(pod, v, podDir, rollback)
		case v.PersistentVolumeClaim != nil:
			p, err = prepareClaim(v.PersistentVolumeClaim, src.Claims)
		case Projects(v):
			p, err = prepareProjection(pod, v, podDir, src.Objects, rollback)
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
	case v.PersistentVolumeClaim != nil:
		return ".persistentVolumeClaim"
	case v.ConfigMap != nil:
		return ".configMap"
	case v.Secret != nil:
		return ".secret"
	case v.Projected != nil:
		return ".projected"
	}
	return ""
}

// prepareClaim returns the directory of the claim, which must be one.
func prepareClaim(c *corev1.PersistentVolumeClaimVolumeSource, claims ClaimDirs) (string, error) {
	if claims == nil {
		return "", fmt.Errorf("persistentvolumeclaim %q: no claims on this host", c.ClaimName)
	}
	dir, err := claims(c.ClaimName)
	if err != nil {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("volume of persistentvolumeclaim %q: %w", c.ClaimName, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("volume of persistentvolumeclaim %q: %s is not a directory", c.ClaimName, dir)
	}
	return dir, nil
}

// mkdirOwned creates dir (its parent must exist) with perm, exactly, and
// reports whether it made it; if it made it, the undo removes it.
func mkdirOwned(dir string, perm os.FileMode, rollback *undo.Stack) (bool, error) {
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
	rollback.Push("remove directory "+dir, func(context.Context) error { return unmount.RemoveAll(dir) })
	// Mkdir is subject to the umask; the mode must be exact (0777 emptyDir).
	return true, os.Chmod(dir, perm)
}

func ensureVolumesDir(podDir string) error {
	if err := os.MkdirAll(VolumesDir(podDir), 0o750); err != nil {
		return fmt.Errorf("create %s: %w", VolumesDir(podDir), err)
	}
	return nil
}
