package cni

import (
	"errors"
	"fmt"
	"log/slog"
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

// natTable is one protocol's iptables with its nat POSTROUTING rules.
type natTable struct {
	ipt   *iptables.IPTables
	rules []string
}

// natTables returns the IPv4 and IPv6 nat tables that can be read; none
// when the host has no iptables or no nat table, where the plugin made no
// such rules either.
func natTables() []natTable {
	var out []natTable
	for _, p := range []iptables.Protocol{iptables.ProtocolIPv4, iptables.ProtocolIPv6} {
		ipt, err := iptables.NewWithProtocol(p)
		if err != nil {
			continue
		}
		rules, err := ipt.List("nat", "POSTROUTING")
		if err != nil {
			slog.Debug("cannot read nat POSTROUTING; no masquerade rules there", "protocol", p, "err", err)
			continue
		}
		out = append(out, natTable{ipt: ipt, rules: rules})
	}
	return out
}

// MasqueradeIDs lists the container IDs that have masquerade rules of
// network in POSTROUTING.
func MasqueradeIDs(network string) []string {
	seen := map[string]bool{}
	var ids []string
	for _, t := range natTables() {
		for _, line := range t.rules {
			r, ok := parseMasqRule(line)
			if ok && r.Network == network && !seen[r.ContainerID] {
				seen[r.ContainerID] = true
				ids = append(ids, r.ContainerID)
			}
		}
	}
	return ids
}

// ReleaseMasquerade removes the bridge plugin's masquerade rules and chain
// of containerID on network. Already gone is success.
func ReleaseMasquerade(network, containerID string) error {
	chain := utils.FormatChainName(network, containerID)
	comment := utils.FormatComment(network, containerID)
	var errs []error
	for _, t := range natTables() {
		ipt := t.ipt
		for _, line := range t.rules {
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
