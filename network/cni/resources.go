package cni

import (
	"encoding/json"
	"net"
	"path/filepath"
	"slices"
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
	// Gateways are the addresses the bridge plugin gives its bridge
	// (isGateway): each host-local range's gateway, by default its
	// subnet's first address. The host has them once a sandbox was set up.
	Gateways []net.IP
}

// pluginConf is the part of a plugin configuration that names host
// resources (bridge plugin, host-local IPAM) or masquerades (ipMasq).
type pluginConf struct {
	Type      string `json:"type"`
	Bridge    string `json:"bridge"`
	IsGateway bool   `json:"isGateway"`
	IPMasq    bool   `json:"ipMasq"`
	IPAM      struct {
		Type    string `json:"type"`
		Subnet  string `json:"subnet"`
		Gateway string `json:"gateway"`
		DataDir string `json:"dataDir"`
		Ranges  [][]struct {
			Subnet  string `json:"subnet"`
			Gateway string `json:"gateway"`
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
		ranges := [][2]string{{c.IPAM.Subnet, c.IPAM.Gateway}}
		for _, set := range c.IPAM.Ranges {
			for _, rg := range set {
				ranges = append(ranges, [2]string{rg.Subnet, rg.Gateway})
			}
		}
		for _, rg := range ranges {
			_, sn, err := net.ParseCIDR(rg[0])
			if err != nil {
				continue
			}
			if !seen["subnet "+sn.String()] {
				seen["subnet "+sn.String()] = true
				r.Subnets = append(r.Subnets, sn)
			}
			if c.Type == "bridge" && c.IsGateway {
				if gw := gateway(sn, rg[1]); gw != nil && !seen["gateway "+gw.String()] {
					seen["gateway "+gw.String()] = true
					r.Gateways = append(r.Gateways, gw)
				}
			}
		}
	}
	sort.Strings(r.Bridges)
	sort.Strings(r.LeaseDirs)
	return r
}

// gateway is a host-local range's gateway: the one given, else the
// subnet's first address (host-local's default).
func gateway(subnet *net.IPNet, given string) net.IP {
	if given != "" {
		return net.ParseIP(given)
	}
	gw := slices.Clone(subnet.IP.To16())
	if v4 := subnet.IP.To4(); v4 != nil {
		gw = slices.Clone(v4)
	}
	for i := len(gw) - 1; i >= 0; i-- {
		gw[i]++
		if gw[i] != 0 {
			break
		}
	}
	return gw
}
