package spec

import (
	"fmt"
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

// capabilities computes a container's capability set: all of them when
// privileged; otherwise the default set, minus drop (everything for ALL),
// plus add (everything for ALL). The result is in capability-number order.
func capabilities(sc *corev1.SecurityContext) ([]string, error) {
	if sc != nil && sc.Privileged != nil && *sc.Privileged {
		return append([]string{}, allCapabilities...), nil
	}
	set := map[string]bool{}
	for _, c := range DefaultCapabilities {
		set[c] = true
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
			add = allCapabilities
		}
		for _, c := range add {
			set[c] = true
		}
	}
	out := []string{}
	for _, c := range allCapabilities {
		if set[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// capNames normalises names ("NET_ADMIN", "cap_net_admin") and reports ALL.
func capNames(in []corev1.Capability) (names []string, all bool, err error) {
	known := map[string]bool{}
	for _, c := range allCapabilities {
		known[c] = true
	}
	for _, c := range in {
		name := strings.ToUpper(string(c))
		if name == "ALL" {
			all = true
			continue
		}
		if !strings.HasPrefix(name, "CAP_") {
			name = "CAP_" + name
		}
		if !known[name] {
			return nil, false, fmt.Errorf("unknown capability %q", c)
		}
		names = append(names, name)
	}
	return names, all, nil
}
