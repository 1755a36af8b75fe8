//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package services

import (
	"net"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Endpoints computes the Endpoints object of svc from pods, as the
// endpoints controller does: a pod of the Service's namespace that
// matches its selector, has an IP and is not terminating is an address,
// ready when its Ready condition is true (or the Service publishes
// not-ready addresses), else not ready. A port is resolved per pod (a
// named targetPort is the container port of that name; a pod without it
// is left out); pods resolving to the same ports share a subset. A
// Service without a selector has no endpoints (nil).
func Endpoints(svc *corev1.Service, pods []*corev1.Pod) *corev1.Endpoints {
	if svc.Spec.Selector == nil {
		return nil
	}
	ep := &corev1.Endpoints{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Endpoints"},
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name, Labels: svc.Labels},
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	bySig := map[string]*corev1.EndpointSubset{}
	var sigs []string
	for _, pod := range pods {
		if pod.Namespace != svc.Namespace || !sel.Matches(labels.Set(pod.Labels)) || !Serving(pod) {
			continue
		}
		ports, ok := resolvePorts(svc, pod)
		if !ok {
			continue
		}
		sig := portsSignature(ports)
		sub, ok := bySig[sig]
		if !ok {
			sub = &corev1.EndpointSubset{Ports: ports}
			bySig[sig] = sub
			sigs = append(sigs, sig)
		}
		addr := corev1.EndpointAddress{
			IP:        pod.Status.PodIP,
			Hostname:  hostname(svc, pod),
			NodeName:  nodeName(pod),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if Ready(pod) || svc.Spec.PublishNotReadyAddresses {
			sub.Addresses = append(sub.Addresses, addr)
		} else {
			sub.NotReadyAddresses = append(sub.NotReadyAddresses, addr)
		}
	}
	sort.Strings(sigs)
	for _, sig := range sigs {
		sub := bySig[sig]
		sortAddrs(sub.Addresses)
		sortAddrs(sub.NotReadyAddresses)
		ep.Subsets = append(ep.Subsets, *sub)
	}
	return ep
}

// Serving reports whether pod can be an address at all: it has an IP and
// is not terminating (a terminating pod leaves at once) nor finished.
func Serving(pod *corev1.Pod) bool {
	return pod.Status.PodIP != "" && net.ParseIP(pod.Status.PodIP) != nil && pod.DeletionTimestamp == nil &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// Ready reports whether pod's Ready condition is true.
func Ready(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// hostname is the address's hostname: the pod's spec.hostname when its
// spec.subdomain names the Service (as the endpoints controller sets it),
// so that DNS answers <hostname>.<subdomain>.<ns>.svc.
func hostname(svc *corev1.Service, pod *corev1.Pod) string {
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name {
		return pod.Spec.Hostname
	}
	return ""
}

func nodeName(pod *corev1.Pod) *string {
	if pod.Spec.NodeName == "" {
		return nil
	}
	n := pod.Spec.NodeName
	return &n
}

// resolvePorts maps the Service's ports to pod's; false if a named
// targetPort names no container port of pod.
func resolvePorts(svc *corev1.Service, pod *corev1.Pod) ([]corev1.EndpointPort, bool) {
	out := make([]corev1.EndpointPort, 0, len(svc.Spec.Ports))
	for _, sp := range svc.Spec.Ports {
		n, ok := TargetPort(sp, pod)
		if !ok {
			return nil, false
		}
		out = append(out, corev1.EndpointPort{Name: sp.Name, Port: n, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol})
	}
	return out, true
}

// TargetPort resolves a Service port's targetPort on pod: a number as is
// (the port itself when unset), a name as the container port of that name
// and protocol.
func TargetPort(sp corev1.ServicePort, pod *corev1.Pod) (int32, bool) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.Int && tp.IntVal == 0:
		return sp.Port, true
	case tp.Type == intstr.Int:
		return tp.IntVal, true
	}
	for _, c := range pod.Spec.Containers {
		for _, cp := range c.Ports {
			proto := cp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			if cp.Name == tp.StrVal && proto == sp.Protocol {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

func portsSignature(ports []corev1.EndpointPort) string {
	s := ""
	for _, p := range ports {
		s += p.Name + "/" + string(p.Protocol) + "/" + strconv.Itoa(int(p.Port)) + ","
	}
	return s
}

func sortAddrs(a []corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool { return a[i].IP < a[j].IP })
}

// ReadyIPs are the distinct ready addresses of ep, sorted.
func ReadyIPs(ep *corev1.Endpoints) []string {
	if ep == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, sub := range ep.Subsets {
		for _, a := range sub.Addresses {
			if !seen[a.IP] {
				seen[a.IP] = true
				out = append(out, a.IP)
			}
		}
	}
	sort.Strings(out)
	return out
}
