package cni

import (
	"encoding/json"
	"net"
	"path/filepath"
	"sort"
)

// hostLocalDefaultDataDir is where host-local keeps leases without a
// dataDir.
const hostLocalDefaultDataDir = "/var/lib/cni/networks"

// bridgeDefaultName is the bridge plugin's bridge without a "bridge" key.
const bridgeDefaultName = "cni0"

// Resources are the host-wide things a network configuration makes, which
// two daemons must not share: the network name (plugins name their
// iptables chains after it), bridges, host-local subnets and lease dirs.
type Resources struct {
	Name      string
	Bridges   []string
	Subnets   []*net.IPNet
	LeaseDirs []string
}

// pluginConf is the part of a plugin configuration that names host
// resources (bridge plugin, host-local IPAM).
type pluginConf struct {
	Type   string `json:"type"`
	Bridge string `json:"bridge"`
	IPAM   struct {
		Type    string `json:"type"`
		Subnet  string `json:"subnet"`
		DataDir string `json:"dataDir"`
		Ranges  [][]struct {
			Subnet string `json:"subnet"`
		} `json:"ranges"`
	} `json:"ipam"`
}

// Resources lists what n makes on the host. Plugins other than bridge
// and host-local IPAM name no shared resource podd knows of.
func (n *Network) Resources() Resources {
	r := Resources{Name: n.Name}
	seen := map[string]bool{}
	add := func(list *[]string, v string) {
		if !seen[v] {
			seen[v] = true
			*list = append(*list, v)
		}
	}
	for _, p := range n.list.Plugins {
		var c pluginConf
		if json.Unmarshal(p.Bytes, &c) != nil {
			continue
		}
		if c.Type == "bridge" {
			br := c.Bridge
			if br == "" {
				br = bridgeDefaultName
			}
			add(&r.Bridges, br)
		}
		if c.IPAM.Type != "host-local" {
			continue
		}
		dataDir := c.IPAM.DataDir
		if dataDir == "" {
			dataDir = hostLocalDefaultDataDir
		}
		add(&r.LeaseDirs, filepath.Join(dataDir, n.Name))
		subnets := []string{c.IPAM.Subnet}
		for _, set := range c.IPAM.Ranges {
			for _, rg := range set {
				subnets = append(subnets, rg.Subnet)
			}
		}
		for _, s := range subnets {
			if _, sn, err := net.ParseCIDR(s); err == nil && !seen["subnet "+sn.String()] {
				seen["subnet "+sn.String()] = true
				r.Subnets = append(r.Subnets, sn)
			}
		}
	}
	sort.Strings(r.Bridges)
	sort.Strings(r.LeaseDirs)
	return r
}
