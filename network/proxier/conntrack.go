package proxier

import (
	"fmt"
	"net"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Flow selects the conntrack entries of one UDP Service port that a rule
// change left stale, as kube-proxy clears them: a UDP "connection" lives
// on in conntrack while its client keeps sending, so without this a client
// keeps talking to an endpoint that left, or to a Service's REJECT after
// endpoints came.
type Flow struct {
	// Protocol is UDP.
	Protocol Protocol
	// OrigDst and OrigDstPort are the address the client sent to: the
	// cluster IP and port; for a node port OrigDst is nil (any local
	// address).
	OrigDst     net.IP
	OrigDstPort int32
	// ReplySrc is the endpoint that left; nil: every entry to the
	// destination (the Service had no endpoint before).
	ReplySrc net.IP
}

func (f Flow) String() string {
	s := fmt.Sprintf("%s to %s:%d", f.Protocol, f.OrigDst, f.OrigDstPort)
	if f.ReplySrc != nil {
		s += " from endpoint " + f.ReplySrc.String()
	}
	return s
}

// StaleFlows are the conntrack entries to clear once the rules for next
// replaced those for prev: for each UDP port, the entries answered by an
// endpoint that is gone, and every entry of a port that had no endpoint
// (they were rejected, and a client's next datagram must find an endpoint).
// TCP entries are left, as kube-proxy leaves them: a connection to an
// endpoint that left ends with it.
func StaleFlows(prev, next []ServicePort) []Flow {
	type key struct {
		name  string
		proto Protocol
	}
	was := map[key]ServicePort{}
	for _, sp := range prev {
		was[key{sp.Name, sp.Protocol}] = sp
	}
	var out []Flow
	add := func(sp ServicePort, replySrc net.IP) {
		out = append(out, Flow{Protocol: sp.Protocol, OrigDst: sp.ClusterIP, OrigDstPort: sp.Port, ReplySrc: replySrc})
		if sp.NodePort != 0 {
			out = append(out, Flow{Protocol: sp.Protocol, OrigDstPort: sp.NodePort, ReplySrc: replySrc})
		}
	}
	now := map[key]ServicePort{}
	for _, sp := range next {
		k := key{sp.Name, sp.Protocol}
		now[k] = sp
		old, ok := was[k]
		if sp.Protocol != UDP || len(sp.Endpoints) == 0 {
			continue
		}
		if !ok || len(old.Endpoints) == 0 || !old.ClusterIP.Equal(sp.ClusterIP) {
			add(sp, nil)
		}
	}
	for _, old := range prev {
		if old.Protocol != UDP {
			continue
		}
		sp, ok := now[key{old.Name, old.Protocol}]
		for _, ep := range old.Endpoints {
			if !ok || !hasIP(sp.Endpoints, ep.IP) {
				add(old, ep.IP)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func hasIP(eps []Endpoint, ip net.IP) bool {
	for _, ep := range eps {
		if ep.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// ClearFlows removes the host's conntrack entries that match flows and
// returns how many went.
func (p *Proxier) ClearFlows(flows []Flow) (uint, error) {
	if len(flows) == 0 {
		return 0, nil
	}
	filters := make([]netlink.CustomConntrackFilter, 0, len(flows))
	for _, f := range flows {
		cf, err := f.filter()
		if err != nil {
			return 0, err
		}
		filters = append(filters, cf)
	}
	n, err := netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, filters...)
	if err != nil {
		return n, fmt.Errorf("clear conntrack entries: %w", err)
	}
	return n, nil
}

func (f Flow) filter() (*netlink.ConntrackFilter, error) {
	cf := &netlink.ConntrackFilter{}
	proto := uint8(unix.IPPROTO_UDP)
	if f.Protocol == TCP {
		proto = unix.IPPROTO_TCP
	}
	if err := cf.AddProtocol(proto); err != nil {
		return nil, fmt.Errorf("conntrack filter %s: %w", f, err)
	}
	if err := cf.AddPort(netlink.ConntrackOrigDstPort, uint16(f.OrigDstPort)); err != nil {
		return nil, fmt.Errorf("conntrack filter %s: %w", f, err)
	}
	if f.OrigDst != nil {
		if err := cf.AddIP(netlink.ConntrackOrigDstIP, f.OrigDst); err != nil {
			return nil, fmt.Errorf("conntrack filter %s: %w", f, err)
		}
	}
	if f.ReplySrc != nil {
		if err := cf.AddIP(netlink.ConntrackReplySrcIP, f.ReplySrc); err != nil {
			return nil, fmt.Errorf("conntrack filter %s: %w", f, err)
		}
	}
	return cf, nil
}
