package libct

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// oomGroup is the v2 knob that makes the OOM killer take the whole cgroup.
const oomGroup = "memory.oom.group"

// applyCgroup2 adds what containerd and the kubelet give a container on a
// cgroup v2 host: a private cgroup namespace (not for a privileged
// container, as containerd), so the container sees its own cgroup as / and
// at /sys/fs/cgroup; and memory.oom.group=1 (the kubelet since 1.28), so an
// OOM kill of any process ends the container as a unit and is reported as
// its OOMKilled. The rest of the v2 mapping is libcontainer's: cpu.weight
// from the shares (the OCI runtimes' conversion since runc 1.3.2, a
// quadratic fit in log2(shares) that maps the default 1024 shares to the
// default weight 100), cpu.max, memory.max, pids.max.
func applyCgroup2(s *specs.Spec, privileged bool) {
	if !privileged && !hasNamespace(s.Linux.Namespaces, specs.CgroupNamespace) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
	if s.Linux.Resources.Unified == nil {
		s.Linux.Resources.Unified = map[string]string{}
	}
	s.Linux.Resources.Unified[oomGroup] = "1"
}

func hasNamespace(nss []specs.LinuxNamespace, t specs.LinuxNamespaceType) bool {
	for _, ns := range nss {
		if ns.Type == t {
			return true
		}
	}
	return false
}
