package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podd-dev/podd/daemon/controller/cronjob"
	"github.com/podd-dev/podd/daemon/manifest"
	"github.com/podd-dev/podd/daemon/store"
)

const resCronJobs = store.ResourceCronJobs

// cronJobJobs are the Jobs cj owns, as objects and as the controller sees
// them.
func (d *Daemon) cronJobJobs(cj *batchv1.CronJob) (map[string]*batchv1.Job, []cronjob.Job) {
	objs := map[string]*batchv1.Job{}
	var seen []cronjob.Job
	for _, o := range d.objects.list(resJobs, cj.Namespace) {
		j := o.(*batchv1.Job)
		if !ownedBy(j.OwnerReferences, cj.UID) {
			continue
		}
		objs[j.Name] = j
		v := cronjob.Job{Name: j.Name, UID: string(j.UID), Started: j.CreationTimestamp.Time}
		if j.Status.StartTime != nil {
			v.Started = j.Status.StartTime.Time
		}
		if j.Status.CompletionTime != nil {
			v.Completed = j.Status.CompletionTime.Time
		}
		for _, c := range j.Status.Conditions {
			if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
				v.Finished = c.Type
				if v.Completed.IsZero() {
					v.Completed = c.LastTransitionTime.Time
				}
			}
		}
		seen = append(seen, v)
	}
	return objs, seen
}

// reconcileCronJob runs the controller for one CronJob and carries out its
// actions: its Job started as an applied Job is, Jobs beyond the history
// limits (or replaced) deleted with their pods, status saved.
func (d *Daemon) reconcileCronJob(ctx context.Context, key string) error {
	d.objects.applyMu.Lock()
	defer d.objects.applyMu.Unlock()
	ns, name := splitKey(key)
	obj, ok := d.objects.get(resCronJobs, ns, name)
	if !ok {
		return nil
	}
	cj := obj.(*batchv1.CronJob)
	if err := d.objects.checkNamespace(ns, nil); err != nil {
		return nil // being deleted with its namespace
	}
	objs, jobs := d.cronJobJobs(cj)
	act := cronjob.Reconcile(cronjob.Input{CronJob: cj, Jobs: jobs, Now: time.Now()})
	for _, n := range act.Notes {
		slog.Warn("CronJob", "cronjob", key, "event", n)
	}
	for _, del := range act.Delete {
		if j, ok := objs[del.Job]; ok {
			slog.Info("CronJob deletes job", "cronjob", key, "job", podKey(ns, del.Job), "reason", del.Reason)
			if _, err := d.deleteJob(j); err != nil {
				return fmt.Errorf("delete job %q of cronjob %q: %w", del.Job, key, err)
			}
		}
	}
	if j := act.Create; j != nil {
		if err := d.startCronJobJob(key, j, &act.Status); err != nil {
			return err
		}
	}
	updated := cj.DeepCopy()
	updated.Status = act.Status
	if !sameJSON(updated, cj) {
		if err := d.putObject(resCronJobs, updated); err != nil {
			return fmt.Errorf("save status of cronjob %q: %w", key, err)
		}
	}
	if act.RequeueAfter > 0 {
		d.cronQueue.addAfter(key, act.RequeueAfter)
	}
	return nil
}

// startCronJobJob creates the Job j as an applied Job is, unless a Job of
// that name that the CronJob does not own is in the way, and records its
// UID in the active list.
func (d *Daemon) startCronJobJob(key string, j *batchv1.Job, status *batchv1.CronJobStatus) error {
	if _, taken := d.objects.get(resJobs, j.Namespace, j.Name); taken {
		return fmt.Errorf("start job %q of cronjob %q: a job of that name exists and the cronjob does not own it", j.Name, key)
	}
	res, err := d.applyObject(j)
	if err != nil {
		return fmt.Errorf("start job %q of cronjob %q: %w", j.Name, key, err)
	}
	slog.Info("CronJob started job", "cronjob", key, "job", podKey(j.Namespace, j.Name),
		"scheduled", j.Annotations[cronjob.AnnotationScheduledTimestamp])
	for i := range status.Active {
		if status.Active[i].Name == j.Name {
			status.Active[i].UID = types.UID(res.UID)
		}
	}
	return nil
}

// wakeCronJob reconciles the CronJob that owns j, if any: one of its Jobs
// changed or went.
func (d *Daemon) wakeCronJob(j *batchv1.Job) {
	if key := ownerOf(j, manifest.KindCronJob); key != "" {
		d.cronQueue.add(key)
	}
}

// deleteCronJob deletes a CronJob and its Jobs with their pods. The
// caller holds applyMu.
func (d *Daemon) deleteCronJob(cj *batchv1.CronJob) ([]*podEntry, error) {
	if err := d.dropObject(resCronJobs, cj.Namespace, cj.Name); err != nil {
		return nil, err
	}
	objs, _ := d.cronJobJobs(cj)
	var out []*podEntry
	for _, j := range objs {
		pods, err := d.deleteJob(j)
		if err != nil {
			return out, err
		}
		out = append(out, pods...)
	}
	slog.Info("CronJob deleted", "cronjob", podKey(cj.Namespace, cj.Name), "jobs", len(objs), "pods", len(out))
	return out, nil
}
