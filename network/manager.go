package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containernetworking/cni/pkg/utils"

	"github.com/podd-dev/podd/internal/undo"
	"github.com/podd-dev/podd/network/cni"
	"github.com/podd-dev/podd/network/netns"
)

// DefaultConfDir is where CNI configuration is read when Config.ConfDir is empty.
const DefaultConfDir = "/etc/cni/net.d"

// undoTimeout bounds the rollback of a failed Setup, which runs even when
// the caller's context is cancelled.
const undoTimeout = time.Minute

// Config places the manager's state (the daemon's store.Layout names the
// dirs).
type Config struct {
	// NetnsDir holds the netns pins; tmpfs in production.
	NetnsDir string
	// CNICacheDir is libcni's result cache.
	CNICacheDir string
	// IPAMDir holds the host-local data of podd's default network.
	IPAMDir string
	// ConfDir is the CNI configuration dir (DefaultConfDir if empty). When it
	// holds no configuration, podd's default network is written there.
	ConfDir string
	// BinDirs are searched for plugins (cni.DefaultBinDirs if empty).
	BinDirs []string
	// Default shapes podd's default network when ConfDir holds none.
	Default DefaultNetwork
}

// PortMapping forwards a host port to the sandbox (a container's hostPort).
type PortMapping struct {
	HostPort      int32
	ContainerPort int32
	// Protocol is TCP, UDP or SCTP (any case); empty means TCP.
	Protocol string
	// HostIP limits the forward to one host address; empty means all.
	HostIP string
}

// SetupRequest asks for the network of one sandbox instance.
type SetupRequest struct {
	PodUID    string
	Namespace string
	Name      string
	// SandboxID is fresh per sandbox instance; it names the pin and is the
	// CNI container ID.
	SandboxID    string
	PortMappings []PortMapping
	// NetnsFrom, when set, is the network namespace to pin instead of a
	// new one: the one a pod's pause made in the pod's user namespace
	// (/proc/<pid>/ns/net).
	NetnsFrom string
	// Pinned, when set, is called with the netns's path once it is pinned,
	// before CNI ADD: what needs only the namespace (the pause joining it)
	// may start while the plugins run. A Setup that fails afterwards
	// removes the pin all the same.
	Pinned func(netnsPath string)
}

// Attachment is a sandbox's network once set up.
type Attachment struct {
	SandboxID string
	NetnsPath string
	IPs       []net.IP
	Interface string
	// Network is the CNI configuration list name.
	Network string
	// ConfigBytes is the configuration list used, to keep with the pod.
	ConfigBytes []byte
	// NetnsTook and CNIAddTook are how long pinning the netns and the CNI
	// ADD took (the start timing's phases).
	NetnsTook, CNIAddTook time.Duration
}

// Manager sets up and tears down sandbox networks. Its methods are safe to
// call from several goroutines; calls for one sandbox are serialised.
type Manager struct {
	netnsDir string
	confDir  string
	defaults cni.DefaultOptions
	cni      *cni.Client
	// lastNet is the network last loaded; Teardown falls back to it for a
	// sandbox with no cached CNI result.
	lastNet atomic.Pointer[cni.Network]
	locks   keyedMutex

	// masqMu guards masqDone, the "network subnet" pairs podd's
	// masquerade is known to cover (cni.EnsureMasquerade): rules are
	// written once per daemon, at the first ADD that needs them.
	masqMu   sync.Mutex
	masqDone map[string]bool
}

// New prepares the dirs (the netns dir as a shared mount of itself), and
// loads the CNI configuration, writing podd's default network when the conf
// dir holds none.
func New(cfg Config) (*Manager, error) {
	for _, d := range []string{cfg.NetnsDir, cfg.CNICacheDir, cfg.IPAMDir} {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("network: dir %q must be absolute", d)
		}
	}
	if cfg.ConfDir == "" {
		cfg.ConfDir = DefaultConfDir
	}
	m := &Manager{
		netnsDir: cfg.NetnsDir,
		confDir:  cfg.ConfDir,
		defaults: cni.DefaultOptions{Name: cfg.Default.Name, Bridge: cfg.Default.Bridge, IPAMDataDir: cfg.IPAMDir},
	}
	if err := m.chooseDefaultSubnet(cfg.Default); err != nil {
		return nil, err
	}
	if err := netns.EnsureSharedDir(m.netnsDir); err != nil {
		return nil, err
	}
	client, err := cni.NewClient(cfg.BinDirs, cfg.CNICacheDir)
	if err != nil {
		return nil, err
	}
	m.cni = client
	if _, err := m.loadNetwork(); err != nil {
		return nil, err
	}
	return m, nil
}

// chooseDefaultSubnet picks the default network's subnet, when the
// default network is going to be written.
func (m *Manager) chooseDefaultSubnet(def DefaultNetwork) error {
	if len(def.Subnets) == 0 {
		return nil
	}
	files, err := cni.ConfFiles(m.confDir)
	if err != nil || len(files) > 0 {
		return err
	}
	bridge := def.Bridge
	if bridge == "" {
		bridge = cni.DefaultBridge
	}
	subnet, err := pickSubnet(def, bridge)
	if err != nil {
		return err
	}
	m.defaults.Subnet = subnet.String()
	return nil
}

// Resources names what the current network makes on the host.
func (m *Manager) Resources() cni.Resources {
	return m.lastNet.Load().Resources()
}

func (m *Manager) loadNetwork() (*cni.Network, error) {
	n, err := cni.LoadNetwork(m.confDir, m.defaults)
	if err != nil {
		return nil, err
	}
	m.lastNet.Store(n)
	return n, nil
}

// Ready returns why a new sandbox could not get its network now: the conf
// dir holds no configuration (podd writes its default network only at
// start-up), none of it is valid, or a plugin is missing. nil when it could.
// It changes nothing.
func (m *Manager) Ready() error {
	n, err := cni.LoadExisting(m.confDir)
	if err != nil {
		return err
	}
	if missing := m.cni.MissingPlugins(n); len(missing) > 0 {
		return fmt.Errorf("cni network %q: plugin %s not found", n.Name, strings.Join(missing, ", "))
	}
	return nil
}

// NetnsPath is where the netns of sandboxID is pinned.
func (m *Manager) NetnsPath(sandboxID string) string {
	return filepath.Join(m.netnsDir, sandboxID)
}

// Setup pins a new netns for the sandbox and runs CNI ADD in it, with the
// configuration currently in the conf dir. On failure it undoes what it made
// (CNI DEL, then unpin) and returns the error.
func (m *Manager) Setup(ctx context.Context, req SetupRequest) (_ *Attachment, err error) {
	if err := utils.ValidateContainerID(req.SandboxID); err != nil {
		return nil, fmt.Errorf("set up network of pod %s/%s: %w", req.Namespace, req.Name, err)
	}
	id := req.SandboxID
	unlock := m.locks.lock(id)
	defer unlock()

	rollback := undo.Stack{Timeout: undoTimeout}
	defer rollback.OnFailure(ctx, &err)

	n, err := m.loadNetwork()
	if err != nil {
		return nil, fmt.Errorf("set up network of sandbox %q: %w", id, err)
	}
	began := time.Now()
	path, err := m.pinNetns(id, req.NetnsFrom)
	if err != nil {
		return nil, fmt.Errorf("set up network of sandbox %q: %w", id, err)
	}
	pinned := time.Now()
	rollback.Push("remove the netns pin "+path, func(context.Context) error { return netns.Remove(path) })
	if req.Pinned != nil {
		req.Pinned(path)
	}

	att := cni.Attachment{
		ContainerID:  id,
		NetNS:        path,
		IfName:       cni.DefaultIfName,
		Args:         cniArgs(req),
		PortMappings: cniPortMappings(req.PortMappings),
	}
	if err := m.ensureMasquerade(n); err != nil {
		return nil, fmt.Errorf("set up network of sandbox %q: %w", id, err)
	}
	// Registered before ADD: a chain can fail half-way, after a plugin
	// already allocated.
	rollback.Push("CNI DEL of sandbox "+id, func(ctx context.Context) error { return m.cni.Del(ctx, n, att) })
	res, err := m.cni.Add(ctx, n, att)
	if err != nil {
		return nil, err
	}
	added := time.Now()
	rollback.Release()
	slog.Info("sandbox network up", "sandbox", id, "pod", req.Namespace+"/"+req.Name, "uid", req.PodUID, "network", res.Network, "ips", res.IPs)
	return &Attachment{
		SandboxID:   id,
		NetnsPath:   path,
		IPs:         res.IPs,
		Interface:   res.Interface,
		Network:     res.Network,
		ConfigBytes: res.ConfigBytes,
		NetnsTook:   pinned.Sub(began),
		CNIAddTook:  added.Sub(pinned),
	}, nil
}

// ensureMasquerade makes sure podd masquerades what n's bridge plugin
// would have (cni.Network.Masquerade) before a sandbox of n gets its
// address: a connection opened before would keep its unmasqueraded
// conntrack entry.
func (m *Manager) ensureMasquerade(n *cni.Network) error {
	subnets := n.Masquerade()
	if len(subnets) == 0 {
		return nil
	}
	m.masqMu.Lock()
	defer m.masqMu.Unlock()
	var missing []*net.IPNet
	for _, sn := range subnets {
		if !m.masqDone[n.Name+" "+sn.String()] {
			missing = append(missing, sn)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := cni.EnsureMasquerade(n.Name, missing); err != nil {
		return err
	}
	if m.masqDone == nil {
		m.masqDone = map[string]bool{}
	}
	for _, sn := range missing {
		m.masqDone[n.Name+" "+sn.String()] = true
	}
	return nil
}

// pinNetns pins a new netns for sandbox id, or the one at from.
func (m *Manager) pinNetns(id, from string) (string, error) {
	if from != "" {
		return netns.Adopt(m.netnsDir, id, from)
	}
	return netns.Create(m.netnsDir, id)
}

// Teardown runs CNI DEL for the sandbox (with an empty netns path when the
// pin is gone) and removes the pin. Whatever is already gone counts as done,
// so calling it again, or for a sandbox whose Setup failed, succeeds.
func (m *Manager) Teardown(ctx context.Context, sandboxID string) error {
	if err := utils.ValidateContainerID(sandboxID); err != nil {
		return fmt.Errorf("tear down network: %w", err)
	}
	unlock := m.locks.lock(sandboxID)
	defer unlock()
	path := m.NetnsPath(sandboxID)
	pinned := netns.Pinned(path)
	networks := m.networksOf(sandboxID)
	err := m.cni.Del(ctx, m.lastNet.Load(), cni.Attachment{ContainerID: sandboxID, NetNS: pinPath(path, pinned), IfName: cni.DefaultIfName})
	if errors.Is(err, cni.ErrNoCachedResult) {
		// No ADD of this sandbox completed, and Setup's rollback already
		// ran DEL; like containerd, do not wedge the teardown on it.
		slog.Warn("cni del without cached result failed; ignored", "sandbox", sandboxID, "err", err)
		err = nil
	}
	if err != nil {
		return fmt.Errorf("tear down network of sandbox %q: %w", sandboxID, err)
	}
	if !pinned {
		// Without the netns the bridge plugin's DEL cannot find the
		// addresses it masqueraded, and leaves the rules.
		if err := releaseMasquerade(networks, sandboxID); err != nil {
			return fmt.Errorf("tear down network of sandbox %q: %w", sandboxID, err)
		}
	}
	if err := netns.Remove(path); err != nil {
		return fmt.Errorf("tear down network of sandbox %q: %w", sandboxID, err)
	}
	slog.Info("sandbox network down", "sandbox", sandboxID)
	return nil
}

func cniArgs(req SetupRequest) [][2]string {
	return [][2]string{
		{"IgnoreUnknown", "1"},
		{"K8S_POD_NAMESPACE", req.Namespace},
		{"K8S_POD_NAME", req.Name},
		{"K8S_POD_INFRA_CONTAINER_ID", req.SandboxID},
		{"K8S_POD_UID", req.PodUID},
	}
}

func cniPortMappings(in []PortMapping) []cni.PortMapping {
	var out []cni.PortMapping
	for _, p := range in {
		out = append(out, cni.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol, HostIP: p.HostIP})
	}
	return out
}

// keyedMutex serialises work per key and forgets keys nobody holds.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*refMutex)
	}
	l := k.locks[key]
	if l == nil {
		l = &refMutex{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
