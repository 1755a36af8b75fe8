package ownership

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/atomicfile"
)

// DefaultDir holds the claims. It is on tmpfs like everything claimed
// (cgroups, bridges, routes, iptables rules, the run root): a reboot frees
// the resources and their claims together.
const DefaultDir = "/run/podd-owners"

// Kind is a kind of host resource.
type Kind string

// The kinds of resources a daemon claims.
const (
	CgroupParent Kind = "cgroup-parent"
	RunRoot      Kind = "run-root"
	Socket       Kind = "socket"
	Manifests    Kind = "manifests"
	// Network is a CNI network name: plugins name their iptables chains
	// after it, so chains of one name are one daemon's.
	Network Kind = "network"
	Bridge  Kind = "bridge"
	// Subnet claims conflict with any overlapping subnet.
	Subnet Kind = "subnet"
	// LeaseDir is a host-local IPAM directory (<dataDir>/<network>).
	LeaseDir Kind = "lease-dir"
	// ServiceCIDR is where a daemon's cluster IPs come from; claims
	// conflict with any overlapping service CIDR (each daemon's rules
	// would capture the other's Services).
	ServiceCIDR Kind = "service-cidr"
)

// ranged reports whether claims of k conflict with any overlapping range
// of the same kind, not only with the same key.
func (k Kind) ranged() bool { return k == Subnet || k == ServiceCIDR }

// Resource is one claimable thing: a kind and a key (a path, a name, a
// CIDR).
type Resource struct {
	Kind Kind
	Key  string
}

func (r Resource) String() string { return fmt.Sprintf("%s %s", r.Kind, r.Key) }

// Registry records which state root owns which resource, one file per
// resource (<dir>/<kind>/<escaped key>) holding the owner's root.
//
// A claim outlives its daemon on purpose: podd leaves pods running when it
// stops or crashes, and they keep using the cgroup parent, the bridge and
// the addresses. A claim goes away when its daemon stops with no pod left
// (Release), or at reboot; and another root may take it over when the
// owner's root no longer exists or is idle (no daemon runs on it and it
// records no pod): then nothing uses the resource.
type Registry struct {
	dir  string
	root string
	idle func(root string) bool
}

// NewRegistry returns the registry in dir for the daemon of root. idle
// tells whether an existing root is idle; nil: never.
func NewRegistry(dir, root string, idle func(root string) bool) *Registry {
	return &Registry{dir: dir, root: root, idle: idle}
}

// ConflictError names the resources another root owns.
type ConflictError struct {
	Conflicts []Conflict
}

// Conflict is one resource and the root that owns it.
type Conflict struct {
	Resource Resource
	Owner    string
}

func (e *ConflictError) Error() string {
	var parts []string
	for _, c := range e.Conflicts {
		parts = append(parts, fmt.Sprintf("%s belongs to the podd with --root %s", c.Resource, c.Owner))
	}
	return strings.Join(parts, "; ") +
		" (its pods may still run; give this daemon its own, or stop that daemon with --drain)"
}

// Claim makes root the owner of every resource, or of none: when another
// existing root owns one of them (a subnet: any overlapping one), it
// returns a *ConflictError naming each and claims nothing.
func (r *Registry) Claim(res []Resource) error {
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	var conflicts []Conflict
	for _, x := range res {
		owner, err := r.otherOwner(x)
		if err != nil {
			return err
		}
		if owner != "" {
			conflicts = append(conflicts, Conflict{Resource: x, Owner: owner})
		}
	}
	if len(conflicts) > 0 {
		return &ConflictError{Conflicts: conflicts}
	}
	for _, x := range res {
		if err := r.write(x); err != nil {
			return err
		}
	}
	return nil
}

// SubnetFree reports whether no other root owns a subnet overlapping n.
func (r *Registry) SubnetFree(n *net.IPNet) (bool, error) {
	unlock, err := r.lock()
	if err != nil {
		return false, err
	}
	defer unlock()
	owner, err := r.otherOwner(Resource{Kind: Subnet, Key: n.String()})
	return owner == "", err
}

// Owns reports whether root holds the claim of x.
func (r *Registry) Owns(x Resource) bool {
	owner, err := os.ReadFile(r.path(x))
	return err == nil && strings.TrimSpace(string(owner)) == r.root
}

// Release gives back every claim of root.
func (r *Registry) Release() error {
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	files, err := r.claimFiles()
	var errs []error
	errs = append(errs, err)
	for _, f := range files {
		if f.owner == r.root {
			if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("release claims of root %s: %w", r.root, err)
	}
	return nil
}

// otherOwner returns the existing root other than r.root that owns x, or "".
// A claim whose owner root is gone is stale and removed.
func (r *Registry) otherOwner(x Resource) (string, error) {
	var candidates []claimFile
	if x.Kind.ranged() {
		_, want, err := net.ParseCIDR(x.Key)
		if err != nil {
			return "", fmt.Errorf("claim %s: %w", x, err)
		}
		files, err := r.claimFiles()
		if err != nil {
			return "", err
		}
		for _, f := range files {
			if _, n, err := net.ParseCIDR(f.res.Key); err == nil && f.res.Kind == x.Kind && overlap(n, want) {
				candidates = append(candidates, f)
			}
		}
	} else {
		data, err := os.ReadFile(r.path(x))
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("read claim of %s: %w", x, err)
		}
		candidates = append(candidates, claimFile{res: x, path: r.path(x), owner: strings.TrimSpace(string(data))})
	}
	for _, f := range candidates {
		if f.owner == r.root {
			continue
		}
		if _, err := os.Stat(f.owner); errors.Is(err, fs.ErrNotExist) {
			slog.Warn("Taking over a claim whose owner root is gone", "resource", f.res.String(), "owner", f.owner)
			os.Remove(f.path)
			continue
		}
		if r.idle != nil && r.idle(f.owner) {
			slog.Warn("Taking over a claim of an idle root (no daemon, no pods)", "resource", f.res.String(), "owner", f.owner)
			os.Remove(f.path)
			continue
		}
		return f.owner, nil
	}
	return "", nil
}

func overlap(a, b *net.IPNet) bool { return a.Contains(b.IP) || b.Contains(a.IP) }

type claimFile struct {
	res   Resource
	path  string
	owner string
}

// claimFiles lists every claim in the registry.
func (r *Registry) claimFiles() ([]claimFile, error) {
	kinds, err := os.ReadDir(r.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read claims: %w", err)
	}
	var out []claimFile
	for _, k := range kinds {
		if !k.IsDir() {
			continue
		}
		ents, _ := os.ReadDir(filepath.Join(r.dir, k.Name()))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				continue // a write in progress
			}
			key, err := url.PathUnescape(e.Name())
			if err != nil {
				continue
			}
			p := filepath.Join(r.dir, k.Name(), e.Name())
			data, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			out = append(out, claimFile{res: Resource{Kind: Kind(k.Name()), Key: key}, path: p, owner: strings.TrimSpace(string(data))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

func (r *Registry) path(x Resource) string {
	return filepath.Join(r.dir, string(x.Kind), url.PathEscape(x.Key))
}

func (r *Registry) write(x Resource) error {
	p := r.path(x)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("claim %s: %w", x, err)
	}
	if err := atomicfile.WriteFile(p, []byte(r.root+"\n"), 0o600); err != nil {
		return fmt.Errorf("claim %s: %w", x, err)
	}
	return nil
}

// lock serialises registry changes between daemons starting at once.
func (r *Registry) lock() (func(), error) {
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return nil, fmt.Errorf("claims dir %s: %w", r.dir, err)
	}
	f, err := os.OpenFile(filepath.Join(r.dir, ".lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock claims: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock claims: %w", err)
	}
	return func() { f.Close() }, nil
}
