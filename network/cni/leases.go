package cni

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Lease is one address host-local has handed out.
type Lease struct {
	IP          net.IP
	ContainerID string
	IfName      string
}

// Leases reads the leases of a host-local lease dir (<dataDir>/<network>):
// one file per address, named by it, holding "<container id>\r\n<ifname>"
// (older versions: the id alone). A missing dir holds none.
func Leases(dir string) ([]Lease, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read host-local leases in %s: %w", dir, err)
	}
	var out []Lease
	for _, e := range ents {
		// IPv6 file names escape ':' as '_' on some platforms only.
		ip := net.ParseIP(strings.ReplaceAll(e.Name(), "_", ":"))
		if e.IsDir() || ip == nil {
			continue // lock, last_reserved_ip.<range>
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // released meanwhile
		}
		id, ifname, _ := strings.Cut(strings.TrimSpace(string(data)), "\r\n")
		if id == "" {
			continue
		}
		if ifname == "" {
			ifname = DefaultIfName
		}
		out = append(out, Lease{IP: ip, ContainerID: strings.TrimSpace(id), IfName: strings.TrimSpace(ifname)})
	}
	return out, nil
}
