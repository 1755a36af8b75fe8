package manifest

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podd-dev/podd/runtime/spec"
)

// Policy holds the daemon's settings and host facts a pod is validated
// against.
type Policy struct {
	// AllowedUnsafeSysctls are sysctls, or "prefix*" patterns, allowed
	// besides the kubelet's safe set (CheckAllowedUnsafeSysctls vets them).
	AllowedUnsafeSysctls []string
	// HostCapabilities is the daemon's capability bounding set, which its
	// containers inherit; nil means every capability.
	HostCapabilities []string
	// UserNamespaces: pods may have hostUsers: false (the daemon has IDs
	// to give them and the kernel makes idmapped mounts).
	UserNamespaces bool
}

// Annotations that older Kubernetes honoured instead of securityContext
// fields.
const (
	seccompPodAnnotation       = "seccomp.security.alpha.kubernetes.io/pod"
	seccompContainerAnnotation = "container.seccomp.security.alpha.kubernetes.io/"
	appArmorAnnotation         = "container.apparmor.security.beta.kubernetes.io/"
)

// validateProfiles checks the seccomp, AppArmor and SELinux settings of the
// pod and each container: seccomp profiles are applied (Localhost ones from
// the daemon's profile directory); AppArmor profiles and SELinux labels are
// not, so asking for one is an error, never silently ignored.
func validateProfiles(s *corev1.PodSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sc := s.SecurityContext; sc != nil {
		sp := p.Child("securityContext")
		errs = append(errs, validateSeccomp(sc.SeccompProfile, sp.Child("seccompProfile"))...)
		errs = append(errs, validateAppArmor(sc.AppArmorProfile, sp.Child("appArmorProfile"))...)
		errs = append(errs, validateSELinux(sc.SELinuxOptions, sp.Child("seLinuxOptions"))...)
	}
	for _, list := range []struct {
		cs   []corev1.Container
		path *field.Path
	}{{s.InitContainers, p.Child("initContainers")}, {s.Containers, p.Child("containers")}} {
		for i := range list.cs {
			sc := list.cs[i].SecurityContext
			if sc == nil {
				continue
			}
			sp := list.path.Index(i).Child("securityContext")
			errs = append(errs, validateSeccomp(sc.SeccompProfile, sp.Child("seccompProfile"))...)
			errs = append(errs, validateAppArmor(sc.AppArmorProfile, sp.Child("appArmorProfile"))...)
			errs = append(errs, validateSELinux(sc.SELinuxOptions, sp.Child("seLinuxOptions"))...)
		}
	}
	return errs
}

func validateSeccomp(sp *corev1.SeccompProfile, p *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	lp := p.Child("localhostProfile")
	switch sp.Type {
	case corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined:
		if sp.LocalhostProfile != nil {
			return field.ErrorList{field.Invalid(lp, *sp.LocalhostProfile, "can only be set when type is Localhost")}
		}
	case corev1.SeccompProfileTypeLocalhost:
		switch {
		case sp.LocalhostProfile == nil || *sp.LocalhostProfile == "":
			return field.ErrorList{field.Required(lp, "a Localhost profile names a file under the daemon's <root>/seccomp directory")}
		case !filepath.IsLocal(*sp.LocalhostProfile) || strings.Contains(*sp.LocalhostProfile, `\`):
			return field.ErrorList{field.Invalid(lp, *sp.LocalhostProfile, "must be a relative path inside the daemon's <root>/seccomp directory, without '..'")}
		}
	default:
		return field.ErrorList{field.NotSupported(p.Child("type"), sp.Type, []corev1.SeccompProfileType{
			corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeUnconfined})}
	}
	return nil
}

func validateAppArmor(ap *corev1.AppArmorProfile, p *field.Path) field.ErrorList {
	if ap == nil || (ap.Type == corev1.AppArmorProfileTypeUnconfined && ap.LocalhostProfile == nil) {
		return nil
	}
	return field.ErrorList{field.Forbidden(p, "podd applies no AppArmor profile; only type Unconfined is accepted")}
}

func validateSELinux(o *corev1.SELinuxOptions, p *field.Path) field.ErrorList {
	if o == nil || *o == (corev1.SELinuxOptions{}) {
		return nil
	}
	return field.ErrorList{field.Forbidden(p, "podd applies no SELinux labels")}
}

// validateSecurityAnnotations refuses the annotations older Kubernetes read
// for seccomp and AppArmor: podd would not apply them.
func validateSecurityAnnotations(annotations map[string]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedAnnotationKeys(annotations) {
		switch {
		case k == seccompPodAnnotation || strings.HasPrefix(k, seccompContainerAnnotation):
			errs = append(errs, field.Forbidden(p.Key(k), "seccomp annotations are not honoured; use securityContext.seccompProfile"))
		case strings.HasPrefix(k, appArmorAnnotation) && annotations[k] != "unconfined":
			errs = append(errs, field.Forbidden(p.Key(k), "podd applies no AppArmor profile; only \"unconfined\" is accepted"))
		}
	}
	return errs
}

func sortedAnnotationKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validateCapabilities refuses unknown capability names and adding one the
// host's bounding set lacks (privileged and ALL get what the host has).
func validateCapabilities(sc *corev1.SecurityContext, p *field.Path, pol Policy) field.ErrorList {
	if sc == nil || sc.Capabilities == nil {
		return nil
	}
	var errs field.ErrorList
	cp := p.Child("capabilities")
	for i, c := range sc.Capabilities.Drop {
		if _, ok := spec.CapabilityName(string(c)); !ok && !strings.EqualFold(string(c), "ALL") {
			errs = append(errs, field.NotSupported(cp.Child("drop").Index(i), string(c), []string{"ALL", "a Linux capability name"}))
		}
	}
	for i, c := range sc.Capabilities.Add {
		if strings.EqualFold(string(c), "ALL") {
			continue
		}
		name, ok := spec.CapabilityName(string(c))
		switch {
		case !ok:
			errs = append(errs, field.NotSupported(cp.Child("add").Index(i), string(c), []string{"ALL", "a Linux capability name"}))
		case pol.HostCapabilities != nil && !slices.Contains(pol.HostCapabilities, name):
			errs = append(errs, field.Forbidden(cp.Child("add").Index(i),
				fmt.Sprintf("%s is not in this host's capability bounding set, so no container here can have it", name)))
		}
	}
	return errs
}
