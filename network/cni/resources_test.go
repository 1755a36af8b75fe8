package cni

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestResourcesOfAConflist(t *testing.T) {
	n, err := ParseNetwork([]byte(`{"cniVersion": "1.0.0", "name": "net1", "plugins": [
	  {"type": "bridge", "bridge": "br1", "ipam": {"type": "host-local",
	    "ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00::/64"}]], "dataDir": "/srv/ipam"}},
	  {"type": "bridge", "ipam": {"type": "host-local", "subnet": "10.2.0.0/16"}},
	  {"type": "portmap", "capabilities": {"portMappings": true}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	r := n.Resources()
	var subnets []string
	for _, s := range r.Subnets {
		subnets = append(subnets, s.String())
	}
	if r.Name != "net1" ||
		!reflect.DeepEqual(r.Bridges, []string{"br1", "cni0"}) ||
		!reflect.DeepEqual(subnets, []string{"10.1.0.0/24", "fd00::/64", "10.2.0.0/16"}) ||
		!reflect.DeepEqual(r.LeaseDirs, []string{"/srv/ipam/net1", "/var/lib/cni/networks/net1"}) {
		t.Errorf("resources = %+v (subnets %v)", r, subnets)
	}
}

func TestGatewaysAreTheBridgeAddresses(t *testing.T) {
	n, err := ParseNetwork([]byte(`{"cniVersion": "1.0.0", "name": "net1", "plugins": [
	  {"type": "bridge", "bridge": "br1", "isGateway": true, "ipam": {"type": "host-local",
	    "ranges": [[{"subnet": "10.1.0.0/24"}, {"subnet": "10.3.0.0/24", "gateway": "10.3.0.254"}], [{"subnet": "fd00::/64"}]]}},
	  {"type": "bridge", "bridge": "br2", "ipam": {"type": "host-local", "subnet": "10.2.0.0/16"}},
	  {"type": "bridge", "bridge": "br3", "isGateway": true, "ipam": {"type": "host-local", "subnet": "10.4.255.0/23", "gateway": "10.4.255.9"}},
	  {"type": "portmap", "capabilities": {"portMappings": true}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, gw := range n.Resources().Gateways {
		got = append(got, gw.String())
	}
	// br2 is no gateway (isGateway false): the host has no address on it.
	if want := []string{"10.1.0.1", "10.3.0.254", "fd00::1", "10.4.255.9"}; !reflect.DeepEqual(got, want) {
		t.Errorf("gateways = %v, want %v", got, want)
	}
	if gw := gateway(mustCIDR(t, "10.4.254.0/23"), ""); gw.String() != "10.4.254.1" {
		t.Errorf("default gateway of 10.4.254.0/23 = %s", gw)
	}
}

func mustCIDR(t *testing.T, s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLeasesReadHostLocalFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"10.1.0.2":            "sb1\r\neth0",
		"10.1.0.3":            "sb2", // written by an older host-local
		"lock":                "",
		"last_reserved_ip.0":  "10.1.0.3",
		"fd00::5":             "sb3\r\neth1",
		"not-an-address-file": "x",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	leases, err := Leases(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range leases {
		got[l.IP.String()] = l.ContainerID + "/" + l.IfName
	}
	want := map[string]string{"10.1.0.2": "sb1/eth0", "10.1.0.3": "sb2/eth0", "fd00::5": "sb3/eth1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("leases = %v, want %v", got, want)
	}
	if l, err := Leases(filepath.Join(dir, "absent")); err != nil || len(l) != 0 {
		t.Errorf("absent dir: %v %v", l, err)
	}
}

func TestParseMasqRule(t *testing.T) {
	line := `-A POSTROUTING -s 10.224.1.2/32 -m comment --comment "name: \"pde37241\" id: \"5ace8c9dbe3dd6dc\"" -j CNI-00e1e60552cdecf702fa1449`
	r, ok := parseMasqRule(line)
	want := masqRule{Source: "10.224.1.2/32", Network: "pde37241", ContainerID: "5ace8c9dbe3dd6dc", Chain: "CNI-00e1e60552cdecf702fa1449"}
	if !ok || r != want {
		t.Errorf("parse = %+v %v, want %+v", r, ok, want)
	}
	for _, other := range []string{
		`-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ`,
		`-A CNI-00e1e60552cdecf702fa1449 -d 10.224.1.0/24 -m comment --comment "name: \"x\" id: \"y\"" -j ACCEPT`,
	} {
		if r, ok := parseMasqRule(other); ok {
			t.Errorf("%q parsed as %+v", other, r)
		}
	}
}
