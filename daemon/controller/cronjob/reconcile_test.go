package cronjob

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// created is when the test CronJobs were created; the clock of each case
// is an offset from it.
var created = time.Date(2026, 1, 1, 12, 0, 30, 0, time.UTC)

func at(hhmm string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", "2026-01-01 "+hhmm)
	if err != nil {
		panic(err)
	}
	return t
}

// cronJob is a defaulted CronJob "tick" every minute, created at created.
func cronJob(mods ...func(*batchv1.CronJob)) *batchv1.CronJob {
	three, one := int32(3), int32(1)
	no := false
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "tick", Namespace: "default", UID: "cj-uid", CreationTimestamp: metav1.NewTime(created)},
		Spec: batchv1.CronJobSpec{
			Schedule: "*/1 * * * *", ConcurrencyPolicy: batchv1.AllowConcurrent, Suspend: &no,
			SuccessfulJobsHistoryLimit: &three, FailedJobsHistoryLimit: &one,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "tick"}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}},
			},
		},
	}
	for _, m := range mods {
		m(cj)
	}
	return cj
}

func lastScheduled(t time.Time) func(*batchv1.CronJob) {
	return func(cj *batchv1.CronJob) { mt := metav1.NewTime(t); cj.Status.LastScheduleTime = &mt }
}

func policy(p batchv1.ConcurrencyPolicy) func(*batchv1.CronJob) {
	return func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = p }
}

func deadline(s int64) func(*batchv1.CronJob) {
	return func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = &s }
}

// job is the Job of start time hhmm, finished as f ("" running).
func job(hhmm string, f batchv1.JobConditionType) Job {
	t := at(hhmm)
	j := Job{Name: JobName(cronJob(), t), UID: "uid-" + hhmm, Finished: f, Started: t}
	if f != "" {
		j.Completed = t.Add(10 * time.Second)
	}
	return j
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name        string
		cj          *batchv1.CronJob
		jobs        []Job
		now         time.Time
		wantCreate  string // the start time of the Job created, hh:mm:ss
		wantDelete  []string
		wantActive  int
		wantLast    string // status.lastScheduleTime, hh:mm:ss
		wantRequeue time.Duration
		wantNote    string
	}{
		{
			name: "before the first start time: nothing, look again at it",
			cj:   cronJob(), now: at("12:00:40"), wantRequeue: 20*time.Second + 100*time.Millisecond,
		},
		{
			name: "the first start time came: its Job starts",
			cj:   cronJob(), now: at("12:01:00"), wantCreate: "12:01:00", wantActive: 1, wantLast: "12:01:00",
			wantRequeue: time.Minute + 100*time.Millisecond,
		},
		{
			name: "the Job of the start time exists (a restart after creating it): not created again",
			cj:   cronJob(), jobs: []Job{job("12:01:00", "")}, now: at("12:01:05"), wantActive: 1, wantLast: "12:01:00",
			wantRequeue: 55*time.Second + 100*time.Millisecond,
		},
		{
			name: "after a long stop only the most recent missed start time runs",
			cj:   cronJob(lastScheduled(at("12:01:00"))), jobs: []Job{job("12:01:00", batchv1.JobComplete)}, now: at("12:30:10"),
			wantCreate: "12:30:00", wantActive: 1, wantLast: "12:30:00", wantRequeue: 50*time.Second + 100*time.Millisecond,
		},
		{
			name: "more than 100 missed start times: reported, the most recent runs",
			cj:   cronJob(lastScheduled(at("12:01:00"))), now: at("12:01:00").Add(5 * time.Hour).Add(10 * time.Second),
			wantCreate: "17:01:00", wantActive: 1, wantLast: "17:01:00", wantRequeue: 50*time.Second + 100*time.Millisecond,
			wantNote: "too many missed start times",
		},
		{
			name: "startingDeadlineSeconds passed: the start time is missed",
			cj:   cronJob(lastScheduled(at("12:00:00")), func(cj *batchv1.CronJob) { cj.Spec.Schedule = "0 * * * *" }, deadline(60)),
			now:  at("12:00:00").Add(time.Hour + 2*time.Minute), wantLast: "12:00:00",
			wantRequeue: 58*time.Minute + 100*time.Millisecond,
		},
		{
			name: "startingDeadlineSeconds not passed: the start time runs late",
			cj:   cronJob(lastScheduled(at("12:00:00")), func(cj *batchv1.CronJob) { cj.Spec.Schedule = "@hourly" }, deadline(300)),
			now:  at("13:02:00"), wantCreate: "13:00:00", wantActive: 1, wantLast: "13:00:00",
			wantRequeue: 58*time.Minute + 100*time.Millisecond,
		},
		{
			name: "Allow: a new Job starts beside a running one",
			cj:   cronJob(lastScheduled(at("12:01:00"))), jobs: []Job{job("12:01:00", "")}, now: at("12:02:00"),
			wantCreate: "12:02:00", wantActive: 2, wantLast: "12:02:00", wantRequeue: time.Minute + 100*time.Millisecond,
		},
		{
			name: "Forbid: a running Job skips the start time",
			cj:   cronJob(lastScheduled(at("12:01:00")), policy(batchv1.ForbidConcurrent)), jobs: []Job{job("12:01:00", "")}, now: at("12:02:00"),
			wantActive: 1, wantLast: "12:01:00", wantRequeue: time.Minute + 100*time.Millisecond, wantNote: "concurrencyPolicy Forbid",
		},
		{
			name: "Replace: the running Job is deleted and the new one starts",
			cj:   cronJob(lastScheduled(at("12:01:00")), policy(batchv1.ReplaceConcurrent)), jobs: []Job{job("12:01:00", "")}, now: at("12:02:00"),
			wantCreate: "12:02:00", wantDelete: []string{"tick-" + minutes("12:01:00")}, wantActive: 1, wantLast: "12:02:00",
			wantRequeue: time.Minute + 100*time.Millisecond,
		},
		{
			name: "suspend: no Job starts",
			cj:   cronJob(func(cj *batchv1.CronJob) { yes := true; cj.Spec.Suspend = &yes }), now: at("12:05:00"),
			wantRequeue: time.Minute + 100*time.Millisecond,
		},
		{
			name: "history limits: the oldest successful beyond 3 and failed beyond 1 are deleted",
			cj:   cronJob(lastScheduled(at("12:06:00"))),
			jobs: []Job{job("12:01:00", batchv1.JobComplete), job("12:02:00", batchv1.JobFailed), job("12:03:00", batchv1.JobComplete),
				job("12:04:00", batchv1.JobComplete), job("12:05:00", batchv1.JobFailed), job("12:06:00", batchv1.JobComplete)},
			now:        at("12:06:30"),
			wantDelete: []string{"tick-" + minutes("12:01:00"), "tick-" + minutes("12:02:00")}, wantLast: "12:06:00",
			wantRequeue: 30*time.Second + 100*time.Millisecond,
		},
		{
			name: "timeZone: a daily 09:00 in Tokyo is 00:00 UTC",
			cj: cronJob(func(cj *batchv1.CronJob) {
				tz := "Asia/Tokyo"
				cj.Spec.Schedule, cj.Spec.TimeZone = "0 9 * * *", &tz
			}),
			now: at("12:00:40"), wantRequeue: 12*time.Hour - 40*time.Second + 100*time.Millisecond,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			act := Reconcile(Input{CronJob: tc.cj, Jobs: tc.jobs, Now: tc.now})
			var created string
			if act.Create != nil {
				created = act.Create.Annotations[AnnotationScheduledTimestamp]
				if ts, _ := time.Parse(time.RFC3339, created); act.Create.Name != JobName(tc.cj, ts) {
					t.Errorf("Job name %s for start time %s", act.Create.Name, created)
				}
				created = created[11:19]
			}
			if created != tc.wantCreate {
				t.Errorf("created the Job of %q, want %q", created, tc.wantCreate)
			}
			var del []string
			for _, d := range act.Delete {
				del = append(del, d.Job)
			}
			sort.Strings(del)
			if !reflect.DeepEqual(del, tc.wantDelete) {
				t.Errorf("Delete = %v, want %v", del, tc.wantDelete)
			}
			if len(act.Status.Active) != tc.wantActive {
				t.Errorf("active %v, want %d", act.Status.Active, tc.wantActive)
			}
			var last string
			if l := act.Status.LastScheduleTime; l != nil {
				last = l.UTC().Format("15:04:05")
			}
			if last != tc.wantLast {
				t.Errorf("lastScheduleTime %q, want %q", last, tc.wantLast)
			}
			if act.RequeueAfter != tc.wantRequeue {
				t.Errorf("RequeueAfter = %v, want %v", act.RequeueAfter, tc.wantRequeue)
			}
			notes := strings.Join(act.Notes, "\n")
			if (tc.wantNote == "") != (notes == "") || !strings.Contains(notes, tc.wantNote) {
				t.Errorf("notes %q, want one with %q", notes, tc.wantNote)
			}
		})
	}
}

func minutes(hhmm string) string {
	return strings.TrimPrefix(JobName(cronJob(), at(hhmm)), "tick-")
}

func TestLastSuccessfulTime(t *testing.T) {
	cj := cronJob(lastScheduled(at("12:03:00")))
	act := Reconcile(Input{CronJob: cj, Now: at("12:03:30"),
		Jobs: []Job{job("12:01:00", batchv1.JobComplete), job("12:02:00", batchv1.JobFailed), job("12:03:00", "")}})
	if l := act.Status.LastSuccessfulTime; l == nil || !l.Time.Equal(at("12:01:10")) {
		t.Errorf("lastSuccessfulTime %v, want 12:01:10", l)
	}
	if len(act.Status.Active) != 1 || act.Status.Active[0].Name != "tick-"+minutes("12:03:00") || act.Status.Active[0].UID != "uid-12:03:00" {
		t.Errorf("active %+v", act.Status.Active)
	}
}

func TestNewJob(t *testing.T) {
	cj := cronJob()
	j := NewJob(cj, at("12:01:00"))
	if j.Name != "tick-29454481" {
		t.Errorf("name %s, want tick-29454481 (minutes since the epoch)", j.Name)
	}
	if j.Labels["app"] != "tick" || j.Annotations[AnnotationScheduledTimestamp] != "2026-01-01T12:01:00Z" {
		t.Errorf("labels %v annotations %v", j.Labels, j.Annotations)
	}
	if len(j.OwnerReferences) != 1 || j.OwnerReferences[0].Kind != "CronJob" || j.OwnerReferences[0].UID != cj.UID {
		t.Errorf("ownerReferences %v", j.OwnerReferences)
	}
}

func TestScheduleRefusesTZWithTimeZone(t *testing.T) {
	tz := "UTC"
	cj := cronJob(func(cj *batchv1.CronJob) { cj.Spec.Schedule, cj.Spec.TimeZone = "TZ=UTC * * * * *", &tz })
	if _, err := Schedule(cj); err == nil {
		t.Error("a schedule with TZ= and a timeZone parsed")
	}
}
