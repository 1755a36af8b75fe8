package daemon

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/network/clusterdns"
	"github.com/podd-dev/podd/network/podfiles"
)

// clusterDNSPort is where pods' resolvers send their queries.
const clusterDNSPort = "53"

// startClusterDNS serves cluster DNS on the pod network's bridge gateway and
// has the workers give that address to ClusterFirst pods. It returns nil
// when cluster DNS is off or the network has no bridge gateway (a warning
// says so; ClusterFirst pods then get the host's resolvers). Call it before
// any worker starts.
func (d *Daemon) startClusterDNS() (*clusterdns.Server, error) {
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
	}, dnsCatalog{pods: d.pods})
	if err != nil {
		return nil, fmt.Errorf("%w (--cluster-dns=false turns cluster DNS off)", err)
	}
	d.deps.ClusterDNS = podfiles.ClusterDNS{Nameservers: []string{gw}, Domain: d.cfg.ClusterDomain}
	slog.Info("Serving cluster DNS", "addr", srv.Addr(), "domain", d.cfg.ClusterDomain, "upstreams", srv.Upstreams())
	if len(srv.Upstreams()) == 0 {
		slog.Warn("Cluster DNS has no upstream: names outside the cluster domain fail (SERVFAIL)", "resolv-conf", d.cfg.ResolvConf)
	}
	return srv, nil
}

// dnsCatalog is what cluster DNS reads from the daemon: the pods' IPs. The
// daemon has no Service objects yet, so no Service name exists.
type dnsCatalog struct {
	pods *pods
}

// Service implements clusterdns.Catalog.
func (c dnsCatalog) Service(ns, name string) (clusterdns.Service, bool) {
	return clusterdns.Service{}, false
}

// PodHasIP implements clusterdns.Catalog.
func (c dnsCatalog) PodHasIP(ns string, ip netip.Addr) bool {
	for _, e := range c.pods.list() {
		pod := e.worker.Snapshot()
		if pod.Namespace != ns {
			continue
		}
		if slices.ContainsFunc(pod.Status.PodIPs, func(p corev1.PodIP) bool {
			a, err := netip.ParseAddr(p.IP)
			return err == nil && a == ip
		}) {
			return true
		}
	}
	return false
}
