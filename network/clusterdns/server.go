package clusterdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// DefaultDomain is the cluster domain unless configured.
const DefaultDomain = "cluster.local"

// defaultForwardTimeout bounds one exchange with one upstream resolver.
const defaultForwardTimeout = 2 * time.Second

// Config is one server's settings.
type Config struct {
	// Domain is the cluster domain (DefaultDomain if empty).
	Domain string
	// Addr is the host:port the server listens on, UDP and TCP. The
	// address need not be on the host yet (the pod bridge gets its
	// gateway address at the first sandbox): the sockets are bound with
	// IP_FREEBIND and receive once it is.
	Addr string
	// Upstreams are the host:port resolvers names outside the domain go
	// to, tried in order. Addr itself is never one of them (a query must
	// not loop back to this server).
	Upstreams []string
	// Clients are the source networks answered; a query from elsewhere
	// is REFUSED. Empty answers anyone.
	Clients []netip.Prefix
	// TTL of every answer (DefaultTTL if zero).
	TTL uint32
	// ForwardTimeout bounds one exchange with one upstream (2s if zero).
	ForwardTimeout time.Duration
}

// Server is a running cluster DNS server.
type Server struct {
	zone zone
	// upstreams change when the host's resolv.conf does (SetUpstreams).
	upstreams atomic.Pointer[[]string]
	clients   []netip.Prefix
	timeout   time.Duration
	udp, tcp  *dns.Server
	pc        net.PacketConn
	ln        net.Listener
	// ctx ends when the server is closed; forwarded queries stop with it.
	ctx    context.Context
	cancel context.CancelFunc
}

// Start binds cfg.Addr (UDP and TCP) and serves queries from cat until
// Close. A bind failure is returned and nothing is left open.
func Start(cfg Config, cat Catalog) (*Server, error) {
	domain := cfg.Domain
	if domain == "" {
		domain = DefaultDomain
	}
	if err := CheckDomain(domain); err != nil {
		return nil, fmt.Errorf("cluster DNS: %w", err)
	}
	s := &Server{
		zone:    zone{origin: dns.Fqdn(strings.ToLower(domain)), ttl: cfg.TTL, cat: cat},
		clients: cfg.Clients,
		timeout: cfg.ForwardTimeout,
	}
	if s.zone.ttl == 0 {
		s.zone.ttl = DefaultTTL
	}
	if s.timeout == 0 {
		s.timeout = defaultForwardTimeout
	}
	pc, ln, err := listenUDPAndTCP(cfg.Addr)
	if err != nil {
		return nil, err
	}
	s.pc, s.ln = pc, ln
	s.SetUpstreams(cfg.Upstreams)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// Close works once both have started (a Shutdown before is refused
	// and would leave the sockets open).
	var started sync.WaitGroup
	started.Add(2)
	s.udp = &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: started.Done}
	s.tcp = &dns.Server{Listener: ln, Handler: s, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, NotifyStartedFunc: started.Done}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		go func() {
			if err := srv.ActivateAndServe(); err != nil && s.ctx.Err() == nil {
				slog.Error("Cluster DNS stopped serving", "addr", cfg.Addr, "err", err)
			}
		}()
	}
	started.Wait()
	return s, nil
}

// listenTCP opens the stream socket beside the datagram one (a seam for
// tests).
var listenTCP = func(lc *net.ListenConfig, addr string) (net.Listener, error) {
	return lc.Listen(context.Background(), "tcp", addr)
}

// listenUDPAndTCP opens one port for both protocols. With port 0 the
// kernel picks a free UDP port, which TCP may already hold: then it
// tries again with another (a few times), instead of failing a start
// that any free port would have satisfied.
func listenUDPAndTCP(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster DNS: address %q: %w", addr, err)
	}
	attempts := 1
	if port == "0" {
		attempts = 16
	}
	lc := &net.ListenConfig{Control: freeBind}
	for i := 1; ; i++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("cluster DNS: listen on udp %s: %w", addr, err)
		}
		ln, err := listenTCP(lc, pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if i >= attempts || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("cluster DNS: listen on tcp %s: %w", pc.LocalAddr(), err)
		}
	}
}

// Addr is the address the server listens on (UDP and TCP).
func (s *Server) Addr() string { return s.pc.LocalAddr().String() }

// Upstreams are the resolvers the server forwards to.
func (s *Server) Upstreams() []string { return slices.Clone(*s.upstreams.Load()) }

// SetUpstreams replaces the resolvers the server forwards to (the server's
// own address is left out); queries under way finish with the old ones.
func (s *Server) SetUpstreams(upstreams []string) {
	u := withoutSelf(upstreams, s.pc.LocalAddr().String())
	s.upstreams.Store(&u)
}

// Close stops serving and closes the sockets.
func (s *Server) Close() error {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return errors.Join(s.udp.ShutdownContext(ctx), s.tcp.ShutdownContext(ctx))
}

// ServeDNS answers one query: a name in the cluster domain from the
// catalog, any other by forwarding it.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	reply := s.reply(w, req)
	if reply == nil {
		return
	}
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		reply.Truncate(int(udpSize(req)))
	}
	if err := w.WriteMsg(reply); err != nil {
		slog.Debug("Cluster DNS reply not sent", "client", w.RemoteAddr(), "err", err)
	}
}

func (s *Server) reply(w dns.ResponseWriter, req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	switch {
	case !s.allowed(w.RemoteAddr()):
		return m.SetRcode(req, dns.RcodeRefused)
	case req.Response:
		return nil
	case req.Opcode != dns.OpcodeQuery:
		return m.SetRcode(req, dns.RcodeNotImplemented)
	case len(req.Question) != 1:
		return m.SetRcode(req, dns.RcodeFormatError)
	}
	q := req.Question[0]
	if !s.zone.contains(strings.ToLower(q.Name)) {
		return s.forward(w, req)
	}
	r := s.zone.resolve(q)
	m.SetRcode(req, r.rcode)
	m.Authoritative, m.RecursionAvailable = true, true
	m.Answer, m.Extra = r.answer, r.extra
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{s.zone.soa()}
	}
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	return m
}

// forward sends req to the upstreams in turn, over the client's transport
// (UDP first, then TCP when the answer is truncated), and returns the first
// answer that is not SERVFAIL or REFUSED; SERVFAIL when none answers.
func (s *Server) forward(w dns.ResponseWriter, req *dns.Msg) *dns.Msg {
	network := "udp"
	if _, isTCP := w.RemoteAddr().(*net.TCPAddr); isTCP {
		network = "tcp"
	}
	var failed *dns.Msg
	for _, up := range *s.upstreams.Load() {
		resp, err := s.exchange(network, up, req)
		if err == nil && resp.Truncated && network == "udp" {
			resp, err = s.exchange("tcp", up, req)
		}
		switch {
		case err != nil:
			slog.Debug("Cluster DNS upstream failed", "upstream", up, "name", req.Question[0].Name, "err", err)
		case resp.Rcode == dns.RcodeServerFailure || resp.Rcode == dns.RcodeRefused:
			// As a stub resolver does: the next upstream may do better.
			failed = resp
		default:
			resp.Id = req.Id
			return resp
		}
	}
	if failed != nil {
		failed.Id = req.Id
		return failed
	}
	return new(dns.Msg).SetRcode(req, dns.RcodeServerFailure)
}

func (s *Server) exchange(network, upstream string, req *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	c := &dns.Client{Net: network, Timeout: s.timeout, UDPSize: udpSize(req)}
	resp, _, err := c.ExchangeContext(ctx, req, upstream)
	if err != nil {
		return nil, fmt.Errorf("forward %s to %s: %w", req.Question[0].Name, upstream, err)
	}
	return resp, nil
}

// allowed reports whether a query from addr is answered.
func (s *Server) allowed(addr net.Addr) bool {
	if len(s.clients) == 0 {
		return true
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	return slices.ContainsFunc(s.clients, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// udpSize is the largest UDP reply the client of req takes.
func udpSize(req *dns.Msg) uint16 {
	if opt := req.IsEdns0(); opt != nil && opt.UDPSize() > dns.MinMsgSize {
		return opt.UDPSize()
	}
	return dns.MinMsgSize
}

// CheckDomain accepts a cluster domain: a DNS name other than the root.
func CheckDomain(domain string) error {
	if _, ok := dns.IsDomainName(domain); !ok || strings.Trim(domain, ".") == "" || strings.Contains(domain, "..") {
		return fmt.Errorf("%q is not a domain name", domain)
	}
	return nil
}

// withoutSelf drops self from the upstreams: forwarding there would loop.
func withoutSelf(upstreams []string, self string) []string {
	selfAP, err := netip.ParseAddrPort(self)
	var out []string
	for _, u := range upstreams {
		ap, perr := netip.ParseAddrPort(u)
		if err == nil && perr == nil && ap.Addr().Unmap() == selfAP.Addr().Unmap() && ap.Port() == selfAP.Port() {
			slog.Warn("Cluster DNS does not forward to itself; upstream dropped", "upstream", u)
			continue
		}
		out = append(out, u)
	}
	return out
}

// freeBind lets a socket bind an address the host does not have yet.
func freeBind(network, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if strings.HasSuffix(network, "6") {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
	})
	return errors.Join(err, serr)
}
