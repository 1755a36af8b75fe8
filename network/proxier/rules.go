package proxier

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Protocol is TCP or UDP.
type Protocol string

// The protocols the rules serve.
const (
	TCP Protocol = "TCP"
	UDP Protocol = "UDP"
)

// ServicePort is one port of one Service as the rules see it.
type ServicePort struct {
	// Name is "namespace/name:port" (port is the port's name or number),
	// unique among the daemon's Services; comments and chain names use it.
	Name      string
	ClusterIP net.IP
	Port      int32
	Protocol  Protocol
	// NodePort is 0 unless the Service is of type NodePort.
	NodePort int32
	// AffinitySeconds is the ClientIP affinity timeout; 0 is none.
	AffinitySeconds int32
	// Endpoints are the ready endpoints, "ip:port", in a stable order.
	Endpoints []Endpoint
}

// Endpoint is one ready backend of a ServicePort.
type Endpoint struct {
	IP   net.IP
	Port int32
}

func (e Endpoint) String() string { return net.JoinHostPort(e.IP.String(), fmt.Sprint(e.Port)) }

// Options are what the rules need to know of the host.
type Options struct {
	// Tag names the daemon's chains (TagFor).
	Tag string
	// PodCIDRs are the pod networks: traffic to a cluster IP from
	// elsewhere (the host) is masqueraded. None: all of it is.
	PodCIDRs []*net.IPNet
}

// MasqueradeMark is the packet mark bit that asks for masquerade in
// POSTROUTING (kube-proxy uses 0x4000; podd keeps clear of it).
const MasqueradeMark = "0x40000"

// TagFor derives the chain tag of the daemon with state root root: eight
// hex digits of the root's absolute path, symlinks resolved when it exists.
func TagFor(root string) string {
	abs, err := filepath.Abs(root)
	if err == nil {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
	} else {
		abs = root
	}
	sum := sha256.Sum256([]byte(abs))
	return fmt.Sprintf("%x", sum[:4])
}

// ChainPrefix starts every chain of the daemon with tag.
func ChainPrefix(tag string) string { return "PODD-" + tag + "-" }

// Chains is the names of a daemon's fixed chains.
type Chains struct {
	// Services dispatches on cluster IP and port (nat PREROUTING, OUTPUT).
	Services string
	// NodePorts dispatches on node ports (from Services, for local addresses).
	NodePorts string
	// Postrouting masquerades marked packets (nat POSTROUTING).
	Postrouting string
	// MarkMasq marks a packet for masquerade.
	MarkMasq string
	// Filter rejects traffic to Services without endpoints (filter INPUT,
	// FORWARD, OUTPUT).
	Filter string
}

// ChainsOf returns the fixed chain names of tag.
func ChainsOf(tag string) Chains {
	p := ChainPrefix(tag)
	return Chains{Services: p + "SERVICES", NodePorts: p + "NODEPORTS", Postrouting: p + "POSTROUTING", MarkMasq: p + "MARK-MASQ", Filter: p + "FILTER"}
}

// hashChain names a per-Service or per-endpoint chain: kind is S or E.
func hashChain(tag, kind, key string) string {
	sum := sha256.Sum256([]byte(tag + "/" + key))
	h := base32.StdEncoding.EncodeToString(sum[:])[:12]
	return ChainPrefix(tag) + kind + h
}

func serviceChain(tag string, sp ServicePort) string {
	return hashChain(tag, "S", sp.Name+"/"+string(sp.Protocol))
}

func endpointChain(tag string, sp ServicePort, ep Endpoint) string {
	return hashChain(tag, "E", sp.Name+"/"+string(sp.Protocol)+"/"+ep.String())
}

// Ruleset is the full content of a daemon's chains, per table.
type Ruleset struct {
	// NAT and Filter map each chain to its rules (without "-A chain").
	NAT, Filter map[string][]string
	// LocalNet is set when a node port is served on 127.0.0.1, which needs
	// route_localnet (and the kube-proxy guard against martians).
	LocalNet bool
}

// Empty reports whether the ruleset serves no Service.
func (r Ruleset) Empty() bool { return len(r.NAT) == 0 && len(r.Filter) == 0 }

// Build computes the ruleset for ports: kube-proxy's iptables mode over
// podd's chains. It is pure; no ports give an empty ruleset.
func Build(opts Options, ports []ServicePort) Ruleset {
	rs := Ruleset{NAT: map[string][]string{}, Filter: map[string][]string{}}
	if len(ports) == 0 {
		return rs
	}
	c := ChainsOf(opts.Tag)
	nat := func(chain string, rule ...string) { rs.NAT[chain] = append(rs.NAT[chain], strings.Join(rule, " ")) }
	filter := func(chain string, rule ...string) {
		rs.Filter[chain] = append(rs.Filter[chain], strings.Join(rule, " "))
	}
	rs.NAT[c.Services], rs.NAT[c.NodePorts], rs.Filter[c.Filter] = nil, nil, nil
	nat(c.MarkMasq, "-j MARK --or-mark", MasqueradeMark)
	nat(c.Postrouting, "-m mark ! --mark", MasqueradeMark+"/"+MasqueradeMark, "-j RETURN")
	// The mark would survive into a packet re-entering the stack
	// (an encapsulation); clear it as kube-proxy does.
	nat(c.Postrouting, "-j MARK --xor-mark", MasqueradeMark)
	nat(c.Postrouting, "-m comment --comment", quote("podd service traffic requiring SNAT"), "-j MASQUERADE --random-fully")

	sorted := append([]ServicePort(nil), ports...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Name != sorted[j].Name {
			return sorted[i].Name < sorted[j].Name
		}
		return sorted[i].Protocol < sorted[j].Protocol
	})
	for _, sp := range sorted {
		proto := "-p " + strings.ToLower(string(sp.Protocol))
		comment := "-m comment --comment " + quote(sp.Name)
		dst := fmt.Sprintf("-d %s/32 %s -m %s --dport %d", sp.ClusterIP, proto, strings.ToLower(string(sp.Protocol)), sp.Port)
		nodeDst := fmt.Sprintf("%s -m %s --dport %d", proto, strings.ToLower(string(sp.Protocol)), sp.NodePort)
		if len(sp.Endpoints) == 0 {
			// A client is refused at once, not left to time out.
			filter(c.Filter, comment, dst, "-j REJECT --reject-with icmp-port-unreachable")
			if sp.NodePort != 0 {
				filter(c.Filter, comment, "-m addrtype --dst-type LOCAL", nodeDst, "-j REJECT --reject-with icmp-port-unreachable")
			}
			continue
		}
		svc := serviceChain(opts.Tag, sp)
		nat(c.Services, comment, dst, "-j", svc)
		if sp.NodePort != 0 {
			rs.LocalNet = true
			// Node port traffic is always masqueraded (externalTrafficPolicy
			// Cluster), so replies come back through this host.
			nat(c.NodePorts, comment, nodeDst, "-j", c.MarkMasq)
			nat(c.NodePorts, comment, nodeDst, "-j", svc)
		}
		rs.NAT[svc] = nil
		// Traffic from outside the pod networks (the host itself) is
		// masqueraded so that replies return through the host.
		if len(opts.PodCIDRs) == 0 {
			nat(svc, comment, dst, "-j", c.MarkMasq)
		}
		for _, cidr := range opts.PodCIDRs {
			nat(svc, comment, "!", "-s", cidr.String(), dst, "-j", c.MarkMasq)
		}
		eps := make([]string, len(sp.Endpoints))
		for i, ep := range sp.Endpoints {
			eps[i] = endpointChain(opts.Tag, sp, ep)
		}
		if sp.AffinitySeconds > 0 {
			for i, ep := range sp.Endpoints {
				nat(svc, "-m comment --comment", quote(sp.Name+" -> "+ep.String()), "-m recent --name", eps[i],
					fmt.Sprintf("--rcheck --seconds %d --reap", sp.AffinitySeconds), "-j", eps[i])
			}
		}
		n := len(sp.Endpoints)
		for i, ep := range sp.Endpoints {
			rule := []string{"-m comment --comment", quote(sp.Name + " -> " + ep.String())}
			if i < n-1 {
				// kube-proxy's spread: endpoint i of n is taken with
				// probability 1/(n-i) of what is left, so each gets 1/n.
				rule = append(rule, "-m statistic --mode random --probability", probability(n-i))
			}
			nat(svc, append(rule, "-j", eps[i])...)
			ec := eps[i]
			// Hairpin: a pod reaching itself through its Service must see
			// the reply come from the host, not from itself.
			nat(ec, comment, "-s", ep.IP.String()+"/32", "-j", c.MarkMasq)
			if sp.AffinitySeconds > 0 {
				nat(ec, comment, "-m recent --name", ec, "--set", proto, "-j DNAT --to-destination", ep.String())
			} else {
				nat(ec, comment, proto, "-j DNAT --to-destination", ep.String())
			}
		}
	}
	nat(c.Services, "-m comment --comment", quote("podd service nodeports; must be last"), "-m addrtype --dst-type LOCAL -j", c.NodePorts)
	if rs.LocalNet {
		// route_localnet lets 127.0.0.1 reach a node port; drop martians
		// to 127.0.0.0/8 from elsewhere, as kube-proxy does (CVE-2020-8558).
		filter(c.Filter, "-m comment --comment", quote("podd: block incoming localnet connections"),
			"-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP")
	}
	return rs
}

func probability(n int) string { return fmt.Sprintf("%0.10f", 1/float64(n)) }

// quote is a rule comment in iptables-restore's quoting.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `'`) + `"` }

// Restore renders the iptables-restore --noflush input that makes the
// daemon's chains exactly rs: every chain of rs declared (so flushed) and
// filled, and every chain of the tag in existing that rs lacks deleted.
// existing maps a table ("nat", "filter") to the tag's chains there now.
func Restore(tag string, rs Ruleset, existing map[string][]string) string {
	var b strings.Builder
	for _, t := range tables(rs) {
		writeTable(&b, t.name, t.chains, staleChains(tag, t.chains, existing[t.name]))
	}
	return b.String()
}

// RestoreChanges renders the iptables-restore --noflush input that turns
// the daemon's chains from prev (as last written) into rs: only the chains
// whose rules differ are declared and filled, and the chains of prev that
// rs lacks deleted. A readiness change so rewrites one Service's chains,
// not every Service's. No change renders "".
func RestoreChanges(tag string, rs, prev Ruleset) string {
	var b strings.Builder
	for i, t := range tables(rs) {
		before := tables(prev)[i].chains
		changed := map[string][]string{}
		for ch, rules := range t.chains {
			if old, ok := before[ch]; !ok || !slices.Equal(old, rules) {
				changed[ch] = rules
			}
		}
		writeTable(&b, t.name, changed, staleChains(tag, t.chains, keys(before)))
	}
	return b.String()
}

type table struct {
	name   string
	chains map[string][]string
}

func tables(rs Ruleset) [2]table { return [2]table{{"nat", rs.NAT}, {"filter", rs.Filter}} }

// writeTable renders one table's part of a restore: chains declared (so
// flushed) and filled, stale ones flushed and deleted.
func writeTable(b *strings.Builder, name string, chains map[string][]string, stale []string) {
	if len(chains) == 0 && len(stale) == 0 {
		return
	}
	fmt.Fprintf(b, "*%s\n", name)
	names := keys(chains)
	sort.Strings(names)
	for _, ch := range append(names, stale...) {
		fmt.Fprintf(b, ":%s - [0:0]\n", ch)
	}
	for _, ch := range names {
		for _, r := range chains[ch] {
			fmt.Fprintf(b, "-A %s %s\n", ch, r)
		}
	}
	for _, ch := range stale {
		fmt.Fprintf(b, "-X %s\n", ch)
	}
	b.WriteString("COMMIT\n")
}

func staleChains(tag string, want map[string][]string, existing []string) []string {
	var out []string
	for _, ch := range existing {
		if _, ok := want[ch]; !ok && strings.HasPrefix(ch, ChainPrefix(tag)) {
			out = append(out, ch)
		}
	}
	sort.Strings(out)
	return out
}

// Jump is a rule in a built-in chain that enters one of the daemon's.
type Jump struct {
	Table, Chain string
	Rule         []string
}

// Jumps are the rules that enter the daemon's chains from the built-in ones.
func Jumps(tag string) []Jump {
	c := ChainsOf(tag)
	comment := []string{"-m", "comment", "--comment", "podd " + tag + " services"}
	j := func(table, chain string, extra []string, target string) Jump {
		rule := append(append(append([]string{}, comment...), extra...), "-j", target)
		return Jump{Table: table, Chain: chain, Rule: rule}
	}
	newOnly := []string{"-m", "conntrack", "--ctstate", "NEW"}
	return []Jump{
		j("nat", "PREROUTING", nil, c.Services),
		j("nat", "OUTPUT", nil, c.Services),
		j("nat", "POSTROUTING", nil, c.Postrouting),
		j("filter", "INPUT", newOnly, c.Filter),
		j("filter", "FORWARD", newOnly, c.Filter),
		j("filter", "OUTPUT", newOnly, c.Filter),
	}
}
