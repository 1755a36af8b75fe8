package cri

import (
	"path"
	"strings"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// sandboxOOMScoreAdj is the score containerd gives a sandbox's pause. The
// shim clamps it to its own when the host refuses to lower it, as
// containerd's restrict_oom_score_adj does, instead of failing.
const sandboxOOMScoreAdj = -998

// sandboxSpec translates a RunPodSandbox request. A field podd cannot
// honour is an InvalidArgument error naming it. Accepted as they are: the
// security context's user, groups, seccomp, privileged and read-only root
// (they describe the pause, which podd always runs as its own unprivileged
// program on a read-only root under the default seccomp filter), SELinux
// options (no SELinux here), and overhead and resources (the kubelet sizes
// the cgroup parent it names). A user namespace of its own (POD) needs
// host's support.
func sandboxSpec(req *runtimeapi.RunPodSandboxRequest, host Features) (SandboxSpec, error) {
	if h := req.GetRuntimeHandler(); h != "" {
		return SandboxSpec{}, invalid("runtime_handler %q: podd has only the default runtime handler (\"\")", h)
	}
	cfg := req.GetConfig()
	md := cfg.GetMetadata()
	if md.GetName() == "" {
		return SandboxSpec{}, invalid("config.metadata.name is required")
	}
	if cfg.GetWindows() != nil {
		return SandboxSpec{}, invalid("config.windows: podd runs Linux sandboxes only")
	}
	sp := SandboxSpec{
		Name: md.GetName(), Namespace: md.GetNamespace(), UID: md.GetUid(), Attempt: md.GetAttempt(),
		Hostname: cfg.GetHostname(), Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(),
		LogDirectory: cfg.GetLogDirectory(), OOMScoreAdj: sandboxOOMScoreAdj,
		Sysctls: cfg.GetLinux().GetSysctls(),
	}
	ns := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	if err := namespaceModes(ns, &sp); err != nil {
		return SandboxSpec{}, err
	}
	var err error
	if sp.UserNS, err = sandboxUserNamespace(ns, host); err != nil {
		return SandboxSpec{}, err
	}
	if err := sandboxSysctls(sp); err != nil {
		return SandboxSpec{}, err
	}
	if p := cfg.GetLinux().GetCgroupParent(); p != "" {
		if !path.IsAbs(p) || path.Clean(p) != p {
			return SandboxSpec{}, invalid("config.linux.cgroup_parent %q: podd uses the cgroupfs driver, which wants a clean absolute path", p)
		}
		sp.CgroupParent = p
	}
	if d := cfg.GetDnsConfig(); d != nil {
		sp.DNS = &DNSConfig{Servers: d.GetServers(), Searches: d.GetSearches(), Options: d.GetOptions()}
	}
	ports, err := portMappings(cfg.GetPortMappings())
	if err != nil {
		return SandboxSpec{}, err
	}
	if !sp.HostNetwork {
		sp.Ports = ports // the node's ports are the sandbox's already
	}
	if sp.Config, err = proto.Marshal(cfg); err != nil {
		return SandboxSpec{}, invalid("config: %v", err)
	}
	return sp, nil
}

// namespaceModes reads the network, PID and IPC modes: POD (the default)
// or NODE; PID may also be CONTAINER (each container its own) or POD (one
// for the sandbox). The user namespace is sandboxUserNamespace's.
func namespaceModes(ns *runtimeapi.NamespaceOption, sp *SandboxSpec) error {
	switch m := ns.GetNetwork(); m {
	case runtimeapi.NamespaceMode_POD:
	case runtimeapi.NamespaceMode_NODE:
		sp.HostNetwork = true
	default:
		return invalid("config.linux.security_context.namespace_options.network %s: a sandbox's network is POD or NODE", m)
	}
	switch m := ns.GetPid(); m {
	case runtimeapi.NamespaceMode_CONTAINER:
	case runtimeapi.NamespaceMode_POD:
		sp.SharePID = true
	case runtimeapi.NamespaceMode_NODE:
		sp.HostPID = true
	default:
		return invalid("config.linux.security_context.namespace_options.pid %s: a sandbox's PID mode is CONTAINER, POD or NODE", m)
	}
	switch m := ns.GetIpc(); m {
	case runtimeapi.NamespaceMode_POD:
	case runtimeapi.NamespaceMode_NODE:
		sp.HostIPC = true
	default:
		return invalid("config.linux.security_context.namespace_options.ipc %s: a sandbox's IPC is POD or NODE", m)
	}
	return nil
}

// sandboxSysctls refuses sysctls that would change the node's own
// namespaces: net.* with the node's network, IPC ones with the node's IPC.
func sandboxSysctls(sp SandboxSpec) error {
	for name := range sp.Sysctls {
		n := strings.ReplaceAll(name, "/", ".")
		if sp.HostNetwork && strings.HasPrefix(n, "net.") {
			return invalid("config.linux.sysctls %q: the sandbox uses the node's network namespace", name)
		}
		if sp.HostIPC && (strings.HasPrefix(n, "kernel.shm") || strings.HasPrefix(n, "kernel.msg") ||
			n == "kernel.sem" || strings.HasPrefix(n, "fs.mqueue.")) {
			return invalid("config.linux.sysctls %q: the sandbox uses the node's IPC namespace", name)
		}
	}
	return nil
}

// portMappings keeps the mappings with a host port (the rest are
// informational, as in containerd).
func portMappings(pms []*runtimeapi.PortMapping) ([]PortMapping, error) {
	var out []PortMapping
	for i, pm := range pms {
		if pm.GetHostPort() <= 0 {
			continue
		}
		if pm.GetContainerPort() <= 0 || pm.GetContainerPort() > 65535 || pm.GetHostPort() > 65535 {
			return nil, invalid("config.port_mappings[%d]: ports %d→%d out of range", i, pm.GetHostPort(), pm.GetContainerPort())
		}
		out = append(out, PortMapping{
			HostPort: pm.GetHostPort(), ContainerPort: pm.GetContainerPort(),
			Protocol: pm.GetProtocol().String(), HostIP: pm.GetHostIp(),
		})
	}
	return out, nil
}
