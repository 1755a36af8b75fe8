package manifest

import (
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The node port range a Service's nodePort must lie in (the API server's
// default --service-node-port-range).
const (
	NodePortMin = 30000
	NodePortMax = 32767
)

// maxAffinitySeconds bounds ClientIP affinity (the API server's one day).
const maxAffinitySeconds = 86400

// defaultService fills in what the API server defaults on a Service.
func defaultService(s *corev1.Service) {
	spec := &s.Spec
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	if spec.SessionAffinity == corev1.ServiceAffinityClientIP && spec.SessionAffinityConfig == nil {
		t := int32(corev1.DefaultClientIPServiceAffinitySeconds)
		spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &t}}
	}
	if spec.InternalTrafficPolicy == nil {
		p := corev1.ServiceInternalTrafficPolicyCluster
		spec.InternalTrafficPolicy = &p
	}
	if spec.Type == corev1.ServiceTypeNodePort && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if spec.ClusterIP == "" && len(spec.ClusterIPs) > 0 {
		spec.ClusterIP = spec.ClusterIPs[0]
	}
	if len(spec.IPFamilies) == 0 {
		spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	}
	if spec.IPFamilyPolicy == nil {
		p := corev1.IPFamilyPolicySingleStack
		spec.IPFamilyPolicy = &p
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == (intstr.IntOrString{}) {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
}

var (
	serviceTypes     = sets.New(string(corev1.ServiceTypeClusterIP), string(corev1.ServiceTypeNodePort))
	serviceProtocols = sets.New(string(corev1.ProtocolTCP), string(corev1.ProtocolUDP))
	affinities       = sets.New(string(corev1.ServiceAffinityNone), string(corev1.ServiceAffinityClientIP))
)

// validateService checks a defaulted Service as the API server does, and
// refuses what podd's proxy cannot honour. The cluster IP's range and the
// allocations are the daemon's to check (they depend on its other
// Services).
func validateService(s *corev1.Service) field.ErrorList {
	meta := field.NewPath("metadata")
	errs := validateMeta(&s.ObjectMeta, meta)
	if s.Name != "" {
		// A Service's name is a DNS label (RFC 1035): it becomes one.
		errs = append(errs, msgs(meta.Child("name"), s.Name, validation.IsDNS1035Label(s.Name))...)
	}
	spec := &s.Spec
	p := field.NewPath("spec")
	if !serviceTypes.Has(string(spec.Type)) {
		errs = append(errs, field.NotSupported(p.Child("type"), spec.Type, sets.List(serviceTypes)))
	}
	headless := spec.ClusterIP == corev1.ClusterIPNone
	if headless && spec.Type == corev1.ServiceTypeNodePort {
		errs = append(errs, field.Invalid(p.Child("clusterIP"), spec.ClusterIP, "may not be set to 'None' for NodePort services"))
	}
	if !headless && spec.ClusterIP != "" {
		if ip := net.ParseIP(spec.ClusterIP); ip == nil || ip.To4() == nil {
			errs = append(errs, field.Invalid(p.Child("clusterIP"), spec.ClusterIP, "must be a valid IPv4 address or None"))
		}
	}
	switch {
	case len(spec.ClusterIPs) > 1:
		errs = append(errs, field.Invalid(p.Child("clusterIPs"), spec.ClusterIPs, "podd serves single-stack IPv4 Services: at most one IP"))
	case len(spec.ClusterIPs) == 1 && spec.ClusterIPs[0] != spec.ClusterIP:
		errs = append(errs, field.Invalid(p.Child("clusterIPs").Index(0), spec.ClusterIPs[0], "must match clusterIP"))
	}
	if len(spec.Ports) == 0 && !headless {
		errs = append(errs, field.Required(p.Child("ports"), ""))
	}
	errs = append(errs, validateServicePorts(spec, p.Child("ports"))...)
	errs = append(errs, metav1validation.ValidateLabels(spec.Selector, p.Child("selector"))...)
	if !affinities.Has(string(spec.SessionAffinity)) {
		errs = append(errs, field.NotSupported(p.Child("sessionAffinity"), spec.SessionAffinity, sets.List(affinities)))
	}
	if c := spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
		tp := p.Child("sessionAffinityConfig", "clientIP", "timeoutSeconds")
		switch t := *c.ClientIP.TimeoutSeconds; {
		case spec.SessionAffinity != corev1.ServiceAffinityClientIP:
			errs = append(errs, field.Forbidden(p.Child("sessionAffinityConfig"), "must not be set when sessionAffinity is None"))
		case t <= 0 || t > maxAffinitySeconds:
			errs = append(errs, field.Invalid(tp, t, fmt.Sprintf("must be greater than 0 and less than %d", maxAffinitySeconds)))
		}
	}
	return append(errs, unhonouredServiceFields(spec, p)...)
}

func validateServicePorts(spec *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	seen := map[string]bool{}
	for i, port := range spec.Ports {
		ip := p.Index(i)
		switch {
		case port.Name == "" && len(spec.Ports) > 1:
			errs = append(errs, field.Required(ip.Child("name"), "when multiple ports are specified"))
		case port.Name != "":
			errs = append(errs, msgs(ip.Child("name"), port.Name, validation.IsDNS1123Label(port.Name))...)
			if names[port.Name] {
				errs = append(errs, field.Duplicate(ip.Child("name"), port.Name))
			}
			names[port.Name] = true
		}
		errs = append(errs, msgs(ip.Child("port"), port.Port, validation.IsValidPortNum(int(port.Port)))...)
		if !serviceProtocols.Has(string(port.Protocol)) {
			errs = append(errs, field.NotSupported(ip.Child("protocol"), port.Protocol, sets.List(serviceProtocols)))
		}
		key := fmt.Sprintf("%d/%s", port.Port, port.Protocol)
		if seen[key] {
			errs = append(errs, field.Duplicate(ip, key))
		}
		seen[key] = true
		tp := port.TargetPort
		if tp.Type == intstr.String {
			errs = append(errs, msgs(ip.Child("targetPort"), tp.StrVal, validation.IsValidPortName(tp.StrVal))...)
		} else {
			errs = append(errs, msgs(ip.Child("targetPort"), tp.IntVal, validation.IsValidPortNum(int(tp.IntVal)))...)
		}
		switch {
		case port.NodePort != 0 && spec.Type != corev1.ServiceTypeNodePort:
			errs = append(errs, field.Forbidden(ip.Child("nodePort"), fmt.Sprintf("may not be used when `type` is '%s'", spec.Type)))
		case port.NodePort != 0 && (port.NodePort < NodePortMin || port.NodePort > NodePortMax):
			errs = append(errs, field.Invalid(ip.Child("nodePort"), port.NodePort, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", NodePortMin, NodePortMax)))
		}
		if port.AppProtocol != nil {
			errs = append(errs, msgs(ip.Child("appProtocol"), *port.AppProtocol, validation.IsQualifiedName(*port.AppProtocol))...)
		}
	}
	return errs
}

// unhonouredServiceFields refuses what a one-node proxy has no meaning
// for or does not implement.
func unhonouredServiceFields(spec *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	forbid := func(set bool, name, why string) {
		if set {
			errs = append(errs, field.Forbidden(p.Child(name), why))
		}
	}
	forbid(len(spec.ExternalIPs) > 0, "externalIPs", "podd does not route external IPs")
	forbid(spec.ExternalName != "", "externalName", "podd does not serve ExternalName Services")
	forbid(spec.LoadBalancerIP != "", "loadBalancerIP", "podd has no load balancer")
	forbid(len(spec.LoadBalancerSourceRanges) > 0, "loadBalancerSourceRanges", "podd has no load balancer")
	forbid(spec.LoadBalancerClass != nil, "loadBalancerClass", "podd has no load balancer")
	forbid(spec.AllocateLoadBalancerNodePorts != nil, "allocateLoadBalancerNodePorts", "podd has no load balancer")
	forbid(spec.HealthCheckNodePort != 0, "healthCheckNodePort", "podd has no load balancer")
	forbid(spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal, "externalTrafficPolicy", "podd masquerades node port traffic (Cluster); Local is not served")
	if spec.ExternalTrafficPolicy != "" && spec.Type != corev1.ServiceTypeNodePort {
		errs = append(errs, field.Invalid(p.Child("externalTrafficPolicy"), spec.ExternalTrafficPolicy, "may only be set for NodePort services"))
	}
	for i, f := range spec.IPFamilies {
		if f != corev1.IPv4Protocol {
			errs = append(errs, field.NotSupported(p.Child("ipFamilies").Index(i), f, []string{string(corev1.IPv4Protocol)}))
		}
	}
	if len(spec.IPFamilies) > 1 {
		errs = append(errs, field.TooMany(p.Child("ipFamilies"), len(spec.IPFamilies), 1))
	}
	if spec.IPFamilyPolicy != nil && *spec.IPFamilyPolicy == corev1.IPFamilyPolicyRequireDualStack {
		errs = append(errs, field.NotSupported(p.Child("ipFamilyPolicy"), *spec.IPFamilyPolicy, []string{string(corev1.IPFamilyPolicySingleStack), string(corev1.IPFamilyPolicyPreferDualStack)}))
	}
	return errs
}
