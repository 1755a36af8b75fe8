package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/podd-dev/podd/daemon/controller/job"
	"github.com/podd-dev/podd/daemon/manifest"
	"github.com/podd-dev/podd/daemon/store"
)

const resJobs = store.ResourceJobs

// jobPods is what the Job controller sees of j's pods, with their entries.
func (d *Daemon) jobPods(j *batchv1.Job) ([]job.Pod, map[string]*podEntry) {
	var pods []job.Pod
	entries := map[string]*podEntry{}
	for _, o := range d.podsOwnedBy(j) {
		p := job.Pod{Name: o.snap.Name, Phase: o.snap.Status.Phase, Deleting: o.entry.worker.Deleting()}
		p.Ready, _ = podReady(o.snap)
		for _, cs := range o.snap.Status.ContainerStatuses {
			p.Restarts += cs.RestartCount
			if t := cs.State.Terminated; t != nil && t.FinishedAt.After(p.Finished) {
				p.Finished = t.FinishedAt.Time
			}
		}
		pods = append(pods, p)
		entries[o.snap.Name] = o.entry
	}
	return pods, entries
}

// reconcileJob runs the controller for one Job and carries out its
// actions: pods created through the pod API's path, active pods of a
// finished Job deleted, the Job deleted after its TTL, status saved.
func (d *Daemon) reconcileJob(ctx context.Context, key string) error {
	d.objects.applyMu.Lock()
	defer d.objects.applyMu.Unlock()
	ns, name := splitKey(key)
	obj, ok := d.objects.get(resJobs, ns, name)
	if !ok {
		return nil
	}
	j := obj.(*batchv1.Job)
	if err := d.objects.checkNamespace(ns, nil); err != nil {
		return nil // being deleted with its namespace
	}
	pods, entries := d.jobPods(j)
	act := job.Reconcile(job.Input{Job: j, Pods: pods, Now: time.Now(), BackoffBase: d.cfg.BackoffBase})
	for _, p := range act.Delete {
		if e, ok := entries[p]; ok {
			e.worker.Delete(nil)
		}
	}
	if act.Create > 0 {
		pods := make([]*corev1.Pod, act.Create)
		for i := range pods {
			pods[i] = d.newJobPod(j)
		}
		if _, err := d.applyPods(ctx, pods, ""); err != nil {
			return fmt.Errorf("create %d pods of job %q: %w", len(pods), key, err)
		}
	}
	if act.DeleteJob {
		slog.Info("Job deleted after ttlSecondsAfterFinished", "job", key)
		_, err := d.deleteJob(j)
		return err
	}
	updated := j.DeepCopy()
	updated.Status = act.Status
	if !sameJSON(updated, j) {
		for _, c := range act.Status.Conditions {
			if !hasJobCondition(j, c.Type) {
				slog.Info("Job finished", "job", key, "condition", c.Type, "reason", c.Reason)
			}
		}
		if err := d.putObject(resJobs, updated); err != nil {
			return fmt.Errorf("save status of job %q: %w", key, err)
		}
		d.wakeCronJob(updated)
	}
	if act.RequeueAfter > 0 {
		d.jobQueue.addAfter(key, act.RequeueAfter)
	}
	return nil
}

func hasJobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t {
			return true
		}
	}
	return false
}

// newJobPod is a pod of j with a fresh suffix, defaulted as an applied pod is.
func (d *Daemon) newJobPod(j *batchv1.Job) *corev1.Pod {
	for {
		pod := job.NewPod(j, rand.String(5))
		if _, taken := d.pods.get(pod.Namespace, pod.Name); !taken {
			manifest.Default(pod)
			return pod
		}
	}
}

// deleteJob deletes a Job and (gracefully) its pods. The caller holds
// applyMu.
func (d *Daemon) deleteJob(j *batchv1.Job) ([]*podEntry, error) {
	if err := d.dropObject(resJobs, j.Namespace, j.Name); err != nil {
		return nil, err
	}
	out := d.deleteOwnedPods(j)
	d.wakeCronJob(j)
	slog.Info("Job deleted", "job", podKey(j.Namespace, j.Name), "pods", len(out))
	return out, nil
}
