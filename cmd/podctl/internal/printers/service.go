//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package printers

import (
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// ServicePorts is kubectl's PORT(S) column: 80/TCP, 80:30080/TCP.
func ServicePorts(s *corev1.Service) string {
	var out []string
	for _, p := range s.Spec.Ports {
		if p.NodePort != 0 {
			out = append(out, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
		} else {
			out = append(out, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
	}
	if len(out) == 0 {
		return "<none>"
	}
	return strings.Join(out, ",")
}

// EndpointsList is kubectl's ENDPOINTS column: the ready ip:port pairs,
// at most three and "+ N more...".
func EndpointsList(ep *corev1.Endpoints) string {
	if ep == nil {
		return "<none>"
	}
	var all []string
	for _, sub := range ep.Subsets {
		for _, a := range sub.Addresses {
			if len(sub.Ports) == 0 {
				all = append(all, a.IP)
			}
			for _, p := range sub.Ports {
				all = append(all, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	if len(all) == 0 {
		return "<none>"
	}
	if len(all) > 3 {
		return strings.Join(all[:3], ",") + " + " + strconv.Itoa(len(all)-3) + " more..."
	}
	return strings.Join(all, ",")
}

func selectorString(sel map[string]string) string {
	if len(sel) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + sel[k]
	}
	return strings.Join(parts, ",")
}

// DescribeService writes kubectl-style `describe service` output, with the
// Service's ready endpoints from ep (nil: none).
func DescribeService(out io.Writer, s *corev1.Service, ep *corev1.Endpoints) error {
	w := &prefixWriter{tw: tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)}
	w.write(level0, "Name:\t%s\n", s.Name)
	w.write(level0, "Namespace:\t%s\n", s.Namespace)
	writeLabels(w, "Labels", s.Labels)
	writeAnnotations(w, "Annotations", s.Annotations)
	w.write(level0, "Selector:\t%s\n", selectorString(s.Spec.Selector))
	w.write(level0, "Type:\t%s\n", s.Spec.Type)
	w.write(level0, "IP Family Policy:\t%s\n", deref(s.Spec.IPFamilyPolicy))
	families := make([]string, len(s.Spec.IPFamilies))
	for i, f := range s.Spec.IPFamilies {
		families[i] = string(f)
	}
	w.write(level0, "IP Families:\t%s\n", strings.Join(families, ","))
	w.write(level0, "IP:\t%s\n", s.Spec.ClusterIP)
	w.write(level0, "IPs:\t%s\n", strings.Join(s.Spec.ClusterIPs, ","))
	for _, p := range s.Spec.Ports {
		name := p.Name
		if name == "" {
			name = "<unset>"
		}
		w.write(level0, "Port:\t%s\t%d/%s\n", name, p.Port, p.Protocol)
		w.write(level0, "TargetPort:\t%s/%s\n", p.TargetPort.String(), p.Protocol)
		if p.NodePort != 0 {
			w.write(level0, "NodePort:\t%s\t%d/%s\n", name, p.NodePort, p.Protocol)
		}
		w.write(level0, "Endpoints:\t%s\n", portEndpoints(ep, p))
	}
	w.write(level0, "Session Affinity:\t%s\n", s.Spec.SessionAffinity)
	if s.Spec.Type == corev1.ServiceTypeNodePort {
		w.write(level0, "External Traffic Policy:\t%s\n", s.Spec.ExternalTrafficPolicy)
	}
	w.write(level0, "Internal Traffic Policy:\t%s\n", deref(s.Spec.InternalTrafficPolicy))
	writeEvents(w, nil, time.Time{})
	w.flush()
	return w.err
}

// portEndpoints lists the ready ip:port pairs of one Service port.
func portEndpoints(ep *corev1.Endpoints, p corev1.ServicePort) string {
	if ep == nil {
		return "<none>"
	}
	var all []string
	for _, sub := range ep.Subsets {
		for _, ept := range sub.Ports {
			if ept.Name != p.Name || ept.Protocol != p.Protocol {
				continue
			}
			for _, a := range sub.Addresses {
				all = append(all, net.JoinHostPort(a.IP, strconv.Itoa(int(ept.Port))))
			}
		}
	}
	if len(all) == 0 {
		return "<none>"
	}
	return strings.Join(all, ",")
}

func describeEndpoints(w *prefixWriter, ep *corev1.Endpoints) {
	writeLabels(w, "Labels", ep.Labels)
	writeAnnotations(w, "Annotations", ep.Annotations)
	w.write(level0, "Subsets:\n")
	for _, sub := range ep.Subsets {
		var ready, notReady []string
		for _, a := range sub.Addresses {
			ready = append(ready, a.IP)
		}
		for _, a := range sub.NotReadyAddresses {
			notReady = append(notReady, a.IP)
		}
		w.write(level1, "Addresses:\t%s\n", orNone(strings.Join(ready, ",")))
		w.write(level1, "NotReadyAddresses:\t%s\n", orNone(strings.Join(notReady, ",")))
		w.write(level1, "Ports:\n")
		w.write(level2, "Name\tPort\tProtocol\n")
		w.write(level2, "----\t----\t--------\n")
		for _, p := range sub.Ports {
			name := p.Name
			if name == "" {
				name = "<unset>"
			}
			w.write(level2, "%s\t%d\t%s\n", name, p.Port, p.Protocol)
		}
		w.write(level0, "\n")
	}
	writeEvents(w, nil, time.Time{})
}

func deref[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}
