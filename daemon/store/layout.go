// Package store is the sole owner of podd's names and paths: where each pod's
// spec, state, volumes, logs and container root filesystems live under the
// state root, where its shim lives under the run root, its cgroups under the
// cgroup parent, and how container instances are named (names.go). Writes
// that matter are atomic (runtime/atomicfile).
package store

import (
	"path/filepath"
	"strconv"
	"strings"
)

// Layout names every path podd uses. Root survives reboots (/var/lib/podd);
// RunRoot is tmpfs (/run/podd); CgroupParent is the cgroup (relative to the
// cgroup2 mount) every pod cgroup and shim cgroup goes under (/podd).
type Layout struct {
	Root         string
	RunRoot      string
	CgroupParent string
}

// PodsDir holds one directory per accepted pod, named by UID.
func (l Layout) PodsDir() string { return filepath.Join(l.Root, "pods") }

// PodDir is the persistent directory of one pod.
func (l Layout) PodDir(uid string) string { return filepath.Join(l.PodsDir(), uid) }

// PodFile is the accepted pod (spec and metadata).
func (l Layout) PodFile(uid string) string { return filepath.Join(l.PodDir(uid), "pod.json") }

// StateFile is the pod's worker state (sandbox, history, status, events).
func (l Layout) StateFile(uid string) string { return filepath.Join(l.PodDir(uid), "state.json") }

// LogPath is the CRI log of one run of a container: one file per restart, so
// that --previous is the file of restart-1.
func (l Layout) LogPath(uid, container string, restart int) string {
	return filepath.Join(l.PodDir(uid), "logs", container, strconv.Itoa(restart)+".log")
}

// ContainerDir holds a container instance's overlay (upper, work, merged).
func (l Layout) ContainerDir(uid, id string) string {
	return filepath.Join(l.ContainersDir(uid), id)
}

// StagingDir holds a container instance's pinned volumeMounts (subPaths,
// typed hostPaths; runtime/volume.StageMounts). It lies in ContainerDir, so
// unmounting the instance's rootfs dir unmounts them too.
func (l Layout) StagingDir(uid, id string) string {
	return filepath.Join(l.ContainerDir(uid, id), "staging")
}

// ContainersDir holds every container instance dir of a pod.
func (l Layout) ContainersDir(uid string) string { return filepath.Join(l.PodDir(uid), "containers") }

// PodFilesDir holds the generated hosts, resolv.conf and hostname files.
// They live as long as the pod's sandbox, which writes them anew, so they
// are kept in the pod's run directory (tmpfs: a start writes nothing of
// them to disk), as CRI-O keeps them in its run root.
func (l Layout) PodFilesDir(uid string) string { return filepath.Join(l.ShimDir(uid), "etc") }

// HostsFile is the pod's generated /etc/hosts.
func (l Layout) HostsFile(uid string) string { return filepath.Join(l.PodFilesDir(uid), "hosts") }

// ResolvConfFile is the pod's generated /etc/resolv.conf.
func (l Layout) ResolvConfFile(uid string) string {
	return filepath.Join(l.PodFilesDir(uid), "resolv.conf")
}

// HostnameFile is the pod's generated /etc/hostname.
func (l Layout) HostnameFile(uid string) string { return filepath.Join(l.PodFilesDir(uid), "hostname") }

// SeccompDir holds the Localhost seccomp profiles pods name by a path
// relative to it.
func (l Layout) SeccompDir() string { return filepath.Join(l.Root, "seccomp") }

// QuarantineDir holds the files of pod uid that could not be read back,
// moved aside for a human to look at; nothing in podd reads or removes them.
func (l Layout) QuarantineDir(uid string) string { return filepath.Join(l.Root, "quarantine", uid) }

// ImagesDir is the image content store.
func (l Layout) ImagesDir() string { return filepath.Join(l.Root, "images") }

// CNICacheDir is libcni's result cache for this daemon.
func (l Layout) CNICacheDir() string { return filepath.Join(l.Root, "cni", "cache") }

// IPAMDir holds the host-local IPAM data of podd's default network.
func (l Layout) IPAMDir() string { return filepath.Join(l.Root, "cni", "ipam") }

// NetnsDir holds the sandboxes' netns pins.
func (l Layout) NetnsDir() string { return filepath.Join(l.RunRoot, "netns") }

// ShimsDir holds one shim run directory per pod, named by UID.
func (l Layout) ShimsDir() string { return filepath.Join(l.RunRoot, "pods") }

// ShimDir is the run directory of a pod: its shim's (socket, libcontainer
// state) and its pod files (PodFilesDir).
func (l Layout) ShimDir(uid string) string { return filepath.Join(l.ShimsDir(), uid) }

// PauseLog is the output of the pod's pause holder.
func (l Layout) PauseLog(uid string) string { return filepath.Join(l.ShimDir(uid), "pause.log") }

// podCgroupPrefix starts the name of every pod's cgroup ("pod<uid>").
const podCgroupPrefix = "pod"

// PodCgroup is the cgroup of pod uid; its containers' cgroups go under it.
func (l Layout) PodCgroup(uid string) string {
	return filepath.Join(l.CgroupParent, podCgroupPrefix+uid)
}

// ShimsCgroup holds the shims' cgroups, beside the pods'.
func (l Layout) ShimsCgroup() string { return filepath.Join(l.CgroupParent, "shims") }

// ShimCgroup is the cgroup the shim of pod uid runs in.
func (l Layout) ShimCgroup(uid string) string {
	return filepath.Join(l.ShimsCgroup(), podCgroupPrefix+uid)
}

// CgroupUID returns the pod UID of a pod or shim cgroup's base name, and
// false for a name that is not one.
func CgroupUID(name string) (string, bool) {
	uid, ok := strings.CutPrefix(name, podCgroupPrefix)
	if !ok || uid == "" {
		return "", false
	}
	return uid, true
}

// NamespacesDir holds one directory per namespace: its Namespace object and
// the ConfigMaps, Secrets and claims in it.
func (l Layout) NamespacesDir() string { return filepath.Join(l.Root, "namespaces") }

// NamespaceDir is the directory of namespace ns.
func (l Layout) NamespaceDir(ns string) string { return filepath.Join(l.NamespacesDir(), ns) }

// NamespaceFile is the Namespace object of ns.
func (l Layout) NamespaceFile(ns string) string {
	return filepath.Join(l.NamespaceDir(ns), "namespace.json")
}

// ObjectsDir holds the objects of one resource ("configmaps", "secrets",
// "persistentvolumeclaims") of namespace ns.
func (l Layout) ObjectsDir(ns, resource string) string {
	return filepath.Join(l.NamespaceDir(ns), resource)
}

// ObjectFile is one namespaced object.
func (l Layout) ObjectFile(ns, resource, name string) string {
	return filepath.Join(l.ObjectsDir(ns, resource), name+".json")
}

// ClaimDir is the local volume of claim name in namespace ns: the
// directory pods using the claim see.
func (l Layout) ClaimDir(ns, name string) string {
	return filepath.Join(l.ClaimsDir(ns), name)
}

// ClaimsDir holds the local volumes of the claims of namespace ns.
func (l Layout) ClaimsDir(ns string) string { return filepath.Join(l.NamespaceDir(ns), "volumes") }

// Sandboxes a CRI client made live apart from podd's pods: their records
// under <root>/cri/sandboxes, their shims under <run-root>/cri and their
// cgroups named cri<id>, so that neither the pod API, nor the pods' GC, nor
// a pod UID can ever name one.

// criCgroupPrefix starts the name of a CRI sandbox's cgroups ("cri<id>").
const criCgroupPrefix = "cri"

// CRISandboxesDir holds one directory per CRI sandbox, named by its ID.
func (l Layout) CRISandboxesDir() string { return filepath.Join(l.CRIDir(), "sandboxes") }

// CRIDir holds what the CRI server stores: its sandboxes and containers.
func (l Layout) CRIDir() string { return filepath.Join(l.Root, "cri") }

// CRISandboxDir is the persistent directory of CRI sandbox id.
func (l Layout) CRISandboxDir(id string) string { return filepath.Join(l.CRISandboxesDir(), id) }

// CRISandboxFile is the record of CRI sandbox id (its config and state).
func (l Layout) CRISandboxFile(id string) string {
	return filepath.Join(l.CRISandboxDir(id), "sandbox.json")
}

// CRIPodFilesDir holds the generated hosts, resolv.conf and hostname
// files of CRI sandbox id, in its run directory: they live as long as it
// runs (a container of a sandbox made before writes them there anew).
func (l Layout) CRIPodFilesDir(id string) string { return filepath.Join(l.CRIShimDir(id), "etc") }

// CRIHostsFile is the generated /etc/hosts of CRI sandbox id.
func (l Layout) CRIHostsFile(id string) string { return filepath.Join(l.CRIPodFilesDir(id), "hosts") }

// CRIResolvConfFile is the generated /etc/resolv.conf of CRI sandbox id.
func (l Layout) CRIResolvConfFile(id string) string {
	return filepath.Join(l.CRIPodFilesDir(id), "resolv.conf")
}

// CRIHostnameFile is the generated /etc/hostname of CRI sandbox id.
func (l Layout) CRIHostnameFile(id string) string {
	return filepath.Join(l.CRIPodFilesDir(id), "hostname")
}

// CRIShimsDir holds one shim run directory per CRI sandbox.
func (l Layout) CRIShimsDir() string { return filepath.Join(l.RunRoot, "cri") }

// CRIShimDir is the run directory of CRI sandbox id's shim.
func (l Layout) CRIShimDir(id string) string { return filepath.Join(l.CRIShimsDir(), id) }

// CRIPauseLog is the output of CRI sandbox id's pause holder.
func (l Layout) CRIPauseLog(id string) string { return filepath.Join(l.CRIShimDir(id), "pause.log") }

// CRIPodCgroup is the cgroup of CRI sandbox id (its pause and containers
// go under it): cri<id> under the parent its client names, or under podd's
// cgroup parent when that is "". Each sandbox has its own, so that
// releasing one never touches another under the same parent.
func (l Layout) CRIPodCgroup(parent, id string) string {
	if parent == "" {
		parent = l.CgroupParent
	}
	return filepath.Join(parent, criCgroupPrefix+id)
}

// CRIShimCgroup is the cgroup CRI sandbox id's shim runs in.
func (l Layout) CRIShimCgroup(id string) string {
	return filepath.Join(l.ShimsCgroup(), criCgroupPrefix+id)
}

// CRIContainersDir holds one directory per CRI container, named by its ID:
// its record and its root filesystem's overlay.
func (l Layout) CRIContainersDir() string { return filepath.Join(l.CRIDir(), "containers") }

// CRIContainerDir is the persistent directory of CRI container id.
func (l Layout) CRIContainerDir(id string) string { return filepath.Join(l.CRIContainersDir(), id) }

// CRIContainerFile is the record of CRI container id (its config and state).
func (l Layout) CRIContainerFile(id string) string {
	return filepath.Join(l.CRIContainerDir(id), "container.json")
}

// CRIContainerRootfsDir holds CRI container id's overlay (upper, work,
// merged).
func (l Layout) CRIContainerRootfsDir(id string) string {
	return filepath.Join(l.CRIContainerDir(id), "rootfs")
}

// CRIContainerImageVolumesDir holds CRI container id's image volumes, one
// read-only view of an image per directory.
func (l Layout) CRIContainerImageVolumesDir(id string) string {
	return filepath.Join(l.CRIContainerDir(id), "image-volumes")
}

// CRIContainerStagingDir holds CRI container id's pinned mounts.
func (l Layout) CRIContainerStagingDir(id string) string {
	return filepath.Join(l.CRIContainerRootfsDir(id), "staging")
}
