package daemon

import (
	"context"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/podd-dev/podd/daemon/controller/daemonset"
	"github.com/podd-dev/podd/daemon/controller/deployment"
	"github.com/podd-dev/podd/daemon/manifest"
	"github.com/podd-dev/podd/daemon/store"
)

const (
	resDaemonSets          = store.ResourceDaemonSets
	resControllerRevisions = store.ResourceControllerRevisions
)

// node is this node as a DaemonSet's nodeSelector and node affinity see
// it: its name and the well-known labels the kubelet sets on its Node (the
// hostname label lower-cased, as the kubelet's).
func (d *Daemon) node() daemonset.Node {
	return daemonset.Node{Name: d.cfg.NodeName, Labels: map[string]string{
		corev1.LabelHostname:   strings.ToLower(d.cfg.NodeName),
		corev1.LabelOSStable:   goruntime.GOOS,
		corev1.LabelArchStable: goruntime.GOARCH,
	}}
}

// daemonSetPods is what the DaemonSet controller sees of ds's pods, with
// their entries by name.
func (d *Daemon) daemonSetPods(ds *appsv1.DaemonSet) ([]daemonset.Pod, map[string]*podEntry) {
	var pods []daemonset.Pod
	entries := map[string]*podEntry{}
	for _, o := range d.podsOwnedBy(ds) {
		ready, since := podReady(o.snap)
		pods = append(pods, daemonset.Pod{Name: o.snap.Name, Hash: o.snap.Labels[daemonset.LabelRevisionHash], Phase: o.snap.Status.Phase,
			Ready: ready, ReadySince: since, Deleting: o.entry.worker.Deleting(), Created: o.snap.CreationTimestamp.Time})
		entries[o.snap.Name] = o.entry
	}
	return pods, entries
}

// reconcileDaemonSet runs the controller for one DaemonSet and carries out
// its actions: its pod created through the pod API's path, pods deleted
// gracefully, status saved.
func (d *Daemon) reconcileDaemonSet(ctx context.Context, key string) error {
	d.objects.applyMu.Lock()
	defer d.objects.applyMu.Unlock()
	ns, name := splitKey(key)
	obj, ok := d.objects.get(resDaemonSets, ns, name)
	if !ok {
		return nil
	}
	ds := obj.(*appsv1.DaemonSet)
	if err := d.objects.checkNamespace(ns, nil); err != nil {
		return nil // being deleted with its namespace
	}
	pods, entries := d.daemonSetPods(ds)
	act := daemonset.Reconcile(daemonset.Input{DaemonSet: ds, Revisions: d.daemonSetRevisions(ds), Node: d.node(), Pods: pods, Now: time.Now()})
	for _, cr := range act.Save {
		if err := d.putObject(resControllerRevisions, cr); err != nil {
			return fmt.Errorf("record revision %s of daemonset %q: %w", cr.Name, key, err)
		}
	}
	for _, n := range act.Forget {
		if err := d.dropObject(resControllerRevisions, ns, n); err != nil {
			return fmt.Errorf("forget revision %q of daemonset %q: %w", n, key, err)
		}
	}
	for _, del := range act.Delete {
		if e, ok := entries[del.Pod]; ok {
			slog.Info("DaemonSet deletes pod", "daemonset", key, "pod", podKey(ns, del.Pod), "reason", del.Reason)
			e.worker.Delete(nil)
		}
	}
	if act.Create {
		pod := d.newDaemonPod(ds, act.Hash)
		if _, err := d.applyPods(ctx, []*corev1.Pod{pod}, ""); err != nil {
			return fmt.Errorf("create pod %q of daemonset %q: %w", pod.Name, key, err)
		}
	}
	updated := ds.DeepCopy()
	updated.Status = act.Status
	if updated.Annotations == nil {
		updated.Annotations = map[string]string{}
	}
	updated.Annotations[annotationRevision] = strconv.FormatInt(act.Revision, 10)
	if !sameJSON(updated, ds) {
		if err := d.putObject(resDaemonSets, updated); err != nil {
			return fmt.Errorf("save status of daemonset %q: %w", key, err)
		}
	}
	if act.RequeueAfter > 0 {
		d.dsQueue.addAfter(key, act.RequeueAfter)
	}
	return nil
}

// annotationRevision is the number of a workload's current revision, as
// the Deployment's is annotated.
const annotationRevision = deployment.AnnotationRevision

// daemonSetRevisions are the ControllerRevisions ds owns.
func (d *Daemon) daemonSetRevisions(ds *appsv1.DaemonSet) []*appsv1.ControllerRevision {
	var out []*appsv1.ControllerRevision
	for _, o := range d.objects.list(resControllerRevisions, ds.Namespace) {
		if cr := o.(*appsv1.ControllerRevision); ownedBy(cr.OwnerReferences, ds.UID) {
			out = append(out, cr)
		}
	}
	return out
}

// newDaemonPod is a pod of ds's template hash with a fresh suffix,
// defaulted as an applied pod is.
func (d *Daemon) newDaemonPod(ds *appsv1.DaemonSet, hash string) *corev1.Pod {
	for {
		pod := daemonset.NewPod(ds, hash, rand.String(5))
		if _, taken := d.pods.get(pod.Namespace, pod.Name); !taken {
			manifest.Default(pod)
			return pod
		}
	}
}

// deleteDaemonSet deletes a DaemonSet and (gracefully) its pods. The
// caller holds applyMu.
func (d *Daemon) deleteDaemonSet(ds *appsv1.DaemonSet) ([]*podEntry, error) {
	if err := d.dropObject(resDaemonSets, ds.Namespace, ds.Name); err != nil {
		return nil, err
	}
	for _, cr := range d.daemonSetRevisions(ds) {
		if err := d.dropObject(resControllerRevisions, cr.Namespace, cr.Name); err != nil {
			return nil, err
		}
	}
	out := d.deleteOwnedPods(ds)
	slog.Info("DaemonSet deleted", "daemonset", podKey(ds.Namespace, ds.Name), "pods", len(out))
	return out, nil
}
