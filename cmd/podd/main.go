// The podd program is the pod runtime daemon: it serves the pod API on a
// unix socket and runs the accepted pods until it is told to stop. Stopping
// podd leaves the pods running (their shims own them); `--drain` stops them.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/podd-dev/podd/daemon"
	"github.com/podd-dev/podd/daemon/services"
	"github.com/podd-dev/podd/daemon/userns"
	"github.com/podd-dev/podd/internal/version"
	"github.com/podd-dev/podd/network/clusterdns"
)

// daemonGCPercent is the daemon's GOGC unless the environment sets one. The
// daemon's live heap grows with its pods (~20 MiB at 200), and at the
// default of 100 a burst of pod starts let the heap reach twice that:
// BenchmarkBurst at 200 pods peaked at 67 MiB RSS, 57.5 MiB with 50
// (issue 13: under 60 MiB), for a few more collections.
const daemonGCPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(daemonGCPercent)
	}
	cfg := daemon.DefaultConfig()
	// The CRI socket follows the run root unless given (file or flag).
	cfg.CRISocket = criSocketUnderRunRoot
	logLevel := "info"
	// The config file's values become the flags' defaults, so flags win.
	if err := loadConfigFile(configFileArg(os.Args[1:]), &cfg, &logLevel); err != nil {
		fmt.Fprintf(os.Stderr, "podd: %v\n", err)
		os.Exit(2)
	}
	fs := flag.NewFlagSet("podd", flag.ExitOnError)
	fs.String("config", "", "daemon config file (default /etc/podd/config.yaml when present)")
	fs.StringVar(&cfg.Root, "root", cfg.Root, "persistent state root")
	fs.StringVar(&cfg.RunRoot, "run-root", cfg.RunRoot, "run state root (tmpfs)")
	fs.StringVar(&cfg.Socket, "socket", cfg.Socket, "pod API unix socket")
	fs.StringVar(&cfg.CRISocket, "cri-socket", cfg.CRISocket, "CRI v1 unix socket for crictl and the kubelet (empty: no CRI)")
	fs.StringVar(&cfg.CRIStreamAddress, "cri-stream-address", cfg.CRIStreamAddress,
		"host:port of the CRI streaming server (exec, attach, port-forward URLs), a loopback address; port 0: any free port")
	fs.StringVar(&cfg.Manifests, "manifests", cfg.Manifests, "static pod manifest directory (empty: none)")
	fs.StringVar(&cfg.CNIConfDir, "cni-conf-dir", cfg.CNIConfDir, "CNI network configuration directory")
	binDirs := fs.String("cni-bin-dir", strings.Join(cfg.CNIBinDirs, ":"), "CNI plugin directories, colon separated")
	fs.StringVar(&cfg.CgroupParent, "cgroup-parent", cfg.CgroupParent,
		"cgroup under which pod cgroups are created (default: /podd for --root /var/lib/podd, /podd-<id of the root> for any other root)")
	fs.StringVar(&cfg.BinDir, "bin-dir", cfg.BinDir, "directory holding podd-shim and podd-pause")
	fs.DurationVar(&cfg.BackoffBase, "backoff-base", cfg.BackoffBase, "first crash-loop back-off delay")
	fs.DurationVar(&cfg.BackoffMax, "backoff-max", cfg.BackoffMax, "crash-loop back-off cap")
	fs.StringVar(&cfg.NodeName, "node-name", cfg.NodeName, "node name (spec.nodeName, static pod suffix)")
	fs.StringVar(&logLevel, "log-level", logLevel, "log level: debug, info, warn, error")
	fs.DurationVar(&cfg.StaticRescan, "static-rescan", cfg.StaticRescan, "static pod directory rescan period")
	fs.BoolVar(&cfg.Drain, "drain", cfg.Drain, "on SIGTERM, stop every pod gracefully before exiting")
	fs.Func("container-log-max-size", "rotate a container's log before it passes this size, a quantity (default 10Mi)", func(s string) error {
		v, err := parseByteSize(s)
		cfg.ContainerLogMaxSize = v
		return err
	})
	fs.IntVar(&cfg.ContainerLogMaxFiles, "container-log-max-files", cfg.ContainerLogMaxFiles, "log files kept per container, the live one included (at least 2)")
	fs.BoolVar(&cfg.SeccompDefault, "seccomp-default", cfg.SeccompDefault, "run containers with no seccompProfile under the default seccomp filter")
	unsafeSysctls := fs.String("allowed-unsafe-sysctls", strings.Join(cfg.AllowedUnsafeSysctls, ","), "namespaced sysctls (or prefix* patterns), comma separated, that pods may set besides the safe set")
	fs.Func("max-layer-size", "cap on one image layer's uncompressed size, a quantity (default 10Gi)", func(s string) error {
		v, err := parseByteSize(s)
		cfg.MaxLayerSize = v
		return err
	})
	fs.Int64Var(&cfg.PodPidsLimit, "pod-pids-limit", cfg.PodPidsLimit, "processes allowed in each pod, set at the pod cgroup (-1: no limit)")
	fs.StringVar(&cfg.PodUserNamespaceIDs, "pod-userns-ids", cfg.PodUserNamespaceIDs,
		"host IDs FIRST:COUNT (multiples of 65536) given to pods with hostUsers: false, 65536 each (default: none, such pods are refused)")
	fs.DurationVar(&cfg.EvictionInterval, "eviction-interval", cfg.EvictionInterval, "how often emptyDir sizeLimits are checked (for tests; the kubelet's is 10s)")
	fs.StringVar(&cfg.MetricsAddress, "metrics-address", cfg.MetricsAddress,
		"serve Prometheus metrics at http://ADDRESS/metrics, host:port on a loopback address (default: none)")
	fs.BoolVar(&cfg.Profiling, "profiling", cfg.Profiling,
		"also serve Go's profiles (heap, goroutines, CPU) under /debug/pprof/ on --metrics-address")
	fs.BoolVar(&cfg.MetricsAllowRemote, "metrics-allow-remote", cfg.MetricsAllowRemote,
		"let --metrics-address be a non-loopback address (the metrics have no authentication)")
	fs.StringVar(&cfg.ServiceCIDR, "service-cidr", cfg.ServiceCIDR, "IPv4 range Services' cluster IPs are allocated from (default "+services.DefaultServiceCIDR+")")
	fs.BoolVar(&cfg.ClusterDNS, "cluster-dns", cfg.ClusterDNS,
		"serve cluster DNS on the pod bridge's gateway address, port 53, for pods with dnsPolicy ClusterFirst")
	fs.StringVar(&cfg.ClusterDomain, "cluster-domain", cfg.ClusterDomain, "cluster DNS domain")
	fs.StringVar(&cfg.ResolvConf, "resolv-conf", cfg.ResolvConf,
		"host resolver file: dnsPolicy Default pods get it, cluster DNS forwards other names to its nameservers")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Parse(os.Args[1:])
	if *showVersion {
		fmt.Println("podd", version.Version)
		return
	}
	cfg.CNIBinDirs = strings.Split(*binDirs, ":")
	if err := resolveCRISocket(&cfg); err != nil {
		fmt.Fprintf(os.Stderr, "podd: %v\n", err)
		os.Exit(2)
	}
	if err := daemon.CheckCRIStreamAddress(cfg.CRIStreamAddress); err != nil {
		fmt.Fprintf(os.Stderr, "podd: --cri-stream-address: %v\n", err)
		os.Exit(2)
	}
	if cfg.ContainerLogMaxFiles < 2 {
		fmt.Fprintf(os.Stderr, "podd: --container-log-max-files: %d must be at least 2\n", cfg.ContainerLogMaxFiles)
		os.Exit(2)
	}
	if err := daemon.CheckPodPidsLimit(cfg.PodPidsLimit); err != nil {
		fmt.Fprintf(os.Stderr, "podd: --pod-pids-limit: %v\n", err)
		os.Exit(2)
	}
	if _, err := userns.ParseRange(cfg.PodUserNamespaceIDs); err != nil {
		fmt.Fprintf(os.Stderr, "podd: --pod-userns-ids: %v\n", err)
		os.Exit(2)
	}
	if cfg.EvictionInterval <= 0 {
		fmt.Fprintf(os.Stderr, "podd: --eviction-interval: %v must be positive\n", cfg.EvictionInterval)
		os.Exit(2)
	}
	if cfg.ServiceCIDR != "" {
		if _, err := services.ParseCIDR(cfg.ServiceCIDR); err != nil {
			fmt.Fprintf(os.Stderr, "podd: --service-cidr: %v\n", err)
			os.Exit(2)
		}
	}
	if cfg.MetricsAddress != "" {
		if err := daemon.CheckMetricsAddress(cfg.MetricsAddress, cfg.MetricsAllowRemote); err != nil {
			fmt.Fprintf(os.Stderr, "podd: --metrics-address: %v\n", err)
			os.Exit(2)
		}
	}
	if err := clusterdns.CheckDomain(cfg.ClusterDomain); err != nil {
		fmt.Fprintf(os.Stderr, "podd: --cluster-domain: %v\n", err)
		os.Exit(2)
	}
	if err := checkPath("--resolv-conf", cfg.ResolvConf, false); err != nil {
		fmt.Fprintf(os.Stderr, "podd: %v\n", err)
		os.Exit(2)
	}
	cfg.AllowedUnsafeSysctls = nil
	if *unsafeSysctls != "" {
		cfg.AllowedUnsafeSysctls = strings.Split(*unsafeSysctls, ",")
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "podd: --log-level: %v\n", err)
		os.Exit(2)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := daemon.Run(ctx, cfg); err != nil {
		slog.Error("podd stopped", "err", err)
		os.Exit(1)
	}
}
