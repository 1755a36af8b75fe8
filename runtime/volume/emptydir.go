package volume

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/moby/sys/mount"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/internal/undo"
)

// prepareEmptyDir makes <podDir>/volumes/<name>, mode 0777 like the
// kubelet's; medium Memory mounts a tmpfs there sized like the kubelet's
// (memoryVolumeSize: the pod's memory limit, sizeLimit when smaller). With a
// pod fsGroup the directory belongs to that group, setgid.
func prepareEmptyDir(pod *corev1.Pod, v *corev1.Volume, podDir string, rollback *undo.Stack) (string, error) {
	if err := ensureVolumesDir(podDir); err != nil {
		return "", err
	}
	dir := filepath.Join(VolumesDir(podDir), v.Name)
	if _, err := mkdirOwned(dir, 0o777, rollback); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	if v.EmptyDir.Medium == corev1.StorageMediumMemory {
		alloc := nodeAllocatable()
		size := memoryVolumeSize(pod, v.EmptyDir, alloc.Memory().Value())
		if err := mountTmpfs(dir, size, "0777", rollback); err != nil {
			return "", err
		}
	}
	if err := applyFSGroup(pod, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// mountTmpfs mounts a tmpfs of size bytes (0: the kernel's default, half
// the host's memory) and octal mode on dir.
func mountTmpfs(dir string, size int64, mode string, rollback *undo.Stack) error {
	mounted, err := mountinfo.Mounted(dir)
	if err != nil {
		return err
	}
	if mounted {
		return nil
	}
	opts := "mode=" + mode
	if size > 0 {
		opts += ",size=" + strconv.FormatInt(size, 10)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs (%s) on %s: %w", opts, dir, err)
	}
	rollback.Push("unmount tmpfs "+dir, func(context.Context) error { return mount.Unmount(dir) })
	return nil
}

func applyFSGroup(pod *corev1.Pod, dir string) error {
	sc := pod.Spec.SecurityContext
	if sc == nil || sc.FSGroup == nil {
		return nil
	}
	if err := os.Lchown(dir, -1, int(*sc.FSGroup)); err != nil {
		return fmt.Errorf("set fsGroup %d on %s: %w", *sc.FSGroup, dir, err)
	}
	if err := os.Chmod(dir, 0o777|os.ModeSetgid); err != nil {
		return fmt.Errorf("set fsGroup %d on %s: %w", *sc.FSGroup, dir, err)
	}
	return nil
}
