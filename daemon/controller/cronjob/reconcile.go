package cronjob

import (
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// AnnotationScheduledTimestamp records on a Job the start time it was
// made for, as the Kubernetes CronJob controller does.
const AnnotationScheduledTimestamp = "batch.kubernetes.io/cronjob-scheduled-timestamp"

// Job is what the controller sees of one Job the CronJob owns.
type Job struct {
	Name string
	UID  string
	// Finished is the type of the Job's final condition (Complete or
	// Failed), "" while it runs.
	Finished batchv1.JobConditionType
	// Started and Completed are the Job's startTime and completionTime.
	Started, Completed time.Time
}

// Input is one reconcile's view of the world.
type Input struct {
	CronJob *batchv1.CronJob
	Jobs    []Job
	Now     time.Time
}

// Delete is a Job to delete (with its pods) and why.
type Delete struct {
	Job, Reason string
}

// Actions are what one reconcile asks for, and the resulting status.
type Actions struct {
	// Create is a Job to start (named for its start time, so starting it
	// again after a restart finds it there).
	Create *batchv1.Job
	Delete []Delete
	Status batchv1.CronJobStatus
	// Notes are what a user wants to read about this reconcile (a start
	// time missed or skipped), for the log.
	Notes []string
	// RequeueAfter asks for another reconcile then: the next start time.
	RequeueAfter time.Duration
}

// Reconcile decides whether a CronJob starts a Job now, under its
// schedule, startingDeadlineSeconds, suspend and concurrencyPolicy, and
// which finished Jobs its history limits drop. The CronJob must be
// defaulted and its schedule valid.
func Reconcile(in Input) Actions {
	cj := in.CronJob
	r := &run{in: in}
	r.act.Status = batchv1.CronJobStatus{LastScheduleTime: cj.Status.LastScheduleTime, LastSuccessfulTime: cj.Status.LastSuccessfulTime}
	r.sortJobs()
	r.schedule()
	r.prune(batchv1.JobComplete, ptrOr(cj.Spec.SuccessfulJobsHistoryLimit, 3))
	r.prune(batchv1.JobFailed, ptrOr(cj.Spec.FailedJobsHistoryLimit, 1))
	r.status()
	return r.act
}

type run struct {
	in      Input
	act     Actions
	active  []Job
	deleted map[string]bool
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// sortJobs orders the Jobs by start time, oldest first, and finds the
// active ones and the last success.
func (r *run) sortJobs() {
	r.deleted = map[string]bool{}
	sort.SliceStable(r.in.Jobs, func(i, j int) bool {
		a, b := r.in.Jobs[i], r.in.Jobs[j]
		if !a.Started.Equal(b.Started) {
			return a.Started.Before(b.Started)
		}
		return a.Name < b.Name
	})
	s := &r.act.Status
	for _, j := range r.in.Jobs {
		switch j.Finished {
		case "":
			r.active = append(r.active, j)
		case batchv1.JobComplete:
			if !j.Completed.IsZero() && (s.LastSuccessfulTime == nil || j.Completed.After(s.LastSuccessfulTime.Time)) {
				t := metav1.NewTime(j.Completed)
				s.LastSuccessfulTime = &t
			}
		}
	}
}

func (r *run) note(format string, args ...any) {
	r.act.Notes = append(r.act.Notes, fmt.Sprintf(format, args...))
}

// schedule starts the Job of the most recent start time not yet started,
// and asks to look again at the next one.
func (r *run) schedule() {
	cj, now := r.in.CronJob, r.in.Now
	sched, err := Schedule(cj)
	if err != nil {
		r.note("%v", err) // validation refused it; nothing to schedule
		return
	}
	if next := sched.Next(now); !next.IsZero() {
		// A little after the start time, so that it has come.
		r.act.RequeueAfter = next.Sub(now) + 100*time.Millisecond
	}
	if ptrOr(cj.Spec.Suspend, false) {
		return
	}
	earliest := cj.CreationTimestamp.Time
	if t := cj.Status.LastScheduleTime; t != nil {
		earliest = t.Time
	}
	deadline := cj.Spec.StartingDeadlineSeconds
	if deadline != nil {
		if d := now.Add(-time.Duration(*deadline) * time.Second); d.After(earliest) {
			earliest = d
		}
	}
	at, missed := mostRecent(sched, earliest, now)
	if at.IsZero() {
		return
	}
	if missed > MaxMissed {
		r.note("too many missed start times (%d): set or decrease .spec.startingDeadlineSeconds or check clock skew; starting the most recent, %s", missed, at.Format(time.RFC3339))
	}
	if deadline != nil && at.Add(time.Duration(*deadline)*time.Second).Before(now) {
		r.note("missed start time %s: past startingDeadlineSeconds", at.Format(time.RFC3339))
		return
	}
	name := JobName(cj, at)
	for _, j := range r.in.Jobs {
		if j.Name == name {
			r.setScheduled(at) // started before a restart
			return
		}
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(r.active) > 0 {
			r.note("start time %s skipped: concurrencyPolicy Forbid and %d Job(s) active", at.Format(time.RFC3339), len(r.active))
			return
		}
	case batchv1.ReplaceConcurrent:
		for _, j := range r.active {
			r.remove(j.Name, "Replaced")
		}
		r.active = nil
	}
	r.act.Create = NewJob(cj, at)
	r.active = append(r.active, Job{Name: name})
	r.setScheduled(at)
}

func (r *run) setScheduled(at time.Time) {
	t := metav1.NewTime(at)
	r.act.Status.LastScheduleTime = &t
}

func (r *run) remove(name, reason string) {
	if !r.deleted[name] {
		r.deleted[name] = true
		r.act.Delete = append(r.act.Delete, Delete{Job: name, Reason: reason})
	}
}

// prune deletes the oldest Jobs that finished as t beyond limit.
func (r *run) prune(t batchv1.JobConditionType, limit int32) {
	var done []Job
	for _, j := range r.in.Jobs {
		if j.Finished == t {
			done = append(done, j)
		}
	}
	for i := 0; i < len(done)-int(limit); i++ {
		r.remove(done[i].Name, "HistoryLimit")
	}
}

// status lists the active Jobs, by name and UID (a Job created now has
// its UID once created: the next reconcile fills it).
func (r *run) status() {
	for _, j := range r.active {
		if r.deleted[j.Name] {
			continue
		}
		r.act.Status.Active = append(r.act.Status.Active, corev1.ObjectReference{Kind: "Job", APIVersion: "batch/v1",
			Namespace: r.in.CronJob.Namespace, Name: j.Name, UID: types.UID(j.UID)})
	}
}

// JobName is the name of the Job for start time at:
// <name>-<minutes since the epoch>, as the Kubernetes CronJob controller
// names it.
func JobName(cj *batchv1.CronJob, at time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, at.Unix()/60)
}

// OwnerRef is the controller owner reference to cj that its Jobs carry.
func OwnerRef(cj *batchv1.CronJob) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: &yes, BlockOwnerDeletion: &yes}
}

// NewJob is cj's Job for start time at, from its jobTemplate.
func NewJob(cj *batchv1.CronJob, at time.Time) *batchv1.Job {
	t := cj.Spec.JobTemplate.DeepCopy()
	ann := map[string]string{}
	for k, v := range t.Annotations {
		ann[k] = v
	}
	ann[AnnotationScheduledTimestamp] = at.Format(time.RFC3339)
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: JobName(cj, at), Namespace: cj.Namespace, Labels: t.Labels, Annotations: ann,
			OwnerReferences: []metav1.OwnerReference{OwnerRef(cj)},
		},
		Spec: t.Spec,
	}
}
