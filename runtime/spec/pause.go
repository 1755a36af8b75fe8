package spec

import (
	"errors"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/idmap"
)

// PauseUID is the unprivileged user the pause runs as.
const PauseUID = 65535

// PauseInput is what PauseConfig needs.
type PauseInput struct {
	Pod *corev1.Pod
	// Binary is the host path of podd-pause, which the shim execs as is.
	Binary string
	// NetnsPath is the pinned netns; ignored with hostNetwork.
	NetnsPath    string
	CgroupParent string
	LogPath      string
	// UserNS, when set, makes the pause create the pod's user namespace
	// with these mappings, and its network namespace inside it
	// (NetnsPath is then unused).
	UserNS *idmap.Mappings
}

// PauseConfig returns the config of the pod's namespace holder: podd-pause
// started by the shim as a plain child (shimv1 ContainerConfig.holder: no
// libcontainer, rootfs or mount namespace), in the pinned netns, owning the
// pod's IPC and UTS (hostname, R91) namespaces unless the pod uses the
// host's, and its PID namespace when the pod shares one (R94), as an
// unprivileged user with no capability and no_new_privs.
func PauseConfig(in PauseInput) (*shimv1.ContainerConfig, error) {
	if in.Pod == nil || !filepath.IsAbs(in.Binary) || in.CgroupParent == "" {
		return nil, errors.New("build pause config: Pod, Binary (an absolute path) and CgroupParent are required")
	}
	sb := SandboxFor(in.Pod, in.NetnsPath)
	if !sb.HostNetwork && sb.NetnsPath == "" && in.UserNS == nil {
		return nil, errors.New("build pause config: NetnsPath is required without hostNetwork")
	}
	cfg := &shimv1.ContainerConfig{
		Id:              PauseID,
		Holder:          true,
		Args:            []string{in.Binary},
		Env:             []string{DefaultPath},
		Cwd:             "/",
		User:            &shimv1.User{Uid: PauseUID, Gid: PauseUID},
		Namespaces:      pauseNamespaces(sb),
		CgroupPath:      ContainerCgroup(in.CgroupParent, PauseID),
		Resources:       &shimv1.Resources{CpuShares: minShares},
		LogPath:         in.LogPath,
		NoNewPrivileges: true,
		Sysctls:         sysctls(in.Pod),
		Labels:          labels(in.Pod, PauseID, nil),
	}
	if !sb.HostNetwork {
		cfg.Hostname = PodHostname(in.Pod)
	}
	if in.UserNS != nil {
		if err := createUserNamespace(cfg, sb, *in.UserNS); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}
