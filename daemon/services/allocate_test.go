package services

import (
	"net"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func svc(name, ip string, typ corev1.ServiceType, nodePorts ...int32) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: corev1.ServiceSpec{ClusterIP: ip, Type: typ}}
	for i, np := range nodePorts {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: string(rune('a' + i)), Port: 80 + int32(i), Protocol: corev1.ProtocolTCP, NodePort: np})
	}
	if len(nodePorts) == 0 {
		s.Spec.Ports = []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}
	}
	return s
}

func TestAllocate(t *testing.T) {
	_, cidr, _ := net.ParseCIDR("10.96.0.0/29")
	full := []*corev1.Service{}
	for _, ip := range []string{"10.96.0.1", "10.96.0.2", "10.96.0.3", "10.96.0.4", "10.96.0.5", "10.96.0.6"} {
		full = append(full, svc("s"+ip, ip, corev1.ServiceTypeClusterIP))
	}
	tests := []struct {
		name      string
		svc, old  *corev1.Service
		others    []*corev1.Service
		wantIP    string
		wantPorts []int32
		wantErr   string
	}{
		{name: "the first free address, never the network address", svc: svc("a", "", ""), wantIP: "10.96.0.1"},
		{name: "a taken address is skipped", svc: svc("a", "", ""), others: []*corev1.Service{svc("b", "10.96.0.1", "")}, wantIP: "10.96.0.2"},
		{name: "spec.clusterIP is honoured when free", svc: svc("a", "10.96.0.5", ""), wantIP: "10.96.0.5"},
		{name: "spec.clusterIP taken is refused naming the field and holder", svc: svc("a", "10.96.0.5", ""), others: []*corev1.Service{svc("b", "10.96.0.5", "")},
			wantErr: `spec.clusterIP: Invalid value: "10.96.0.5": provided IP is already allocated (to service default/b)`},
		{name: "spec.clusterIP outside the CIDR is refused", svc: svc("a", "10.97.0.5", ""), wantErr: "spec.clusterIP: Invalid value: \"10.97.0.5\": provided IP is not in the valid range"},
		{name: "the broadcast address is refused", svc: svc("a", "10.96.0.7", ""), wantErr: "not in the valid range"},
		{name: "an exhausted CIDR is an error", svc: svc("a", "", ""), others: full, wantErr: "no free address left"},
		{name: "an update keeps the cluster IP", svc: svc("a", "", ""), old: svc("a", "10.96.0.4", ""), wantIP: "10.96.0.4"},
		{name: "the cluster IP is immutable", svc: svc("a", "10.96.0.3", ""), old: svc("a", "10.96.0.4", ""), wantErr: "spec.clusterIP: Invalid value: \"10.96.0.3\": field is immutable"},
		{name: "headless stays headless", svc: svc("a", "None", ""), wantIP: "None"},
		{name: "headless cannot become a cluster IP", svc: svc("a", "", ""), old: svc("a", "None", ""), wantIP: "None"},
		{name: "node ports are allocated from 30000", svc: svc("a", "", corev1.ServiceTypeNodePort, 0, 0), others: []*corev1.Service{svc("b", "10.96.0.1", corev1.ServiceTypeNodePort, 30000)},
			wantIP: "10.96.0.2", wantPorts: []int32{30001, 30002}},
		{name: "a requested node port is honoured", svc: svc("a", "", corev1.ServiceTypeNodePort, 0, 30000), wantIP: "10.96.0.1", wantPorts: []int32{30001, 30000}},
		{name: "a node port collision is refused", svc: svc("a", "", corev1.ServiceTypeNodePort, 30080), others: []*corev1.Service{svc("b", "10.96.0.1", corev1.ServiceTypeNodePort, 30080)},
			wantErr: "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated (to service default/b)"},
		{name: "a node port twice in one Service is refused", svc: svc("a", "", corev1.ServiceTypeNodePort, 30080, 30080), wantErr: "spec.ports[1].nodePort: Duplicate value: 30080"},
		{name: "an update keeps the node ports", svc: svc("a", "", corev1.ServiceTypeNodePort, 0), old: svc("a", "10.96.0.1", corev1.ServiceTypeNodePort, 31000),
			wantIP: "10.96.0.1", wantPorts: []int32{31000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := Allocate(tc.svc, tc.old, UsedBy(tc.others), cidr)
			if tc.wantErr != "" {
				if !strings.Contains(errs.ToAggregate().Error(), tc.wantErr) {
					t.Fatalf("errors %v, want %q", errs, tc.wantErr)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if tc.svc.Spec.ClusterIP != tc.wantIP || len(tc.svc.Spec.ClusterIPs) != 1 || tc.svc.Spec.ClusterIPs[0] != tc.wantIP {
				t.Errorf("cluster IP %q %v, want %q", tc.svc.Spec.ClusterIP, tc.svc.Spec.ClusterIPs, tc.wantIP)
			}
			for i, want := range tc.wantPorts {
				if got := tc.svc.Spec.Ports[i].NodePort; got != want {
					t.Errorf("port %d: node port %d, want %d", i, got, want)
				}
			}
		})
	}
}

func TestParseCIDR(t *testing.T) {
	for in, ok := range map[string]bool{"10.96.0.0/16": true, "10.96.0.0/31": false, "fd00::/64": false, "nonsense": false} {
		if _, err := ParseCIDR(in); (err == nil) != ok {
			t.Errorf("ParseCIDR(%q): %v", in, err)
		}
	}
}
