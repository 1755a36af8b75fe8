package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/internal/errdefs"
	"github.com/podd-dev/podd/network/podfiles"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/atomicfile"
	"github.com/podd-dev/podd/runtime/spec"
)

// Registry keeps the sandboxes a client (the CRI server) owns: it makes
// and releases them through the Service, persists each under the layout's
// CRI directories, and restores them after a daemon restart. It never
// restarts, stops or collects one on its own: the client is their planner.
type Registry struct {
	svc    *Service
	layout store.Layout
	// hostResolvConf is the node's resolver file, copied for a sandbox
	// without a DNS config.
	hostResolvConf string

	// events gets every change of the sandboxes and their containers.
	events *Events

	mu      sync.Mutex
	entries map[string]*entry
}

// entry is one sandbox; its mu orders the calls on it.
type entry struct {
	mu  sync.Mutex
	rec Record
	// snap is rec as last persisted, for List while mu is held (r.mu).
	snap Record
	// shim is the sandbox's shim once connected (not persisted).
	shim ShimClient
}

// OpenRegistry loads the records under layout and finds out which
// sandboxes still run: a sandbox whose shim or pause is gone (a daemon
// killed meanwhile, a reboot) comes back NotReady, as does one whose
// creation a crash cut short.
func OpenRegistry(ctx context.Context, svc *Service, layout store.Layout, resolvConf string) (*Registry, error) {
	r := &Registry{svc: svc, layout: layout, hostResolvConf: resolvConf, events: NewEvents(), entries: map[string]*entry{}}
	recs, err := readRecords(layout.CRISandboxesDir(), layout.CRISandboxFile, "sandbox", func(r *Record) string { return r.ID })
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		e := &entry{rec: rec, snap: rec}
		r.entries[rec.ID] = e
		if rec.State == Creating {
			e.rec.State = NotReady
			r.persist(e)
		}
		r.refresh(ctx, e)
	}
	return r, nil
}

// IDs lists every sandbox recorded, whose network the node's GC must keep
// (none for a nil Registry).
func (r *Registry) IDs() []string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.entries))
	for id := range r.entries {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Run makes a sandbox and records it Ready. A sandbox of the same name,
// namespace, UID and attempt is refused (errdefs.ErrAlreadyExists), as
// the kubelet relies on. On a failure nothing is left.
func (r *Registry) Run(ctx context.Context, sp Spec) (Record, error) {
	e := &entry{rec: Record{ID: store.NewSandboxID(), Spec: sp, State: Creating, CreatedAt: time.Now()}}
	e.rec.PodCgroup = r.layout.CRIPodCgroup(sp.CgroupParent, e.rec.ID)
	id := e.rec.ID
	e.mu.Lock()
	defer e.mu.Unlock()
	r.mu.Lock()
	for _, o := range r.entries {
		if s := o.rec.Spec; s.Name == sp.Name && s.Namespace == sp.Namespace && s.UID == sp.UID && s.Attempt == sp.Attempt {
			r.mu.Unlock()
			return Record{}, errdefs.Classed(errdefs.ErrAlreadyExists, "sandbox %s/%s (uid %q, attempt %d) already exists as %s", sp.Namespace, sp.Name, sp.UID, sp.Attempt, o.rec.ID)
		}
	}
	r.entries[id] = e
	r.mu.Unlock()
	fail := func(err error) (Record, error) {
		r.forget(id)
		return Record{}, fmt.Errorf("run sandbox %s/%s: %w", sp.Namespace, sp.Name, err)
	}
	// Record the creation before making anything: a crash half-way leaves
	// a NotReady sandbox that the client stops and removes.
	if err := r.persist(e); err != nil {
		return fail(err)
	}
	if sp.UserNS != nil {
		if err := Searchable(r.layout.RunRoot, r.layout.CRIShimDir(id)); err != nil {
			return fail(err)
		}
	}
	inst, cl, err := r.svc.Create(ctx, Request{
		ID: id, Owner: "sandbox " + sp.Namespace + "/" + sp.Name, Pod: sp.pod(), PortMappings: sp.Ports,
		Paths: r.paths(e.rec), PauseOOMScoreAdj: sp.OOMScoreAdj, UserNS: sp.UserNS,
		WriteFiles: func(inst *Instance) error { return r.writeFiles(id, &sp, inst.IP) },
	})
	if err != nil {
		return fail(err)
	}
	e.shim = cl
	e.rec.State, e.rec.NetnsPath, e.rec.IP, e.rec.IPs = Ready, inst.NetnsPath, inst.IP, inst.IPs
	if err := r.persist(e); err != nil {
		return fail(errors.Join(err, r.release(ctx, e)))
	}
	slog.Info("CRI sandbox created", "sandbox", id, "pod", sp.Namespace+"/"+sp.Name, "ip", inst.IP)
	r.events.publish(EventCreated, id, id)
	r.events.publish(EventStarted, id, id)
	return e.rec, nil
}

// forget removes a sandbox's record and directories.
func (r *Registry) forget(id string) error {
	err := errors.Join(os.RemoveAll(r.layout.CRISandboxDir(id)), os.RemoveAll(r.layout.CRIShimDir(id)))
	if err == nil {
		r.mu.Lock()
		delete(r.entries, id)
		r.mu.Unlock()
	}
	return err
}

// Stop releases a sandbox's shim (with its pause and containers) and
// network and records it NotReady. Stopping an unknown or stopped sandbox
// succeeds.
func (r *Registry) Stop(ctx context.Context, id string) error {
	e := r.lookup(id)
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rec.Released {
		return nil
	}
	if err := r.release(ctx, e); err != nil {
		return fmt.Errorf("stop sandbox %s: %w", id, err)
	}
	e.rec.State, e.rec.Released = NotReady, true
	if err := r.persist(e); err != nil {
		return fmt.Errorf("stop sandbox %s: %w", id, err)
	}
	slog.Info("CRI sandbox stopped", "sandbox", id)
	r.events.publish(EventStopped, id, id)
	return nil
}

// release releases what the sandbox holds on the host.
func (r *Registry) release(ctx context.Context, e *entry) error {
	cl := e.shim
	e.shim = nil
	return r.svc.Release(ctx, Teardown{ID: e.rec.ID, HostNetwork: e.rec.Spec.HostNetwork, Paths: r.paths(e.rec), Shim: cl})
}

// Remove stops a sandbox if needed and forgets it. Removing an unknown
// sandbox succeeds.
func (r *Registry) Remove(ctx context.Context, id string) error {
	if err := r.Stop(ctx, id); err != nil {
		return err
	}
	e := r.lookup(id)
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := r.forget(id); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	slog.Info("CRI sandbox removed", "sandbox", id)
	r.events.publish(EventDeleted, id, id)
	return nil
}

// Get returns the record of sandbox id, its state checked against the
// host; an unknown ID is errdefs.ErrNotFound. A sandbox busy being stopped
// or removed answers as last recorded, at once: the kubelet inspects
// sandboxes while it stops them, and a stop can take a while.
func (r *Registry) Get(ctx context.Context, id string) (Record, error) {
	e := r.lookup(id)
	if e == nil {
		return Record{}, errdefs.Classed(errdefs.ErrNotFound, "sandbox %q not found", id)
	}
	if !e.mu.TryLock() {
		r.mu.Lock()
		rec := e.snap
		r.mu.Unlock()
		if rec.ID == "" || rec.State == Creating {
			return Record{}, errdefs.Classed(errdefs.ErrNotFound, "sandbox %q not found", id)
		}
		return rec, nil
	}
	defer e.mu.Unlock()
	r.refresh(ctx, e)
	return e.rec, nil
}

// List returns every sandbox's record, oldest first, states checked.
func (r *Registry) List(ctx context.Context) []Record {
	r.mu.Lock()
	es := make([]*entry, 0, len(r.entries))
	for _, e := range r.entries {
		es = append(es, e)
	}
	r.mu.Unlock()
	out := make([]Record, 0, len(es))
	for _, e := range es {
		var rec Record
		if e.mu.TryLock() {
			r.refresh(ctx, e)
			rec = e.rec
			e.mu.Unlock()
		} else {
			// Busy (being made, stopped or removed): as last recorded.
			r.mu.Lock()
			rec = e.snap
			r.mu.Unlock()
		}
		if rec.ID != "" && rec.State != Creating {
			out = append(out, rec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

func (r *Registry) lookup(id string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.entries[id]
}

// refresh turns a Ready sandbox whose pause no longer runs NotReady (its
// host state stays until the client stops it).
func (r *Registry) refresh(ctx context.Context, e *entry) {
	if e.rec.State != Ready || r.pauseRuns(ctx, e) {
		return
	}
	e.rec.State = NotReady
	if e.shim != nil {
		e.shim.Close()
		e.shim = nil
	}
	r.persist(e)
	slog.Warn("CRI sandbox lost its pause; NotReady", "sandbox", e.rec.ID)
	r.events.publish(EventStopped, e.rec.ID, e.rec.ID)
}

// pauseRuns asks the sandbox's shim whether the pause runs.
func (r *Registry) pauseRuns(ctx context.Context, e *entry) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if e.shim == nil {
		cl, err := r.svc.Shims().Connect(ctx, r.layout.CRIShimDir(e.rec.ID))
		if err != nil {
			return false
		}
		e.shim = cl
	}
	st, err := e.shim.State(ctx, &shimv1.StateRequest{})
	if err != nil {
		return false
	}
	for _, c := range st.GetContainers() {
		if c.GetId() == spec.PauseID {
			return c.GetStatus() == shimv1.Status_STATUS_RUNNING
		}
	}
	return false
}

// persist writes the record atomically.
func (r *Registry) persist(e *entry) error {
	if err := writeRecord(r.layout.CRISandboxDir(e.rec.ID), r.layout.CRISandboxFile(e.rec.ID), e.rec); err != nil {
		return fmt.Errorf("record sandbox %s: %w", e.rec.ID, err)
	}
	r.mu.Lock()
	e.snap = e.rec
	r.mu.Unlock()
	return nil
}

func (r *Registry) paths(rec Record) Paths {
	l, id := r.layout, rec.ID
	return Paths{
		ShimDir: l.CRIShimDir(id), PodCgroup: rec.PodCgroup, ShimCgroup: l.CRIShimCgroup(id),
		PauseLog: l.CRIPauseLog(id),
	}
}

// writeFiles writes the sandbox's hostname, hosts and resolv.conf files
// in its run directory (WritePodFiles).
func (r *Registry) writeFiles(id string, sp *Spec, ip string) error {
	pod := sp.pod()
	hostHosts, _ := os.ReadFile("/etc/hosts")
	resolv, err := r.resolvConf(sp.DNS)
	if err != nil {
		return fmt.Errorf("write pod files: %w", err)
	}
	l := r.layout
	return WritePodFiles(l.CRIShimDir(id), l.CRIPodFilesDir(id), map[string][]byte{
		l.CRIHostnameFile(id):   []byte(podfiles.Hostname(pod) + "\n"),
		l.CRIHostsFile(id):      podfiles.Hosts(pod, ip, hostHosts, ""),
		l.CRIResolvConfFile(id): resolv,
	}, false)
}

// ensureFiles writes the pod files of sandbox rec when they are missing:
// one made by a podd that kept them in its persistent directory.
func (r *Registry) ensureFiles(rec Record) error {
	if !PodFilesMissing(r.layout.CRIHostsFile(rec.ID)) {
		return nil
	}
	return r.writeFiles(rec.ID, &rec.Spec, rec.IP)
}

// resolvConf renders dns, or copies the node's resolver file without one.
func (r *Registry) resolvConf(dns *DNS) ([]byte, error) {
	if dns == nil {
		return podfiles.ReadHostResolvConf(r.hostResolvConf)
	}
	return podfiles.RenderResolvConf(dns.Servers, dns.Searches, dns.Options), nil
}

// Shim returns the shim of sandbox id with its record, connecting to the
// shim if needed: an unknown sandbox is errdefs.ErrNotFound, one without a
// running shim (stopped, restored after a reboot) errdefs.ErrFailedPrecondition.
func (r *Registry) Shim(ctx context.Context, id string) (ShimClient, Record, error) {
	e := r.lookup(id)
	if e == nil {
		return nil, Record{}, errdefs.Classed(errdefs.ErrNotFound, "sandbox %q not found", id)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rec.Released || e.rec.State == Creating {
		return nil, e.rec, errdefs.Classed(errdefs.ErrFailedPrecondition, "sandbox %s is not ready", id)
	}
	if e.shim == nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		cl, err := r.svc.Shims().Connect(cctx, r.layout.CRIShimDir(id))
		if err != nil {
			return nil, e.rec, errdefs.Classed(errdefs.ErrFailedPrecondition, "sandbox %s has no running shim: %w", id, err)
		}
		e.shim = cl
	}
	return e.shim, e.rec, nil
}

// Events is where the changes of the sandboxes and their containers are
// published.
func (r *Registry) Events() *Events { return r.events }

// Security is the host's security settings the sandboxes' containers are
// built with.
func (r *Registry) Security() spec.HostSecurity { return r.svc.deps.Security }

// writeRecord stores a CRI object's record (a sandbox's or a container's)
// as JSON in file, atomically, creating its dir (0700) first.
func writeRecord(dir, file string, rec any) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(file, data, 0o600)
}
