package network

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// DefaultNetwork names podd's default network, written to the conf dir
// when it holds no configuration.
type DefaultNetwork struct {
	// Name and Bridge default to cni.DefaultNetworkName and cni.DefaultBridge.
	Name   string
	Bridge string
	// Subnets are the candidates, best first (none: cni.DefaultSubnet).
	// The first one that SubnetFree accepts and that no host route on
	// another interface than Bridge overlaps is taken.
	Subnets []*net.IPNet
	// SubnetFree says whether no other daemon owns a subnet; nil accepts
	// every one.
	SubnetFree func(*net.IPNet) (bool, error)
}

// hostRoute is a route of the host: where it goes and through which link.
type hostRoute struct {
	Dst  *net.IPNet
	Link string
}

// pickSubnet chooses the default network's subnet among def.Subnets.
func pickSubnet(def DefaultNetwork, bridge string) (*net.IPNet, error) {
	routes, err := hostRoutes()
	if err != nil {
		return nil, err
	}
	return firstFreeSubnet(def.Subnets, routes, bridge, def.SubnetFree)
}

// firstFreeSubnet returns the first candidate that free accepts and that
// no route overlaps, routes through bridge (a network podd made before)
// excepted.
func firstFreeSubnet(cands []*net.IPNet, routes []hostRoute, bridge string, free func(*net.IPNet) (bool, error)) (*net.IPNet, error) {
	var errs []error
next:
	for _, c := range cands {
		for _, r := range routes {
			if r.Link != bridge && (r.Dst.Contains(c.IP) || c.Contains(r.Dst.IP)) {
				continue next
			}
		}
		if free != nil {
			ok, err := free(c)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !ok {
				continue
			}
		}
		return c, nil
	}
	return nil, fmt.Errorf("default network: none of %d candidate subnets is free of host routes and other daemons' networks: %w", len(cands), errors.Join(errs...))
}

// hostRoutes lists the host's routes to networks (default routes, which
// overlap everything, excepted).
func hostRoutes() ([]hostRoute, error) {
	rs, err := netlink.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list host routes: %w", err)
	}
	var out []hostRoute
	for _, r := range rs {
		if r.Dst == nil {
			continue
		}
		if ones, _ := r.Dst.Mask.Size(); ones == 0 {
			continue
		}
		name := ""
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
			name = l.Attrs().Name
		}
		out = append(out, hostRoute{Dst: r.Dst, Link: name})
	}
	return out, nil
}
