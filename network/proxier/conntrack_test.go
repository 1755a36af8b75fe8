package proxier

import (
	"net"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestStaleFlows(t *testing.T) {
	udp := func(eps ...string) ServicePort {
		sp := port("default/dns:53", eps...)
		sp.Protocol, sp.Port = UDP, 53
		return sp
	}
	udpNode := func(eps ...string) ServicePort {
		sp := udp(eps...)
		sp.NodePort = 30053
		return sp
	}
	tests := []struct {
		name       string
		prev, next []ServicePort
		want       []string
	}{
		{"an endpoint that leaves a UDP Service loses its entries", []ServicePort{udp("10.88.0.2", "10.88.0.3")}, []ServicePort{udp("10.88.0.2")},
			[]string{"UDP to 10.96.0.10:53 from endpoint 10.88.0.3"}},
		{"its node port entries go too", []ServicePort{udpNode("10.88.0.2")}, []ServicePort{udpNode("10.88.0.4")},
			[]string{"UDP to 10.96.0.10:53 from endpoint 10.88.0.2", "UDP to <nil>:30053 from endpoint 10.88.0.2"}},
		{"a UDP Service that gets its first endpoint loses the entries its REJECT made", []ServicePort{udp()}, []ServicePort{udp("10.88.0.2")},
			[]string{"UDP to 10.96.0.10:53"}},
		{"a new UDP Service clears what its address had", nil, []ServicePort{udp("10.88.0.2")},
			[]string{"UDP to 10.96.0.10:53"}},
		{"a deleted UDP Service clears its endpoints' entries", []ServicePort{udp("10.88.0.2")}, nil,
			[]string{"UDP to 10.96.0.10:53 from endpoint 10.88.0.2"}},
		{"an endpoint that stays keeps its entries", []ServicePort{udp("10.88.0.2")}, []ServicePort{udp("10.88.0.2", "10.88.0.3")}, nil},
		{"TCP entries are left, as kube-proxy leaves them", []ServicePort{port("default/web:80", "10.88.0.2")}, []ServicePort{port("default/web:80")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range StaleFlows(tc.prev, tc.next) {
				got = append(got, f.String())
				if _, err := f.filter(); err != nil {
					t.Errorf("flow %s: %v", f, err)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("stale flows %q, want %q", got, tc.want)
			}
		})
	}
}

// The filter of an endpoint's flow matches that endpoint's entries to the
// Service, not another endpoint's nor another port's.
func TestFlowFilterMatchesOnlyItsEndpoint(t *testing.T) {
	cf, err := Flow{Protocol: UDP, OrigDst: net.ParseIP("10.96.0.10"), OrigDstPort: 53, ReplySrc: net.ParseIP("10.88.0.3")}.filter()
	if err != nil {
		t.Fatal(err)
	}
	entry := func(dport uint16, endpoint string) *netlink.ConntrackFlow {
		return &netlink.ConntrackFlow{
			Forward: netlink.IPTuple{Protocol: unix.IPPROTO_UDP, SrcIP: net.ParseIP("10.88.0.9"), DstIP: net.ParseIP("10.96.0.10"), SrcPort: 40000, DstPort: dport},
			Reverse: netlink.IPTuple{Protocol: unix.IPPROTO_UDP, SrcIP: net.ParseIP(endpoint), DstIP: net.ParseIP("10.88.0.9"), SrcPort: 5353, DstPort: 40000},
		}
	}
	for _, tc := range []struct {
		entry *netlink.ConntrackFlow
		want  bool
	}{{entry(53, "10.88.0.3"), true}, {entry(53, "10.88.0.2"), false}, {entry(54, "10.88.0.3"), false}} {
		if got := cf.MatchConntrackFlow(tc.entry); got != tc.want {
			t.Errorf("entry %s: match %v, want %v", tc.entry, got, tc.want)
		}
	}
}
