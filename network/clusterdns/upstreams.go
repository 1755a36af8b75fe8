package clusterdns

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/miekg/dns"
)

// Upstreams are the resolvers named by a resolv.conf (its nameserver
// lines), as host:port on port 53, in order.
func Upstreams(resolvConf []byte) ([]string, error) {
	cc, err := dns.ClientConfigFromReader(bytes.NewReader(resolvConf))
	if err != nil {
		return nil, fmt.Errorf("read resolvers: %w", err)
	}
	out := make([]string, 0, len(cc.Servers))
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out, nil
}

// FollowResolvConf re-reads the resolv.conf at path every interval and,
// when its content differs from last (what the current upstreams were
// read from), gives the server the upstreams it names (a host whose DHCP
// or VPN rewrites it keeps forwarding to the resolvers in force), until
// ctx ends. A file that cannot be read or parsed leaves the upstreams as
// they are.
func (s *Server) FollowResolvConf(ctx context.Context, path string, last []byte, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, err := os.ReadFile(path)
		if err != nil || bytes.Equal(data, last) {
			continue
		}
		last = data
		ups, err := Upstreams(data)
		if err != nil {
			slog.Warn("Cluster DNS keeps its upstreams: the host's resolv.conf changed but does not parse", "resolv-conf", path, "err", err)
			continue
		}
		s.SetUpstreams(ups)
		slog.Info("Cluster DNS upstreams changed with the host's resolv.conf", "resolv-conf", path, "upstreams", s.Upstreams())
	}
}
