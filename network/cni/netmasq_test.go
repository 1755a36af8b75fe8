package cni

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestPodMasquerade: a bridge plugin with ipMasq and host-local IPv4
// ranges runs with ipMasq off, its subnets masqueraded by podd; any other
// plugin configuration runs as written. The list without port mappers
// (what a sandbox with no hostPort runs) is rewritten alike.
func TestPodMasquerade(t *testing.T) {
	bridge := func(masq bool, ipam string) string {
		return fmt.Sprintf(`{"type": "bridge", "bridge": "br0", "isGateway": true, "ipMasq": %t, "hairpinMode": true, "mtu": 1400, "ipam": %s}`, masq, ipam)
	}
	hostLocal := func(subnets ...string) string {
		var rs []string
		for _, s := range subnets {
			rs = append(rs, fmt.Sprintf(`[{"subnet": %q}]`, s))
		}
		return `{"type": "host-local", "ranges": [` + strings.Join(rs, ",") + `], "dataDir": "/var/lib/x"}`
	}
	portmap := `{"type": "portmap", "capabilities": {"portMappings": true}}`
	tests := []struct {
		name     string
		plugins  []string
		wantMasq []string // podd's subnets; nil: the plugins run as written
	}{
		{name: "podd's default network", plugins: []string{bridge(true, hostLocal("10.88.0.0/16")), portmap}, wantMasq: []string{"10.88.0.0/16"}},
		{name: "two ranges", plugins: []string{bridge(true, hostLocal("10.1.0.0/24", "10.2.0.0/24"))}, wantMasq: []string{"10.1.0.0/24", "10.2.0.0/24"}},
		{name: "legacy subnet field", plugins: []string{bridge(true, `{"type": "host-local", "subnet": "10.3.0.0/24"}`)}, wantMasq: []string{"10.3.0.0/24"}},
		{name: "no ipMasq", plugins: []string{bridge(false, hostLocal("10.88.0.0/16")), portmap}},
		{name: "IPv6 range stays with the plugin", plugins: []string{bridge(true, hostLocal("10.1.0.0/24", "fd00::/64"))}},
		{name: "other IPAM stays with the plugin", plugins: []string{bridge(true, `{"type": "dhcp"}`)}},
		{name: "ptp keeps its own", plugins: []string{`{"type": "ptp", "ipMasq": true, "ipam": ` + hostLocal("10.4.0.0/24") + `}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := `{"cniVersion": "1.0.0", "name": "n", "plugins": [` + strings.Join(tt.plugins, ",") + `]}`
			n, err := ParseNetwork([]byte(data))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, sn := range n.Masquerade() {
				got = append(got, sn.String())
			}
			if strings.Join(got, " ") != strings.Join(tt.wantMasq, " ") {
				t.Errorf("Masquerade() = %v, want %v", got, tt.wantMasq)
			}
			if string(n.Bytes) != data {
				t.Errorf("Bytes changed: %s", n.Bytes)
			}
			for _, ports := range []bool{true, false} {
				list := n.forAttachment(ports)
				for i, p := range list.Plugins {
					var conf map[string]any
					if err := json.Unmarshal(p.Bytes, &conf); err != nil {
						t.Fatal(err)
					}
					masq, _ := conf["ipMasq"].(bool)
					wantMasq := strings.Contains(tt.plugins[i], `"ipMasq": true`) && tt.wantMasq == nil
					if masq != wantMasq {
						t.Errorf("ports %v: plugin %d runs with ipMasq %v, want %v", ports, i, masq, wantMasq)
					}
					if conf["type"] == "bridge" && (conf["mtu"] != float64(1400) || conf["hairpinMode"] != true || conf["ipam"] == nil) {
						t.Errorf("ports %v: bridge lost fields: %s", ports, p.Bytes)
					}
				}
				if !ports && len(list.Plugins) != 1 && strings.Contains(data, "portmap") {
					t.Errorf("without ports the list still runs %d plugins", len(list.Plugins))
				}
			}
		})
	}
}

// TestMasqueradeChain: one chain name per network, within iptables' 28
// characters, none shared with the bridge plugin's CNI- chains.
func TestMasqueradeChain(t *testing.T) {
	a, b := MasqueradeChain("podd"), MasqueradeChain("podd-954169e0")
	if a == b || len(a) > 28 || !strings.HasPrefix(a, "PODD-NM-") {
		t.Errorf("chains %q and %q", a, b)
	}
	if MasqueradeChain("podd") != a {
		t.Error("the chain name is not stable")
	}
}
