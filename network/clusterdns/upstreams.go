package clusterdns

import (
	"bytes"
	"fmt"
	"net"

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
