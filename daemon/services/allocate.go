package services

import (
	"encoding/binary"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podd-dev/podd/daemon/manifest"
)

// DefaultServiceCIDR is the service CIDR unless the daemon is told
// another (kube-apiserver's customary --service-cluster-ip-range).
const DefaultServiceCIDR = "10.96.0.0/16"

// ParseCIDR checks a service CIDR: IPv4, at least 4 addresses (the
// network address and the broadcast address are never handed out).
func ParseCIDR(s string) (*net.IPNet, error) {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("service CIDR %q: %w", s, err)
	}
	if ip.To4() == nil {
		return nil, fmt.Errorf("service CIDR %q: only IPv4 is served", s)
	}
	if ones, _ := n.Mask.Size(); ones > 30 {
		return nil, fmt.Errorf("service CIDR %q: too small, at most /30", s)
	}
	return n, nil
}

// Used is what other Services hold: cluster IPs and node ports (with
// the "namespace/name" of their holder).
type Used struct {
	IPs       map[string]string
	NodePorts map[int32]string
}

// UsedBy collects what svcs hold.
func UsedBy(svcs []*corev1.Service) Used {
	u := Used{IPs: map[string]string{}, NodePorts: map[int32]string{}}
	for _, s := range svcs {
		u.Add(s)
	}
	return u
}

// Add records what svc holds.
func (u Used) Add(svc *corev1.Service) {
	key := svc.Namespace + "/" + svc.Name
	if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		u.IPs[ip] = key
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			u.NodePorts[p.NodePort] = key
		}
	}
}

// Allocate gives svc its cluster IP and node ports, as the API server
// does on create and update: an IP or port the manifest names is kept if
// it is free (else an error naming the field), one it leaves unset is kept
// from old (the Service as stored, nil on create) or else the first free
// one. used must not include svc itself. It changes svc only; the caller
// records it in used once accepted.
func Allocate(svc, old *corev1.Service, used Used, cidr *net.IPNet) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	s := &svc.Spec
	switch {
	case s.ClusterIP == corev1.ClusterIPNone && (old == nil || old.Spec.ClusterIP == corev1.ClusterIPNone):
	case s.ClusterIP == "" && old != nil && old.Spec.ClusterIP != "":
		s.ClusterIP = old.Spec.ClusterIP
	case s.ClusterIP == "":
		ip, ok := freeIP(cidr, used.IPs)
		if !ok {
			return append(errs, field.InternalError(spec.Child("clusterIP"), fmt.Errorf("no free address left in the service CIDR %s", cidr)))
		}
		s.ClusterIP = ip
	default:
		ip := net.ParseIP(s.ClusterIP)
		switch {
		case ip == nil || ip.To4() == nil:
			errs = append(errs, field.Invalid(spec.Child("clusterIP"), s.ClusterIP, "must be a valid IPv4 address or None"))
		case !cidr.Contains(ip) || ip.Equal(cidr.IP) || ip.Equal(broadcast(cidr)):
			errs = append(errs, field.Invalid(spec.Child("clusterIP"), s.ClusterIP, fmt.Sprintf("provided IP is not in the valid range. The range of valid IPs is %s", cidr)))
		case used.IPs[ip.String()] != "":
			errs = append(errs, field.Invalid(spec.Child("clusterIP"), s.ClusterIP, fmt.Sprintf("provided IP is already allocated (to service %s)", used.IPs[ip.String()])))
		default:
			s.ClusterIP = ip.String()
		}
	}
	if old != nil && old.Spec.ClusterIP != "" && s.ClusterIP != old.Spec.ClusterIP {
		errs = append(errs, field.Invalid(spec.Child("clusterIP"), s.ClusterIP, "field is immutable"))
	}
	if len(errs) == 0 {
		s.ClusterIPs = []string{s.ClusterIP}
	}
	errs = append(errs, allocateNodePorts(svc, old, used)...)
	return errs
}

func allocateNodePorts(svc, old *corev1.Service, used Used) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "ports")
	mine := map[int32]bool{}
	for i := range svc.Spec.Ports {
		port := &svc.Spec.Ports[i]
		if svc.Spec.Type != corev1.ServiceTypeNodePort {
			continue
		}
		if port.NodePort == 0 {
			port.NodePort = oldNodePort(old, port)
		}
		switch {
		case port.NodePort == 0:
		case used.NodePorts[port.NodePort] != "":
			errs = append(errs, field.Invalid(p.Index(i).Child("nodePort"), port.NodePort,
				fmt.Sprintf("provided port is already allocated (to service %s)", used.NodePorts[port.NodePort])))
			continue
		case mine[port.NodePort]:
			errs = append(errs, field.Duplicate(p.Index(i).Child("nodePort"), port.NodePort))
			continue
		}
		if port.NodePort != 0 {
			mine[port.NodePort] = true
		}
	}
	for i := range svc.Spec.Ports {
		port := &svc.Spec.Ports[i]
		if svc.Spec.Type != corev1.ServiceTypeNodePort || port.NodePort != 0 {
			continue
		}
		for n := int32(manifest.NodePortMin); n <= manifest.NodePortMax; n++ {
			if used.NodePorts[n] == "" && !mine[n] {
				port.NodePort, mine[n] = n, true
				break
			}
		}
		if port.NodePort == 0 {
			errs = append(errs, field.InternalError(p.Index(i).Child("nodePort"), fmt.Errorf("no free node port left in %d-%d", manifest.NodePortMin, manifest.NodePortMax)))
		}
	}
	return errs
}

// oldNodePort is the node port old gave the same port (by name, else by
// port and protocol), so that an update without nodePort keeps it.
func oldNodePort(old *corev1.Service, port *corev1.ServicePort) int32 {
	if old == nil {
		return 0
	}
	for _, o := range old.Spec.Ports {
		if o.Name == port.Name && o.Port == port.Port && o.Protocol == port.Protocol {
			return o.NodePort
		}
	}
	return 0
}

// freeIP is the lowest address of cidr that is not its network address,
// not its broadcast address and not in used.
func freeIP(cidr *net.IPNet, used map[string]string) (string, bool) {
	base := binary.BigEndian.Uint32(cidr.IP.To4())
	ones, bits := cidr.Mask.Size()
	size := uint32(1) << (bits - ones)
	for i := uint32(1); i < size-1; i++ {
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, base+i)
		if used[ip.String()] == "" {
			return ip.String(), true
		}
	}
	return "", false
}

func broadcast(cidr *net.IPNet) net.IP {
	ip := make(net.IP, 4)
	base := binary.BigEndian.Uint32(cidr.IP.To4())
	binary.BigEndian.PutUint32(ip, base|^binary.BigEndian.Uint32(net.IP(cidr.Mask).To4()))
	return ip
}
