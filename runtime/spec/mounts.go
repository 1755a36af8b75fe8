package spec

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// volumeMounts turns the container's volumeMounts into bind mounts of the
// prepared volumes. A mount with a subPath (or a typed hostPath) binds what
// runtime/volume.StageMounts pinned for it (in.Staged), never a path that
// runc would resolve itself (CVE-2021-25741).
func volumeMounts(in *Input, vars map[string]string) ([]*shimv1.Mount, error) {
	var out []*shimv1.Mount
	for i, m := range in.Container.VolumeMounts {
		host, ok := in.Volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume %q of container %q is not prepared", m.Name, in.Container.Name)
		}
		sub, err := expandSubPath(m, vars)
		if err != nil {
			return nil, fmt.Errorf("volumeMount %q of container %q: %w", m.MountPath, in.Container.Name, err)
		}
		if staged, ok := in.Staged[i]; ok {
			host = staged
		} else if sub != "" {
			return nil, fmt.Errorf("volumeMount %q of container %q: subPath %q is not staged", m.MountPath, in.Container.Name, sub)
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

// SubPaths returns the subPath of each of the container's volumeMounts, by
// index, with subPathExpr expanded from the container's env ("" for none):
// what runtime/volume.StageMounts pins before Build.
func SubPaths(in Input) ([]string, error) {
	if in.Pod == nil || in.Container == nil {
		return nil, errors.New("subPaths: missing Pod or Container")
	}
	_, vars, err := containerEnv(&in, withStatus(in.Pod, in.PodIPs, in.HostIPs))
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", in.Container.Name, err)
	}
	out := make([]string, len(in.Container.VolumeMounts))
	for i, m := range in.Container.VolumeMounts {
		if out[i], err = expandSubPath(m, vars); err != nil {
			return nil, fmt.Errorf("volumeMount %q of container %q: %w", m.MountPath, in.Container.Name, err)
		}
	}
	return out, nil
}

// expandSubPath is m's subPath, or its subPathExpr expanded; it must stay
// relative and free of "..".
func expandSubPath(m corev1.VolumeMount, vars map[string]string) (string, error) {
	sub := m.SubPath
	if m.SubPathExpr != "" {
		sub = Expand(m.SubPathExpr, vars)
	}
	if filepath.IsAbs(sub) || hasDotDot(sub) {
		return "", fmt.Errorf("subPath %q must be a relative path without '..'", sub)
	}
	return sub, nil
}

// alwaysReadOnly reports the volumes Kubernetes always mounts read-only:
// their files are the pod's data, not the container's; and a claim whose
// volume source says readOnly.
func alwaysReadOnly(pod *corev1.Pod, name string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return v.DownwardAPI != nil || v.ConfigMap != nil || v.Secret != nil || v.Projected != nil ||
				(v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ReadOnly)
		}
	}
	return false
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
