package daemon

import (
	"context"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podd-dev/podd/daemon/manifest"
)

// runController reconciles the objects of resource as q receives their
// keys, until ctx ends, retrying a failed reconcile after a back-off.
// Every object is reconciled once at start (after a restore).
func (d *Daemon) runController(ctx context.Context, q *workQueue, resource string, reconcile func(context.Context, string) error) {
	for _, obj := range d.objects.list(resource, "") {
		q.add(podKey(obj.GetNamespace(), obj.GetName()))
	}
	q.run(ctx, func(key string) {
		if err := reconcile(ctx, key); err != nil {
			slog.Error("Reconcile failed; retrying", "resource", resource, "object", key, "err", err)
			q.addAfter(key, d.cfg.BackoffBase+time.Second)
		}
	})
}

// ownedPod is a pod a controller owns: its snapshot and its entry.
type ownedPod struct {
	snap  *corev1.Pod
	entry *podEntry
}

// podsOwnedBy lists the pods whose controller is owner. Only those are
// copied: the others are looked at in their published snapshots (a pod's
// namespace and owners never change).
func (d *Daemon) podsOwnedBy(owner metav1.Object) []ownedPod {
	var out []ownedPod
	for _, e := range d.pods.list() {
		pub := e.worker.Published().Pod
		if pub.Namespace == owner.GetNamespace() && ownedBy(pub.OwnerReferences, owner.GetUID()) {
			out = append(out, ownedPod{snap: e.worker.Snapshot(), entry: e})
		}
	}
	return out
}

// deleteOwnedPods deletes (gracefully) the pods whose controller is owner
// and returns their entries.
func (d *Daemon) deleteOwnedPods(owner metav1.Object) []*podEntry {
	var out []*podEntry
	for _, o := range d.podsOwnedBy(owner) {
		o.entry.worker.Delete(nil)
		out = append(out, o.entry)
	}
	return out
}

// podReady is a pod's Ready condition and when it last turned true.
func podReady(pod *corev1.Pod) (bool, time.Time) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true, c.LastTransitionTime.Time
		}
	}
	return false, time.Time{}
}

// workloadResources are the resources of the kinds that own pods (or Jobs):
// deleting one deletes what it owns.
var workloadResources = map[string]bool{resDeployments: true, resJobs: true, resDaemonSets: true, resCronJobs: true}

// deleteWorkload deletes a Deployment, Job, DaemonSet or CronJob with what
// it owns, and returns the pods being deleted. The caller holds applyMu.
func (d *Daemon) deleteWorkload(obj manifest.Object) ([]*podEntry, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return d.deleteDeployment(o)
	case *batchv1.Job:
		return d.deleteJob(o)
	case *appsv1.DaemonSet:
		return d.deleteDaemonSet(o)
	case *batchv1.CronJob:
		return d.deleteCronJob(o)
	}
	return nil, nil
}

// queueOf is the queue of a workload kind's controller, or nil.
func (d *Daemon) queueOf(kind string) *workQueue {
	switch kind {
	case manifest.KindDeployment:
		return d.deployQueue
	case manifest.KindJob:
		return d.jobQueue
	case manifest.KindDaemonSet:
		return d.dsQueue
	case manifest.KindCronJob:
		return d.cronQueue
	}
	return nil
}

// carryWorkload keeps what the daemon owns of a workload applied again:
// its status, and its generation, bumped when the spec changed. A new one
// starts at generation 1.
func carryWorkload(old, obj manifest.Object) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Generation = 1
		if old != nil {
			carryDeployment(old.(*appsv1.Deployment), o)
		}
	case *appsv1.DaemonSet:
		o.Generation = 1
		if p, ok := old.(*appsv1.DaemonSet); ok {
			o.Status, o.Generation = p.Status, p.Generation
			if !sameJSON(p.Spec, o.Spec) {
				o.Generation++
			}
			carryRevision(p, o)
		}
	case *batchv1.Job:
		if p, ok := old.(*batchv1.Job); ok {
			o.Status = p.Status
		}
	case *batchv1.CronJob:
		if p, ok := old.(*batchv1.CronJob); ok {
			o.Status = p.Status
		}
	}
}
