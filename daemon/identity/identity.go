package identity

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
)

// DefaultRoot is the state root of the system's podd. Its identity keeps
// the names podd always used (/podd, podd0, podd, 10.88.0.0/16), so that an
// upgraded daemon finds its pods and network where it left them.
const DefaultRoot = "/var/lib/podd"

// Names of the default root's identity.
const (
	defaultCgroupParent = "/podd"
	defaultNetwork      = "podd"
	defaultBridge       = "podd0"
	defaultSubnet       = "10.88.0.0/16"
)

// poolSubnet is split into /24s for the networks of other roots; podman
// hands out 10.89.0.0/16 and podd's default network is 10.88.0.0/16, so the
// pool stays clear of both.
const poolSubnet = "10.90.0.0/16"

// Identity is a daemon's name on the host, derived from its root.
//
// A short hash of the root's absolute path names it (the choice of
// containerd and CRI-O is one root per host; podman's is per-user paths):
// it needs no file written before the first lock, two roots at different
// paths never share it, and the same root always gets it back. Collisions
// of the 32-bit hash, and roots sharing a resource given explicitly, are
// caught by the ownership claims (package ownership), which refuse to start
// a second daemon on anything already owned.
type Identity struct {
	// Root is the absolute root, symlinks resolved when it exists.
	Root string
	// ID is empty for DefaultRoot, else 8 hex digits.
	ID string
}

// FromRoot derives the identity of the daemon with state root root.
func FromRoot(root string) (Identity, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return Identity{}, fmt.Errorf("identity of root %q: %w", root, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Identity{}, fmt.Errorf("identity of root %q: %w", root, err)
	}
	if abs == DefaultRoot {
		return Identity{Root: abs}, nil
	}
	sum := sha256.Sum256([]byte(abs))
	return Identity{Root: abs, ID: hex.EncodeToString(sum[:4])}, nil
}

// CgroupParent is the default cgroup parent of the daemon's pods.
func (i Identity) CgroupParent() string {
	if i.ID == "" {
		return defaultCgroupParent
	}
	return "/podd-" + i.ID
}

// NetworkName is the name of the daemon's default CNI network; plugins
// name their per-container iptables chains after it.
func (i Identity) NetworkName() string {
	if i.ID == "" {
		return defaultNetwork
	}
	return "podd-" + i.ID
}

// Bridge is the bridge of the daemon's default network (at most 15 bytes,
// the kernel's limit for an interface name).
func (i Identity) Bridge() string {
	if i.ID == "" {
		return defaultBridge
	}
	return "podd-" + i.ID
}

// SubnetCandidates are the subnets the daemon's default network may take,
// best first: 10.88.0.0/16 for the default root, else the /24s of the pool
// starting at one picked by the identity, so that different roots usually
// get different subnets at the first try. The caller takes the first one
// no other daemon owns and no host route uses.
func (i Identity) SubnetCandidates() []*net.IPNet {
	_, pool, _ := net.ParseCIDR(poolSubnet)
	slices := make([]*net.IPNet, 256)
	for k := range slices {
		ip := make(net.IP, 4)
		copy(ip, pool.IP.To4())
		ip[2] = byte(k)
		slices[k] = &net.IPNet{IP: ip, Mask: net.CIDRMask(24, 32)}
	}
	if i.ID == "" {
		_, def, _ := net.ParseCIDR(defaultSubnet)
		return append([]*net.IPNet{def}, slices...)
	}
	id, _ := hex.DecodeString(i.ID)
	start := int(binary.BigEndian.Uint32(id) % uint32(len(slices)))
	return append(slices[start:], slices[:start]...)
}
