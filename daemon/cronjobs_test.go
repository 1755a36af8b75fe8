package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podd-dev/podd/daemon/controller/cronjob"
	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
)

func (d *testDaemon) cronJobs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, o := range d.objects.list(resJobs, "default") {
		if ownerOf(o, "CronJob") == "default/tick" {
			out = append(out, o.GetName())
		}
	}
	return out
}

// A CronJob that missed start times while the daemon was down starts one
// Job, for the most recent of them, and a restarted daemon does not start
// it again; deleting the CronJob deletes its Jobs.
func TestCronJobMissedStartTimesRunOnceAcrossRestart(t *testing.T) {
	dir, h := t.TempDir(), podworkertest.NewHost()
	d := newTestDaemon(t, dir, h)
	if err := d.restore(); err != nil {
		t.Fatal(err)
	}
	d.mustApply(t, strings.Replace(cronJobYAML, "@hourly", "*/1 * * * *", 1))
	// As if created ten minutes ago and the daemon had been down since.
	obj, _ := d.objects.get(resCronJobs, "default", "tick")
	cj := obj.(*batchv1.CronJob)
	cj.CreationTimestamp = metav1.NewTime(time.Now().Add(-10 * time.Minute))
	if err := d.putObject(resCronJobs, cj); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := d.reconcileCronJob(context.Background(), "default/tick"); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	want := map[string]bool{cronjob.JobName(cj, before.Truncate(time.Minute)): true, cronjob.JobName(cj, after.Truncate(time.Minute)): true}
	jobs := d.cronJobs(t)
	if len(jobs) != 1 || !want[jobs[0]] {
		t.Fatalf("jobs %v, want one of %v", jobs, want)
	}
	got := d.objects.byRes[resCronJobs]["default/tick"].(*batchv1.CronJob).Status
	if got.LastScheduleTime == nil || len(got.Active) != 1 || got.Active[0].Name != jobs[0] || got.Active[0].UID == "" {
		t.Errorf("status %+v", got)
	}

	d.stop()
	d2 := newTestDaemon(t, dir, h)
	if err := d2.restore(); err != nil {
		t.Fatal(err)
	}
	if err := d2.reconcileCronJob(context.Background(), "default/tick"); err != nil {
		t.Fatal(err)
	}
	again := d2.cronJobs(t)
	if len(again) > 2 || again[0] != jobs[0] || (len(again) == 2 && time.Now().Truncate(time.Minute).Equal(before.Truncate(time.Minute))) {
		t.Errorf("jobs after restart %v, want %s and at most the one of a minute begun since", again, jobs[0])
	}

	if _, err := d2.deleteObject(context.Background(), resCronJobs, "default", "tick", true); err != nil {
		t.Fatal(err)
	}
	if left := d2.cronJobs(t); len(left) != 0 {
		t.Errorf("jobs left after the CronJob was deleted: %v", left)
	}
}
