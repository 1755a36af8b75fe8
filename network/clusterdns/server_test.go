package clusterdns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// testCatalog holds a ClusterIP Service web (named port http, an unnamed
// port), a headless Service db with two ready endpoints (one with a
// hostname), a selector-less Service with no endpoints, and two pods.
func testCatalog() *MemoryCatalog {
	c := NewMemoryCatalog()
	c.SetService("default", "web", Service{
		ClusterIPs: []netip.Addr{ip("10.96.0.10")},
		Ports:      []Port{{Name: "http", Protocol: "TCP", Port: 80}, {Protocol: "UDP", Port: 9000}},
		Endpoints:  []Endpoint{{IP: ip("10.88.0.5"), Ports: []Port{{Name: "http", Protocol: "TCP", Port: 8080}}}},
	})
	c.SetService("default", "db", Service{
		Ports: []Port{{Name: "pg", Protocol: "TCP", Port: 5432}, {Name: "metrics", Protocol: "TCP", Port: 9187}},
		Endpoints: []Endpoint{
			{IP: ip("10.88.0.7"), Ports: []Port{{Name: "pg", Protocol: "TCP", Port: 5432}}},
			{IP: ip("10.88.0.8"), Hostname: "db-1", Ports: []Port{{Name: "pg", Protocol: "TCP", Port: 15432}}},
		},
	})
	c.SetService("prod", "myservice", Service{ClusterIPs: []netip.Addr{ip("10.96.3.4")}, Ports: []Port{{Name: "web", Protocol: "TCP", Port: 80}}})
	c.AddPodIP("default", ip("10.88.0.5"))
	c.AddPodIP("prod", ip("10.88.0.9"))
	return c
}

// fakeUpstream serves example.org. A 192.0.2.10 and big.example.org. with
// 60 A records (more than 512 bytes: truncated over UDP), NXDOMAIN
// otherwise. It counts the queries it got by transport.
type fakeUpstream struct {
	addr    string
	queries chan string
}

func startUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{queries: make(chan string, 100)}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		u.queries <- w.RemoteAddr().Network() + " " + r.Question[0].Name
		m := new(dns.Msg).SetReply(r)
		switch strings.ToLower(r.Question[0].Name) {
		case "example.org.":
			m.Answer = append(m.Answer, mustRR(t, r.Question[0].Name+" 60 IN A 192.0.2.10"))
		case "big.example.org.":
			for i := range 60 {
				m.Answer = append(m.Answer, mustRR(t, fmt.Sprintf("big.example.org. 60 IN A 192.0.2.%d", i+1)))
			}
		default:
			m.Rcode = dns.RcodeNameError
		}
		if w.RemoteAddr().Network() == "udp" {
			m.Truncate(dns.MinMsgSize)
		}
		w.WriteMsg(m)
	})
	// The server's own way to one port for both protocols: a free UDP
	// port's TCP half may be taken by another test's connection.
	pc, ln, err := listenUDPAndTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
	}
	u.addr = pc.LocalAddr().String()
	return u
}

func mustRR(t *testing.T, s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s, err := Start(cfg, testCatalog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func query(t *testing.T, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	resp, _, err := c.Exchange(new(dns.Msg).SetQuestion(name, qtype), addr)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return resp
}

// records renders RRs without their header, sorted: "A 10.96.0.10",
// "SRV 0 50 80 web.default.svc.cluster.local.".
func records(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		h := rr.Header().String()
		out = append(out, dns.TypeToString[rr.Header().Rrtype]+" "+strings.TrimPrefix(rr.String(), h))
	}
	sort.Strings(out)
	return out
}

func TestClusterNames(t *testing.T) {
	s := startServer(t, Config{})
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		extra  []string
	}{
		{name: "ClusterIP Service A", qname: "web.default.svc.cluster.local.", qtype: dns.TypeA, answer: []string{"A 10.96.0.10"}},
		{name: "A-only name has no AAAA (NODATA)", qname: "web.default.svc.cluster.local.", qtype: dns.TypeAAAA},
		{name: "other types of a Service are NODATA", qname: "web.default.svc.cluster.local.", qtype: dns.TypeTXT},
		{name: "selector-less Service has its ClusterIP", qname: "myservice.prod.svc.cluster.local.", qtype: dns.TypeA, answer: []string{"A 10.96.3.4"}},
		{name: "Service of another namespace is NXDOMAIN", qname: "myservice.default.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "unknown Service is NXDOMAIN", qname: "nope.default.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "headless Service A is its ready endpoints", qname: "db.default.svc.cluster.local.", qtype: dns.TypeA, answer: []string{"A 10.88.0.7", "A 10.88.0.8"}},
		{
			name: "SRV of a named port of a ClusterIP Service", qname: "_http._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"SRV 0 100 80 web.default.svc.cluster.local."}, extra: []string{"A 10.96.0.10"},
		},
		{
			name: "SRV port and protocol match any case", qname: "_HTTP._TCP.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"SRV 0 100 80 web.default.svc.cluster.local."}, extra: []string{"A 10.96.0.10"},
		},
		{name: "SRV of a port with another protocol is NXDOMAIN", qname: "_http._udp.web.default.svc.cluster.local.", qtype: dns.TypeSRV, rcode: dns.RcodeNameError},
		{name: "SRV of an unknown port is NXDOMAIN", qname: "_https._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV, rcode: dns.RcodeNameError},
		{name: "A of a port name is NODATA", qname: "_http._tcp.web.default.svc.cluster.local.", qtype: dns.TypeA},
		{
			name: "SRV of a headless Service names each endpoint with its port", qname: "_pg._tcp.db.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"SRV 0 50 15432 db-1.db.default.svc.cluster.local.", "SRV 0 50 5432 10-88-0-7.db.default.svc.cluster.local."},
			extra:  []string{"A 10.88.0.7", "A 10.88.0.8"},
		},
		{name: "headless port no endpoint serves is NODATA", qname: "_metrics._tcp.db.default.svc.cluster.local.", qtype: dns.TypeSRV},
		{
			name: "SRV of a Service lists its named ports", qname: "web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"SRV 0 100 80 web.default.svc.cluster.local."}, extra: []string{"A 10.96.0.10"},
		},
		{name: "headless endpoint by dashed IP", qname: "10-88-0-7.db.default.svc.cluster.local.", qtype: dns.TypeA, answer: []string{"A 10.88.0.7"}},
		{name: "headless endpoint by hostname", qname: "db-1.db.default.svc.cluster.local.", qtype: dns.TypeA, answer: []string{"A 10.88.0.8"}},
		{name: "headless endpoint hostname hides its dashed IP", qname: "10-88-0-8.db.default.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "a ClusterIP Service has no endpoint names", qname: "10-88-0-5.web.default.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "pod A by dashed IP", qname: "10-88-0-5.default.pod.cluster.local.", qtype: dns.TypeA, answer: []string{"A 10.88.0.5"}},
		{name: "pod name has no AAAA (NODATA)", qname: "10-88-0-5.default.pod.cluster.local.", qtype: dns.TypeAAAA},
		{name: "pod of another namespace is NXDOMAIN", qname: "10-88-0-9.default.pod.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "address no pod has is NXDOMAIN", qname: "10-88-0-99.default.pod.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "pod label that is no address is NXDOMAIN", qname: "web.default.pod.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "names below a pod are NXDOMAIN", qname: "x.10-88-0-5.default.pod.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "unknown name in the domain is NXDOMAIN", qname: "foo.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "search-path expansion of an outside name is NXDOMAIN", qname: "example.org.default.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "svc.<domain> exists (NODATA)", qname: "svc.cluster.local.", qtype: dns.TypeA},
		{name: "<ns>.svc.<domain> exists (NODATA)", qname: "default.svc.cluster.local.", qtype: dns.TypeA},
		{name: "apex SOA", qname: "cluster.local.", qtype: dns.TypeSOA, answer: []string{"SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, network := range []string{"udp", "tcp"} {
				resp := query(t, network, s.Addr(), tt.qname, tt.qtype)
				if resp.Rcode != tt.rcode {
					t.Errorf("%s: rcode %s, want %s", network, dns.RcodeToString[resp.Rcode], dns.RcodeToString[tt.rcode])
				}
				if got := records(resp.Answer); !slices.Equal(got, tt.answer) {
					t.Errorf("%s: answer %q, want %q", network, got, tt.answer)
				}
				if got := records(resp.Extra); !slices.Equal(got, tt.extra) {
					t.Errorf("%s: additional %q, want %q", network, got, tt.extra)
				}
				if !resp.Authoritative {
					t.Errorf("%s: answer not authoritative", network)
				}
				for _, rr := range append(slices.Clone(resp.Answer), resp.Extra...) {
					if rr.Header().Ttl != DefaultTTL {
						t.Errorf("%s: TTL %d in %s, want %d", network, rr.Header().Ttl, rr, DefaultTTL)
					}
				}
				// Negative answers carry the SOA, whose minimum caps negative caching.
				if len(resp.Answer) == 0 && (len(resp.Ns) != 1 || resp.Ns[0].Header().Rrtype != dns.TypeSOA) {
					t.Errorf("%s: negative answer's authority section %v, want the SOA", network, resp.Ns)
				}
			}
		})
	}
}

func TestAnswersKeepTheClientsLetterCase(t *testing.T) {
	s := startServer(t, Config{})
	resp := query(t, "udp", s.Addr(), "WEB.Default.SVC.Cluster.Local.", dns.TypeA)
	if len(resp.Answer) != 1 || resp.Answer[0].Header().Name != "WEB.Default.SVC.Cluster.Local." {
		t.Fatalf("answer %v, want one record named as asked", resp.Answer)
	}
}

func TestClusterDomainIsConfigurable(t *testing.T) {
	s := startServer(t, Config{Domain: "Corp.Internal", TTL: 30})
	resp := query(t, "udp", s.Addr(), "web.default.svc.corp.internal.", dns.TypeA)
	if got := records(resp.Answer); !slices.Equal(got, []string{"A 10.96.0.10"}) || resp.Answer[0].Header().Ttl != 30 {
		t.Errorf("answer %v, want web's ClusterIP with TTL 30", resp.Answer)
	}
	if resp := query(t, "udp", s.Addr(), "web.default.svc.cluster.local.", dns.TypeA); resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("cluster.local outside the domain and no upstream: rcode %s, want SERVFAIL", dns.RcodeToString[resp.Rcode])
	}
}

func TestBadDomainIsRefused(t *testing.T) {
	for _, d := range []string{".", "a..b", strings.Repeat("x", 64) + ".local"} {
		if s, err := Start(Config{Addr: "127.0.0.1:0", Domain: d}, testCatalog()); err == nil {
			s.Close()
			t.Errorf("domain %q accepted", d)
		}
	}
}

func TestForwardsOtherNamesToUpstream(t *testing.T) {
	up := startUpstream(t)
	s := startServer(t, Config{Upstreams: []string{up.addr}})
	for _, network := range []string{"udp", "tcp"} {
		resp := query(t, network, s.Addr(), "example.org.", dns.TypeA)
		if got := records(resp.Answer); resp.Rcode != dns.RcodeSuccess || !slices.Equal(got, []string{"A 192.0.2.10"}) {
			t.Errorf("%s: example.org: %s %q, want the upstream's A", network, dns.RcodeToString[resp.Rcode], got)
		}
		if got := <-up.queries; got != network+" example.org." {
			t.Errorf("upstream got %q, want %q (same transport as the client)", got, network+" example.org.")
		}
		if resp := query(t, network, s.Addr(), "nope.example.org.", dns.TypeA); resp.Rcode != dns.RcodeNameError {
			t.Errorf("%s: upstream's NXDOMAIN came back as %s", network, dns.RcodeToString[resp.Rcode])
		}
		<-up.queries
	}
}

func TestForwardRetriesTruncatedAnswerOverTCP(t *testing.T) {
	up := startUpstream(t)
	s := startServer(t, Config{Upstreams: []string{up.addr}})
	// The client takes big UDP answers, the upstream truncates at 512.
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second, UDPSize: 4096}
	req := new(dns.Msg).SetQuestion("big.example.org.", dns.TypeA)
	req.SetEdns0(4096, false)
	resp, _, err := c.Exchange(req, s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Answer) != 60 || resp.Truncated {
		t.Errorf("got %d records (truncated %t), want all 60", len(resp.Answer), resp.Truncated)
	}
	if a, b := <-up.queries, <-up.queries; a != "udp big.example.org." || b != "tcp big.example.org." {
		t.Errorf("upstream got %q then %q, want udp then tcp", a, b)
	}
}

func TestForwardTriesUpstreamsInOrderThenFails(t *testing.T) {
	up := startUpstream(t)
	// A closed port: nothing answers.
	dead, err := Start(Config{Addr: "127.0.0.1:0"}, NewMemoryCatalog())
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr()
	dead.Close()
	s := startServer(t, Config{Upstreams: []string{deadAddr, up.addr}, ForwardTimeout: 500 * time.Millisecond})
	if resp := query(t, "tcp", s.Addr(), "example.org.", dns.TypeA); len(resp.Answer) != 1 {
		t.Errorf("second upstream not tried: %v", resp)
	}
	alone := startServer(t, Config{Upstreams: []string{deadAddr}, ForwardTimeout: 500 * time.Millisecond})
	if resp := query(t, "tcp", alone.Addr(), "example.org.", dns.TypeA); resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("no upstream answered: rcode %s, want SERVFAIL", dns.RcodeToString[resp.Rcode])
	}
}

func TestNeverForwardsToItself(t *testing.T) {
	got := withoutSelf([]string{"10.88.0.1:53", "192.0.2.53:53", "10.88.0.1:5353", "[::ffff:10.88.0.1]:53"}, "10.88.0.1:53")
	if want := []string{"192.0.2.53:53", "10.88.0.1:5353"}; !slices.Equal(got, want) {
		t.Errorf("upstreams %q, want %q", got, want)
	}
}

func TestQueriesFromOutsideTheClientsAreRefused(t *testing.T) {
	s := startServer(t, Config{Clients: []netip.Prefix{netip.MustParsePrefix("10.88.0.0/16")}})
	if resp := query(t, "udp", s.Addr(), "web.default.svc.cluster.local.", dns.TypeA); resp.Rcode != dns.RcodeRefused {
		t.Errorf("query from 127.0.0.1: rcode %s, want REFUSED", dns.RcodeToString[resp.Rcode])
	}
	open := startServer(t, Config{Clients: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if resp := query(t, "udp", open.Addr(), "web.default.svc.cluster.local.", dns.TypeA); resp.Rcode != dns.RcodeSuccess {
		t.Errorf("query from an allowed client: rcode %s", dns.RcodeToString[resp.Rcode])
	}
}

func TestBigAnswersAreTruncatedOverUDP(t *testing.T) {
	c := NewMemoryCatalog()
	var eps []Endpoint
	for i := range 100 {
		eps = append(eps, Endpoint{IP: netip.AddrFrom4([4]byte{10, 88, 1, byte(i)})})
	}
	c.SetService("default", "many", Service{Endpoints: eps})
	s, err := Start(Config{Addr: "127.0.0.1:0"}, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if resp := query(t, "udp", s.Addr(), "many.default.svc.cluster.local.", dns.TypeA); !resp.Truncated {
		t.Errorf("udp answer of %d records not truncated", len(resp.Answer))
	}
	if resp := query(t, "tcp", s.Addr(), "many.default.svc.cluster.local.", dns.TypeA); len(resp.Answer) != 100 {
		t.Errorf("tcp answer has %d records, want 100", len(resp.Answer))
	}
}

// The pod bridge gets its gateway address at the first sandbox; the
// server binds it before that.
func TestListensOnAnAddressTheHostDoesNotHaveYet(t *testing.T) {
	s, err := Start(Config{Addr: "192.0.2.53:0"}, testCatalog())
	if err != nil {
		t.Fatalf("bind a foreign address: %v", err)
	}
	s.Close()
}

func TestUpstreamsFromResolvConf(t *testing.T) {
	got, err := Upstreams([]byte("search example.com\nnameserver 192.0.2.1\nnameserver fd00::53\noptions ndots:2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"192.0.2.1:53", "[fd00::53]:53"}; !slices.Equal(got, want) {
		t.Errorf("upstreams %q, want %q", got, want)
	}
}

func TestDashedAddresses(t *testing.T) {
	for _, tt := range []struct{ ip, label string }{{"10.88.0.5", "10-88-0-5"}, {"fd00::5", "fd00--5"}} {
		if got := dashed(ip(tt.ip)); got != tt.label {
			t.Errorf("dashed(%s) = %s, want %s", tt.ip, got, tt.label)
		}
		if got, ok := undash(tt.label); !ok || got != ip(tt.ip) {
			t.Errorf("undash(%s) = %s %t", tt.label, got, ok)
		}
	}
	for _, bad := range []string{"web", "10-88-0", "1-2-3-4-5", "300-1-1-1"} {
		if got, ok := undash(bad); ok {
			t.Errorf("undash(%s) = %s, want no address", bad, got)
		}
	}
}

func TestCloseRightAfterStartClosesTheSockets(t *testing.T) {
	s, err := Start(Config{Addr: "127.0.0.1:0"}, testCatalog())
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("tcp %s still accepts after Close", addr)
	}
}

// The upstreams follow the host's resolv.conf: read once at start, a
// changed file (DHCP, a VPN) would leave names outside the cluster going
// to a resolver that is gone.
func TestUpstreamsFollowTheHostsResolvConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	first := []byte("nameserver 192.0.2.1\n")
	if err := os.WriteFile(path, first, 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Config{Upstreams: []string{"192.0.2.1:53"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.FollowResolvConf(ctx, path, first, 10*time.Millisecond); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := os.WriteFile(path, []byte("nameserver 192.0.2.2\nnameserver 192.0.2.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.2:53", "192.0.2.3:53"}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(s.Upstreams(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("upstreams %q, want %q after the file changed", s.Upstreams(), want)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
}

// With port 0 the UDP port the kernel picks may be taken for TCP by
// another process; the server then takes another port (CI failed once on
// "bind: address already in use").
func TestStartRetriesWhenTheTCPHalfOfAFreeUDPPortIsTaken(t *testing.T) {
	real := listenTCP
	t.Cleanup(func() { listenTCP = real })
	var calls int
	listenTCP = func(lc *net.ListenConfig, addr string) (net.Listener, error) {
		calls++
		if calls <= 2 {
			return nil, &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
		}
		return real(lc, addr)
	}
	s := startServer(t, Config{})
	// More than 3 when a real TCP listener holds one of the ports tried.
	if calls < 3 {
		t.Errorf("tcp listen tried %d times, want 3 or more", calls)
	}
	if resp := query(t, "tcp", s.Addr(), "web.default.svc.cluster.local.", dns.TypeA); len(resp.Answer) != 1 {
		t.Errorf("over tcp: %v", resp)
	}

	// A fixed port is not changed behind the caller's back.
	calls = 0
	listenTCP = func(*net.ListenConfig, string) (net.Listener, error) {
		calls++
		return nil, &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fixed := pc.LocalAddr().String()
	pc.Close()
	if _, err := Start(Config{Addr: fixed}, NewMemoryCatalog()); err == nil || calls != 1 {
		t.Errorf("fixed port: err %v after %d tries, want an error after 1", err, calls)
	}
}
