package manifest

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks a defaulted pod (see Default) against the daemon's policy
// (allowed sysctls, the host's capabilities) and returns every problem with
// its field path, e.g. `spec.containers[1].image: Required value` (R1, R2).
// An empty list means podd can run the pod as written.
func Validate(pod *corev1.Pod, pol Policy) field.ErrorList {
	errs := validateLimits(pod)
	errs = append(errs, validateMeta(&pod.ObjectMeta, field.NewPath("metadata"))...)
	errs = append(errs, validateSecurityAnnotations(pod.Annotations, field.NewPath("metadata", "annotations"))...)
	return append(errs, validateSpec(&pod.Spec, field.NewPath("spec"), pol)...)
}

func validateMeta(m *metav1.ObjectMeta, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case m.Name == "" && m.GenerateName != "":
		errs = append(errs, field.Required(p.Child("name"), "podd does not support generateName"))
	case m.Name == "":
		errs = append(errs, field.Required(p.Child("name"), ""))
	default:
		errs = append(errs, msgs(p.Child("name"), m.Name, validation.IsDNS1123Subdomain(m.Name))...)
	}
	if m.Namespace == "" {
		errs = append(errs, field.Required(p.Child("namespace"), ""))
	} else {
		errs = append(errs, msgs(p.Child("namespace"), m.Namespace, validation.IsDNS1123Label(m.Namespace))...)
	}
	errs = append(errs, metav1validation.ValidateLabels(m.Labels, p.Child("labels"))...)
	return append(errs, apivalidation.ValidateAnnotations(m.Annotations, p.Child("annotations"))...)
}

// msgs turns apimachinery's []string problems into Invalid errors.
func msgs(p *field.Path, value any, problems []string) field.ErrorList {
	var errs field.ErrorList
	for _, m := range problems {
		errs = append(errs, field.Invalid(p, value, m))
	}
	return errs
}

func label(p *field.Path, v string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return msgs(p, v, validation.IsDNS1123Label(v))
}

func validateSpec(s *corev1.PodSpec, p *field.Path, pol Policy) field.ErrorList {
	var errs field.ErrorList
	vols, verrs := validateVolumes(s, p.Child("volumes"))
	errs = append(errs, verrs...)
	if len(s.Containers) == 0 {
		errs = append(errs, field.Required(p.Child("containers"), "a pod needs at least one container"))
	}
	names := sets.New[string]()
	ctx := &podContext{spec: s, volumes: vols, names: names, policy: pol}
	for _, c := range s.InitContainers {
		names.Insert(c.Name)
	}
	for _, c := range s.Containers {
		names.Insert(c.Name)
	}
	seen := sets.New[string]()
	for i := range s.InitContainers {
		ip := p.Child("initContainers").Index(i)
		errs = append(errs, uniqueName(seen, s.InitContainers[i].Name, ip.Child("name"))...)
		errs = append(errs, validateContainer(ctx, &s.InitContainers[i], ip, true)...)
	}
	for i := range s.Containers {
		cp := p.Child("containers").Index(i)
		errs = append(errs, uniqueName(seen, s.Containers[i].Name, cp.Child("name"))...)
		errs = append(errs, validateContainer(ctx, &s.Containers[i], cp, false)...)
	}
	if len(s.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(p.Child("ephemeralContainers"), "ephemeral containers are not supported by podd"))
	}
	errs = append(errs, validateHostPorts(s, p)...)
	errs = append(errs, validatePodPolicy(s, p)...)
	errs = append(errs, validateDNS(s, p)...)
	errs = append(errs, validatePodSecurity(s, p)...)
	errs = append(errs, validateSysctls(s, p.Child("securityContext", "sysctls"), pol)...)
	errs = append(errs, validateProfiles(s, p)...)
	errs = append(errs, validateHostUsers(s, p, pol)...)
	return append(errs, validateUnsupportedPodFields(s, p)...)
}

// validateHostUsers checks hostUsers: false (the pod in a user namespace
// of its own): the daemon must give pods one, and, as Kubernetes has it,
// the pod cannot use the host's network, PID or IPC namespace.
func validateHostUsers(s *corev1.PodSpec, p *field.Path, pol Policy) field.ErrorList {
	if s.HostUsers == nil || *s.HostUsers {
		return nil
	}
	var errs field.ErrorList
	if !pol.UserNamespaces {
		errs = append(errs, field.Forbidden(p.Child("hostUsers"),
			"this podd gives pods no user namespace: it needs podUserNamespaceIDs in its config and a kernel that makes idmapped mounts"))
	}
	for _, f := range []struct {
		name string
		on   bool
	}{{"hostNetwork", s.HostNetwork}, {"hostPID", s.HostPID}, {"hostIPC", s.HostIPC}} {
		if f.on {
			errs = append(errs, field.Forbidden(p.Child(f.name), "not allowed with hostUsers: false"))
		}
	}
	return errs
}

func uniqueName(seen sets.Set[string], name string, p *field.Path) field.ErrorList {
	if name == "" {
		return nil // reported as Required by validateContainer
	}
	if seen.Has(name) {
		return field.ErrorList{field.Duplicate(p, name)}
	}
	seen.Insert(name)
	return nil
}

func validatePodPolicy(s *corev1.PodSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch s.RestartPolicy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	case "":
		errs = append(errs, field.Required(p.Child("restartPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("restartPolicy"), s.RestartPolicy,
			[]corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	}
	if g := s.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *g, "must be greater than or equal to 0"))
	}
	if d := s.ActiveDeadlineSeconds; d != nil && *d < 1 {
		errs = append(errs, field.Invalid(p.Child("activeDeadlineSeconds"), *d, "must be greater than or equal to 1"))
	}
	if s.ShareProcessNamespace != nil && *s.ShareProcessNamespace && s.HostPID {
		errs = append(errs, field.Invalid(p.Child("shareProcessNamespace"), true, "may not be true when hostPID is true"))
	}
	if s.Hostname != "" {
		errs = append(errs, label(p.Child("hostname"), s.Hostname)...)
	}
	if s.Subdomain != "" {
		errs = append(errs, label(p.Child("subdomain"), s.Subdomain)...)
	}
	for i, a := range s.HostAliases {
		ap := p.Child("hostAliases").Index(i)
		errs = append(errs, ip(ap.Child("ip"), a.IP)...)
		for j, h := range a.Hostnames {
			errs = append(errs, msgs(ap.Child("hostnames").Index(j), h, validation.IsDNS1123Subdomain(h))...)
		}
	}
	return errs
}

func ip(p *field.Path, v string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if _, err := netip.ParseAddr(v); err != nil {
		return field.ErrorList{field.Invalid(p, v, "must be a valid IP address")}
	}
	return nil
}

func validateDNS(s *corev1.PodSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	policies := []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}
	valid := false
	for _, v := range policies {
		valid = valid || s.DNSPolicy == v
	}
	if !valid {
		errs = append(errs, field.NotSupported(p.Child("dnsPolicy"), s.DNSPolicy, policies))
	}
	cp := p.Child("dnsConfig")
	if s.DNSPolicy == corev1.DNSNone && (s.DNSConfig == nil || len(s.DNSConfig.Nameservers) == 0) {
		errs = append(errs, field.Required(cp.Child("nameservers"), "must provide at least one DNS nameserver when dnsPolicy is None"))
	}
	c := s.DNSConfig
	if c == nil {
		return errs
	}
	if len(c.Nameservers) > 3 {
		errs = append(errs, field.TooMany(cp.Child("nameservers"), len(c.Nameservers), 3))
	}
	for i, ns := range c.Nameservers {
		errs = append(errs, ip(cp.Child("nameservers").Index(i), ns)...)
	}
	if len(c.Searches) > 32 {
		errs = append(errs, field.TooMany(cp.Child("searches"), len(c.Searches), 32))
	}
	for i, d := range c.Searches {
		if d == "." {
			continue
		}
		errs = append(errs, msgs(cp.Child("searches").Index(i), d, validation.IsDNS1123Subdomain(strings.TrimSuffix(d, ".")))...)
	}
	for i, o := range c.Options {
		if o.Name == "" {
			errs = append(errs, field.Required(cp.Child("options").Index(i).Child("name"), ""))
		}
	}
	return errs
}

// validateHostPorts refuses a hostPort/protocol used twice in the pod (the
// portmap plugin would silently map only one) and, with hostNetwork, a
// hostPort that differs from its containerPort.
func validateHostPorts(s *corev1.PodSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	used := map[string]bool{}
	check := func(cs []corev1.Container, cp *field.Path) {
		for i, c := range cs {
			for j, port := range c.Ports {
				pp := cp.Index(i).Child("ports").Index(j).Child("hostPort")
				if port.HostPort == 0 {
					continue
				}
				if s.HostNetwork && port.HostPort != port.ContainerPort {
					errs = append(errs, field.Invalid(pp, port.HostPort, "must match containerPort when hostNetwork is true"))
				}
				key := fmt.Sprintf("%d/%s", port.HostPort, port.Protocol)
				if used[key] {
					errs = append(errs, field.Duplicate(pp, key))
				}
				used[key] = true
			}
		}
	}
	check(s.InitContainers, p.Child("initContainers"))
	check(s.Containers, p.Child("containers"))
	return errs
}

func validatePodSecurity(s *corev1.PodSpec, p *field.Path) field.ErrorList {
	sc := s.SecurityContext
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	sp := p.Child("securityContext")
	errs = append(errs, ids(sp, sc.RunAsUser, sc.RunAsGroup)...)
	for i, g := range sc.SupplementalGroups {
		errs = append(errs, msgs(sp.Child("supplementalGroups").Index(i), g, validation.IsValidGroupID(g))...)
	}
	if sc.FSGroup != nil {
		errs = append(errs, msgs(sp.Child("fsGroup"), *sc.FSGroup, validation.IsValidGroupID(*sc.FSGroup))...)
	}
	if pol := sc.SupplementalGroupsPolicy; pol != nil && *pol != corev1.SupplementalGroupsPolicyMerge && *pol != corev1.SupplementalGroupsPolicyStrict {
		errs = append(errs, field.NotSupported(sp.Child("supplementalGroupsPolicy"), *pol,
			[]corev1.SupplementalGroupsPolicy{corev1.SupplementalGroupsPolicyMerge, corev1.SupplementalGroupsPolicyStrict}))
	}
	return errs
}

func ids(p *field.Path, uid, gid *int64) field.ErrorList {
	var errs field.ErrorList
	if uid != nil {
		errs = append(errs, msgs(p.Child("runAsUser"), *uid, validation.IsValidUserID(*uid))...)
	}
	if gid != nil {
		errs = append(errs, msgs(p.Child("runAsGroup"), *gid, validation.IsValidGroupID(*gid))...)
	}
	return errs
}

// validateUnsupportedPodFields refuses pod fields that would change how the
// pod runs but that podd cannot honour.
func validateUnsupportedPodFields(s *corev1.PodSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.RuntimeClassName != nil && *s.RuntimeClassName != "" {
		errs = append(errs, field.Forbidden(p.Child("runtimeClassName"), "podd has a single runtime"))
	}
	if s.OS != nil && s.OS.Name != corev1.Linux {
		errs = append(errs, field.NotSupported(p.Child("os", "name"), s.OS.Name, []corev1.OSName{corev1.Linux}))
	}
	if len(s.ResourceClaims) > 0 {
		errs = append(errs, field.Forbidden(p.Child("resourceClaims"), "dynamic resource allocation is not supported by podd"))
	}
	if s.Resources != nil {
		errs = append(errs, field.Forbidden(p.Child("resources"), "pod-level resources are not supported by podd; set them per container"))
	}
	if s.SetHostnameAsFQDN != nil && *s.SetHostnameAsFQDN {
		errs = append(errs, field.Forbidden(p.Child("setHostnameAsFQDN"), "not supported by podd"))
	}
	if s.HostnameOverride != nil {
		errs = append(errs, field.Forbidden(p.Child("hostnameOverride"), "not supported by podd; use spec.hostname"))
	}
	return errs
}
