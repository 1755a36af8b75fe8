package job

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons, as the Kubernetes Job controller gives them.
const (
	ReasonCompletionsReached   = "CompletionsReached"
	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	ReasonDeadlineExceeded     = "DeadlineExceeded"
)

// Labels every pod of a Job carries.
const (
	LabelJobName       = "batch.kubernetes.io/job-name"
	LabelControllerUID = "batch.kubernetes.io/controller-uid"
)

// MaxBackoff caps the delay before a failed Job's next pod (the Job
// controller's six minutes).
const MaxBackoff = 6 * time.Minute

// Pod is what the controller sees of one pod the Job owns.
type Pod struct {
	Name  string
	Phase corev1.PodPhase
	// Ready is the pod's Ready condition.
	Ready bool
	// Restarts sums its containers' restarts (restartPolicy OnFailure).
	Restarts int32
	// Finished is when a pod that ended did (its last container's end).
	Finished time.Time
	Deleting bool
}

// Input is one reconcile's view of the world.
type Input struct {
	Job  *batchv1.Job
	Pods []Pod
	Now  time.Time
	// BackoffBase is the first delay after a failure (10 s in Kubernetes);
	// each further failure doubles it, up to MaxBackoff.
	BackoffBase time.Duration
}

// Actions are what one reconcile asks for, and the resulting status.
type Actions struct {
	// Create is how many pods of the template to create.
	Create int
	// Delete are pods to delete (active pods of a Job that ended).
	Delete []string
	// DeleteJob is set once a finished Job's ttlSecondsAfterFinished passed.
	DeleteJob bool
	Status    batchv1.JobStatus
	// RequeueAfter, when positive, asks for another reconcile then.
	RequeueAfter time.Duration
}

// Reconcile decides what brings a Job's pods to its spec: finish it
// (Complete once completions succeeded; Failed past backoffLimit or
// activeDeadlineSeconds, deleting its active pods), else start pods up to
// parallelism after the back-off of its failures. The Job must be defaulted.
func Reconcile(in Input) Actions {
	j := in.Job
	r := &run{in: in, act: Actions{}}
	s := j.Status.DeepCopy()
	s.Conditions = append([]batchv1.JobCondition(nil), j.Status.Conditions...)
	if s.StartTime == nil {
		now := metav1.NewTime(in.Now)
		s.StartTime = &now
	}
	var active []Pod
	var restarts int32
	var lastFailure time.Time
	s.Succeeded, s.Failed = 0, 0
	for _, p := range in.Pods {
		switch {
		case p.Phase == corev1.PodSucceeded:
			s.Succeeded++
		case p.Phase == corev1.PodFailed:
			s.Failed++
			if p.Finished.After(lastFailure) {
				lastFailure = p.Finished
			}
		case !p.Deleting:
			active = append(active, p)
			restarts += p.Restarts
		}
	}
	s.Active = int32(len(active))
	ready := int32(0)
	for _, p := range active {
		if p.Ready {
			ready++
		}
	}
	s.Ready = &ready
	if finished(s) == "" {
		r.decide(s, active, restarts, lastFailure)
	}
	if finished(s) != "" {
		for _, p := range active {
			r.act.Delete = append(r.act.Delete, p.Name)
		}
		s.Active = 0
		r.ttl(s)
	}
	r.act.Status = *s
	return r.act
}

type run struct {
	in  Input
	act Actions
}

func (r *run) requeue(after time.Duration) {
	if after > 0 && (r.act.RequeueAfter == 0 || after < r.act.RequeueAfter) {
		r.act.RequeueAfter = after
	}
}

// decide finishes the Job or starts pods.
func (r *run) decide(s *batchv1.JobStatus, active []Pod, restarts int32, lastFailure time.Time) {
	j, now := r.in.Job, r.in.Now
	completions := ptrOr(j.Spec.Completions, 1)
	backoffLimit := ptrOr(j.Spec.BackoffLimit, 6)
	switch {
	case s.Succeeded >= completions:
		r.finish(s, batchv1.JobComplete, ReasonCompletionsReached, "Reached expected number of succeeded pods")
		return
	case s.Failed+restarts > backoffLimit:
		r.finish(s, batchv1.JobFailed, ReasonBackoffLimitExceeded, "Job has reached the specified backoff limit")
		return
	}
	if d := j.Spec.ActiveDeadlineSeconds; d != nil {
		end := s.StartTime.Add(time.Duration(*d) * time.Second)
		if !now.Before(end) {
			r.finish(s, batchv1.JobFailed, ReasonDeadlineExceeded, "Job was active longer than specified deadline")
			return
		}
		r.requeue(end.Sub(now))
	}
	want := min(ptrOr(j.Spec.Parallelism, 1), completions-s.Succeeded) - int32(len(active))
	if want <= 0 {
		return
	}
	if s.Failed > 0 {
		if next := lastFailure.Add(Backoff(r.in.BackoffBase, s.Failed)); now.Before(next) {
			r.requeue(next.Sub(now))
			return
		}
	}
	r.act.Create = int(want)
	s.Active += want
}

// Backoff is the delay before a new pod after failures: base doubled for
// each failure after the first, capped at MaxBackoff.
func Backoff(base time.Duration, failures int32) time.Duration {
	d := base
	for i := int32(1); i < failures && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

func (r *run) finish(s *batchv1.JobStatus, t batchv1.JobConditionType, reason, msg string) {
	now := metav1.NewTime(r.in.Now)
	s.Conditions = append(s.Conditions, batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg,
		LastProbeTime: now, LastTransitionTime: now})
	if t == batchv1.JobComplete {
		s.CompletionTime = &now
	}
}

// finished is the type of the Job's final condition, or "".
func finished(s *batchv1.JobStatus) batchv1.JobConditionType {
	for _, c := range s.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type
		}
	}
	return ""
}

// ttl deletes a finished Job once ttlSecondsAfterFinished passed.
func (r *run) ttl(s *batchv1.JobStatus) {
	t := r.in.Job.Spec.TTLSecondsAfterFinished
	if t == nil {
		return
	}
	var at time.Time
	for _, c := range s.Conditions {
		if c.Type == finished(s) {
			at = c.LastTransitionTime.Add(time.Duration(*t) * time.Second)
		}
	}
	if !r.in.Now.Before(at) {
		r.act.DeleteJob = true
		return
	}
	r.requeue(at.Sub(r.in.Now))
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// NewPod is a pod of job named <job name>-<suffix>, with the Job's labels
// and an owner reference to it.
func NewPod(j *batchv1.Job, suffix string) *corev1.Pod {
	t := j.Spec.Template.DeepCopy()
	labels := map[string]string{}
	for k, v := range t.Labels {
		labels[k] = v
	}
	labels[LabelJobName], labels["job-name"] = j.Name, j.Name
	labels[LabelControllerUID], labels["controller-uid"] = string(j.UID), string(j.UID)
	yes := true
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%s", j.Name, suffix), Namespace: j.Namespace, Labels: labels, Annotations: t.Annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: j.Name, UID: j.UID, Controller: &yes, BlockOwnerDeletion: &yes}},
		},
		Spec: t.Spec,
	}
}
