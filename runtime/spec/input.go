package spec

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/runtime/idmap"
	"github.com/podd-dev/podd/runtime/image"
)

// Sandbox describes the pod's namespaces as the sandbox set them up.
type Sandbox struct {
	// NetnsPath is the pinned network namespace; empty with HostNetwork.
	NetnsPath             string
	HostNetwork           bool
	HostPID               bool
	HostIPC               bool
	ShareProcessNamespace bool
	// UserNS, when set, are the mappings of the pod's own user namespace,
	// which the pause made: the containers join it.
	UserNS *idmap.Mappings
}

// SandboxFor derives a pod's Sandbox from its spec and its pinned netns.
func SandboxFor(pod *corev1.Pod, netnsPath string) Sandbox {
	s := pod.Spec
	sb := Sandbox{
		HostNetwork:           s.HostNetwork,
		HostPID:               s.HostPID,
		HostIPC:               s.HostIPC,
		ShareProcessNamespace: s.ShareProcessNamespace != nil && *s.ShareProcessNamespace,
	}
	if !s.HostNetwork {
		sb.NetnsPath = netnsPath
	}
	return sb
}

// PodFiles are the per-pod files on the host that every container gets
// bind-mounted at the same path inside (empty: not mounted).
type PodFiles struct {
	Hosts      string // -> /etc/hosts
	ResolvConf string // -> /etc/resolv.conf
	Hostname   string // -> /etc/hostname
	Shm        string // -> /dev/shm (a pod-wide tmpfs), optional
}

// Input is everything Build needs to configure one container.
type Input struct {
	Pod       *corev1.Pod
	Container *corev1.Container
	// ContainerID is the shim's key for this run (the daemon's store.InstanceKey).
	ContainerID string
	// Image is the part of the image's config that shapes the process.
	Image image.Config
	// Rootfs is the container's mounted root filesystem on the host.
	Rootfs string
	// Volumes maps a pod volume name to its host path (runtime/volume.Prepare).
	Volumes map[string]string
	// Staged are the host paths runtime/volume.StageMounts pinned, by
	// volumeMount index: bound instead of the volume. Every mount with a
	// subPath must have one.
	Staged  map[int]string
	Sandbox Sandbox
	Files   PodFiles
	// PodIPs are the pod's addresses, the first being status.podIP.
	PodIPs  []string
	HostIPs []string
	// CgroupParent is the pod cgroup, e.g. "/podd/pod<uid>".
	CgroupParent string
	LogPath      string
	// NodeAllocatable holds the node's cpu and memory: resourceFieldRef
	// falls back to them for unset limits, and the OOM score adjustment of
	// Burstable pods is relative to the memory. Optional.
	NodeAllocatable corev1.ResourceList
	// Labels are added to the container's labels.
	Labels map[string]string
	// Security holds the host's capabilities and the seccomp settings.
	Security HostSecurity
	// IDMappedVolumes are the volumes (by name) bound as idmapped mounts
	// with these mappings (a pod in its own user namespace).
	IDMappedVolumes map[string]idmap.Mappings
	// Objects finds the ConfigMaps and Secrets of the pod's namespace for
	// env and envFrom; nil: none exist.
	Objects Objects
}

// Objects finds the ConfigMaps and Secrets of the pod's namespace; ok is
// false for one that does not exist. What it returns is the caller's.
type Objects interface {
	ConfigMap(name string) (cm *corev1.ConfigMap, ok bool)
	Secret(name string) (s *corev1.Secret, ok bool)
}
