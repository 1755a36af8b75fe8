package clusterdns

import (
	"net/netip"
)

// Catalog is what the server reads to answer cluster names. Its methods are
// called for every query, from several goroutines at once; they must be
// quick and must not block on I/O.
type Catalog interface {
	// Service returns the Service name in namespace ns.
	Service(ns, name string) (Service, bool)
	// PodHasIP reports whether a pod of namespace ns has the address ip.
	PodHasIP(ns string, ip netip.Addr) bool
}

// Service is a Service as DNS sees it.
type Service struct {
	// ClusterIPs are the Service's virtual addresses; empty for a headless
	// Service (clusterIP: None).
	ClusterIPs []netip.Addr
	// Ports are the Service's ports; only named ones get SRV records.
	Ports []Port
	// Endpoints are the ready addresses (with publishNotReadyAddresses, all
	// of them). A headless Service's name resolves to them.
	Endpoints []Endpoint
}

// Headless reports whether the Service has no cluster IP.
func (s Service) Headless() bool { return len(s.ClusterIPs) == 0 }

// Port is one port of a Service or an endpoint.
type Port struct {
	Name string
	// Protocol is TCP, UDP or SCTP.
	Protocol string
	Port     uint16
}

// Endpoint is one ready address behind a Service.
type Endpoint struct {
	IP netip.Addr
	// Hostname is the pod's spec.hostname when its spec.subdomain names
	// the Service; empty: the endpoint is named by its dashed IP.
	Hostname string
	// Ports are the endpoint's ports, named as the Service's ports they
	// serve (a targetPort by name may differ per endpoint).
	Ports []Port
}

// name is the endpoint's label under its Service's name.
func (e Endpoint) name() string {
	if e.Hostname != "" {
		return e.Hostname
	}
	return dashed(e.IP)
}
