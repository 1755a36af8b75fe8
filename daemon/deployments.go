package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/podd-dev/podd/daemon/controller/deployment"
	"github.com/podd-dev/podd/daemon/manifest"
	"github.com/podd-dev/podd/daemon/store"
)

const (
	resDeployments = store.ResourceDeployments
	resReplicaSets = store.ResourceReplicaSets
)

// workQueue is a set of object keys to reconcile, with delayed adds: the
// controllers' queue. Adding never blocks and never drops a key.
type workQueue struct {
	mu     sync.Mutex
	keys   map[string]bool
	timers map[string]*time.Timer
	wake   chan struct{}
}

func newWorkQueue() *workQueue {
	return &workQueue{keys: map[string]bool{}, timers: map[string]*time.Timer{}, wake: make(chan struct{}, 1)}
}

func (q *workQueue) add(key string) {
	q.mu.Lock()
	q.keys[key] = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// addAfter adds key after delay; an earlier pending add wins.
func (q *workQueue) addAfter(key string, delay time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t, ok := q.timers[key]; ok {
		t.Stop()
	}
	q.timers[key] = time.AfterFunc(delay, func() {
		q.mu.Lock()
		delete(q.timers, key)
		q.mu.Unlock()
		q.add(key)
	})
}

// take returns the pending keys and empties the set.
func (q *workQueue) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]string, 0, len(q.keys))
	for k := range q.keys {
		out = append(out, k)
	}
	q.keys = map[string]bool{}
	return out
}

// run calls do for every key added, until ctx ends.
func (q *workQueue) run(ctx context.Context, do func(key string)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		for _, k := range q.take() {
			do(k)
		}
	}
}

// ownerOf is the namespace/name of the controller of kind that owns obj,
// or "".
func ownerOf(obj metav1.Object, kind string) string {
	for _, r := range obj.GetOwnerReferences() {
		if r.Kind == kind && r.Controller != nil && *r.Controller {
			return podKey(obj.GetNamespace(), r.Name)
		}
	}
	return ""
}

// ownedBy says whether refs name the object with uid as controller.
func ownedBy(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, r := range refs {
		if r.UID == uid && r.Controller != nil && *r.Controller {
			return true
		}
	}
	return false
}

// splitKey splits "namespace/name".
func splitKey(key string) (ns, name string) {
	ns, name, _ = strings.Cut(key, "/")
	return ns, name
}

// observePod wakes the controller of a pod whose status changed.
func (d *Daemon) observePod(pod *corev1.Pod) {
	if key := ownerOf(pod, manifest.KindDeployment); key != "" {
		d.deployQueue.add(key)
	}
	if key := ownerOf(pod, manifest.KindJob); key != "" {
		d.jobQueue.add(key)
	}
	if key := ownerOf(pod, manifest.KindDaemonSet); key != "" {
		d.dsQueue.add(key)
	}
}

// ownedPods is what the Deployment controller sees of dep's pods, with
// their entries by name.
func (d *Daemon) ownedPods(dep *appsv1.Deployment) ([]deployment.Pod, map[string]*podEntry) {
	var pods []deployment.Pod
	entries := map[string]*podEntry{}
	for _, o := range d.podsOwnedBy(dep) {
		ready, since := podReady(o.snap)
		pods = append(pods, deployment.Pod{Name: o.snap.Name, Hash: o.snap.Labels[deployment.LabelTemplateHash], Phase: o.snap.Status.Phase,
			Ready: ready, ReadySince: since, Deleting: o.entry.worker.Deleting(), Created: o.snap.CreationTimestamp.Time})
		entries[o.snap.Name] = o.entry
	}
	return pods, entries
}

// reconcileDeployment runs the controller for one Deployment and carries
// out its actions: revisions saved, pods created through the pod API's
// path and deleted gracefully, status saved.
func (d *Daemon) reconcileDeployment(ctx context.Context, key string) error {
	d.objects.applyMu.Lock()
	defer d.objects.applyMu.Unlock()
	ns, name := splitKey(key)
	obj, ok := d.objects.get(resDeployments, ns, name)
	if !ok {
		return nil
	}
	dep := obj.(*appsv1.Deployment)
	if err := d.objects.checkNamespace(ns, nil); err != nil {
		return nil // being deleted with its namespace
	}
	var rss []*appsv1.ReplicaSet
	for _, o := range d.objects.list(resReplicaSets, ns) {
		if rs := o.(*appsv1.ReplicaSet); ownedBy(rs.OwnerReferences, dep.UID) {
			rss = append(rss, rs)
		}
	}
	pods, entries := d.ownedPods(dep)
	act := deployment.Reconcile(deployment.Input{Deployment: dep, ReplicaSets: rss, Pods: pods, Now: time.Now()})
	for _, rs := range act.Save {
		if err := d.putObject(resReplicaSets, rs); err != nil {
			return fmt.Errorf("record revision %s of deployment %q: %w", rs.Name, key, err)
		}
	}
	for _, n := range act.Forget {
		if err := d.dropObject(resReplicaSets, ns, n); err != nil {
			return fmt.Errorf("forget revision %q of deployment %q: %w", n, key, err)
		}
	}
	for _, del := range act.Delete {
		if e, ok := entries[del.Pod]; ok {
			slog.Info("Deployment deletes pod", "deployment", key, "pod", podKey(ns, del.Pod), "reason", del.Reason)
			e.worker.Delete(nil)
		}
	}
	if act.Create > 0 {
		pods := make([]*corev1.Pod, act.Create)
		for i := range pods {
			pods[i] = d.newOwnedPod(dep, act.Revision)
		}
		if _, err := d.applyPods(ctx, pods, ""); err != nil {
			return fmt.Errorf("create %d pods of deployment %q: %w", len(pods), key, err)
		}
	}
	updated := dep.DeepCopy()
	updated.Status = act.Status
	if updated.Annotations == nil {
		updated.Annotations = map[string]string{}
	}
	updated.Annotations[deployment.AnnotationRevision] = act.Revision.Annotations[deployment.AnnotationRevision]
	if !sameJSON(updated, dep) {
		if err := d.putObject(resDeployments, updated); err != nil {
			return fmt.Errorf("save status of deployment %q: %w", key, err)
		}
	}
	if act.RequeueAfter > 0 {
		d.deployQueue.addAfter(key, act.RequeueAfter)
	}
	return nil
}

// newOwnedPod is a pod of revision rs with a fresh suffix, defaulted as
// an applied pod is.
func (d *Daemon) newOwnedPod(dep *appsv1.Deployment, rs *appsv1.ReplicaSet) *corev1.Pod {
	for {
		pod := deployment.NewPod(dep, rs, rand.String(5))
		if _, taken := d.pods.get(pod.Namespace, pod.Name); !taken {
			manifest.Default(pod)
			return pod
		}
	}
}

// putObject saves a controller-written object and puts it in the table.
func (d *Daemon) putObject(resource string, obj manifest.Object) error {
	if err := d.store.SaveObject(resource, obj.GetNamespace(), obj.GetName(), obj); err != nil {
		return err
	}
	d.objects.mu.Lock()
	d.objects.byRes[resource][podKey(obj.GetNamespace(), obj.GetName())] = obj
	d.objects.mu.Unlock()
	return nil
}

// dropObject removes a controller-written object from disk and the table.
func (d *Daemon) dropObject(resource, ns, name string) error {
	if err := d.store.RemoveObject(resource, ns, name); err != nil {
		return err
	}
	d.objects.mu.Lock()
	delete(d.objects.byRes[resource], podKey(ns, name))
	d.objects.mu.Unlock()
	return nil
}

// deleteDeployment deletes a Deployment, its revisions and (gracefully)
// its pods, as the API server's background cascade does. With wait it
// returns once the pods are gone. The caller holds applyMu; it is
// released before waiting.
func (d *Daemon) deleteDeployment(dep *appsv1.Deployment) ([]*podEntry, error) {
	if err := d.dropObject(resDeployments, dep.Namespace, dep.Name); err != nil {
		return nil, err
	}
	for _, o := range d.objects.list(resReplicaSets, dep.Namespace) {
		if ownedBy(o.GetOwnerReferences(), dep.UID) {
			if err := d.dropObject(resReplicaSets, o.GetNamespace(), o.GetName()); err != nil {
				return nil, err
			}
		}
	}
	out := d.deleteOwnedPods(dep)
	slog.Info("Deployment deleted", "deployment", podKey(dep.Namespace, dep.Name), "pods", len(out))
	return out, nil
}

// carryDeployment keeps what the daemon owns of a Deployment that is
// applied again: its status and revision, and its generation, bumped when
// the spec changed.
func carryDeployment(old, dep *appsv1.Deployment) {
	dep.Status = old.Status
	dep.Generation = old.Generation
	if !sameJSON(old.Spec, dep.Spec) {
		dep.Generation++
	}
	carryRevision(old, dep)
}

// carryRevision keeps the revision annotation the controller set on a
// workload applied again without one.
func carryRevision(old, obj metav1.Object) {
	rev, ok := old.GetAnnotations()[deployment.AnnotationRevision]
	if !ok {
		return
	}
	a := obj.GetAnnotations()
	if _, set := a[deployment.AnnotationRevision]; set {
		return
	}
	if a == nil {
		a = map[string]string{}
	}
	a[deployment.AnnotationRevision] = rev
	obj.SetAnnotations(a)
}
