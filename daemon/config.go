package daemon

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/podd-dev/podd/daemon/ownership"
	"github.com/podd-dev/podd/network"
	"github.com/podd-dev/podd/network/clusterdns"
	"github.com/podd-dev/podd/network/podfiles"
	"github.com/podd-dev/podd/runtime/image"
)

// Config is what the podd binary hands the daemon; flags and the config file
// fill it.
type Config struct {
	// Root is the persistent state root (/var/lib/podd).
	Root string
	// RunRoot is the tmpfs run root (/run/podd).
	RunRoot string
	// Socket is the pod API's unix socket.
	Socket string
	// CRISocket is the CRI v1 unix socket (RuntimeService, ImageService),
	// root-only like Socket; empty disables CRI. The podd binary defaults it
	// to <RunRoot>/cri.sock (DefaultCRISocket).
	CRISocket string
	// CRIStreamAddress is where the CRI streaming server (the URLs of
	// Exec, Attach and PortForward) listens: host:port on a loopback
	// address, port 0 for any free one (containerd's stream_server_address
	// and stream_server_port). Its sessions are unauthenticated.
	CRIStreamAddress string
	// RegistryMirrors are tried, in order, before a registry on every pull
	// from it (pods, the pod API, CRI).
	RegistryMirrors image.Mirrors
	// Manifests is the static pod directory; empty disables it.
	Manifests string
	// CNIConfDir holds the CNI network configuration.
	CNIConfDir string
	// CNIBinDirs are searched for CNI plugins.
	CNIBinDirs []string
	// CgroupParent is the cgroup every pod cgroup goes under. Empty: the
	// root's own (package identity: /podd for /var/lib/podd, /podd-<id>
	// for any other root).
	CgroupParent string
	// BinDir holds podd-shim and podd-pause; default: beside the podd binary.
	BinDir string
	// BackoffBase and BackoffMax bound the crash-loop back-off (R41).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// NodeName names this node (static pod suffix, spec.nodeName).
	NodeName string
	// StaticRescan is how often the manifest directory is rescanned besides
	// the fsnotify watch.
	StaticRescan time.Duration
	// Drain stops every pod gracefully when the daemon stops; without it
	// pods keep running across a daemon restart.
	Drain bool
	// ContainerLogMaxSize and ContainerLogMaxFiles bound each container's
	// log, as the kubelet's settings of the same names do.
	ContainerLogMaxSize  int64
	ContainerLogMaxFiles int
	// SeccompDefault runs containers that name no seccompProfile under the
	// default filter (RuntimeDefault), like the kubelet's seccompDefault.
	SeccompDefault bool
	// AllowedUnsafeSysctls are namespaced sysctls (or "prefix*" patterns)
	// pods may set besides the kubelet's safe set.
	AllowedUnsafeSysctls []string
	// OwnersDir holds the claims that keep side-by-side daemons off each
	// other's resources (package ownership).
	OwnersDir string
	// DefaultNetwork is the network written when CNIConfDir holds none;
	// the daemon derives it from the root's identity.
	DefaultNetwork network.DefaultNetwork
	// MaxLayerSize caps one image layer's uncompressed size in bytes; a
	// bigger layer is refused when it is unpacked.
	MaxLayerSize int64
	// PodPidsLimit caps the processes of each pod, at the pod cgroup, like
	// the kubelet's podPidsLimit; -1 is no limit.
	PodPidsLimit int64
	// EvictionInterval is how often pods' limited storage is measured
	// (emptyDir sizeLimit eviction).
	EvictionInterval time.Duration
	// MetricsAddress is where Prometheus metrics are served (host:port,
	// loopback unless MetricsAllowRemote); empty serves none.
	MetricsAddress     string
	MetricsAllowRemote bool
	// Profiling serves Go's profiles (net/http/pprof) under /debug/pprof/
	// beside the metrics, like the kubelet's enableProfilingHandler.
	Profiling bool
	// ServiceCIDR is where Services' cluster IPs come from; empty is
	// services.DefaultServiceCIDR.
	ServiceCIDR string
	// ServiceRulesTag names the daemon's iptables chains; the daemon
	// derives it from the root (proxier.TagFor).
	ServiceRulesTag string
	// ClusterDNS serves cluster DNS on the pod bridge's gateway address,
	// port 53, for pods with dnsPolicy ClusterFirst; off, they get the
	// host's resolv.conf (with a warning), as under a kubelet without
	// clusterDNS.
	ClusterDNS bool
	// ClusterDomain is the cluster DNS domain (the kubelet's clusterDomain).
	ClusterDomain string
	// ResolvConf is the host's resolver file: what dnsPolicy Default pods
	// get and where cluster DNS forwards other names (the kubelet's
	// resolvConf).
	ResolvConf string
	// PodUserNamespaceIDs is the host ID range "FIRST:COUNT" (an
	// /etc/subuid entry's numbers, multiples of 65536) the daemon gives
	// its pods with hostUsers: false, 65536 IDs each; empty: such pods
	// are refused. It must not overlap the host's users nor a kubelet's
	// range on the same host.
	PodUserNamespaceIDs string
}

// DefaultPodPidsLimit is the default podPidsLimit: enough for any sane pod,
// small enough that a fork bomb in one pod leaves the host's pid space to
// the others (the kubelet's own default is no limit).
const DefaultPodPidsLimit = 4096

// CheckPodPidsLimit accepts -1 (no limit) or a positive limit.
func CheckPodPidsLimit(n int64) error {
	if n == -1 || n > 0 {
		return nil
	}
	return fmt.Errorf("%d must be -1 (no limit) or positive", n)
}

// DefaultCRISocket is the CRI socket of a run root.
func DefaultCRISocket(runRoot string) string { return filepath.Join(runRoot, "cri.sock") }

// DefaultCRIStreamAddress is the CRI streaming server's default address:
// loopback, any free port.
const DefaultCRIStreamAddress = "127.0.0.1:0"

// CheckCRIStreamAddress accepts host:port with a loopback host: the
// streaming server has no authentication, so it never listens beyond this
// host.
func CheckCRIStreamAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("CRI stream address %q: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("CRI stream address %q: port %q is not a port number", addr, port)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("CRI stream address %q: %q is not a loopback address (the streaming server has no authentication)", addr, host)
	}
	return nil
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	bin := ""
	if exe, err := os.Executable(); err == nil {
		bin = filepath.Dir(exe)
	}
	return Config{
		Root:             "/var/lib/podd",
		RunRoot:          "/run/podd",
		Socket:           "/run/podd/podd.sock",
		CRISocket:        "/run/podd/cri.sock",
		CRIStreamAddress: DefaultCRIStreamAddress,
		Manifests:        "/etc/podd/manifests",
		CNIConfDir:       "/etc/cni/net.d",
		CNIBinDirs:       []string{"/usr/lib/cni", "/opt/cni/bin"},
		CgroupParent:     "",
		BinDir:           bin,
		BackoffBase:      10 * time.Second,
		BackoffMax:       300 * time.Second,
		NodeName:         host,
		StaticRescan:     20 * time.Second,

		ContainerLogMaxSize:  10 << 20,
		ContainerLogMaxFiles: 5,
		// podd is a single-host runtime like podman and docker, with no
		// admission control in front: containers are confined by default.
		SeccompDefault: true,
		OwnersDir:      ownership.DefaultDir,
		MaxLayerSize:   image.DefaultMaxLayerSize,
		PodPidsLimit:   DefaultPodPidsLimit,
		// How often emptyDir sizeLimits are checked, as the kubelet does.
		EvictionInterval: DefaultEvictionInterval,
		ClusterDNS:       true,
		ClusterDomain:    clusterdns.DefaultDomain,
		ResolvConf:       podfiles.HostResolvConfPath,
	}
}
