//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package services

import (
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/network/proxier"
)

// ProxyPorts are the ports the proxier serves for svc with endpoints ep:
// one per Service port with a cluster IP (a headless Service has none),
// its ready endpoints those of ep serving that port.
func ProxyPorts(svc *corev1.Service, ep *corev1.Endpoints) []proxier.ServicePort {
	ip := net.ParseIP(svc.Spec.ClusterIP)
	if ip == nil || ip.To4() == nil {
		return nil
	}
	var out []proxier.ServicePort
	for _, p := range svc.Spec.Ports {
		name := p.Name
		if name == "" {
			name = strconv.Itoa(int(p.Port))
		}
		sp := proxier.ServicePort{
			Name: svc.Namespace + "/" + svc.Name + ":" + name, ClusterIP: ip.To4(), Port: p.Port,
			Protocol: proxier.Protocol(p.Protocol), NodePort: p.NodePort,
		}
		if svc.Spec.Type != corev1.ServiceTypeNodePort {
			sp.NodePort = 0
		}
		if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
			sp.AffinitySeconds = corev1.DefaultClientIPServiceAffinitySeconds
			if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
				sp.AffinitySeconds = *c.ClientIP.TimeoutSeconds
			}
		}
		if ep != nil {
			for _, sub := range ep.Subsets {
				for _, ept := range sub.Ports {
					if ept.Name != p.Name || ept.Protocol != p.Protocol {
						continue
					}
					for _, a := range sub.Addresses {
						if aip := net.ParseIP(a.IP); aip != nil {
							sp.Endpoints = append(sp.Endpoints, proxier.Endpoint{IP: aip.To4(), Port: ept.Port})
						}
					}
				}
			}
		}
		out = append(out, sp)
	}
	return out
}
