package services

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type podOpt func(*corev1.Pod)

func pod(name, ip string, ready bool, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionFalse}}},
	}
	if ready {
		p.Status.Conditions[0].Status = corev1.ConditionTrue
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func webService(target intstr.IntOrString, opts ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.10",
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: target}},
	}}
	for _, o := range opts {
		o(s)
	}
	return s
}

func TestEndpoints(t *testing.T) {
	terminating := func(p *corev1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now }
	otherNS := func(p *corev1.Pod) { p.Namespace = "other" }
	otherApp := func(p *corev1.Pod) { p.Labels = map[string]string{"app": "db"} }
	failed := func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }
	noNamedPort := func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil }
	publish := func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }
	num := intstr.FromInt32(8080)
	tests := []struct {
		name         string
		svc          *corev1.Service
		pods         []*corev1.Pod
		ready, unrdy []string
		port         int32
	}{
		{name: "ready pods with IPs are addresses, sorted", svc: webService(num),
			pods: []*corev1.Pod{pod("b", "10.88.0.3", true), pod("a", "10.88.0.2", true)}, ready: []string{"10.88.0.2", "10.88.0.3"}, port: 8080},
		{name: "a pod whose Ready condition is false is not ready", svc: webService(num),
			pods: []*corev1.Pod{pod("a", "10.88.0.2", true), pod("b", "10.88.0.3", false)}, ready: []string{"10.88.0.2"}, unrdy: []string{"10.88.0.3"}, port: 8080},
		{name: "publishNotReadyAddresses makes every serving pod ready", svc: webService(num, publish),
			pods: []*corev1.Pod{pod("b", "10.88.0.3", false)}, ready: []string{"10.88.0.3"}, port: 8080},
		{name: "terminating, finished, IP-less, other namespace and unselected pods are left out", svc: webService(num),
			pods: []*corev1.Pod{pod("a", "10.88.0.2", true, terminating), pod("b", "10.88.0.3", true, failed), pod("c", "", true),
				pod("d", "10.88.0.5", true, otherNS), pod("e", "10.88.0.6", true, otherApp), pod("f", "10.88.0.7", true)},
			ready: []string{"10.88.0.7"}, port: 8080},
		{name: "a named targetPort resolves to the container port; pods without it are left out", svc: webService(intstr.FromString("http")),
			pods: []*corev1.Pod{pod("a", "10.88.0.2", true), pod("b", "10.88.0.3", true, noNamedPort)}, ready: []string{"10.88.0.2"}, port: 8080},
		{name: "targetPort unset is the port", svc: webService(intstr.IntOrString{}),
			pods: []*corev1.Pod{pod("a", "10.88.0.2", true)}, ready: []string{"10.88.0.2"}, port: 80},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := Endpoints(tc.svc, tc.pods)
			var ready, unrdy []string
			for _, s := range ep.Subsets {
				for _, a := range s.Addresses {
					ready = append(ready, a.IP)
				}
				for _, a := range s.NotReadyAddresses {
					unrdy = append(unrdy, a.IP)
				}
				if s.Ports[0].Port != tc.port {
					t.Errorf("port %d, want %d", s.Ports[0].Port, tc.port)
				}
			}
			if !reflect.DeepEqual(ready, tc.ready) || !reflect.DeepEqual(unrdy, tc.unrdy) {
				t.Errorf("ready %v not ready %v, want %v %v", ready, unrdy, tc.ready, tc.unrdy)
			}
			ports := ProxyPorts(tc.svc, ep)
			if len(ports) != 1 || len(ports[0].Endpoints) != len(tc.ready) {
				t.Errorf("proxy ports %+v, want one with %d endpoints", ports, len(tc.ready))
			}
		})
	}
}

// A pod with hostname and subdomain naming its Service gets that hostname
// on its address (the endpoints controller's rule, which kube-dns turns into
// <hostname>.<subdomain>.<ns>.svc records); a subdomain naming another
// Service gives none.
func TestEndpointHostnameFromHostnameAndSubdomain(t *testing.T) {
	named := func(host, sub string) podOpt {
		return func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = host, sub }
	}
	s := webService(intstr.FromInt32(8080), func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone })
	ep := Endpoints(s, []*corev1.Pod{pod("a", "10.88.0.2", true, named("web-a", "web")), pod("b", "10.88.0.3", true, named("web-b", "other")),
		pod("c", "10.88.0.4", true, named("", "web"))})
	got := map[string]string{}
	for _, sub := range ep.Subsets {
		for _, a := range sub.Addresses {
			got[a.IP] = a.Hostname
		}
	}
	if want := map[string]string{"10.88.0.2": "web-a", "10.88.0.3": "", "10.88.0.4": ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("address hostnames %v, want %v", got, want)
	}
}

func TestSelectorlessServiceHasNoEndpoints(t *testing.T) {
	s := webService(intstr.FromInt32(80), func(s *corev1.Service) { s.Spec.Selector = nil })
	if ep := Endpoints(s, []*corev1.Pod{pod("a", "10.88.0.2", true)}); ep != nil {
		t.Errorf("endpoints %+v, want none", ep)
	}
	if ports := ProxyPorts(s, nil); len(ports) != 1 || len(ports[0].Endpoints) != 0 {
		t.Errorf("proxy ports %+v: want its cluster IP served (rejecting) with no endpoint", ports)
	}
}

func TestHeadlessServiceHasNoProxyPorts(t *testing.T) {
	s := webService(intstr.FromInt32(80), func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone })
	if ports := ProxyPorts(s, Endpoints(s, []*corev1.Pod{pod("a", "10.88.0.2", true)})); len(ports) != 0 {
		t.Errorf("proxy ports %+v, want none", ports)
	}
}

func TestRegistryNotifiesChanges(t *testing.T) {
	r := NewRegistry()
	ch := r.Changed()
	s := webService(intstr.FromInt32(80))
	info := InfoOf(s, Endpoints(s, []*corev1.Pod{pod("a", "10.88.0.2", true)}))
	r.Set([]Info{info})
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed after a change")
	}
	got, ok := r.Lookup("default", "web")
	if !ok || got.ClusterIP != "10.96.0.10" || !reflect.DeepEqual(got.ReadyIPs, []string{"10.88.0.2"}) {
		t.Errorf("Lookup %+v %v", got, ok)
	}
	ch = r.Changed()
	r.Set([]Info{info})
	select {
	case <-ch:
		t.Fatal("Changed closed without a change")
	default:
	}
}
