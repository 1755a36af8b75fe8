package daemon

import (
	"os"
	"path/filepath"
	"time"

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
	// Manifests is the static pod directory; empty disables it.
	Manifests string
	// CNIConfDir holds the CNI network configuration.
	CNIConfDir string
	// CNIBinDirs are searched for CNI plugins.
	CNIBinDirs []string
	// CgroupParent is the cgroup every pod cgroup goes under.
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
	// MaxLayerSize caps one image layer's uncompressed size in bytes; a
	// bigger layer is refused when it is unpacked.
	MaxLayerSize int64
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	bin := ""
	if exe, err := os.Executable(); err == nil {
		bin = filepath.Dir(exe)
	}
	return Config{
		Root:         "/var/lib/podd",
		RunRoot:      "/run/podd",
		Socket:       "/run/podd/podd.sock",
		Manifests:    "/etc/podd/manifests",
		CNIConfDir:   "/etc/cni/net.d",
		CNIBinDirs:   []string{"/usr/lib/cni", "/opt/cni/bin"},
		CgroupParent: "/podd",
		BinDir:       bin,
		BackoffBase:  10 * time.Second,
		BackoffMax:   300 * time.Second,
		NodeName:     host,
		StaticRescan: 20 * time.Second,
		MaxLayerSize: image.DefaultMaxLayerSize,
	}
}
