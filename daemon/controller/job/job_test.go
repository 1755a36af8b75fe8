package job

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func job(completions, parallelism, backoffLimit int32, mods ...func(*batchv1.Job)) *batchv1.Job {
	start := metav1.NewTime(t0.Add(-time.Minute))
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "j-uid"},
		Spec:       batchv1.JobSpec{Completions: &completions, Parallelism: &parallelism, BackoffLimit: &backoffLimit},
		Status:     batchv1.JobStatus{StartTime: &start},
	}
	for _, m := range mods {
		m(j)
	}
	return j
}

func pods(phase corev1.PodPhase, n int, finishedAgo time.Duration) []Pod {
	var out []Pod
	for i := 0; i < n; i++ {
		p := Pod{Name: fmt.Sprintf("%s-%d", phase, i), Phase: phase}
		if phase == corev1.PodFailed || phase == corev1.PodSucceeded {
			p.Finished = t0.Add(-finishedAgo)
		}
		out = append(out, p)
	}
	return out
}

func join(ps ...[]Pod) []Pod {
	var out []Pod
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

func cond(a Actions) string {
	for _, c := range a.Status.Conditions {
		return string(c.Type) + "/" + c.Reason
	}
	return ""
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name       string
		j          *batchv1.Job
		pods       []Pod
		wantCreate int
		wantDelete []string
		wantCond   string
		// active, succeeded, failed
		wantCounts  [3]int32
		wantRequeue time.Duration
		wantDelJob  bool
	}{
		{name: "a new Job starts parallelism pods", j: job(3, 2, 6), wantCreate: 2, wantCounts: [3]int32{2, 0, 0}},
		{name: "no more pods than completions left", j: job(3, 2, 6), pods: join(pods(corev1.PodSucceeded, 2, 0), pods(corev1.PodRunning, 1, 0)),
			wantCounts: [3]int32{1, 2, 0}},
		{name: "a success makes room for the next pod", j: job(3, 2, 6), pods: join(pods(corev1.PodSucceeded, 1, 0), pods(corev1.PodRunning, 1, 0)),
			wantCreate: 1, wantCounts: [3]int32{2, 1, 0}},
		{name: "completions reached: Complete", j: job(3, 2, 6), pods: pods(corev1.PodSucceeded, 3, 0),
			wantCond: "Complete/CompletionsReached", wantCounts: [3]int32{0, 3, 0}},
		{name: "after a failure the next pod waits the back-off (10 s)", j: job(1, 1, 6), pods: pods(corev1.PodFailed, 1, 4*time.Second),
			wantRequeue: 6 * time.Second, wantCounts: [3]int32{0, 0, 1}},
		{name: "the back-off doubles per failure", j: job(1, 1, 6), pods: pods(corev1.PodFailed, 3, 30*time.Second),
			wantRequeue: 10 * time.Second, wantCounts: [3]int32{0, 0, 3}},
		{name: "after the back-off the pod is replaced", j: job(1, 1, 6), pods: pods(corev1.PodFailed, 2, 20*time.Second),
			wantCreate: 1, wantCounts: [3]int32{1, 0, 2}},
		{name: "failures past backoffLimit: Failed, active pods deleted", j: job(3, 2, 1), pods: join(pods(corev1.PodFailed, 2, 0), pods(corev1.PodRunning, 1, 0)),
			wantCond: "Failed/BackoffLimitExceeded", wantDelete: []string{"Running-0"}, wantCounts: [3]int32{0, 0, 2}},
		{name: "OnFailure: container restarts count against backoffLimit", j: job(1, 1, 2),
			pods:     []Pod{{Name: "p", Phase: corev1.PodRunning, Restarts: 3}},
			wantCond: "Failed/BackoffLimitExceeded", wantDelete: []string{"p"}, wantCounts: [3]int32{0, 0, 0}},
		{name: "activeDeadlineSeconds passed: Failed with DeadlineExceeded", j: job(1, 1, 6, func(j *batchv1.Job) {
			d := int64(60)
			j.Spec.ActiveDeadlineSeconds = &d
		}), pods: pods(corev1.PodRunning, 1, 0), wantCond: "Failed/DeadlineExceeded", wantDelete: []string{"Running-0"}},
		{name: "activeDeadlineSeconds ahead: requeued at it", j: job(1, 1, 6, func(j *batchv1.Job) {
			d := int64(90)
			j.Spec.ActiveDeadlineSeconds = &d
		}), pods: pods(corev1.PodRunning, 1, 0), wantRequeue: 30 * time.Second, wantCounts: [3]int32{1, 0, 0}},
		{name: "terminating pods are not active", j: job(1, 1, 6), pods: []Pod{{Name: "p", Phase: corev1.PodRunning, Deleting: true}},
			wantCreate: 1, wantCounts: [3]int32{1, 0, 0}},
		{name: "ttlSecondsAfterFinished passed: the Job is deleted", j: job(1, 1, 6, finishedAgo(20*time.Second), ttl(10)),
			pods: pods(corev1.PodSucceeded, 1, 0), wantCond: "Complete/CompletionsReached", wantDelJob: true, wantCounts: [3]int32{0, 1, 0}},
		{name: "ttlSecondsAfterFinished ahead: requeued", j: job(1, 1, 6, finishedAgo(5*time.Second), ttl(10)),
			pods: pods(corev1.PodSucceeded, 1, 0), wantCond: "Complete/CompletionsReached", wantRequeue: 5 * time.Second, wantCounts: [3]int32{0, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Reconcile(Input{Job: tc.j, Pods: tc.pods, Now: t0, BackoffBase: 10 * time.Second})
			if a.Create != tc.wantCreate || !reflect.DeepEqual(a.Delete, tc.wantDelete) || a.DeleteJob != tc.wantDelJob {
				t.Errorf("create %d delete %v deleteJob %v; want %d %v %v", a.Create, a.Delete, a.DeleteJob, tc.wantCreate, tc.wantDelete, tc.wantDelJob)
			}
			if got := cond(a); got != tc.wantCond {
				t.Errorf("condition %q, want %q", got, tc.wantCond)
			}
			s := a.Status
			if got := [3]int32{s.Active, s.Succeeded, s.Failed}; got != tc.wantCounts {
				t.Errorf("active/succeeded/failed %v, want %v", got, tc.wantCounts)
			}
			if a.RequeueAfter != tc.wantRequeue {
				t.Errorf("requeue %v, want %v", a.RequeueAfter, tc.wantRequeue)
			}
		})
	}
}

func finishedAgo(d time.Duration) func(*batchv1.Job) {
	return func(j *batchv1.Job) {
		at := metav1.NewTime(t0.Add(-d))
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: ReasonCompletionsReached, LastTransitionTime: at}}
	}
}

func ttl(s int32) func(*batchv1.Job) {
	return func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = &s }
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		failures int32
		want     time.Duration
	}{{1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second}, {6, 320 * time.Second}, {7, MaxBackoff}, {30, MaxBackoff}} {
		if got := Backoff(10*time.Second, tc.failures); got != tc.want {
			t.Errorf("Backoff(10s, %d) = %v, want %v", tc.failures, got, tc.want)
		}
	}
}

func TestNewPod(t *testing.T) {
	p := NewPod(job(1, 1, 6), "abcde")
	if p.Name != "pi-abcde" || p.Labels[LabelJobName] != "pi" || p.Labels[LabelControllerUID] != "j-uid" ||
		p.OwnerReferences[0].Kind != "Job" || p.OwnerReferences[0].UID != "j-uid" {
		t.Errorf("pod %s labels %v owners %v", p.Name, p.Labels, p.OwnerReferences)
	}
}
