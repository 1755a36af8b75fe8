package spec

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// PauseUID is the unprivileged user the pause runs as.
const PauseUID = 65535

// pauseGOMAXPROCS gives the pause's runtime one P from its start: it
// sleeps and reaps, and each further P costs every pod threads and memory
// (issue 13: -70 kB anonymous memory per pause).
const pauseGOMAXPROCS = "GOMAXPROCS=1"

// PauseInput is what PauseConfig needs.
type PauseInput struct {
	Pod *corev1.Pod
	// Rootfs is an empty directory the caller prepared.
	Rootfs string
	// Binary is the host path of podd-pause, bind-mounted at /pause.
	Binary string
	// NetnsPath is the pinned netns; ignored with hostNetwork.
	NetnsPath    string
	CgroupParent string
	LogPath      string
	// Security: the pause always runs under the default seccomp filter
	// (it is podd's own program; the pod's profile is for its containers).
	Security HostSecurity
}

// PauseConfig returns the config of the pod's namespace holder: podd-pause
// on a read-only empty rootfs, in the pinned netns, owning the pod's IPC,
// UTS (hostname, R91) and PID namespaces unless the pod uses the host's.
func PauseConfig(in PauseInput) (*shimv1.ContainerConfig, error) {
	if in.Pod == nil || in.Rootfs == "" || in.Binary == "" || in.CgroupParent == "" {
		return nil, errors.New("build pause config: Pod, Rootfs, Binary and CgroupParent are required")
	}
	sb := SandboxFor(in.Pod, in.NetnsPath)
	if !sb.HostNetwork && sb.NetnsPath == "" {
		return nil, errors.New("build pause config: NetnsPath is required without hostNetwork")
	}
	filter, err := seccompFilter(&corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}, nil, false, in.Security)
	if err != nil {
		return nil, fmt.Errorf("build pause config: %w", err)
	}
	cfg := &shimv1.ContainerConfig{
		Id:             PauseID,
		Rootfs:         in.Rootfs,
		ReadonlyRootfs: true,
		Args:           []string{"/pause"},
		Env:            []string{DefaultPath, pauseGOMAXPROCS},
		Cwd:            "/",
		User:           &shimv1.User{Uid: PauseUID, Gid: PauseUID},
		Mounts: []*shimv1.Mount{{Source: in.Binary, Destination: "/pause", Type: "bind",
			Options: []string{"bind", "ro", "nosuid", "nodev"}}},
		Namespaces:      pauseNamespaces(sb),
		CgroupPath:      ContainerCgroup(in.CgroupParent, PauseID),
		Resources:       &shimv1.Resources{CpuShares: minShares},
		LogPath:         in.LogPath,
		NoNewPrivileges: true,
		Sysctls:         sysctls(in.Pod),
		Labels:          labels(in.Pod, PauseID, nil),
		Seccomp:         filter,
	}
	if !sb.HostNetwork {
		cfg.Hostname = PodHostname(in.Pod)
	}
	return cfg, nil
}
