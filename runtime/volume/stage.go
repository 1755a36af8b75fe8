package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/internal/undo"
	"github.com/podd-dev/podd/runtime/unmount"
)

// StageMounts pins, for one container instance, the volumeMounts that runc
// must not resolve by path: every subPath and every hostPath volume with a
// type. Each is opened as an fd without leaving its volume (a link swapped
// in at any moment cannot redirect it), checked on that fd, and
// bind-mounted through /proc/self/fd onto dir/<index>, which is what runc
// gets (CVE-2021-25741, as the kubelet's doBindSubPath). subPaths[i] is the
// expanded subPath of volumeMount i ("" for none); volumes are the prepared
// host paths by volume name. It returns the staged path by volumeMount
// index. dir is private (nothing made in it propagates to the host);
// whatever was left in it is unmounted first, so it can run again for the
// same instance. Unstage(dir) (or unmounting everything below it) undoes
// it; a failure undoes itself (its rollback's failures joined to the error).
func StageMounts(ctx context.Context, pod *corev1.Pod, c *corev1.Container, subPaths []string, volumes map[string]string, dir string) (_ map[int]string, err error) {
	if err := Unstage(dir); err != nil {
		return nil, err
	}
	todo := mountsToStage(pod, c, subPaths)
	if len(todo) == 0 {
		return nil, nil
	}
	var rollback undo.Stack
	defer rollback.OnFailure(ctx, &err)
	// Everything below is made inside dir: one step undoes it all, the
	// private bind of dir itself and each staged mount.
	rollback.Push("unstage "+dir, func(context.Context) error { return Unstage(dir) })
	if err := makePrivateDir(dir); err != nil {
		return nil, fmt.Errorf("stage volumeMounts of container %q: %w", c.Name, err)
	}
	out := make(map[int]string, len(todo))
	for _, i := range todo {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m := &c.VolumeMounts[i]
		src, ok := volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume %q of container %q is not prepared", m.Name, c.Name)
		}
		target := filepath.Join(dir, strconv.Itoa(i))
		p := stagePlan{root: src, typ: volumeHostPathType(pod, m.Name), sub: subPathAt(subPaths, i),
			readOnly: m.ReadOnly || alwaysReadOnly(pod, m.Name), propagation: m.MountPropagation}
		if err := p.stage(target); err != nil {
			return nil, fmt.Errorf("volumeMount %q (volume %q) of container %q: %w", m.MountPath, m.Name, c.Name, err)
		}
		out[i] = target
	}
	rollback.Release()
	return out, nil
}

// Unstage unmounts everything below dir and removes it
// (unmount.RemoveAll); a missing dir is fine.
func Unstage(dir string) error {
	if err := unmount.RemoveAll(dir); err != nil {
		return fmt.Errorf("unstage %s: %w", dir, err)
	}
	return nil
}

// mountsToStage lists the volumeMount indexes with a subPath or a typed
// hostPath volume.
func mountsToStage(pod *corev1.Pod, c *corev1.Container, subPaths []string) []int {
	var out []int
	for i, m := range c.VolumeMounts {
		if subPathAt(subPaths, i) != "" || volumeHostPathType(pod, m.Name) != corev1.HostPathUnset {
			out = append(out, i)
		}
	}
	return out
}

func subPathAt(subPaths []string, i int) string {
	if i < len(subPaths) {
		return subPaths[i]
	}
	return ""
}

// volumeHostPathType is the type of the pod's hostPath volume name; unset for
// other volumes.
func volumeHostPathType(pod *corev1.Pod, name string) corev1.HostPathType {
	for _, v := range pod.Spec.Volumes {
		if v.Name == name && v.HostPath != nil && v.HostPath.Type != nil {
			return *v.HostPath.Type
		}
	}
	return corev1.HostPathUnset
}

// alwaysReadOnly reports the volumes Kubernetes always mounts read-only.
func alwaysReadOnly(pod *corev1.Pod, name string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return v.DownwardAPI != nil || v.ConfigMap != nil || v.Secret != nil || v.Projected != nil
		}
	}
	return false
}

// makePrivateDir creates dir and makes it a private mount of itself, so the
// bind mounts made in it never propagate to the mount's peers.
func makePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s private: %w", dir, err) // the caller's rollback unstages dir
	}
	return nil
}

// stagePlan is one volumeMount to pin.
type stagePlan struct {
	root        string
	typ         corev1.HostPathType
	sub         string
	readOnly    bool
	propagation *corev1.MountPropagationMode
}

// stage opens the mount's source without leaving its volume and binds it
// onto target.
func (p stagePlan) stage(target string) error {
	root, err := openVolumeRoot(p.root)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	if p.typ != corev1.HostPathUnset {
		// The type is checked on the fd that gets mounted, not on a path
		// that may be replaced in between.
		var st unix.Stat_t
		if err := unix.Fstat(root, &st); err != nil {
			return fmt.Errorf("stat %s: %w", p.root, err)
		}
		if err := checkKind(p.root, p.typ, st.Mode&unix.S_IFMT); err != nil {
			return err
		}
	}
	fd := root
	if p.sub != "" {
		if fd, err = openSubPath(root, p.sub); err != nil {
			if errors.Is(err, errEscape) {
				return fmt.Errorf("subPath %q %w", p.sub, errEscape)
			}
			return err
		}
		defer unix.Close(fd)
	}
	return bindFd(fd, target, p.readOnly, p.propagation)
}

// bindFd bind-mounts the file or directory fd refers to, with the mounts
// below it as runc's rbind would, onto target (made as an empty directory
// or file to match), checks that target is then that very file, makes the
// mount read-only if asked (keeping the source's nosuid, nodev, noexec),
// and sets its propagation: private unless the volumeMount asks for
// HostToContainer (slave) or Bidirectional (shared).
func bindFd(fd int, target string, readOnly bool, prop *corev1.MountPropagationMode) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat the resolved source: %w", err)
	}
	if err := makeTarget(target, st.Mode&unix.S_IFMT == unix.S_IFDIR); err != nil {
		return err
	}
	src := "/proc/self/fd/" + strconv.Itoa(fd)
	if err := unix.Mount(src, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind the resolved source onto %s: %w", target, err)
	}
	return finishBind(fd, &st, target, readOnly, prop) // on failure, the caller's rollback unstages target
}

func makeTarget(target string, dir bool) error {
	if dir {
		if err := os.Mkdir(target, 0o700); err != nil {
			return fmt.Errorf("create staging directory: %w", err)
		}
		return nil
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create staging file: %w", err)
	}
	return f.Close()
}

func finishBind(fd int, st *unix.Stat_t, target string, readOnly bool, prop *corev1.MountPropagationMode) error {
	var got unix.Stat_t
	if err := unix.Lstat(target, &got); err != nil {
		return fmt.Errorf("stat %s: %w", target, err)
	}
	if got.Dev != st.Dev || got.Ino != st.Ino {
		return fmt.Errorf("%s is not the resolved source after the bind mount", target)
	}
	if readOnly {
		var fs unix.Statfs_t
		if err := unix.Fstatfs(fd, &fs); err != nil {
			return fmt.Errorf("statfs the resolved source: %w", err)
		}
		// ST_NOSUID, ST_NODEV, ST_NOEXEC share their values with MS_*.
		keep := uintptr(fs.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep, ""); err != nil {
			return fmt.Errorf("remount %s read-only: %w", target, err)
		}
	}
	flag := uintptr(unix.MS_PRIVATE | unix.MS_REC)
	if prop != nil {
		switch *prop {
		case corev1.MountPropagationHostToContainer:
			flag = unix.MS_SLAVE | unix.MS_REC
		case corev1.MountPropagationBidirectional:
			flag = unix.MS_SHARED
		}
	}
	if err := unix.Mount("", target, "", flag, ""); err != nil {
		return fmt.Errorf("set propagation of %s: %w", target, err)
	}
	return nil
}
