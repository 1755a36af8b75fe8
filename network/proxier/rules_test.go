package proxier

import (
	"net"
	"strings"
	"testing"
)

func port(name string, eps ...string) ServicePort {
	sp := ServicePort{Name: name, ClusterIP: net.ParseIP("10.96.0.10").To4(), Port: 80, Protocol: TCP}
	for _, e := range eps {
		sp.Endpoints = append(sp.Endpoints, Endpoint{IP: net.ParseIP(e).To4(), Port: 8080})
	}
	return sp
}

func joined(rules []string) string { return strings.Join(rules, "\n") }

func TestBuild(t *testing.T) {
	_, pods, _ := net.ParseCIDR("10.88.0.0/16")
	opts := Options{Tag: "abcd1234", PodCIDRs: []*net.IPNet{pods}}
	c := ChainsOf(opts.Tag)
	np := port("default/np:http", "10.88.0.5")
	np.NodePort = 30080
	aff := port("default/aff:80", "10.88.0.5", "10.88.0.6")
	aff.AffinitySeconds = 60
	noEPNode := port("default/none-np:80")
	noEPNode.NodePort = 30081
	tests := []struct {
		name  string
		ports []ServicePort
		check func(t *testing.T, rs Ruleset)
	}{
		{"no Service makes no chain", nil, func(t *testing.T, rs Ruleset) {
			if !rs.Empty() {
				t.Errorf("ruleset %+v, want empty", rs)
			}
		}},
		{"a Service without endpoints is rejected at once, not DNATed", []ServicePort{port("default/none:80")}, func(t *testing.T, rs Ruleset) {
			f := joined(rs.Filter[c.Filter])
			if !strings.Contains(f, "-d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable") {
				t.Errorf("filter rules:\n%s", f)
			}
			if strings.Contains(joined(rs.NAT[c.Services]), "10.96.0.10") {
				t.Errorf("nat dispatches a Service without endpoints:\n%s", joined(rs.NAT[c.Services]))
			}
		}},
		{"a node port without endpoints is rejected on local addresses", []ServicePort{noEPNode}, func(t *testing.T, rs Ruleset) {
			if f := joined(rs.Filter[c.Filter]); !strings.Contains(f, "-m addrtype --dst-type LOCAL -p tcp -m tcp --dport 30081 -j REJECT") {
				t.Errorf("filter rules:\n%s", f)
			}
		}},
		{"three endpoints are picked with kube-proxy's probabilities", []ServicePort{port("default/web:80", "10.88.0.2", "10.88.0.3", "10.88.0.4")}, func(t *testing.T, rs Ruleset) {
			svc := serviceChain(opts.Tag, port("default/web:80"))
			rules := rs.NAT[svc]
			// masquerade from off the pod network, then 1/3, 1/2, rest
			if len(rules) != 4 {
				t.Fatalf("service chain:\n%s", joined(rules))
			}
			for i, want := range []string{"--probability 0.3333333333", "--probability 0.5000000000", ""} {
				r := rules[i+1]
				if want != "" && !strings.Contains(r, want) || want == "" && strings.Contains(r, "statistic") {
					t.Errorf("rule %d %q, want %q", i, r, want)
				}
			}
			if !strings.Contains(rules[0], "! -s 10.88.0.0/16 -d 10.96.0.10/32") || !strings.HasSuffix(rules[0], "-j "+c.MarkMasq) {
				t.Errorf("masquerade rule %q", rules[0])
			}
			if !strings.Contains(joined(rs.NAT[c.Services]), "-d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j "+svc) {
				t.Errorf("dispatch:\n%s", joined(rs.NAT[c.Services]))
			}
		}},
		{"an endpoint masquerades itself (hairpin) and DNATs", []ServicePort{port("default/web:80", "10.88.0.2")}, func(t *testing.T, rs Ruleset) {
			sp := port("default/web:80", "10.88.0.2")
			ep := joined(rs.NAT[endpointChain(opts.Tag, sp, sp.Endpoints[0])])
			if !strings.Contains(ep, "-s 10.88.0.2/32 -j "+c.MarkMasq) || !strings.Contains(ep, "-p tcp -j DNAT --to-destination 10.88.0.2:8080") {
				t.Errorf("endpoint chain:\n%s", ep)
			}
		}},
		{"a node port is masqueraded, dispatched and needs route_localnet", []ServicePort{np}, func(t *testing.T, rs Ruleset) {
			n := joined(rs.NAT[c.NodePorts])
			if !strings.Contains(n, "--dport 30080 -j "+c.MarkMasq) || !strings.Contains(n, "--dport 30080 -j "+serviceChain(opts.Tag, np)) {
				t.Errorf("node ports:\n%s", n)
			}
			if !rs.LocalNet || !strings.Contains(joined(rs.Filter[c.Filter]), "-d 127.0.0.0/8 ! -s 127.0.0.0/8") {
				t.Errorf("LocalNet %v, filter:\n%s", rs.LocalNet, joined(rs.Filter[c.Filter]))
			}
			s := rs.NAT[c.Services]
			if !strings.Contains(s[len(s)-1], "--dst-type LOCAL -j "+c.NodePorts) {
				t.Errorf("node ports are not dispatched last:\n%s", joined(s))
			}
		}},
		{"ClientIP affinity checks then sets the recent list", []ServicePort{aff}, func(t *testing.T, rs Ruleset) {
			svc := joined(rs.NAT[serviceChain(opts.Tag, aff)])
			e0 := endpointChain(opts.Tag, aff, aff.Endpoints[0])
			if !strings.Contains(svc, "-m recent --name "+e0+" --rcheck --seconds 60 --reap -j "+e0) {
				t.Errorf("service chain:\n%s", svc)
			}
			if ep := joined(rs.NAT[e0]); !strings.Contains(ep, "-m recent --name "+e0+" --set") {
				t.Errorf("endpoint chain:\n%s", ep)
			}
		}},
		{"no pod CIDR masquerades every client", []ServicePort{port("default/web:80", "10.88.0.2")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := opts
			if tc.check == nil {
				o.PodCIDRs = nil
			}
			rs := Build(o, tc.ports)
			for _, tbl := range []map[string][]string{rs.NAT, rs.Filter} {
				for ch := range tbl {
					if !strings.HasPrefix(ch, ChainPrefix(opts.Tag)) || len(ch) > 28 {
						t.Errorf("chain %q: not the tag's or longer than iptables allows", ch)
					}
				}
			}
			if tc.check == nil {
				sp := tc.ports[0]
				if r := rs.NAT[serviceChain(opts.Tag, sp)][0]; !strings.HasPrefix(r, `-m comment --comment "default/web:80" -d 10.96.0.10/32`) {
					t.Errorf("masquerade rule %q", r)
				}
				return
			}
			tc.check(t, rs)
		})
	}
}

func TestRestore(t *testing.T) {
	tag := "abcd1234"
	c := ChainsOf(tag)
	rs := Build(Options{Tag: tag}, []ServicePort{port("default/web:80", "10.88.0.2")})
	stale := ChainPrefix(tag) + "SOLDSERVICE0"
	other := "PODD-ffffffff-SERVICES"
	in := Restore(tag, rs, map[string][]string{"nat": {c.Services, stale, other}})
	for _, want := range []string{"*nat\n", ":" + c.Services + " - [0:0]\n", ":" + stale + " - [0:0]\n", "-X " + stale + "\n", "*filter\n", "COMMIT\n"} {
		if !strings.Contains(in, want) {
			t.Errorf("restore input lacks %q:\n%s", want, in)
		}
	}
	if strings.Contains(in, other) {
		t.Errorf("restore input touches another daemon's chain:\n%s", in)
	}
	if got := Restore(tag, Ruleset{}, nil); got != "" {
		t.Errorf("empty ruleset over no chains: %q", got)
	}
	if got := Restore(tag, Ruleset{}, map[string][]string{"filter": {c.Filter}}); !strings.Contains(got, "-X "+c.Filter) || strings.Contains(got, "*nat") {
		t.Errorf("empty ruleset removes the chains left: %q", got)
	}
}

func TestTagsDiffer(t *testing.T) {
	a, b := TagFor("/var/lib/podd-a"), TagFor("/var/lib/podd-b")
	if a == b || len(a) != 8 || TagFor("/var/lib/podd-a") != a {
		t.Errorf("tags %q %q: want distinct, stable, 8 hex digits", a, b)
	}
}

// A readiness change rewrites only the chains it changes: the Service's
// chain and the endpoint's, not every other Service's (issue 11: the
// data path follows within 100 ms).
func TestRestoreChanges(t *testing.T) {
	tag := "abcd1234"
	c := ChainsOf(tag)
	web := port("default/web:80", "10.88.0.2", "10.88.0.3")
	other := port("default/other:80", "10.88.0.9")
	other.ClusterIP = net.ParseIP("10.96.0.11").To4()
	prev := Build(Options{Tag: tag}, []ServicePort{web, other})
	gone := endpointChain(tag, web, web.Endpoints[1])
	web.Endpoints = web.Endpoints[:1]
	next := Build(Options{Tag: tag}, []ServicePort{web, other})

	in := RestoreChanges(tag, next, prev)
	for _, want := range []string{":" + serviceChain(tag, web) + " - [0:0]\n", ":" + gone + " - [0:0]\n", "-X " + gone + "\n", "COMMIT\n"} {
		if !strings.Contains(in, want) {
			t.Errorf("restore input lacks %q:\n%s", want, in)
		}
	}
	for _, untouched := range []string{serviceChain(tag, other), endpointChain(tag, other, other.Endpoints[0]), c.Services, c.Postrouting, c.Filter, "*filter"} {
		if strings.Contains(in, untouched) {
			t.Errorf("restore input rewrites %s, which did not change:\n%s", untouched, in)
		}
	}
	if got := RestoreChanges(tag, next, next); got != "" {
		t.Errorf("no change, restore input %q", got)
	}
	// Applied over prev, the changes give what a full restore gives.
	if got, want := apply(prev, in), apply(Ruleset{}, Restore(tag, next, nil)); !equalChains(got, want) {
		t.Errorf("prev + changes:\n%v\nwant:\n%v", got, want)
	}
}

// apply plays restore input over the chains of rs as iptables-restore
// --noflush does: a declared chain is flushed, -A appends, -X deletes.
func apply(rs Ruleset, input string) map[string][]string {
	out := map[string][]string{}
	for ch, r := range rs.NAT {
		out["nat/"+ch] = append([]string{}, r...)
	}
	for ch, r := range rs.Filter {
		out["filter/"+ch] = append([]string{}, r...)
	}
	table := ""
	for _, line := range strings.Split(input, "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
		case strings.HasPrefix(line, ":"):
			out[table+"/"+strings.Fields(line[1:])[0]] = []string{}
		case strings.HasPrefix(line, "-A "):
			f := strings.SplitN(line[3:], " ", 2)
			out[table+"/"+f[0]] = append(out[table+"/"+f[0]], f[1])
		case strings.HasPrefix(line, "-X "):
			delete(out, table+"/"+line[3:])
		}
	}
	return out
}

func equalChains(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if joined(v) != joined(b[k]) {
			return false
		}
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}
