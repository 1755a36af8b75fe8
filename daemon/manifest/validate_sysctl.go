package manifest

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podd-dev/podd/runtime/spec"
)

// safeSysctls is the kubelet's safe set (pkg/kubelet/sysctl/safe_sysctls.go):
// namespaced sysctls that cannot affect other pods. Every kernel podd
// supports has them all (the newest, tcp_rmem/tcp_wmem, came in 4.15).
var safeSysctls = sets.New(
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
)

// sysctlNamespace is the namespace a sysctl lives in: "net", "ipc", or ""
// for one that is not namespaced (it would change the host). These are the
// kubelet's rules (component-helpers node/util/sysctl).
func sysctlNamespace(name string) string {
	switch {
	case name == "kernel.sem", strings.HasPrefix(name, "kernel.shm"), strings.HasPrefix(name, "kernel.msg"),
		strings.HasPrefix(name, "fs.mqueue."):
		return "ipc"
	case strings.HasPrefix(name, "net."):
		return "net"
	}
	return ""
}

// sysctlNameRE is the API server's sysctl name rule: segments of lower-case
// letters, digits, '-' and '_', starting and ending alphanumeric, separated
// by '.' or '/'. It refuses "..", empty segments and any other character.
var sysctlNameRE = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`)

const sysctlNameMax = 253

// sysctlName checks a name's form and returns it in dot form.
func sysctlName(name string) (string, error) {
	if len(name) > sysctlNameMax || !sysctlNameRE.MatchString(name) {
		return "", fmt.Errorf("must have at most %d characters and match %s", sysctlNameMax, sysctlNameRE)
	}
	dot := spec.SysctlName(name)
	if strings.Contains(dot, "/") {
		// runc writes /proc/sys/<name with dots as slashes>: a segment that
		// holds a dot (an interface like eth0.1) cannot be written.
		return "", fmt.Errorf("a sysctl segment holding a dot (%q) cannot be set", dot)
	}
	return dot, nil
}

// CheckAllowedUnsafeSysctls vets the daemon's allowedUnsafeSysctls: each is
// a sysctl name or a "prefix*" pattern (like the kubelet's
// --allowed-unsafe-sysctls), and must name namespaced sysctls only.
func CheckAllowedUnsafeSysctls(patterns []string) error {
	for i, pat := range patterns {
		name, glob := strings.CutSuffix(pat, "*")
		dot := spec.SysctlName(name)
		check := dot
		if glob {
			// The fixed part may end in a separator or inside a segment:
			// check it as the start of a name.
			check = dot + "x"
		}
		if _, err := sysctlName(check); err != nil || dot == "" {
			return fmt.Errorf("allowedUnsafeSysctls[%d] %q: not a sysctl name or prefix*", i, pat)
		}
		if sysctlNamespace(check) == "" {
			return fmt.Errorf("allowedUnsafeSysctls[%d] %q: not namespaced (only kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* and net.* are): it would change the host", i, pat)
		}
	}
	return nil
}

// sysctlAllowed reports whether a dot-form name is in the safe set or
// matches one of the daemon's allowed patterns.
func sysctlAllowed(name string, allowed []string) bool {
	if safeSysctls.Has(name) {
		return true
	}
	for _, pat := range allowed {
		prefix, glob := strings.CutSuffix(pat, "*")
		prefix = spec.SysctlName(prefix)
		if name == prefix || (glob && strings.HasPrefix(name, prefix)) {
			return true
		}
	}
	return false
}

// validateSysctls checks the pod's sysctls like the API server (form,
// duplicates) and the kubelet (safe or allowed, namespaced, not in a host
// namespace the pod shares).
func validateSysctls(s *corev1.PodSpec, p *field.Path, pol Policy) field.ErrorList {
	if s.SecurityContext == nil {
		return nil
	}
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, sysctl := range s.SecurityContext.Sysctls {
		np := p.Index(i).Child("name")
		if sysctl.Name == "" {
			errs = append(errs, field.Required(np, ""))
			continue
		}
		name, err := sysctlName(sysctl.Name)
		if err != nil {
			errs = append(errs, field.Invalid(np, sysctl.Name, err.Error()))
			continue
		}
		if seen.Has(name) {
			errs = append(errs, field.Duplicate(np, sysctl.Name))
			continue
		}
		seen.Insert(name)
		ns := sysctlNamespace(name)
		switch {
		case ns == "":
			errs = append(errs, field.Forbidden(np, fmt.Sprintf("sysctl %q is not namespaced: it would change the host", sysctl.Name)))
		case ns == "net" && s.HostNetwork:
			errs = append(errs, field.Forbidden(np, "net sysctls may not be set with hostNetwork"))
		case ns == "ipc" && s.HostIPC:
			errs = append(errs, field.Forbidden(np, "ipc sysctls may not be set with hostIPC"))
		case !sysctlAllowed(name, pol.AllowedUnsafeSysctls):
			errs = append(errs, field.Forbidden(np, fmt.Sprintf("sysctl %q is not in the safe set; the daemon setting allowedUnsafeSysctls can allow it", sysctl.Name)))
		}
	}
	return errs
}
