package spec

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/image"
)

// Labels set on every container config.
const (
	LabelPodUID        = "podd.dev/pod-uid"
	LabelPodName       = "podd.dev/pod-name"
	LabelPodNamespace  = "podd.dev/pod-namespace"
	LabelContainerName = "podd.dev/container-name"
)

// DefaultPath is the PATH a container gets when its image sets none.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Build returns the shim config of one container of a pod. Errors are
// configuration errors of that container (R21 CreateContainerConfigError):
// an unknown user, a missing volume, a subPath that was not staged.
func Build(in Input) (*shimv1.ContainerConfig, error) {
	if err := checkInput(&in); err != nil {
		return nil, err
	}
	c := in.Container
	pod := withStatus(in.Pod, in.PodIPs, in.HostIPs)
	order, vars, err := containerEnv(&in, pod)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", c.Name, err)
	}
	argv, err := commandLine(c, in.Image, vars)
	if err != nil {
		return nil, err
	}
	user, err := resolveUser(in.Rootfs, in.Pod, c, in.Image.User)
	if err != nil {
		return nil, fmt.Errorf("user of container %q: %w", c.Name, err)
	}
	mounts, err := volumeMounts(&in, vars)
	if err != nil {
		return nil, err
	}
	idmapMounts(mounts, volumeNames(c), in.IDMappedVolumes)
	sc := c.SecurityContext
	readonly := sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	taken := map[string]bool{}
	for _, m := range mounts {
		taken[m.Destination] = true
	}
	mounts = append(mounts, podFileMounts(in.Files, taken, readonly)...)
	caps, err := capabilities(sc, in.Security.Bounding)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", c.Name, err)
	}
	privileged := sc != nil && sc.Privileged != nil && *sc.Privileged
	filter, err := seccompFilter(effectiveSeccomp(in.Pod, c), caps, privileged, in.Security)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", c.Name, err)
	}
	cfg := &shimv1.ContainerConfig{
		Id:              in.ContainerID,
		Rootfs:          in.Rootfs,
		ReadonlyRootfs:  readonly,
		Args:            argv,
		Env:             baseEnv(in.Image.Env, in.Pod, in.Sandbox, order, vars),
		Cwd:             workingDir(c, in.Image),
		User:            user,
		Mounts:          mounts,
		Namespaces:      containerNamespaces(in.Sandbox),
		CgroupPath:      ContainerCgroup(in.CgroupParent, in.ContainerID),
		Resources:       containerResources(c),
		LogPath:         in.LogPath,
		Tty:             c.TTY,
		Stdin:           c.Stdin,
		NoNewPrivileges: sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation,
		Capabilities:    caps,
		Sysctls:         sysctls(in.Pod),
		OomScoreAdj:     oomScoreAdj(in.Pod, c, in.NodeAllocatable),
		Privileged:      privileged,
		Labels:          labels(in.Pod, c.Name, in.Labels),
		Seccomp:         filter,
	}
	if ids := in.Sandbox.UserNS; ids != nil {
		if err := joinUserNamespace(cfg, *ids); err != nil {
			return nil, fmt.Errorf("container %q: %w", c.Name, err)
		}
	}
	return cfg, nil
}

// volumeNames are the volumes of c's volumeMounts, in order.
func volumeNames(c *corev1.Container) []string {
	out := make([]string, len(c.VolumeMounts))
	for i, m := range c.VolumeMounts {
		out[i] = m.Name
	}
	return out
}

func checkInput(in *Input) error {
	var missing []string
	for _, f := range []struct {
		name  string
		empty bool
	}{
		{"Pod", in.Pod == nil}, {"Container", in.Container == nil}, {"ContainerID", in.ContainerID == ""},
		{"Rootfs", in.Rootfs == ""}, {"CgroupParent", in.CgroupParent == ""},
		{"Sandbox.NetnsPath", !in.Sandbox.HostNetwork && in.Sandbox.NetnsPath == ""},
	} {
		if f.empty {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return errors.New("build container config: missing " + strings.Join(missing, ", "))
	}
	return nil
}

// withStatus returns a shallow copy of pod whose status carries the
// sandbox's addresses, for the downward API.
func withStatus(pod *corev1.Pod, podIPs, hostIPs []string) *corev1.Pod {
	p := *pod
	p.Status = *pod.Status.DeepCopy()
	if len(podIPs) > 0 {
		p.Status.PodIP = podIPs[0]
		p.Status.PodIPs = nil
		for _, ip := range podIPs {
			p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
		}
	}
	if len(hostIPs) > 0 {
		p.Status.HostIP = hostIPs[0]
		p.Status.HostIPs = nil
		for _, ip := range hostIPs {
			p.Status.HostIPs = append(p.Status.HostIPs, corev1.HostIP{IP: ip})
		}
	}
	return &p
}

// baseEnv is PATH (when the image has none) and HOSTNAME (outside
// hostNetwork), then the image's env, then the container's (R90).
func baseEnv(imageEnv []string, pod *corev1.Pod, sb Sandbox, order []string, vars map[string]string) []string {
	var base []string
	hasPath := false
	for _, kv := range imageEnv {
		hasPath = hasPath || strings.HasPrefix(kv, "PATH=")
	}
	if !hasPath {
		base = append(base, DefaultPath)
	}
	if !sb.HostNetwork {
		base = append(base, "HOSTNAME="+PodHostname(pod))
	}
	return mergeEnv(append(base, imageEnv...), order, vars)
}

func workingDir(c *corev1.Container, img image.Config) string {
	switch {
	case c.WorkingDir != "":
		return c.WorkingDir
	case img.WorkingDir != "":
		return img.WorkingDir
	}
	return "/"
}

func labels(pod *corev1.Pod, container string, extra map[string]string) map[string]string {
	out := map[string]string{
		LabelPodUID: string(pod.UID), LabelPodName: pod.Name, LabelPodNamespace: pod.Namespace,
		LabelContainerName: container,
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}
