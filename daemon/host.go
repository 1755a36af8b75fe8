package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/podd-dev/podd/daemon/identity"
	"github.com/podd-dev/podd/daemon/ownership"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/network"
	"github.com/podd-dev/podd/network/cni"
	"github.com/podd-dev/podd/network/proxier"
)

// hostClaims is what a running daemon holds on the host: the lock of its
// root and its claims on shared resources (package ownership).
//
// Side by side, daemons are kept apart the way podman keeps users apart
// and unlike containerd/CRI-O, which assume one instance per host: every
// name a daemon makes on the host (cgroup parent, default network and
// bridge and subnet) derives from its root's identity, and every resource
// it uses, derived or given, is claimed for its root. A second daemon that
// would use a claimed resource refuses to start and names the owner, so a
// start-up GC can never see another daemon's pods as its own garbage.
type hostClaims struct {
	lock     *ownership.RootLock
	registry *ownership.Registry
	root     string
}

// claimHost locks cfg.Root, fills the defaults that derive from its
// identity (cgroup parent, default network) into cfg, and claims the run
// root, socket, manifest dir and cgroup parent.
func claimHost(cfg *Config) (*hostClaims, error) {
	// Locking creates the root, so that its identity is that of the path
	// with every symlink resolved, the same at every start.
	lock, err := ownership.LockRoot(cfg.Root)
	if err != nil {
		return nil, err
	}
	id, err := identity.FromRoot(cfg.Root)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	idle := func(root string) bool { return !ownership.Running(root) && !rootHasPods(root) }
	h := &hostClaims{lock: lock, registry: ownership.NewRegistry(cfg.OwnersDir, id.Root, idle), root: cfg.Root}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = id.CgroupParent()
	}
	cfg.ServiceRulesTag = proxier.TagFor(id.Root)
	cfg.DefaultNetwork = network.DefaultNetwork{
		Name: id.NetworkName(), Bridge: id.Bridge(), Subnets: id.SubnetCandidates(),
		SubnetFree: h.registry.SubnetFree,
	}
	cidr, err := serviceCIDR(*cfg)
	if err != nil {
		h.release()
		return nil, err
	}
	res := []ownership.Resource{
		{Kind: ownership.RunRoot, Key: cfg.RunRoot},
		{Kind: ownership.Socket, Key: cfg.Socket},
		{Kind: ownership.CgroupParent, Key: cfg.CgroupParent},
		// Two daemons' cluster IPs must not overlap: each one's rules
		// would capture the other's Services (--service-cidr).
		{Kind: ownership.ServiceCIDR, Key: cidr.String()},
	}
	if cfg.CRISocket != "" {
		res = append(res, ownership.Resource{Kind: ownership.Socket, Key: cfg.CRISocket})
	}
	if cfg.Manifests != "" {
		res = append(res, ownership.Resource{Kind: ownership.Manifests, Key: cfg.Manifests})
	}
	if err := h.registry.Claim(res); err != nil {
		h.release()
		return nil, fmt.Errorf("podd with --root %s cannot start: %w", cfg.Root, err)
	}
	return h, nil
}

// claimNetwork claims what the loaded CNI network makes on the host.
func (h *hostClaims) claimNetwork(r cni.Resources) error {
	res := []ownership.Resource{{Kind: ownership.Network, Key: r.Name}}
	for _, b := range r.Bridges {
		res = append(res, ownership.Resource{Kind: ownership.Bridge, Key: b})
	}
	for _, s := range r.Subnets {
		res = append(res, ownership.Resource{Kind: ownership.Subnet, Key: s.String()})
	}
	for _, d := range r.LeaseDirs {
		res = append(res, ownership.Resource{Kind: ownership.LeaseDir, Key: d})
	}
	if err := h.registry.Claim(res); err != nil {
		return fmt.Errorf("podd with --root %s cannot use CNI network %q: %w", h.root, r.Name, err)
	}
	return nil
}

func (h *hostClaims) owns(kind ownership.Kind, key string) bool {
	return h.registry.Owns(ownership.Resource{Kind: kind, Key: key})
}

// release gives the claims back when the root holds no pod any more (pods
// keep running across a daemon stop and keep using what was claimed), and
// unlocks the root.
func (h *hostClaims) release() {
	if !rootHasPods(h.root) {
		if err := h.registry.Release(); err != nil {
			slog.Warn("Release host claims", "err", err)
		}
	}
	h.lock.Unlock()
}

// rootHasPods reports whether root records any pod.
func rootHasPods(root string) bool {
	ents, err := os.ReadDir(store.Layout{Root: root}.PodsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return err != nil || len(ents) > 0
}
