package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/podd-dev/podd/daemon/manifest"
	"github.com/podd-dev/podd/daemon/podworker"
)

// podEntry is one accepted pod under its namespace/name.
type podEntry struct {
	worker *podworker.Worker
	hash   string
	// static is the manifest file of a static pod.
	static string
	// gone is closed once the removed pod has left the table.
	gone chan struct{}
}

func newPodEntry(w *podworker.Worker, hash, static string) *podEntry {
	return &podEntry{worker: w, hash: hash, static: static, gone: make(chan struct{})}
}

// podKey is "namespace/name".
func podKey(ns, name string) string { return ns + "/" + name }

// pods is the daemon's table of accepted pods and the fan-out of changes.
type pods struct {
	// acceptMu orders the pods' acceptance (applies, controllers): each
	// accepts its batch whole while the table stays readable.
	acceptMu sync.Mutex
	mu       sync.Mutex
	byKey    map[string]*podEntry
	watchers map[chan podChange]struct{}
	// changed, when set, is told of every change (the Service proxy).
	changed func()
	// observe, when set, sees every change (the controllers' trigger); it
	// must not block.
	observe func(*corev1.Pod)
	// ips are the pods' addresses, for cluster DNS.
	ips *podIPs
}

type podChange struct {
	typ string // ADDED, MODIFIED, DELETED
	// pub is the pod as published; its Pod is every watcher's, read only.
	pub *podworker.Published
}

func newPods() *pods {
	return &pods{byKey: map[string]*podEntry{}, watchers: map[chan podChange]struct{}{}, ips: newPodIPs()}
}

// notify tells the pods' observers and watchers of a change to the pod pub
// carries; none of them may modify it.
func (p *pods) notify(typ string, pub *podworker.Published) {
	pod := pub.Pod
	if typ == "DELETED" {
		p.ips.remove(pod.UID)
	} else {
		p.ips.set(pod)
	}
	if p.changed != nil {
		p.changed()
	}
	if p.observe != nil {
		p.observe(pod)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for w := range p.watchers {
		select {
		case w <- podChange{typ: typ, pub: pub}:
		default:
		}
	}
}

func (p *pods) watch() (<-chan podChange, func()) {
	ch := make(chan podChange, 256)
	p.mu.Lock()
	p.watchers[ch] = struct{}{}
	p.mu.Unlock()
	return ch, func() {
		p.mu.Lock()
		delete(p.watchers, ch)
		p.mu.Unlock()
	}
}

func (p *pods) get(ns, name string) (*podEntry, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.byKey[podKey(ns, name)]
	return e, ok
}

// byUID returns the entry of the pod with uid, or nil.
func (p *pods) byUID(uid string) *podEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.byKey {
		if e.worker.UID() == uid {
			return e
		}
	}
	return nil
}

// list returns the entries sorted by namespace and name.
func (p *pods) list() []*podEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := make([]string, 0, len(p.byKey))
	for k := range p.byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*podEntry, 0, len(keys))
	for _, k := range keys {
		out = append(out, p.byKey[k])
	}
	return out
}

// ApplyResult says what Apply did with one pod.
type ApplyResult struct {
	Kind, Namespace, Name, UID, Action string
}

// apply accepts the objects of a manifest: all are validated before any
// changes (R1); identical ones are left alone (R3), changed ones replaced.
// Namespaces are applied first, then the other objects, then pods.
func (d *Daemon) apply(ctx context.Context, data []byte, source, static string) ([]ApplyResult, []string, error) {
	began := time.Now()
	docs, warnings, err := manifest.ParseObjects(data, source, d.policy)
	d.metrics.StartPhase("pod", "validation", time.Since(began))
	if err != nil {
		return nil, warnings, classed(ErrInvalidArgument, "%w", err)
	}
	d.objects.applyMu.Lock()
	defer d.objects.applyMu.Unlock()
	if err := d.admitObjects(docs, source, static); err != nil {
		return nil, warnings, err
	}
	if static != "" {
		markStatic(docs, static)
	}
	var parsed []*corev1.Pod
	for _, doc := range docs {
		if pod, ok := doc.Object.(*corev1.Pod); ok {
			parsed = append(parsed, pod)
		}
	}
	if static != "" {
		for _, pod := range parsed {
			pod.Name = d.staticName(pod.Name)
			if errs := validation.IsDNS1123Subdomain(pod.Name); len(errs) > 0 {
				return nil, warnings, classed(ErrInvalidArgument, "metadata.name: Invalid value: %q (with the node name suffix): %s", pod.Name, strings.Join(errs, "; "))
			}
		}
	}
	// Refuse the whole manifest before changing anything if it would touch a
	// static pod through the API, or a pod of another static file.
	for _, pod := range parsed {
		if e, ok := d.pods.get(pod.Namespace, pod.Name); ok && e.static != static {
			if e.static != "" {
				return nil, warnings, classed(ErrFailedPrecondition, "pod %q is a static pod from %s: edit that file instead", pod.Name, e.static)
			}
			return nil, warnings, classed(ErrAlreadyExists, "pod %q exists and is not from %s", pod.Name, static)
		}
	}
	results := make([]ApplyResult, len(docs))
	for _, pass := range []func(manifest.Object) bool{isNamespace, isOther} {
		for i, doc := range docs {
			if !pass(doc.Object) {
				continue
			}
			res, err := d.applyObject(doc.Object)
			if err != nil {
				return done(results), warnings, err
			}
			results[i] = res
		}
	}
	// The pods last, in one batch: persisted side by side, and none starts
	// before all are accepted.
	podResults, err := d.applyPods(ctx, parsed, static)
	if err != nil {
		return done(results), warnings, err
	}
	next := 0
	for i, doc := range docs {
		if isPod(doc.Object) {
			results[i] = podResults[next]
			next++
		}
	}
	return results, warnings, nil
}

func isNamespace(o manifest.Object) bool { return manifest.KindOf(o) == manifest.KindNamespace }
func isPod(o manifest.Object) bool       { return manifest.KindOf(o) == manifest.KindPod }
func isOther(o manifest.Object) bool     { return !isNamespace(o) && !isPod(o) }

// done keeps the results of the objects applied before a failure.
func done(results []ApplyResult) []ApplyResult {
	var out []ApplyResult
	for _, r := range results {
		if r.Kind != "" {
			out = append(out, r)
		}
	}
	return out
}

// podAccept is one pod applyPods creates or replaces.
type podAccept struct {
	pod       *corev1.Pod
	key, hash string
	result    *ApplyResult
}

// applyPods accepts pods: each identical to the pod of its name is left
// alone (R3), the others get a UID and are persisted together (the fsyncs
// side by side), then their workers start; a changed pod replaces the old
// one once that has terminated. Nothing is accepted when persisting fails.
// The table's lock is not held while the files are written, so reads of
// the pods stay quick during a large apply.
func (d *Daemon) applyPods(ctx context.Context, pods []*corev1.Pod, static string) ([]ApplyResult, error) {
	d.pods.acceptMu.Lock()
	defer d.pods.acceptMu.Unlock()
	results := make([]ApplyResult, len(pods))
	var accepts []podAccept
	var toSave []*corev1.Pod
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	seen := make(map[string]bool, len(pods))
	d.pods.mu.Lock()
	for i, pod := range pods {
		hash := manifest.SpecHash(pod)
		key := podKey(pod.Namespace, pod.Name)
		if seen[key] {
			d.pods.mu.Unlock()
			return nil, classed(ErrInvalidArgument, "pod %q is given twice", key)
		}
		seen[key] = true
		if old := d.pods.byKey[key]; old != nil && old.hash == hash && !old.worker.Deleting() {
			snap := old.worker.Snapshot()
			results[i] = ApplyResult{manifest.KindPod, pod.Namespace, pod.Name, string(snap.UID), "unchanged"}
			continue
		}
		pod.UID = types.UID(uuid.NewString())
		pod.CreationTimestamp = now
		if pod.Spec.NodeName == "" {
			pod.Spec.NodeName = d.cfg.NodeName
		}
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[podworker.AnnotationSpecHash] = hash
		if static != "" {
			pod.Annotations[podworker.AnnotationStaticSource] = static
		}
		accepts = append(accepts, podAccept{pod: pod, key: key, hash: hash, result: &results[i]})
		toSave = append(toSave, pod)
	}
	d.pods.mu.Unlock()
	if len(accepts) == 0 {
		return results, nil
	}
	saving := time.Now()
	if err := d.store.SavePods(toSave); err != nil {
		return nil, err
	}
	took := time.Since(saving)
	d.pods.mu.Lock()
	type start struct {
		e     *podEntry
		key   string
		after <-chan struct{}
	}
	starts := make([]start, 0, len(accepts))
	for _, a := range accepts {
		d.metrics.StartPhase("pod", "persist", took)
		action := "created"
		var after <-chan struct{}
		if old := d.pods.byKey[a.key]; old != nil {
			// R3: the old pod terminates with its grace period, then the new one starts.
			action = "configured"
			old.worker.Delete(nil)
			after = old.worker.Done()
		}
		e := newPodEntry(podworker.New(d.deps, a.pod, nil), a.hash, static)
		d.pods.byKey[a.key] = e
		starts = append(starts, start{e, a.key, after})
		*a.result = ApplyResult{manifest.KindPod, a.pod.Namespace, a.pod.Name, string(a.pod.UID), action}
		slog.Info("Pod accepted", "pod", a.key, "uid", a.pod.UID, "action", action)
	}
	d.pods.mu.Unlock()
	for _, s := range starts {
		d.startWorker(s.e, s.key, s.after)
	}
	return results, nil
}

// startWorker runs a pod's worker (after `after` closes, if set) and drops
// the entry once the pod is removed.
func (d *Daemon) startWorker(e *podEntry, key string, after <-chan struct{}) {
	w := e.worker
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if after != nil {
			select {
			case <-after:
			case <-d.ctx.Done():
				return
			}
		}
		w.Run(d.ctx)
		select {
		case <-w.Done():
		default:
			return // daemon shutting down: the pod lives on
		}
		d.pods.mu.Lock()
		if cur, ok := d.pods.byKey[key]; ok && cur == e {
			delete(d.pods.byKey, key)
		}
		d.pods.mu.Unlock()
		d.events.Forget(w.UID())
		d.pods.notify("DELETED", w.Published())
		close(e.gone)
	}()
}

// deletePod starts a graceful delete; with wait it returns once the pod is gone.
func (d *Daemon) deletePod(ctx context.Context, ns, name string, grace *int64, wait, force bool) (string, error) {
	e, ok := d.pods.get(ns, name)
	if !ok {
		return "", classed(ErrNotFound, "pods %q not found", name)
	}
	if e.static != "" && !force {
		return "", classed(ErrFailedPrecondition, "pod %q is a static pod from %s: remove that file to delete it", name, e.static)
	}
	if grace != nil && *grace < 0 {
		return "", classed(ErrInvalidArgument, "gracePeriodSeconds: Invalid value: %d: must be >= 0", *grace)
	}
	e.worker.Delete(grace)
	// A terminating pod leaves its Services' endpoints at once.
	d.svc.podsChanged()
	uid := e.worker.UID()
	if !wait {
		return uid, nil
	}
	select {
	case <-e.gone: // removed, and out of the table: a get now finds nothing
		return uid, nil
	case <-ctx.Done():
		return uid, fmt.Errorf("wait for pod %q to be deleted: %w", name, ctx.Err())
	}
}
