package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// flakyJob runs completions pods, parallelism at a time, whose first
// `fails` attempts (counted in a hostPath file, under a mkdir lock) exit 1.
func flakyJob(name, dir string, completions, parallelism, backoffLimit, fails int) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: %s}
spec:
  completions: %d
  parallelism: %d
  backoffLimit: %d
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      volumes: [{name: data, hostPath: {path: %s, type: Directory}}]
      containers:
      - name: c
        image: busybox:latest
        volumeMounts: [{name: data, mountPath: /data}]
        command: ["sh", "-c", "until mkdir /data/lock 2>/dev/null; do sleep 0.05; done; n=$(cat /data/count 2>/dev/null || echo 0); echo $((n+1)) > /data/count; rmdir /data/lock; [ $n -ge %d ]"]
`, name, completions, parallelism, backoffLimit, dir, fails)
}

func (e *env) job(name string) *batchv1.Job {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scaled(10*time.Second))
	defer cancel()
	m, err := e.client.GetObject(ctx, &poddv1.GetObjectRequest{Resource: "jobs", Namespace: "default", Name: name})
	if err != nil {
		e.t.Fatalf("get job %s: %v", name, err)
	}
	j := &batchv1.Job{}
	if err := json.Unmarshal(m.GetJson(), j); err != nil {
		e.t.Fatal(err)
	}
	return j
}

// waitJobFinished waits for the Job's Complete or Failed condition.
func (e *env) waitJobFinished(name string, timeout time.Duration) (*batchv1.Job, batchv1.JobCondition) {
	e.t.Helper()
	var j *batchv1.Job
	var done batchv1.JobCondition
	testutil.WaitFor(e.t, timeout, "job "+name+" finished", func() (bool, error) {
		j = e.job(name)
		for _, c := range j.Status.Conditions {
			if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
				done = c
				return true, nil
			}
		}
		return false, fmt.Errorf("status %+v", j.Status)
	})
	return j, done
}

// Issue 10 item 6: a Job of 3 completions, 2 at a time, whose first two
// pods fail, completes with 3 succeeded and 2 failed after the back-off;
// one past its backoffLimit fails with BackoffLimitExceeded; deleting a Job
// deletes its pods, and nothing leaks.
func TestJobCompletionsBackoffAndLimit(t *testing.T) {
	e := newEnv(t) // --backoff-base 1s: the Job back-off starts at 1 s
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if out := e.apply(flakyJob("flaky", dir, 3, 2, 6, 2)); !strings.Contains(out, "job/flaky created") {
		t.Fatalf("apply:\n%s", out)
	}
	j, done := e.waitJobFinished("flaky", 3*time.Minute)
	took := time.Since(began)
	t.Logf("Job (completions 3, parallelism 2, 2 failures, back-off base 1 s) completed in %v", took.Round(time.Millisecond))
	if done.Type != batchv1.JobComplete || j.Status.Succeeded != 3 || j.Status.Failed != 2 || j.Status.Active != 0 || j.Status.CompletionTime == nil {
		t.Errorf("condition %s/%s, status %+v; want Complete with 3 succeeded, 2 failed", done.Type, done.Reason, j.Status)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "count")); strings.TrimSpace(string(data)) != "5" {
		t.Errorf("pods run: %q, want 5", data)
	}
	out := e.podctl("get", "job", "flaky")
	if !strings.Contains(out, "Complete") || !strings.Contains(out, "3/3") {
		t.Errorf("get job:\n%s", out)
	}
	if out := e.podctl("describe", "job", "flaky"); !strings.Contains(out, "0 Active / 3 Succeeded / 2 Failed") {
		t.Errorf("describe job:\n%s", out)
	}

	// Past backoffLimit: Failed, with the reason.
	dir2 := t.TempDir()
	if err := os.Chmod(dir2, 0o777); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	e.apply(flakyJob("doomed", dir2, 1, 1, 1, 100))
	j, done = e.waitJobFinished("doomed", 3*time.Minute)
	t.Logf("Job with backoffLimit 1 failed after %v", time.Since(began).Round(time.Millisecond))
	if done.Type != batchv1.JobFailed || done.Reason != "BackoffLimitExceeded" || j.Status.Failed != 2 {
		t.Errorf("condition %s/%s, status %+v; want Failed/BackoffLimitExceeded after 2 failures", done.Type, done.Reason, j.Status)
	}
	if out := e.podctl("get", "job", "doomed"); !strings.Contains(out, "Failed") {
		t.Errorf("get job:\n%s", out)
	}

	for _, name := range []string{"flaky", "doomed"} {
		e.podctl("delete", "job", name)
	}
	testutil.WaitFor(t, time.Minute, "the Jobs' pods gone", func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := e.client.ListPods(ctx, &poddv1.ListPodsRequest{})
		if err != nil {
			return false, err
		}
		return len(resp.GetPods()) == 0, fmt.Errorf("%d pods", len(resp.GetPods()))
	})
	if c := e.census(t); !c.empty() {
		t.Errorf("left behind: %+v", c)
	}
}
