package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/podd-dev/podd/daemon/services"
	"github.com/podd-dev/podd/network/clusterdns"
	"github.com/podd-dev/podd/network/podfiles"
)

// clusterDNSPort is where pods' resolvers send their queries.
const clusterDNSPort = "53"

// resolvConfInterval is how often cluster DNS looks for a change of the
// host's resolv.conf (a read of a small file).
const resolvConfInterval = 2 * time.Second

// startClusterDNS serves cluster DNS on the pod network's bridge gateway and
// has the workers give that address to ClusterFirst pods. It returns nil
// when cluster DNS is off or the network has no bridge gateway (a warning
// says so; ClusterFirst pods then get the host's resolvers). Call it before
// any worker starts. Until ctx ends the server follows changes of the
// host's resolv.conf.
func (d *Daemon) startClusterDNS(ctx context.Context) (*clusterdns.Server, error) {
	if !d.cfg.ClusterDNS {
		return nil, nil
	}
	res := d.network.Resources()
	if len(res.Gateways) == 0 {
		slog.Warn("No cluster DNS: the pod network gives the host no gateway address to serve it on; ClusterFirst pods get the host's resolvers",
			"network", res.Name)
		return nil, nil
	}
	gw := res.Gateways[0].String()
	hostResolv, err := os.ReadFile(d.cfg.ResolvConf)
	if err != nil {
		return nil, fmt.Errorf("cluster DNS: read the host's resolvers: %w", err)
	}
	upstreams, err := clusterdns.Upstreams(hostResolv)
	if err != nil {
		return nil, fmt.Errorf("cluster DNS: %s: %w", d.cfg.ResolvConf, err)
	}
	var clients []netip.Prefix
	for _, s := range res.Subnets {
		if p, err := netip.ParsePrefix(s.String()); err == nil {
			clients = append(clients, p)
		}
	}
	srv, err := clusterdns.Start(clusterdns.Config{
		Domain: d.cfg.ClusterDomain, Addr: net.JoinHostPort(gw, clusterDNSPort), Upstreams: upstreams, Clients: clients,
	}, dnsCatalog{pods: d.pods, services: d.svc.reg})
	if err != nil {
		return nil, fmt.Errorf("%w (--cluster-dns=false turns cluster DNS off)", err)
	}
	go srv.FollowResolvConf(ctx, d.cfg.ResolvConf, hostResolv, resolvConfInterval)
	d.deps.ClusterDNS = podfiles.ClusterDNS{Nameservers: []string{gw}, Domain: d.cfg.ClusterDomain}
	slog.Info("Serving cluster DNS", "addr", srv.Addr(), "domain", d.cfg.ClusterDomain, "upstreams", srv.Upstreams())
	if len(srv.Upstreams()) == 0 {
		slog.Warn("Cluster DNS has no upstream: names outside the cluster domain fail (SERVFAIL)", "resolv-conf", d.cfg.ResolvConf)
	}
	return srv, nil
}

// dnsCatalog is what cluster DNS reads from the daemon: the pods' IPs and
// the Services with their ready endpoints (nil services: none).
type dnsCatalog struct {
	pods     *pods
	services *services.Registry
}

// Service implements clusterdns.Catalog.
func (c dnsCatalog) Service(ns, name string) (clusterdns.Service, bool) {
	if c.services == nil {
		return clusterdns.Service{}, false
	}
	info, ok := c.services.Lookup(ns, name)
	if !ok {
		return clusterdns.Service{}, false
	}
	return dnsService(info), true
}

// dnsService is a Service as cluster DNS sees it: its cluster IP (none if
// headless), its ports and its ready endpoints with their ports.
func dnsService(info services.Info) clusterdns.Service {
	var out clusterdns.Service
	if ip, err := netip.ParseAddr(info.ClusterIP); err == nil {
		out.ClusterIPs = []netip.Addr{ip}
	}
	for _, p := range info.Ports {
		out.Ports = append(out.Ports, clusterdns.Port{Name: p.Name, Protocol: string(p.Protocol), Port: uint16(p.Port)})
	}
	if info.Endpoints == nil {
		return out
	}
	for _, sub := range info.Endpoints.Subsets {
		var ports []clusterdns.Port
		for _, p := range sub.Ports {
			ports = append(ports, clusterdns.Port{Name: p.Name, Protocol: string(p.Protocol), Port: uint16(p.Port)})
		}
		for _, a := range sub.Addresses {
			if ip, err := netip.ParseAddr(a.IP); err == nil {
				out.Endpoints = append(out.Endpoints, clusterdns.Endpoint{IP: ip, Hostname: a.Hostname, Ports: ports})
			}
		}
	}
	return out
}

// PodHasIP implements clusterdns.Catalog from the index the pods' changes
// keep.
func (c dnsCatalog) PodHasIP(ns string, ip netip.Addr) bool {
	return c.pods.ips.has(ns, ip)
}
