package cni

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/containernetworking/plugins/pkg/utils"
	"github.com/coreos/go-iptables/iptables"
)

// The bridge plugin masquerades a sandbox's traffic (ipMasq) with a nat
// chain CNI-<hash(network, container id)> and a POSTROUTING rule jumping to
// it, both tagged `name: "<network>" id: "<container id>"`. Its DEL removes
// them only when it finds the sandbox's interface in the netns, so a DEL
// after the netns is gone (a crash, a reboot of the netns but not of the
// host's rules) leaves them behind for ever; the plugin has no GC for its
// iptables backend. podd removes what it can attribute: the rules of its own
// network for containers it no longer holds.

// masqRuleRE matches a POSTROUTING masquerade rule as iptables -S prints it.
var masqRuleRE = regexp.MustCompile(`^-A POSTROUTING -s (\S+) .*--comment "name: \\"([^"\\]*)\\" id: \\"([^"\\]*)\\"" -j (CNI-\S+)$`)

// masqRule is one parsed POSTROUTING masquerade rule.
type masqRule struct {
	Source, Network, ContainerID, Chain string
}

func parseMasqRule(line string) (masqRule, bool) {
	m := masqRuleRE.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return masqRule{}, false
	}
	return masqRule{Source: m[1], Network: m[2], ContainerID: m[3], Chain: m[4]}, true
}

// natTables returns the IPv4 and (if present) IPv6 iptables; none when the
// host has no iptables, where the plugin made no such rules either.
func natTables() []*iptables.IPTables {
	var out []*iptables.IPTables
	for _, p := range []iptables.Protocol{iptables.ProtocolIPv4, iptables.ProtocolIPv6} {
		if ipt, err := iptables.NewWithProtocol(p); err == nil {
			out = append(out, ipt)
		}
	}
	return out
}

// MasqueradeIDs lists the container IDs that have masquerade rules of
// network in POSTROUTING.
func MasqueradeIDs(network string) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	var errs []error
	for _, ipt := range natTables() {
		rules, err := ipt.List("nat", "POSTROUTING")
		if err != nil {
			errs = append(errs, fmt.Errorf("list nat POSTROUTING: %w", err))
			continue
		}
		for _, line := range rules {
			r, ok := parseMasqRule(line)
			if ok && r.Network == network && !seen[r.ContainerID] {
				seen[r.ContainerID] = true
				ids = append(ids, r.ContainerID)
			}
		}
	}
	return ids, errors.Join(errs...)
}

// ReleaseMasquerade removes the bridge plugin's masquerade rules and chain
// of containerID on network. Already gone is success.
func ReleaseMasquerade(network, containerID string) error {
	chain := utils.FormatChainName(network, containerID)
	comment := utils.FormatComment(network, containerID)
	var errs []error
	for _, ipt := range natTables() {
		rules, err := ipt.List("nat", "POSTROUTING")
		if err != nil {
			errs = append(errs, fmt.Errorf("list nat POSTROUTING: %w", err))
			continue
		}
		for _, line := range rules {
			r, ok := parseMasqRule(line)
			if !ok || r.Chain != chain {
				continue
			}
			if err := ipt.DeleteIfExists("nat", "POSTROUTING", "-s", r.Source, "-j", chain, "-m", "comment", "--comment", comment); err != nil {
				errs = append(errs, fmt.Errorf("delete masquerade rule of %q: %w", containerID, err))
			}
		}
		exists, err := ipt.ChainExists("nat", chain)
		if err == nil && exists {
			err = ipt.ClearAndDeleteChain("nat", chain)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete masquerade chain %s of %q: %w", chain, containerID, err))
		}
	}
	return errors.Join(errs...)
}
