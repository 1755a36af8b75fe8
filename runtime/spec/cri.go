package spec

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/idmap"
	"github.com/podd-dev/podd/runtime/image"
)

// CRIInput is one container a CRI client asks for, in the client's terms
// (the kubelet resolved the pod's spec into these already). BuildCRI
// builds it with Build's rules (user, capabilities, seccomp, mounts, env).
type CRIInput struct {
	// ContainerID is the shim's key for the container.
	ContainerID string
	// Name is the container's name (metadata.name).
	Name string
	// Pod names the sandbox (metadata name, namespace, uid).
	PodName, PodNamespace, PodUID string
	// Hostname is the sandbox's (HOSTNAME outside the node's network).
	Hostname string
	Sandbox  Sandbox
	Files    PodFiles
	// PodIPs are the sandbox's addresses.
	PodIPs []string
	// CgroupParent is the sandbox's cgroup.
	CgroupParent string
	Image        image.Config
	Rootfs       string
	LogPath      string

	Command, Args []string
	// Env is in order, each a name and a value.
	Env        []corev1.EnvVar
	WorkingDir string
	Mounts     []CRIMount
	TTY, Stdin bool

	RunAsUser, RunAsGroup *int64
	// RunAsUsername is a user name of the image (without RunAsUser).
	RunAsUsername      string
	SupplementalGroups []int64
	// SupplementalGroupsPolicy is "" or "Merge" (the groups of the image's
	// /etc/group that list the user are added) or "Strict" (only
	// SupplementalGroups).
	SupplementalGroupsPolicy string
	CapAdd, CapDrop          []string
	Privileged               bool
	ReadonlyRootfs           bool
	NoNewPrivs               bool
	// Seccomp is "" (the host's default), "RuntimeDefault", "Unconfined"
	// or "Localhost" with SeccompProfile the profile's absolute path.
	Seccomp, SeccompProfile string

	// Devices are host devices made in the container.
	Devices []*shimv1.Device
	// MaskedPaths and ReadonlyPaths are exactly the container's (none
	// when empty), as a CRI client sends them; ignored when privileged.
	MaskedPaths, ReadonlyPaths []string

	// Resources are the cgroup values as given (0: unset).
	Resources *shimv1.Resources
	// OOMScoreAdj is asked for the process; the shim clamps it.
	OOMScoreAdj int32
	Labels      map[string]string
	Security    HostSecurity
}

// CRIMount is a host path (or an image) bound into the container.
type CRIMount struct {
	HostPath, ContainerPath string
	ReadOnly                bool
	// RecursiveReadOnly makes the mounts below a read-only mount
	// read-only too (the "rro" option; needs RecursiveReadOnlyMounts).
	RecursiveReadOnly bool
	// Image, for an image volume, names the image mounted read-only in
	// place of a host path, and ImageSubPath the path inside it ("": its
	// root): the container service mounts it and sets HostPath.
	Image, ImageSubPath string
	// Propagation is "" or "private", "rslave" or "rshared".
	Propagation string
	// IDMap, when set, makes the bind mount idmapped with these mappings
	// (the client's uid/gid mappings of a mount in a user namespace).
	IDMap *idmap.Mappings
}

// BuildCRI returns the shim config of a CRI container: the request is
// read as the pod and container it came from and built by Build, with the
// client's own resources, OOM score and labels, and the primary group
// among the supplementary ones.
func BuildCRI(in CRIInput) (*shimv1.ContainerConfig, error) {
	pod, c, vols, err := criPod(&in)
	if err != nil {
		return nil, err
	}
	img := in.Image
	if in.RunAsUsername != "" && in.RunAsUser == nil {
		img.User = in.RunAsUsername
	}
	cfg, err := Build(Input{
		Pod: pod, Container: c, ContainerID: in.ContainerID, Image: img, Rootfs: in.Rootfs,
		Volumes: vols, Sandbox: in.Sandbox, Files: in.Files, PodIPs: in.PodIPs,
		CgroupParent: in.CgroupParent, LogPath: in.LogPath, Security: in.Security,
		IDMappedVolumes: criIDMappedVolumes(in.Mounts),
	})
	if err != nil {
		return nil, err
	}
	// The primary group is a supplementary group too, as containerd has it
	// (and reports it in ContainerStatus.user).
	if u := cfg.User; u != nil && !slices.Contains(u.AdditionalGids, u.Gid) {
		u.AdditionalGids = append([]uint32{u.Gid}, u.AdditionalGids...)
	}
	cfg.Resources = in.Resources
	if cfg.Resources == nil {
		cfg.Resources = &shimv1.Resources{}
	}
	cfg.OomScoreAdj = in.OOMScoreAdj
	cfg.Labels = in.Labels
	cfg.Devices = in.Devices
	cfg.Paths = &shimv1.Paths{Masked: in.MaskedPaths, Readonly: in.ReadonlyPaths}
	return cfg, nil
}

// criIDMappedVolumes are the idmapped mounts among mounts, by the volume
// name criPod gives each.
func criIDMappedVolumes(mounts []CRIMount) map[string]idmap.Mappings {
	out := map[string]idmap.Mappings{}
	for i, m := range mounts {
		if m.IDMap != nil {
			out[criVolumeName(i)] = *m.IDMap
		}
	}
	return out
}

func criVolumeName(i int) string { return "cri-mount-" + strconv.Itoa(i) }

// criPod reads a CRI container as a pod with one container whose mounts
// are hostPath volumes.
func criPod(in *CRIInput) (*corev1.Pod, *corev1.Container, map[string]string, error) {
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace, pod.UID = in.PodName, in.PodNamespace, types.UID(in.PodUID)
	pod.Spec.Hostname = in.Hostname
	pod.Spec.HostNetwork, pod.Spec.HostPID, pod.Spec.HostIPC = in.Sandbox.HostNetwork, in.Sandbox.HostPID, in.Sandbox.HostIPC
	share := in.Sandbox.ShareProcessNamespace
	pod.Spec.ShareProcessNamespace = &share
	psc := &corev1.PodSecurityContext{SupplementalGroups: in.SupplementalGroups}
	switch p := corev1.SupplementalGroupsPolicy(in.SupplementalGroupsPolicy); p {
	case "":
	case corev1.SupplementalGroupsPolicyMerge, corev1.SupplementalGroupsPolicyStrict:
		psc.SupplementalGroupsPolicy = &p
	default:
		return nil, nil, nil, fmt.Errorf("container %q: supplemental groups policy %q is not Merge or Strict", in.Name, p)
	}
	pod.Spec.SecurityContext = psc
	c := &corev1.Container{
		Name: in.Name, Command: in.Command, Args: in.Args, Env: in.Env, WorkingDir: in.WorkingDir,
		TTY: in.TTY, Stdin: in.Stdin,
	}
	sc := &corev1.SecurityContext{
		RunAsUser: in.RunAsUser, RunAsGroup: in.RunAsGroup, Privileged: &in.Privileged,
		ReadOnlyRootFilesystem: &in.ReadonlyRootfs,
	}
	if in.NoNewPrivs {
		no := false
		sc.AllowPrivilegeEscalation = &no
	}
	if len(in.CapAdd)+len(in.CapDrop) > 0 {
		sc.Capabilities = &corev1.Capabilities{}
		for _, n := range in.CapAdd {
			sc.Capabilities.Add = append(sc.Capabilities.Add, corev1.Capability(n))
		}
		for _, n := range in.CapDrop {
			sc.Capabilities.Drop = append(sc.Capabilities.Drop, corev1.Capability(n))
		}
	}
	switch in.Seccomp {
	case "":
	case string(corev1.SeccompProfileTypeRuntimeDefault), string(corev1.SeccompProfileTypeUnconfined):
		sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileType(in.Seccomp)}
	case string(corev1.SeccompProfileTypeLocalhost):
		if !path.IsAbs(in.SeccompProfile) {
			return nil, nil, nil, fmt.Errorf("container %q: seccomp Localhost profile %q must be an absolute path", in.Name, in.SeccompProfile)
		}
		// Build reads Localhost profiles below the profile root; a CRI
		// client names the file itself.
		rel := strings.TrimPrefix(path.Clean(in.SeccompProfile), "/")
		sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &rel}
		in.Security.SeccompRoot = "/"
	default:
		return nil, nil, nil, fmt.Errorf("container %q: seccomp profile type %q is not RuntimeDefault, Localhost or Unconfined", in.Name, in.Seccomp)
	}
	c.SecurityContext = sc
	vols := map[string]string{}
	for i, m := range in.Mounts {
		if m.Image != "" && m.HostPath == "" {
			return nil, nil, nil, fmt.Errorf("container %q: mount %q: image %q is not mounted", in.Name, m.ContainerPath, m.Image)
		}
		if !path.IsAbs(m.ContainerPath) || !path.IsAbs(m.HostPath) {
			return nil, nil, nil, fmt.Errorf("container %q: mount %d (%q → %q): both paths must be absolute", in.Name, i, m.HostPath, m.ContainerPath)
		}
		name := criVolumeName(i)
		vols[name] = m.HostPath
		var prop corev1.MountPropagationMode
		switch m.Propagation {
		case "", "private":
			prop = corev1.MountPropagationNone
		case "rslave":
			prop = corev1.MountPropagationHostToContainer
		case "rshared":
			prop = corev1.MountPropagationBidirectional
		default:
			return nil, nil, nil, fmt.Errorf("container %q: mount %q: propagation %q is not private, rslave or rshared", in.Name, m.ContainerPath, m.Propagation)
		}
		vm := corev1.VolumeMount{Name: name, MountPath: m.ContainerPath, ReadOnly: m.ReadOnly, MountPropagation: &prop}
		if m.RecursiveReadOnly {
			if !m.ReadOnly || prop != corev1.MountPropagationNone {
				return nil, nil, nil, fmt.Errorf("container %q: mount %q: recursive read-only needs read-only and private propagation", in.Name, m.ContainerPath)
			}
			rro := corev1.RecursiveReadOnlyEnabled
			vm.RecursiveReadOnly = &rro
		}
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: m.HostPath}}})
		c.VolumeMounts = append(c.VolumeMounts, vm)
	}
	pod.Spec.Containers = []corev1.Container{*c}
	return pod, &pod.Spec.Containers[0], vols, nil
}
