package spec

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// SysctlName returns a sysctl name in dot form. A name whose first separator
// is a slash ("net/ipv4/conf/eth0.1/rp_filter") is in slash form: dots and
// slashes swap, as the kubelet converts it ("net.ipv4.conf.eth0/1.rp_filter").
func SysctlName(name string) string {
	i := strings.IndexAny(name, "./")
	if i < 0 || name[i] == '.' {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
}

// sysctls returns the pod's sysctls by dot-form name.
func sysctls(pod *corev1.Pod) map[string]string {
	sc := pod.Spec.SecurityContext
	if sc == nil || len(sc.Sysctls) == 0 {
		return nil
	}
	out := make(map[string]string, len(sc.Sysctls))
	for _, s := range sc.Sysctls {
		out[SysctlName(s.Name)] = s.Value
	}
	return out
}
