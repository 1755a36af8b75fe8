package network

import (
	"errors"
	"net"
	"reflect"
	"testing"
)

// Issue 7 item 9: every trace of a sandbox no record holds is released
// once, with everything known about it merged.
func TestStaleAttachmentsMergeTracesOfUnknownSandboxes(t *testing.T) {
	traces := []foundAttachment{
		{ID: "live", Pinned: true},
		{ID: "live", Cached: true, Networks: []string{"podd"}},
		{ID: "b-uncached", Pinned: true},
		{ID: "b-uncached", Leased: true, Networks: []string{"podd"}},
		{ID: "b-uncached", Masq: true, Networks: []string{"podd"}},
		{ID: "a-cached", Cached: true, Networks: []string{"old-net"}},
		{ID: "a-cached", Leased: true, Networks: []string{"podd"}},
		{ID: "c-chain-only", Masq: true, Networks: []string{"podd"}},
	}
	got := staleAttachments(map[string]bool{"live": true}, traces)
	want := []foundAttachment{
		{ID: "a-cached", Networks: []string{"old-net", "podd"}, Cached: true, Leased: true},
		{ID: "b-uncached", Networks: []string{"podd"}, Pinned: true, Leased: true, Masq: true},
		{ID: "c-chain-only", Networks: []string{"podd"}, Masq: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("staleAttachments =\n%+v\nwant\n%+v", got, want)
	}
	if got := staleAttachments(map[string]bool{"live": true}, traces[:2]); len(got) != 0 {
		t.Errorf("a live sandbox was taken as stale: %+v", got)
	}
}

func cidr(s string) *net.IPNet {
	_, n, _ := net.ParseCIDR(s)
	return n
}

// Issue 7 item 4: the default network takes a subnet no host route on
// another link and no other daemon uses.
func TestFirstFreeSubnet(t *testing.T) {
	cands := []*net.IPNet{cidr("10.90.1.0/24"), cidr("10.90.2.0/24"), cidr("10.90.3.0/24"), cidr("10.90.4.0/24")}
	routes := []hostRoute{
		{Dst: cidr("10.90.1.0/24"), Link: "podman0"}, // someone else's network
		{Dst: cidr("10.90.3.0/24"), Link: "podd-1234"},
	}
	owned := func(n *net.IPNet) (bool, error) { return n.String() != "10.90.2.0/24", nil }
	got, err := firstFreeSubnet(cands, routes, "podd-1234", owned)
	if err != nil || got.String() != "10.90.3.0/24" {
		t.Errorf("got %v, %v; want 10.90.3.0/24 (routed through our own bridge)", got, err)
	}
	got, err = firstFreeSubnet(cands, []hostRoute{{Dst: cidr("10.90.0.0/16"), Link: "eth0"}}, "podd-1234", nil)
	if err == nil {
		t.Errorf("a /16 route over every candidate left %v", got)
	}
	broken := func(*net.IPNet) (bool, error) { return false, errors.New("claims unreadable") }
	if _, err := firstFreeSubnet(cands, nil, "b", broken); err == nil {
		t.Errorf("want an error when claims cannot be read, got %v", err)
	}
}
