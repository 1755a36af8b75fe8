package cni

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/cni/libcni"
	"github.com/coreos/go-iptables/iptables"
)

// A bridge plugin with ipMasq masquerades each sandbox with a nat chain of
// its own and a POSTROUTING rule jumping to it: four iptables runs on ADD
// and as many on DEL, each rereading the whole nat table, which grows by
// two entries per sandbox (issue 13: a 200-pod burst took 29 % longer to
// run and 65 % longer to delete on podd's default network than without
// it). podd runs such a plugin with ipMasq off and masquerades the
// network's subnets itself, once per network, as netavark and the kubelet's
// kubenet do: one nat chain, PODD-NM-<hash of the network name>, jumped to
// from POSTROUTING for traffic from the network's subnets, with the
// plugin's exceptions (the sandbox's own subnet and IPv4 multicast). It
// does so only where it knows the subnets: host-local IPAM with IPv4
// ranges; any other bridge keeps its own ipMasq.

// multicastV4 is what the bridge plugin never masquerades.
const multicastV4 = "224.0.0.0/4"

// podMasquerade returns list with ipMasq turned off in every bridge plugin
// whose subnets podd masquerades itself, and those subnets; list itself
// and none when there is no such plugin.
func podMasquerade(list *libcni.NetworkConfigList) (*libcni.NetworkConfigList, []*net.IPNet, error) {
	var subnets []*net.IPNet
	var plugins []json.RawMessage
	changed := false
	for _, p := range list.Plugins {
		raw := json.RawMessage(p.Bytes)
		if sns, ok := masqueradedSubnets(p.Bytes); ok {
			var conf map[string]json.RawMessage
			if err := json.Unmarshal(p.Bytes, &conf); err != nil {
				return nil, nil, err
			}
			conf["ipMasq"] = json.RawMessage("false")
			b, err := json.Marshal(conf)
			if err != nil {
				return nil, nil, err
			}
			raw, changed = b, true
			for _, sn := range sns {
				if !containsNet(subnets, sn) {
					subnets = append(subnets, sn)
				}
			}
		}
		plugins = append(plugins, raw)
	}
	if !changed {
		return list, nil, nil
	}
	out, err := withPlugins(list, plugins)
	if err != nil {
		return nil, nil, err
	}
	return out, subnets, nil
}

// masqueradedSubnets returns the subnets of a bridge plugin configuration
// with ipMasq whose masquerade podd can take over: host-local IPAM whose
// every range is an IPv4 subnet.
func masqueradedSubnets(conf []byte) ([]*net.IPNet, bool) {
	var c pluginConf
	if json.Unmarshal(conf, &c) != nil || c.Type != "bridge" || !c.IPMasq || c.IPAM.Type != "host-local" {
		return nil, false
	}
	var given []string
	if c.IPAM.Subnet != "" {
		given = append(given, c.IPAM.Subnet)
	}
	for _, set := range c.IPAM.Ranges {
		for _, r := range set {
			given = append(given, r.Subnet)
		}
	}
	var out []*net.IPNet
	for _, s := range given {
		_, sn, err := net.ParseCIDR(s)
		if err != nil || sn.IP.To4() == nil {
			return nil, false
		}
		if !containsNet(out, sn) {
			out = append(out, sn)
		}
	}
	return out, len(out) > 0
}

func containsNet(list []*net.IPNet, n *net.IPNet) bool {
	for _, m := range list {
		if m.String() == n.String() {
			return true
		}
	}
	return false
}

// MasqueradeChain is the nat chain of podd's masquerade of network.
func MasqueradeChain(network string) string {
	sum := sha256.Sum256([]byte(network))
	return fmt.Sprintf("PODD-NM-%x", sum[:5])
}

// masqueradeJump is the POSTROUTING rule jumping to network's chain.
func masqueradeJump(network string) []string {
	return []string{"-m", "comment", "--comment", "podd masquerade of network " + network, "-j", MasqueradeChain(network)}
}

// masqueradeRules are the rules of network's chain for subnet, in order.
func masqueradeRules(subnet *net.IPNet) [][]string {
	s := subnet.String()
	return [][]string{
		{"-s", s, "-d", s, "-j", "RETURN"},
		{"-s", s, "-d", multicastV4, "-j", "RETURN"},
		{"-s", s, "-j", "MASQUERADE"},
	}
}

// MasqueradeRules returns the rules (as iptables -S prints them, without
// the chain) of podd's masquerade of network, and whether POSTROUTING jumps
// to it; none when the chain does not exist (for tests).
func MasqueradeRules(network string) (rules []string, jumped bool, err error) {
	ipt, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return nil, false, err
	}
	chain := MasqueradeChain(network)
	if ok, err := ipt.ChainExists("nat", chain); err != nil || !ok {
		return nil, false, err
	}
	rules, err = ipt.List("nat", chain)
	if err != nil {
		return nil, false, err
	}
	jumped, err = ipt.Exists("nat", "POSTROUTING", masqueradeJump(network)...)
	return rules, jumped, err
}

// EnsureMasquerade makes podd's masquerade of network cover subnets:
// rules already there stay (sandboxes of an earlier configuration of the
// network may still use theirs), missing ones are appended.
func EnsureMasquerade(network string, subnets []*net.IPNet) error {
	ipt, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return fmt.Errorf("masquerade network %q: %w", network, err)
	}
	chain := MasqueradeChain(network)
	exists, err := ipt.ChainExists("nat", chain)
	if err != nil {
		return fmt.Errorf("masquerade network %q: %w", network, err)
	}
	if !exists {
		if err := ipt.NewChain("nat", chain); err != nil {
			return fmt.Errorf("masquerade network %q: create chain %s: %w", network, chain, err)
		}
	}
	for _, sn := range subnets {
		for _, r := range masqueradeRules(sn) {
			if err := ipt.AppendUnique("nat", chain, r...); err != nil {
				return fmt.Errorf("masquerade network %q: subnet %s: %w", network, sn, err)
			}
		}
	}
	if err := ipt.AppendUnique("nat", "POSTROUTING", masqueradeJump(network)...); err != nil {
		return fmt.Errorf("masquerade network %q: jump from POSTROUTING: %w", network, err)
	}
	return nil
}

// RemoveMasquerade removes podd's masquerade of network. Already gone is
// success.
func RemoveMasquerade(network string) error {
	ipt, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return nil // no iptables: nothing was made
	}
	var errs []error
	if err := ipt.DeleteIfExists("nat", "POSTROUTING", masqueradeJump(network)...); err != nil {
		errs = append(errs, err)
	}
	chain := MasqueradeChain(network)
	if ok, err := ipt.ChainExists("nat", chain); err != nil {
		errs = append(errs, err)
	} else if ok {
		if err := ipt.ClearAndDeleteChain("nat", chain); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove masquerade of network %q: %w", network, err)
	}
	return nil
}
