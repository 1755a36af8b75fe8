package clusterdns

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// DefaultTTL is the TTL of every answer, the CoreDNS kubernetes plugin's
// default: short, as endpoints change often.
const DefaultTTL = 5

// soaSerial is constant: nothing transfers the zone.
const soaSerial = 1

// zone answers the names inside the cluster domain.
type zone struct {
	// origin is the cluster domain as a lower-case FQDN ("cluster.local.").
	origin string
	ttl    uint32
	cat    Catalog
}

// result is the answer to one question about a name in the zone.
type result struct {
	rcode  int
	answer []dns.RR
	extra  []dns.RR
}

// contains reports whether name (lower case, FQDN) is in the zone.
func (z zone) contains(name string) bool {
	return dns.IsSubDomain(z.origin, name)
}

// resolve answers q, whose name is in the zone. A name that exists but has
// no record of the type asked is NOERROR with no answer (NODATA); a name
// that does not exist is NXDOMAIN. Answers carry q.Name as given (the
// client's letter case).
func (z zone) resolve(q dns.Question) result {
	name := strings.ToLower(q.Name)
	rel := strings.TrimSuffix(strings.TrimSuffix(name, z.origin), ".")
	var labels []string
	if rel != "" {
		labels = dns.SplitDomainName(rel)
	}
	n := len(labels)
	switch {
	case n == 0:
		if q.Qtype == dns.TypeSOA {
			return result{answer: []dns.RR{z.soa()}}
		}
		return result{}
	case labels[n-1] == "svc":
		return z.resolveService(q, labels[:n-1])
	case labels[n-1] == "pod":
		return z.resolvePod(q, labels[:n-1])
	}
	return result{rcode: dns.RcodeNameError}
}

// resolveService answers the names under svc.<domain>: labels are what
// precedes "svc".
func (z zone) resolveService(q dns.Question, labels []string) result {
	n := len(labels)
	if n <= 1 {
		// svc.<domain> and <ns>.svc.<domain> are empty non-terminals.
		return result{}
	}
	ns, name := labels[n-1], labels[n-2]
	svc, ok := z.cat.Service(ns, name)
	if !ok {
		return result{rcode: dns.RcodeNameError}
	}
	svcName := name + "." + ns + ".svc." + z.origin
	switch {
	case n == 2:
		return z.serviceRecords(q, svc, svcName)
	case n == 3:
		return z.endpointRecords(q, svc, svcName, labels[0])
	case n == 4 && strings.HasPrefix(labels[0], "_") && strings.HasPrefix(labels[1], "_"):
		return z.portRecords(q, svc, svcName, labels[0][1:], labels[1][1:])
	}
	return result{rcode: dns.RcodeNameError}
}

// serviceRecords answers <svc>.<ns>.svc.<domain>: the cluster IPs, or the
// endpoints' IPs for a headless Service; SRV lists every named port.
func (z zone) serviceRecords(q dns.Question, svc Service, svcName string) result {
	if q.Qtype == dns.TypeSRV {
		var r result
		for _, p := range svc.Ports {
			if p.Name != "" {
				r.add(z.portRecords(q, svc, svcName, p.Name, p.Protocol))
			}
		}
		return r
	}
	ips := svc.ClusterIPs
	if svc.Headless() {
		ips = nil
		for _, e := range svc.Endpoints {
			ips = append(ips, e.IP)
		}
	}
	return result{answer: z.addresses(q.Name, q.Qtype, ips)}
}

// endpointRecords answers <endpoint>.<svc>.<ns>.svc.<domain>, which only a
// headless Service has.
func (z zone) endpointRecords(q dns.Question, svc Service, svcName, label string) result {
	if !svc.Headless() {
		return result{rcode: dns.RcodeNameError}
	}
	var ips []netip.Addr
	for _, e := range svc.Endpoints {
		if e.name() == label {
			ips = append(ips, e.IP)
		}
	}
	if len(ips) == 0 {
		return result{rcode: dns.RcodeNameError}
	}
	return result{answer: z.addresses(q.Name, q.Qtype, ips)}
}

// portRecords answers _<port>._<proto>.<svc>.<ns>.svc.<domain> with SRV
// records: the Service's name and port, or for a headless Service each
// endpoint's name and port. The addresses of the targets go in the
// additional section.
func (z zone) portRecords(q dns.Question, svc Service, svcName, port, proto string) result {
	type target struct {
		name string
		port uint16
		ip   netip.Addr
	}
	var targets []target
	if !svc.Headless() {
		if p, ok := findPort(svc.Ports, port, proto); ok {
			for _, ip := range svc.ClusterIPs {
				targets = append(targets, target{svcName, p.Port, ip})
			}
		}
	} else {
		for _, e := range svc.Endpoints {
			if p, ok := findPort(e.Ports, port, proto); ok {
				targets = append(targets, target{e.name() + "." + svcName, p.Port, e.IP})
			}
		}
	}
	if len(targets) == 0 {
		if _, ok := findPort(svc.Ports, port, proto); ok {
			return result{} // a port with no endpoint serving it yet
		}
		return result{rcode: dns.RcodeNameError}
	}
	var r result
	seen := map[target]bool{}
	weight := uint16(max(1, 100/len(targets)))
	for _, t := range targets {
		srv := target{name: t.name, port: t.port}
		if !seen[srv] && q.Qtype == dns.TypeSRV {
			seen[srv] = true
			r.answer = append(r.answer, &dns.SRV{Hdr: z.header(q.Name, dns.TypeSRV), Priority: 0, Weight: weight, Port: t.port, Target: t.name})
		}
		r.extra = append(r.extra, z.addresses(t.name, addrType(t.ip), []netip.Addr{t.ip})...)
	}
	if q.Qtype != dns.TypeSRV {
		r.extra = nil
	}
	return r
}

// resolvePod answers <a-b-c-d>.<ns>.pod.<domain> when a pod of <ns> has
// that address (CoreDNS's "pods verified").
func (z zone) resolvePod(q dns.Question, labels []string) result {
	switch len(labels) {
	case 0, 1:
		return result{} // pod.<domain> and <ns>.pod.<domain>
	case 2:
	default:
		return result{rcode: dns.RcodeNameError}
	}
	ip, ok := undash(labels[0])
	if !ok || !z.cat.PodHasIP(labels[1], ip) {
		return result{rcode: dns.RcodeNameError}
	}
	return result{answer: z.addresses(q.Name, q.Qtype, []netip.Addr{ip})}
}

// addresses are the A (qtype A) or AAAA (qtype AAAA) records of ips under
// name; ANY gets both.
func (z zone) addresses(name string, qtype uint16, ips []netip.Addr) []dns.RR {
	var rrs []dns.RR
	for _, ip := range ips {
		switch {
		case ip.Is4() && (qtype == dns.TypeA || qtype == dns.TypeANY):
			rrs = append(rrs, &dns.A{Hdr: z.header(name, dns.TypeA), A: ip.AsSlice()})
		case ip.Is6() && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
			rrs = append(rrs, &dns.AAAA{Hdr: z.header(name, dns.TypeAAAA), AAAA: ip.AsSlice()})
		}
	}
	return rrs
}

func (z zone) header(name string, rrtype uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: z.ttl}
}

// soa is the zone's SOA; its minimum (the negative-caching TTL) is the TTL.
func (z zone) soa() dns.RR {
	return &dns.SOA{
		Hdr: z.header(z.origin, dns.TypeSOA),
		Ns:  "ns.dns." + z.origin, Mbox: "hostmaster." + z.origin,
		Serial: soaSerial, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: z.ttl,
	}
}

func (r *result) add(o result) {
	r.answer = append(r.answer, o.answer...)
	r.extra = append(r.extra, o.extra...)
}

// findPort finds the port named name with protocol proto (any case).
func findPort(ports []Port, name, proto string) (Port, bool) {
	for _, p := range ports {
		if p.Name != "" && strings.EqualFold(p.Name, name) && strings.EqualFold(p.Protocol, proto) {
			return p, true
		}
	}
	return Port{}, false
}

func addrType(ip netip.Addr) uint16 {
	if ip.Is4() {
		return dns.TypeA
	}
	return dns.TypeAAAA
}

// dashed is ip's DNS label: 10.88.0.5 → 10-88-0-5, fd00::5 → fd00--5.
func dashed(ip netip.Addr) string {
	if ip.Is4() {
		return strings.ReplaceAll(ip.String(), ".", "-")
	}
	return strings.ReplaceAll(ip.String(), ":", "-")
}

// undash parses a dashed address label.
func undash(label string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ".")); err == nil && ip.Is4() {
		return ip, true
	}
	ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ":"))
	if err != nil || !ip.Is6() || ip.Is4In6() {
		return netip.Addr{}, false
	}
	return ip, true
}
