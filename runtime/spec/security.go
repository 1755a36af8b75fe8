package spec

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// allCapabilities lists Linux capabilities in number order (0..40).
var allCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
	"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
	"CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// DefaultCapabilities is the container runtimes' usual default set.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
	"CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE",
	"CAP_SETFCAP",
}

// HostSecurity holds the host facts and daemon settings that shape a
// container's security.
type HostSecurity struct {
	// Bounding is the daemon's capability bounding set ("CAP_CHOWN", ...),
	// which its shims and containers inherit (HostBoundingSet); nil means
	// every capability podd knows.
	Bounding []string
	// SeccompDefault runs containers with no seccompProfile under the
	// runtime's default filter (RuntimeDefault); off, they are unconfined.
	SeccompDefault bool
	// SeccompRoot is the directory of Localhost profiles (<root>/seccomp).
	SeccompRoot string
}

// capabilities computes a container's capability set: all of the host's
// when privileged; otherwise the default set, minus drop (everything for
// ALL), plus add (the host's set for ALL). A default capability the host
// lacks is left out, as containerd does; an explicit add of one is an error
// (validation refuses it first). The result is in capability-number order.
func capabilities(sc *corev1.SecurityContext, bounding []string) ([]string, error) {
	host := map[string]bool{}
	for _, c := range allCapabilities {
		host[c] = bounding == nil
	}
	for _, c := range bounding {
		host[c] = true
	}
	if sc != nil && sc.Privileged != nil && *sc.Privileged {
		return inOrder(host), nil
	}
	set := map[string]bool{}
	for _, c := range DefaultCapabilities {
		set[c] = host[c]
	}
	if sc != nil && sc.Capabilities != nil {
		drop, dropAll, err := capNames(sc.Capabilities.Drop)
		if err != nil {
			return nil, fmt.Errorf("capabilities.drop: %w", err)
		}
		add, addAll, err := capNames(sc.Capabilities.Add)
		if err != nil {
			return nil, fmt.Errorf("capabilities.add: %w", err)
		}
		if dropAll {
			set = map[string]bool{}
		}
		for _, c := range drop {
			delete(set, c)
		}
		if addAll {
			for c, ok := range host {
				set[c] = set[c] || ok
			}
		}
		for _, c := range add {
			if !host[c] {
				return nil, fmt.Errorf("capabilities.add: %s is not in the host's capability bounding set", c)
			}
			set[c] = true
		}
	}
	return inOrder(set), nil
}

// inOrder lists the capabilities set in number order.
func inOrder(set map[string]bool) []string {
	out := []string{}
	for _, c := range allCapabilities {
		if set[c] {
			out = append(out, c)
		}
	}
	return out
}

// CapabilityName normalises a capability name ("NET_ADMIN", "cap_net_admin"
// become "CAP_NET_ADMIN") and reports whether podd knows it.
func CapabilityName(c string) (string, bool) {
	name := strings.ToUpper(c)
	if !strings.HasPrefix(name, "CAP_") {
		name = "CAP_" + name
	}
	return name, slices.Contains(allCapabilities, name)
}

// capNames normalises names and reports ALL.
func capNames(in []corev1.Capability) (names []string, all bool, err error) {
	for _, c := range in {
		if strings.EqualFold(string(c), "ALL") {
			all = true
			continue
		}
		name, ok := CapabilityName(string(c))
		if !ok {
			return nil, false, fmt.Errorf("unknown capability %q", c)
		}
		names = append(names, name)
	}
	return names, all, nil
}
