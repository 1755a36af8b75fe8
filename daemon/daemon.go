package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/events"
	"github.com/podd-dev/podd/daemon/manifest"
	"github.com/podd-dev/podd/daemon/metrics"
	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/daemon/sdnotify"
	"github.com/podd-dev/podd/daemon/staticpods"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/daemon/userns"
	"github.com/podd-dev/podd/internal/limiter"
	"github.com/podd-dev/podd/network"
	"github.com/podd-dev/podd/network/podfiles"
	"github.com/podd-dev/podd/network/proxier"
	"github.com/podd-dev/podd/probes"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/runtime/cgroupusage"
	"github.com/podd-dev/podd/runtime/crilog"
	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/rootfs"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/runtime/spec"
)

// Daemon is one running podd.
type Daemon struct {
	cfg    Config
	ctx    context.Context
	store  *store.Store
	images imageStore
	events *events.Log
	// network is also the workers' (deps.Network); GC needs all of it.
	network podNetwork
	probes  *probes.Manager
	deps    *podworker.Deps
	pods    *pods
	// objects are the namespaces, ConfigMaps, Secrets, claims and Services.
	objects *objects
	// svc keeps the Services' endpoints and rules.
	svc *serviceProxy
	// deployQueue holds the Deployments to reconcile.
	deployQueue *workQueue
	// jobQueue holds the Jobs to reconcile.
	jobQueue *workQueue
	// dsQueue and cronQueue hold the DaemonSets and CronJobs to reconcile.
	dsQueue, cronQueue *workQueue
	// policy is what manifests are validated against.
	policy manifest.Policy
	host   *hostClaims
	// criState is what CRI's runtime-wide calls record (the pod CIDR).
	criState criState
	// criSandboxes are the sandboxes CRI clients made (restorePods opens
	// them, before the GC, which keeps their networks).
	criSandboxes *sandbox.Registry
	// criContainers are the containers CRI clients made in them.
	criContainers *sandbox.Containers
	// userNamespaces reports, probed once, whether sandboxes can have
	// their own user namespace here (userNamespacesHere).
	userNamespaces func() bool
	wg             sync.WaitGroup
	// metrics are the daemon's Prometheus metrics (recorded even when no
	// listener serves them); cgroups reads pods' usage for top.
	metrics *metrics.Metrics
	cgroups CgroupReader
	// spares keeps a podd-shim started ahead of the next sandbox; nil in
	// tests with fake shims.
	spares *shim.Spares
}

// Run starts the daemon, serves until ctx ends, then stops serving and
// returns. Pods keep running (their shims own the containers) unless
// cfg.Drain asks to stop them first.
func Run(ctx context.Context, cfg Config) error {
	// Workers run until the daemon is done with them (after a drain), not
	// until the signal: a drain needs them to stop the pods.
	wctx, stopWorkers := context.WithCancel(context.Background())
	defer stopWorkers()
	if cfg.CRISocket != "" && filepath.Clean(cfg.CRISocket) == filepath.Clean(cfg.Socket) {
		return fmt.Errorf("the CRI socket %s is the pod API's socket: give each its own path", cfg.CRISocket)
	}
	host, err := claimHost(&cfg)
	if err != nil {
		return err
	}
	defer host.release()
	d, err := newDaemon(wctx, cfg)
	if err != nil {
		return err
	}
	// Last: no spare shim outlives the daemon's other work.
	defer d.closeSpares()
	d.host = host
	if err := host.claimNetwork(d.network.Resources()); err != nil {
		return err
	}
	dnsSrv, err := d.startClusterDNS(wctx)
	if err != nil {
		return err
	}
	if dnsSrv != nil {
		defer dnsSrv.Close()
	}
	defer d.probes.Close()
	lis, err := listener(cfg.Socket)
	if err != nil {
		return err
	}
	if cfg.MetricsAddress != "" {
		_, stopMetrics, err := d.serveMetrics()
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(d.metrics.UnaryInterceptor()),
		grpc.ChainStreamInterceptor(d.metrics.StreamInterceptor()))
	poddv1.RegisterPodServiceServer(srv, &api{d: d})
	if err := d.restore(); err != nil {
		return err
	}
	go d.routeProbeUpdates(wctx)
	// Reconciles what the last daemon left in the kernel (which serves
	// meanwhile) without holding up the API.
	go d.runServices(wctx)
	go d.runController(wctx, d.deployQueue, resDeployments, d.reconcileDeployment)
	go d.runController(wctx, d.jobQueue, resJobs, d.reconcileJob)
	go d.runController(wctx, d.dsQueue, resDaemonSets, d.reconcileDaemonSet)
	go d.runController(wctx, d.cronQueue, resCronJobs, d.reconcileCronJob)
	go d.checkStorage(ctx, cfg.EvictionInterval)
	if cfg.Manifests != "" {
		w := staticpods.New(cfg.Manifests, staticApplier{d: d}, staticpods.Options{Rescan: cfg.StaticRescan, Known: d.knownStatic()})
		go func() {
			if err := w.Run(ctx); err != nil && ctx.Err() == nil {
				slog.Error("Static pod watch stopped", "dir", cfg.Manifests, "err", err)
			}
		}()
	}
	errc, criErrc := make(chan error, 1), make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	criSrv, err := d.serveCRI(criErrc)
	if err != nil {
		srv.Stop()
		return err
	}
	slog.Info("podd serving", "socket", cfg.Socket, "root", cfg.Root, "run-root", cfg.RunRoot, "cgroup-parent", cfg.CgroupParent,
		"network", d.network.Resources().Name)
	sdnotify.Ready(d.statusLine())
	go sdnotify.Watchdog(ctx, d.healthy)
	go d.reportStatus(ctx)
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", cfg.Socket, err)
	case err := <-criErrc:
		return err
	}
	sdnotify.Stopping()
	if cfg.Drain {
		d.drain()
	}
	stopWorkers()
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		criSrv.stop(true)
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(2 * time.Second):
		srv.Stop()
		criSrv.stop(false)
	}
	d.wg.Wait()
	slog.Info("podd stopped", "pods-left-running", !cfg.Drain)
	return nil
}

// drain deletes every pod gracefully and waits until they are gone.
func (d *Daemon) drain() {
	entries := d.pods.list()
	slog.Info("Draining pods", "count", len(entries))
	for _, e := range entries {
		e.worker.Delete(nil)
	}
	for _, e := range entries {
		<-e.worker.Done()
	}
}

// healthy reports whether the daemon can do its job (the watchdog's gate):
// its API answers on its own socket.
func (d *Daemon) healthy() bool {
	if d.ctx.Err() != nil {
		return false
	}
	conn, err := grpc.NewClient("unix://"+d.cfg.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return false
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
	defer cancel()
	_, err = poddv1.NewPodServiceClient(conn).Version(ctx, &poddv1.VersionRequest{})
	return err == nil
}

// statusLine is the systemd STATUS= text: pod counts by phase.
func (d *Daemon) statusLine() string {
	counts := map[corev1.PodPhase]int{}
	entries := d.pods.list()
	for _, e := range entries {
		counts[e.worker.Snapshot().Status.Phase]++
	}
	return fmt.Sprintf("%d pods: %d running, %d pending, %d succeeded, %d failed", len(entries),
		counts[corev1.PodRunning], counts[corev1.PodPending], counts[corev1.PodSucceeded], counts[corev1.PodFailed])
}

// statusEvery is how often STATUS= is refreshed under systemd.
const statusEvery = 10 * time.Second

// reportStatus keeps systemd's STATUS= current until ctx ends.
func (d *Daemon) reportStatus(ctx context.Context) {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return
	}
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sdnotify.Status(d.statusLine())
		}
	}
}

func newDaemon(ctx context.Context, cfg Config) (*Daemon, error) {
	if err := manifest.CheckAllowedUnsafeSysctls(cfg.AllowedUnsafeSysctls); err != nil {
		return nil, err
	}
	layout := store.Layout{Root: cfg.Root, RunRoot: cfg.RunRoot, CgroupParent: cfg.CgroupParent}
	st, err := store.Open(layout)
	if err != nil {
		return nil, err
	}
	images, err := image.Open(layout.ImagesDir(), image.Options{MaxLayerSize: cfg.MaxLayerSize, Mirrors: cfg.RegistryMirrors})
	if err != nil {
		return nil, err
	}
	netw, err := network.New(network.Config{NetnsDir: layout.NetnsDir(), CNICacheDir: layout.CNICacheDir(), IPAMDir: layout.IPAMDir(), ConfDir: cfg.CNIConfDir, BinDirs: cfg.CNIBinDirs, Default: cfg.DefaultNetwork})
	if err != nil {
		return nil, err
	}
	rules, err := proxier.New(cfg.ServiceRulesTag)
	if err != nil {
		return nil, err
	}
	// Absolute: the shim execs podd-pause by this path from its own cwd.
	binDir, err := filepath.Abs(cfg.BinDir)
	if err != nil {
		return nil, fmt.Errorf("find helper binaries: %w", err)
	}
	// podd-create: the shim runs it from its own directory
	// (createchild.BinaryName; not imported here, it links libcontainer).
	for _, b := range []string{"podd-shim", "podd-create", "podd-pause"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			return nil, fmt.Errorf("find helper binary: %w (set --bin-dir)", err)
		}
	}
	shimBinary := filepath.Join(binDir, "podd-shim")
	// The spare waits beside the shims' cgroups; binding it renames its
	// cgroup to the pod's shim cgroup.
	spares := shim.NewSpares(shimBinary, filepath.Join(layout.ShimsCgroup(), "spare"))
	d, err := assemble(ctx, cfg, st, hostParts{
		images: images, network: netw, shims: sandbox.HostShimsWithSpares(spares),
		shimBinary: shimBinary, pauseBinary: filepath.Join(binDir, "podd-pause"),
		rules: rules, warmMigrations: shimdir.WarmMigrations,
	})
	if err != nil {
		spares.Close()
		return nil, err
	}
	d.spares = spares
	return d, nil
}

// closeSpares kills the daemon's spare shim, if it has one.
func (d *Daemon) closeSpares() {
	if d.spares != nil {
		d.spares.Close()
	}
}

// assemble makes a Daemon over its store and host: events, probes and the
// workers' dependencies. It starts nothing.
func assemble(ctx context.Context, cfg Config, st *store.Store, host hostParts) (*Daemon, error) {
	layout := st.Layout
	bounding, err := spec.HostBoundingSet()
	if err != nil {
		return nil, err
	}
	cidr, err := serviceCIDR(cfg)
	if err != nil {
		return nil, err
	}
	if host.rules == nil {
		host.rules = &noRules{}
	}
	var d *Daemon
	m := metrics.New(func() metrics.Counts { return d.census() })
	d = &Daemon{
		cfg: cfg, ctx: ctx, store: st, images: host.images, network: host.network,
		policy: manifest.Policy{AllowedUnsafeSysctls: cfg.AllowedUnsafeSysctls, HostCapabilities: bounding},
		events: events.New(time.Now), probes: probes.NewManager(probes.Config{Recorder: m}), pods: newPods(), objects: newObjects(),
		metrics: m, cgroups: cgroupusage.Reader{}, deployQueue: newWorkQueue(), jobQueue: newWorkQueue(),
		dsQueue: newWorkQueue(), cronQueue: newWorkQueue(),
		svc: newServiceProxy(cidr, cfg.ServiceRulesTag, host.rules),
	}
	d.pods.changed = d.svc.podsChanged
	d.pods.observe = d.observePod
	rootfs.RemoveProbeLeftovers(st.Layout.Root)
	d.userNamespaces = sync.OnceValue(d.userNamespacesHere)
	ids, err := userns.ParseRange(cfg.PodUserNamespaceIDs)
	if err != nil {
		return nil, err
	}
	d.policy.UserNamespaces = ids != nil && d.userNamespaces()
	d.criState.d = d
	if host.volumes == nil {
		host.volumes = claimVolumes{d: d}
	}
	d.deps = &podworker.Deps{
		Layout: layout, Store: st, Images: measuredImages{Images: host.images, m: d.metrics}, Network: host.network, Probes: d.probes, Events: d.events,
		Shims: host.shims, Volumes: host.volumes, Rootfs: host.rootfs,
		Recorder:   d.metrics,
		OnChange:   func(p *podworker.Published) { d.pods.notify("MODIFIED", p) },
		Planner:    planner.Config{BackoffBase: cfg.BackoffBase, BackoffMax: cfg.BackoffMax},
		ShimBinary: host.shimBinary, PauseBinary: host.pauseBinary,
		ShimLogLevel: "info", PodPidsLimit: cfg.PodPidsLimit,
		ResolvConf: cfg.ResolvConf, ClusterDNS: podfiles.ClusterDNS{Domain: cfg.ClusterDomain}, NodeIP: nodeIP(),
		LogRotation: crilog.Rotation{MaxSize: cfg.ContainerLogMaxSize, MaxFiles: cfg.ContainerLogMaxFiles},
		Security:    spec.HostSecurity{Bounding: bounding, SeccompDefault: cfg.SeccompDefault, SeccompRoot: layout.SeccompDir()},
		Work:        limiter.New(workBudget()), Observes: limiter.New(observeBudget()),
		Objects:        func(ns string) spec.Objects { return namespaceObjects{o: d.objects, ns: ns} },
		UserNS:         ids,
		StartAhead:     true,
		WarmMigrations: host.warmMigrations,
	}
	return d, nil
}

// warmMigrations tells the host that sandboxes are coming (see
// shimdir.WarmMigrations).
func (d *Daemon) warmMigrations() {
	if f := d.deps.WarmMigrations; f != nil {
		f()
	}
}

// workBudget is how many sandbox creations, container starts and
// teardowns run at once: a burst of pods queues (fairly, teardowns first)
// instead of starving the host and the daemon of CPU.
func workBudget() int { return 2 * goruntime.NumCPU() }

// observeBudget is how many calls read a shim's state at once; larger than
// the work budget, as those calls are short.
func observeBudget() int { return 4 * goruntime.NumCPU() }

// restore loads the namespaces and objects, then the pods (restorePods),
// then gives restored pods their namespaces and resumes namespace deletions.
func (d *Daemon) restore() error {
	if err := d.restoreObjects(); err != nil {
		return err
	}
	if err := d.restorePods(); err != nil {
		return err
	}
	return d.adoptNamespaces()
}

// restorePods starts a worker for every accepted pod found on disk, after
// collecting what belongs to none of them.
func (d *Daemon) restorePods() error {
	pods, bad, err := d.store.LoadPods()
	if err != nil {
		return err
	}
	for _, q := range bad {
		d.reportQuarantine(q, nil)
	}
	states := make([]*podworker.State, len(pods))
	lostState := map[string]store.Quarantined{}
	for i, pod := range pods {
		st := &podworker.State{}
		q, err := d.store.LoadState(string(pod.UID), st)
		if err != nil {
			return err
		}
		if q != nil {
			// Start afresh; whatever of the old sandbox still runs is
			// killed by the worker, its network by the GC below.
			st = &podworker.State{SandboxUnknown: true}
			lostState[string(pod.UID)] = *q
		}
		states[i] = st
	}
	d.claimUserNamespaces(pods, states)
	if err := d.openCRISandboxes(); err != nil {
		return err
	}
	d.collectGarbage(pods, states)
	start := time.Now()
	var workers []*podworker.Worker
	// Oldest first: a pod being replaced (R3) when the daemon died comes
	// before its successor, which starts once the old one is gone.
	order := make([]int, len(pods))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		pa, pb := pods[order[a]], pods[order[b]]
		if !pa.CreationTimestamp.Equal(&pb.CreationTimestamp) {
			return pa.CreationTimestamp.Before(&pb.CreationTimestamp)
		}
		return states[order[a]].Deletion != nil && states[order[b]].Deletion == nil
	})
	for _, i := range order {
		pod := pods[i]
		w := podworker.New(d.deps, pod, states[i])
		if q, ok := lostState[string(pod.UID)]; ok {
			d.reportQuarantine(q, pod)
		}
		key := podKey(pod.Namespace, pod.Name)
		var after <-chan struct{}
		d.pods.mu.Lock()
		if old, ok := d.pods.byKey[key]; ok {
			old.worker.Delete(nil)
			after = old.worker.Done()
		}
		e := newPodEntry(w, pod.Annotations[podworker.AnnotationSpecHash], pod.Annotations[podworker.AnnotationStaticSource])
		d.pods.byKey[key] = e
		d.pods.mu.Unlock()
		d.pods.ips.set(w.Snapshot())
		if after == nil {
			workers = append(workers, w) // a successor reconciles once it starts
		}
		d.startWorker(e, key, after)
	}
	// Readiness (READY=1) waits until every pod was reconciled once.
	deadline := time.After(reconcileTimeout)
	for _, w := range workers {
		select {
		case <-w.Reconciled():
		case <-deadline:
			slog.Warn("Reconcile is taking long; serving anyway", "pods", len(workers))
			return nil
		}
	}
	if len(pods) > 0 {
		slog.Info("Pods restored and reconciled", "count", len(pods), "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// reportQuarantine logs a pod file moved aside at start-up and records an
// event: on the pod when it still runs (pod), else under its UID.
func (d *Daemon) reportQuarantine(q store.Quarantined, pod *corev1.Pod) {
	e := events.Event{UID: q.UID, Type: events.Warning, Reason: "PodQuarantined", Object: "pods/" + q.UID}
	if pod != nil {
		e.Namespace, e.Pod, e.Reason, e.Object = pod.Namespace, pod.Name, "StateQuarantined", ""
		e.Message = fmt.Sprintf("the pod's state could not be read back (%v); moved to %s; the pod starts afresh in a new sandbox", q.Err, q.File)
		slog.Error("Pod state unreadable; moved aside, the pod starts afresh", "pod", podKey(pod.Namespace, pod.Name), "uid", q.UID, "file", q.File, "err", q.Err)
	} else {
		e.Message = fmt.Sprintf("pod %s could not be read back (%v); moved to %s; the pod is dropped and what it ran is released", q.UID, q.Err, q.File)
		slog.Error("Pod unreadable; moved aside and dropped", "uid", q.UID, "file", q.File, "err", q.Err)
	}
	d.events.Record(e)
}

// reconcileTimeout bounds how long start-up waits for restored pods.
const reconcileTimeout = 30 * time.Second

// routeProbeUpdates hands each probe update to its pod's worker.
func (d *Daemon) routeProbeUpdates(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-d.probes.Updates():
			if !ok {
				return
			}
			if e := d.pods.byUID(u.Key.PodUID); e != nil {
				e.worker.ProbeUpdate(u)
			}
		}
	}
}

// listener returns the socket systemd passed (socket activation) or opens
// the API socket itself.
func listener(path string) (net.Listener, error) {
	lis, err := sdnotify.Listeners()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	if len(lis) > 0 {
		return lis[0], nil
	}
	return listen(path)
}

// listen opens the API socket, root-only (0600) from its first moment,
// replacing a stale socket. Anything else at path is an error and is left
// alone. The socket is bound in a private directory beside path and renamed
// into place, so it is never reachable with the umask's mode.
func listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := clearStaleSocket(path); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	tmp, err := os.MkdirTemp(dir, ".podd-listen-")
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	defer os.RemoveAll(tmp)
	bound := filepath.Join(tmp, "sock")
	lis, err := net.ListenUnix("unix", &net.UnixAddr{Name: bound, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	lis.SetUnlinkOnClose(false)
	if err := os.Chmod(bound, 0o600); err != nil {
		lis.Close()
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Rename(bound, path); err != nil {
		lis.Close()
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return &socketListener{Listener: lis, path: path}, nil
}

// liveDials dials of an existing socket, liveDialEvery apart, must all
// connect for it to count as served. A podd killed a moment ago leaves
// copies of its listener in the children it had forked and not yet exec'd
// (CNI plugins, shims, iptables): they accept connections at the old
// socket until their exec closes them, a few ms, longer on a loaded host.
// A live podd never refuses one.
var (
	liveDials     = 10
	liveDialEvery = 100 * time.Millisecond
)

// clearStaleSocket removes a socket nobody serves at path. A live socket or
// a file of another kind is an error.
func clearStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket (%s); remove it or choose another --socket", path, fi.Mode().Type())
	}
	for i := 0; ; i++ {
		c, err := net.Dial("unix", path)
		if err != nil {
			break
		}
		c.Close()
		if i == liveDials-1 {
			return errors.New("another podd is serving it")
		}
		time.Sleep(liveDialEvery)
	}
	return os.Remove(path)
}

// socketListener removes its socket file when closed.
type socketListener struct {
	net.Listener
	path string
}

func (l *socketListener) Close() error {
	err := l.Listener.Close()
	os.Remove(l.path)
	return err
}

// nodeIP is the host's first global unicast IPv4 address.
func nodeIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}
