package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/manifest"
	"github.com/podd-dev/podd/daemon/services"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/network/proxier"
)

// Resource names of Services and of the Endpoints derived from them.
const (
	resServices  = store.ResourceServices
	resEndpoints = "endpoints"
)

// ruleSyncer puts a ruleset into the kernel and clears the conntrack
// entries a change left stale (proxier.Proxier); unit tests record them
// instead.
type ruleSyncer interface {
	Sync(ctx context.Context, rs proxier.Ruleset) error
	ClearFlows(flows []proxier.Flow) (uint, error)
}

// serviceProxy is the Service half of the node: it recomputes endpoints
// and rules from the Services and the pods' snapshots whenever either
// changes, and publishes them in the registry.
type serviceProxy struct {
	cidr  *net.IPNet
	tag   string
	rules ruleSyncer
	reg   *services.Registry
	// kick wakes the sync loop; pending is when the oldest unsynced pod
	// change was seen (for the latency log).
	kick    chan struct{}
	pendMu  sync.Mutex
	pending time.Time

	// syncMu orders syncs; last is what was last put into the kernel.
	syncMu sync.Mutex
	last   []proxier.ServicePort
	synced bool
	// readyAt is the latest Ready transition of a pod at the last sync
	// (for the latency log).
	readyAt time.Time
}

func newServiceProxy(cidr *net.IPNet, tag string, rules ruleSyncer) *serviceProxy {
	return &serviceProxy{cidr: cidr, tag: tag, rules: rules, reg: services.NewRegistry(), kick: make(chan struct{}, 1)}
}

// Services is the daemon's table of Services and their ready endpoints,
// for the cluster DNS.
func (d *Daemon) Services() *services.Registry { return d.svc.reg }

// podsChanged notes a pod change for the sync loop; it never blocks.
func (s *serviceProxy) podsChanged() {
	s.pendMu.Lock()
	if s.pending.IsZero() {
		s.pending = time.Now()
	}
	s.pendMu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// runServices syncs the Service rules at once and then at every pod
// change until ctx ends; a failed sync is retried after a second.
func (d *Daemon) runServices(ctx context.Context) {
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.svc.kick:
		case <-retry.C:
		}
		if err := d.syncServices(ctx); err != nil {
			slog.Error("Service rules not synced; retrying", "err", err)
			retry.Reset(time.Second)
		}
	}
}

// syncServices recomputes every Service's endpoints from the pods'
// current snapshots, publishes them and puts the rules into the kernel
// when they changed (always at the first sync: reconcile what a previous
// daemon left).
func (d *Daemon) syncServices(ctx context.Context) error {
	s := d.svc
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	began := time.Now()
	s.pendMu.Lock()
	since := s.pending
	s.pending = time.Time{}
	s.pendMu.Unlock()
	var pods []*corev1.Pod
	var readyAt time.Time
	// The published pods as they are: the sync runs at nearly every pod
	// change and only reads them.
	for _, e := range d.pods.list() {
		p := e.worker.Published().Pod
		pods = append(pods, p)
		readyAt = latestReadyTransition(p, readyAt)
	}
	var infos []services.Info
	var ports []proxier.ServicePort
	for _, obj := range d.objects.list(resServices, "") {
		svc := obj.(*corev1.Service)
		ep := services.Endpoints(svc, pods)
		infos = append(infos, services.InfoOf(svc, ep))
		ports = append(ports, services.ProxyPorts(svc, ep)...)
	}
	if !s.synced || !reflect.DeepEqual(ports, s.last) {
		computed := time.Now()
		rs := proxier.Build(proxier.Options{Tag: s.tag, PodCIDRs: d.podCIDRs()}, ports)
		if err := s.rules.Sync(ctx, rs); err != nil {
			s.synced = false
			return err
		}
		restored := time.Now()
		attrs := []any{"ports", len(ports), "took", restored.Sub(computed).Round(time.Microsecond)}
		if !since.IsZero() {
			// From the pod status change that podd published to the
			// rules in the kernel, and the part of it before this sync
			// began (the previous sync still running).
			attrs = append(attrs, "latency", restored.Sub(since).Round(time.Microsecond), "waited", began.Sub(since).Round(time.Microsecond))
		}
		if s.synced && readyAt.After(s.readyAt) {
			// From the readiness transition a pod's worker decided (its
			// Ready condition), through the pod state written to disk
			// and published, to the rules in the kernel.
			attrs = append(attrs, "since-ready", restored.Sub(readyAt).Round(time.Microsecond))
		}
		if s.synced {
			// A UDP client must not keep talking to an endpoint that left
			// (the first sync after a start does not know what left).
			if flows := proxier.StaleFlows(s.last, ports); len(flows) > 0 {
				n, err := s.rules.ClearFlows(flows)
				if err != nil {
					slog.Warn("Stale conntrack entries of Services not cleared", "err", err)
				}
				attrs = append(attrs, "conntrack", n)
			}
		}
		s.last, s.synced = ports, true
		slog.Info("Service rules synced", attrs...)
	}
	s.readyAt = readyAt
	s.reg.Set(infos)
	return nil
}

// latestReadyTransition is the later of after and the last transition of
// pod's Ready condition.
func latestReadyTransition(pod *corev1.Pod, after time.Time) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.LastTransitionTime.After(after) {
			return c.LastTransitionTime.Time
		}
	}
	return after
}

// syncServicesNow syncs at once (after a Service changed, so that apply
// and delete return with the rules in place); a failure is retried by
// the loop.
func (d *Daemon) syncServicesNow(ctx context.Context) {
	if err := d.syncServices(ctx); err != nil {
		slog.Error("Service rules not synced; retrying", "err", err)
		d.svc.podsChanged()
	}
}

// podCIDRs are the pod network's subnets (none without a network: the
// objects-only tests).
func (d *Daemon) podCIDRs() []*net.IPNet {
	if d.network == nil {
		return nil
	}
	return d.network.Resources().Subnets
}

// admitService gives svc its cluster IP and node ports (services.Allocate)
// against the stored Services and those admitted before it in the same
// manifest. The caller holds applyMu.
func (d *Daemon) admitService(svc *corev1.Service, doc manifest.Document, source string, admitted []*corev1.Service) error {
	key := podKey(svc.Namespace, svc.Name)
	var others []*corev1.Service
	var old *corev1.Service
	for _, obj := range d.objects.list(resServices, "") {
		o := obj.(*corev1.Service)
		if podKey(o.Namespace, o.Name) == key {
			old = o
			continue
		}
		others = append(others, o)
	}
	for _, o := range admitted {
		if podKey(o.Namespace, o.Name) != key {
			others = append(others, o)
		}
	}
	if errs := services.Allocate(svc, old, services.UsedBy(others), d.svc.cidr); len(errs) > 0 {
		return classed(ErrInvalidArgument, "%v", &manifest.InvalidError{Source: source, Doc: doc.Doc, Docs: doc.Docs, Kind: manifest.KindService,
			Namespace: svc.Namespace, Name: svc.Name, Errs: errs})
	}
	return nil
}

// endpointsObject returns the Endpoints of Service ns/name; a Service
// without a selector has none.
func (d *Daemon) endpointsObject(ns, name string) (manifest.Object, bool) {
	info, ok := d.svc.reg.Lookup(ns, name)
	if !ok || info.Endpoints == nil {
		return nil, false
	}
	ep := info.Endpoints.DeepCopy()
	if svc, ok := d.objects.get(resServices, ns, name); ok {
		ep.CreationTimestamp = svc.GetCreationTimestamp()
	}
	return ep, true
}

// endpointsList returns the Endpoints of every Service in ns ("" for all).
func (d *Daemon) endpointsList(ns string) []manifest.Object {
	var out []manifest.Object
	for _, info := range d.svc.reg.List() {
		if ns != "" && info.Namespace != ns {
			continue
		}
		if ep, ok := d.endpointsObject(info.Namespace, info.Name); ok {
			out = append(out, ep)
		}
	}
	return out
}

// lookupObject is objects.get with the derived Endpoints.
func (d *Daemon) lookupObject(resource, ns, name string) (manifest.Object, bool) {
	if resource == resEndpoints {
		return d.endpointsObject(ns, name)
	}
	return d.objects.get(resource, ns, name)
}

// listObjects is objects.list with the derived Endpoints.
func (d *Daemon) listObjects(resource, ns string) []manifest.Object {
	if resource == resEndpoints {
		return d.endpointsList(ns)
	}
	return d.objects.list(resource, ns)
}

// serviceCIDR parses the configured service CIDR (the default when unset).
func serviceCIDR(cfg Config) (*net.IPNet, error) {
	s := cfg.ServiceCIDR
	if s == "" {
		s = services.DefaultServiceCIDR
	}
	n, err := services.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("--service-cidr: %w", err)
	}
	return n, nil
}

// noRules is the ruleSyncer of a daemon that runs without the host (the
// unit tests' harness): it keeps the last ruleset and the flows cleared.
type noRules struct {
	mu      sync.Mutex
	last    proxier.Ruleset
	cleared []proxier.Flow
}

func (n *noRules) ClearFlows(flows []proxier.Flow) (uint, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cleared = append(n.cleared, flows...)
	return uint(len(flows)), nil
}

func (n *noRules) Sync(_ context.Context, rs proxier.Ruleset) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.last = rs
	return nil
}
