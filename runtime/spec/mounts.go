package spec

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// volumeMounts turns the container's volumeMounts into bind mounts of the
// prepared volumes. subPath (and subPathExpr, expanded from the container's
// env) is resolved inside the volume: symlinks cannot lead out of it, and a
// missing subPath is created as a directory, as the kubelet does.
func volumeMounts(in *Input, vars map[string]string) ([]*shimv1.Mount, error) {
	var out []*shimv1.Mount
	for _, m := range in.Container.VolumeMounts {
		host, ok := in.Volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume %q of container %q is not prepared", m.Name, in.Container.Name)
		}
		sub := m.SubPath
		if m.SubPathExpr != "" {
			sub = Expand(m.SubPathExpr, vars)
		}
		if sub != "" {
			var err error
			if host, err = subPath(host, sub); err != nil {
				return nil, fmt.Errorf("volumeMount %q of container %q: %w", m.MountPath, in.Container.Name, err)
			}
		}
		opts := []string{"rbind", propagation(m.MountPropagation)}
		if m.ReadOnly || alwaysReadOnly(in.Pod, m.Name) {
			opts = append(opts, "ro")
			if rro := m.RecursiveReadOnly; rro != nil && *rro != corev1.RecursiveReadOnlyDisabled {
				opts = append(opts, "rro")
			}
		}
		out = append(out, &shimv1.Mount{Source: host, Destination: path.Clean(m.MountPath), Type: "bind", Options: opts})
	}
	return out, nil
}

// alwaysReadOnly reports the volumes Kubernetes always mounts read-only:
// their files are the pod's data, not the container's.
func alwaysReadOnly(pod *corev1.Pod, name string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return v.DownwardAPI != nil || v.ConfigMap != nil || v.Secret != nil || v.Projected != nil
		}
	}
	return false
}

// subPath resolves sub inside the volume root and creates it when missing.
func subPath(root, sub string) (string, error) {
	if filepath.IsAbs(sub) || hasDotDot(sub) {
		return "", fmt.Errorf("subPath %q must be a relative path without '..'", sub)
	}
	if err := symlinkEscape(root, sub); err != nil {
		return "", err
	}
	target, err := securejoin.SecureJoin(root, sub)
	if err != nil {
		return "", fmt.Errorf("resolve subPath %q in %s: %w", sub, root, err)
	}
	if _, err := os.Lstat(target); os.IsNotExist(err) {
		if err := securejoin.MkdirAll(root, sub, 0o750); err != nil {
			return "", fmt.Errorf("create subPath %q in %s: %w", sub, root, err)
		}
		// Resolve again: the directories now exist, so the result is final.
		if target, err = securejoin.SecureJoin(root, sub); err != nil {
			return "", fmt.Errorf("resolve subPath %q in %s: %w", sub, root, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("stat subPath %q in %s: %w", sub, root, err)
	}
	return target, nil
}

// symlinkEscape refuses a subPath whose existing part leads out of the
// volume through a symlink, as the kubelet does, so the user gets an error
// rather than a silently re-rooted path. SecureJoin stays the real guard.
func symlinkEscape(root, sub string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("resolve volume %s: %w", root, err)
	}
	cur := root
	for _, el := range strings.Split(filepath.Clean(sub), "/") {
		cur = filepath.Join(cur, el)
		fi, err := os.Lstat(cur)
		if err != nil {
			return nil // the rest does not exist yet: it will be created inside
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			continue
		}
		target, err := filepath.EvalSymlinks(cur)
		if err != nil || (target != realRoot && !strings.HasPrefix(target, realRoot+"/")) {
			return fmt.Errorf("subPath %q leads out of the volume through the symlink %s", sub, cur)
		}
	}
	return nil
}

func hasDotDot(p string) bool {
	for _, el := range strings.Split(filepath.ToSlash(p), "/") {
		if el == ".." {
			return true
		}
	}
	return false
}

func propagation(p *corev1.MountPropagationMode) string {
	if p == nil {
		return "rprivate"
	}
	switch *p {
	case corev1.MountPropagationHostToContainer:
		return "rslave"
	case corev1.MountPropagationBidirectional:
		return "rshared"
	}
	return "rprivate"
}

// podFileMounts bind-mounts the pod's hosts, resolv.conf, hostname and shm
// unless the container mounts something at that path itself. They are
// read-only when the root filesystem is.
func podFileMounts(files PodFiles, taken map[string]bool, readonly bool) []*shimv1.Mount {
	var out []*shimv1.Mount
	for _, f := range []struct{ src, dst string }{
		{files.Hosts, "/etc/hosts"}, {files.ResolvConf, "/etc/resolv.conf"}, {files.Hostname, "/etc/hostname"},
	} {
		if f.src == "" || taken[f.dst] {
			continue
		}
		opts := []string{"rbind", "rprivate", "nosuid", "nodev", "noexec"}
		if readonly {
			opts = append(opts, "ro")
		}
		out = append(out, &shimv1.Mount{Source: f.src, Destination: f.dst, Type: "bind", Options: opts})
	}
	if files.Shm != "" && !taken["/dev/shm"] {
		out = append(out, &shimv1.Mount{Source: files.Shm, Destination: "/dev/shm", Type: "bind",
			Options: []string{"rbind", "rprivate", "nosuid", "nodev", "noexec"}})
	}
	return out
}
