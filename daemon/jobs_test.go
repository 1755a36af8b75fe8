package daemon

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

const jobYAML = `apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 2
  backoffLimit: 3
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: busybox:latest, imagePullPolicy: IfNotPresent}
`

func (d *testDaemon) job(name string) *batchv1.Job {
	obj, ok := d.objects.get(resJobs, "default", name)
	if !ok {
		return nil
	}
	return obj.(*batchv1.Job)
}

// exitJobPod ends the containers of one running pod of the Job with code.
func (d *testDaemon) exitJobPod(name string, code int32) bool {
	j := d.job(name)
	if j == nil {
		return false
	}
	_, entries := d.jobPods(j)
	for n, e := range entries {
		if d.running(n) && !e.worker.Deleting() {
			return d.host.ExitContainers(d.deps.Layout.ShimDir(e.worker.UID()), func(*shimv1.ContainerState) bool { return true }, code)
		}
	}
	return false
}

// A Job replaces a failed pod after the back-off, keeps its counts across
// a daemon restart, and completes once its completions succeeded.
func TestJobRetriesSurvivesRestartAndCompletes(t *testing.T) {
	dir, h := t.TempDir(), podworkertest.NewHost()
	d := newTestDaemon(t, dir, h)
	if err := d.restore(); err != nil {
		t.Fatal(err)
	}
	go d.runController(d.ctx, d.jobQueue, resJobs, d.reconcileJob)
	d.mustApply(t, jobYAML)
	eventually(t, "a pod of the Job fails", 10*time.Second, func() bool { return d.exitJobPod("pi", 1) })
	eventually(t, "the failure counted and a new pod running", 10*time.Second, func() bool {
		j := d.job("pi")
		return j.Status.Failed == 1 && j.Status.Active == 1
	})

	d.stop()
	d2 := newTestDaemon(t, dir, h)
	if err := d2.restore(); err != nil {
		t.Fatal(err)
	}
	go d2.runController(d2.ctx, d2.jobQueue, resJobs, d2.reconcileJob)
	for i := 0; i < 2; i++ {
		eventually(t, "a pod of the Job succeeds", 10*time.Second, func() bool { return d2.exitJobPod("pi", 0) })
		want := int32(i + 1)
		eventually(t, "the success counted", 10*time.Second, func() bool { return d2.job("pi").Status.Succeeded == want })
	}
	j := d2.job("pi")
	if len(j.Status.Conditions) != 1 || j.Status.Conditions[0].Type != batchv1.JobComplete || j.Status.Failed != 1 || j.Status.Active != 0 {
		t.Errorf("status %+v, want Complete with 2 succeeded and 1 failed", j.Status)
	}
	if n := len(d2.pods.list()); n != 3 {
		t.Errorf("%d pods kept, want the 3 finished ones", n)
	}
}

// A static manifest may hold a Job; the file dropping it deletes it.
func TestStaticJob(t *testing.T) {
	d := startTestDaemon(t)
	go d.runController(d.ctx, d.jobQueue, resJobs, d.reconcileJob)
	file := "/etc/podd/manifests/pi.yaml"
	keys, err := staticApplier{d: d.Daemon}.ApplyStatic(context.Background(), file, []byte(jobYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "jobs:default/pi" {
		t.Fatalf("keys %v", keys)
	}
	eventually(t, "a pod of the Job", 10*time.Second, func() bool { return len(d.pods.list()) == 1 })
	if known := d.knownStatic()[file]; len(known) != 1 || known[0] != keys[0] {
		t.Errorf("knownStatic %v", d.knownStatic())
	}
	if _, err := d.deleteObject(context.Background(), resJobs, "default", "pi", false); !errorsIs(err, ErrFailedPrecondition) {
		t.Errorf("API delete of a static Job: %v", err)
	}
	if err := (staticApplier{d: d.Daemon}).DeleteStatic(context.Background(), file, keys); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Job and its pods gone", 10*time.Second, func() bool { return d.job("pi") == nil && len(d.pods.list()) == 0 })
}
