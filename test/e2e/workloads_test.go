package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// agentDaemonSet runs one sleeping pod per node, ready once running, with
// extra pod spec lines.
func agentDaemonSet(version, podSpec string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
%s      containers:
      - name: agent
        image: busybox:latest
        env: [{name: VERSION, value: %q}]
        command: ["sleep", "3600"]
`, podSpec, version)
}

// ownedPods lists the default namespace's pods whose controller is of kind.
func (e *env) ownedPods(kind string) []*corev1.Pod {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scaled(10*time.Second))
	defer cancel()
	resp, err := e.client.ListPods(ctx, &poddv1.ListPodsRequest{Namespace: "default"})
	if err != nil {
		e.t.Fatalf("list pods: %v", err)
	}
	var out []*corev1.Pod
	for _, m := range resp.GetPods() {
		p := &corev1.Pod{}
		if err := json.Unmarshal(m.GetJson(), p); err != nil {
			e.t.Fatal(err)
		}
		if len(p.OwnerReferences) == 1 && p.OwnerReferences[0].Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

// object reads an object of resource into obj; false when it is not found.
func (e *env) object(resource, name string, obj any) bool {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scaled(10*time.Second))
	defer cancel()
	m, err := e.client.GetObject(ctx, &poddv1.GetObjectRequest{Resource: resource, Namespace: "default", Name: name})
	if status.Code(err) == codes.NotFound {
		return false
	}
	if err != nil {
		e.t.Fatalf("get %s %s: %v", resource, name, err)
	}
	if err := json.Unmarshal(m.GetJson(), obj); err != nil {
		e.t.Fatal(err)
	}
	return true
}

// listNames lists the names of the default namespace's objects of resource.
func (e *env) listNames(resource string) []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scaled(10*time.Second))
	defer cancel()
	resp, err := e.client.ListObjects(ctx, &poddv1.ListObjectsRequest{Resource: resource, Namespace: "default"})
	if err != nil {
		e.t.Fatalf("list %s: %v", resource, err)
	}
	var out []string
	for _, m := range resp.GetObjects() {
		var meta struct {
			Metadata struct{ Name string } `json:"metadata"`
		}
		if err := json.Unmarshal(m.GetJson(), &meta); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, meta.Metadata.Name)
	}
	return out
}

// waitNoPods waits until the daemon runs no pod at all.
func (e *env) waitNoPods(what string) {
	e.t.Helper()
	testutil.WaitFor(e.t, time.Minute, what, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := e.client.ListPods(ctx, &poddv1.ListPodsRequest{})
		if err != nil {
			return false, err
		}
		return len(resp.GetPods()) == 0, fmt.Errorf("%d pods", len(resp.GetPods()))
	})
}

// livePod is the one live pod of the DaemonSet once it is ready.
func (e *env) waitDaemonPod(notName string) *corev1.Pod {
	e.t.Helper()
	var pod *corev1.Pod
	testutil.WaitFor(e.t, 2*time.Minute, "the DaemonSet's one ready pod", func() (bool, error) {
		pods := e.ownedPods("DaemonSet")
		if len(pods) != 1 || pods[0].Name == notName || readyPods(pods) != 1 {
			return false, fmt.Errorf("%d pods, %d ready", len(pods), readyPods(pods))
		}
		pod = pods[0]
		return true, nil
	})
	return pod
}

// Issue 10 item 5: a DaemonSet (applied in one file with a CronJob) runs
// exactly one pod on the node; a template change replaces it without two
// pods at once (maxSurge 0); both survive kill -9 of the daemon with the
// pod kept; rollout history lists its revisions and undo goes back to the
// first template; a nodeSelector the node does not match removes the pod
// and says so; delete removes its pod, and nothing leaks.
func TestDaemonSetOnePodRollsSurvivesKillAndDeletes(t *testing.T) {
	e := newEnv(t)
	yearly := "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: yearly}\nspec:\n  schedule: '@yearly'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: c, image: busybox:latest, command: [\"true\"]}]\n"
	out := e.apply(agentDaemonSet("1", "      nodeSelector: {kubernetes.io/os: linux}\n") + "---\n" + yearly)
	if !strings.Contains(out, "daemonset/agent created") || !strings.Contains(out, "cronjob/yearly created") {
		t.Fatalf("apply:\n%s", out)
	}
	first := e.waitDaemonPod("")
	if !strings.HasPrefix(first.Name, "agent-") || len(first.Name) != len("agent-")+5 {
		t.Errorf("pod name %q, want agent-<5 characters>", first.Name)
	}
	if out := e.podctl("rollout", "status", "ds/agent", "--timeout", testutil.Scaled(time.Minute).String()); !strings.Contains(out, `daemon set "agent" successfully rolled out`) {
		t.Errorf("rollout status:\n%s", out)
	}
	if out := e.podctl("get", "ds"); !regexpMatch(`agent\s+1\s+1\s+1\s+1\s+1\s+kubernetes.io/os=linux`, out) {
		t.Errorf("get ds:\n%s", out)
	}

	// A template change: the old pod goes first, then the new one starts.
	most := 0
	stop := make(chan struct{})
	sampled := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				sampled <- n
				return
			case <-time.After(100 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := e.client.ListPods(ctx, &poddv1.ListPodsRequest{Namespace: "default"})
			cancel()
			if err == nil {
				n = max(n, len(resp.GetPods()))
			}
		}
	}()
	e.apply(agentDaemonSet("2", "      nodeSelector: {kubernetes.io/os: linux}\n"))
	second := e.waitDaemonPod(first.Name)
	close(stop)
	most = <-sampled
	if most > 1 {
		t.Errorf("%d pods at once during the rolling update (maxSurge 0)", most)
	}
	if second.Labels["controller-revision-hash"] == first.Labels["controller-revision-hash"] {
		t.Errorf("the new pod has the old template's hash %s", first.Labels["controller-revision-hash"])
	}

	e.killDaemon()
	e.restartDaemon()
	if kept := e.waitDaemonPod(""); kept.Name != second.Name {
		t.Errorf("pod %s after kill -9, want %s kept", kept.Name, second.Name)
	}
	var cj batchv1.CronJob
	if !e.object("cronjobs", "yearly", &cj) || cj.Spec.Schedule != "@yearly" {
		t.Errorf("cronjob after kill -9: %+v", cj.Spec)
	}

	// History and undo, through the Deployment's rollout code.
	if out := e.podctl("rollout", "history", "ds/agent"); !regexpMatch(`(?s)daemonset.apps/agent.*REVISION\s+CHANGE-CAUSE\s+1\s+<none>\s+2\s+<none>`, out) {
		t.Errorf("rollout history:\n%s", out)
	}
	if out := e.podctl("rollout", "undo", "daemonset/agent"); !strings.Contains(out, "daemonset.apps/agent rolled back") {
		t.Errorf("rollout undo:\n%s", out)
	}
	back := e.waitDaemonPod(second.Name)
	if back.Labels["controller-revision-hash"] != first.Labels["controller-revision-hash"] {
		t.Errorf("after undo the pod has template hash %s, want the first's %s", back.Labels["controller-revision-hash"], first.Labels["controller-revision-hash"])
	}
	if out := e.podctl("rollout", "history", "ds/agent"); !regexpMatch(`(?s)REVISION\s+CHANGE-CAUSE\s+2\s+<none>\s+3\s+<none>`, out) {
		t.Errorf("rollout history after undo (revision 1 becomes 3):\n%s", out)
	}

	e.apply(agentDaemonSet("2", "      nodeSelector: {disktype: ssd}\n"))
	testutil.WaitFor(t, time.Minute, "no pod on a node the nodeSelector does not match", func() (bool, error) {
		var ds appsv1.DaemonSet
		e.object("daemonsets", "agent", &ds)
		return len(e.ownedPods("DaemonSet")) == 0 && ds.Status.DesiredNumberScheduled == 0 && ds.Status.ObservedGeneration == ds.Generation,
			fmt.Errorf("status %+v", ds.Status)
	})
	if out := e.podctl("describe", "ds", "agent"); !strings.Contains(out, "NodeSelectorMismatch") || !strings.Contains(out, "disktype=ssd") {
		t.Errorf("describe ds does not say why no pod runs:\n%s", out)
	}

	e.podctl("delete", "cj", "yearly")
	if out := e.podctl("delete", "daemonset", "agent"); !strings.Contains(out, "agent") {
		t.Errorf("delete:\n%s", out)
	}
	e.waitNoPods("the DaemonSet's pods gone")
	if names := e.listNames("daemonsets"); len(names) != 0 {
		t.Errorf("daemonsets left: %v", names)
	}
	if c := e.census(t); !c.empty() {
		t.Errorf("left behind: %+v", c)
	}
}

// Issue 10 item 6: a CronJob every minute starts one Job at the next
// minute, named for that minute, which runs to completion; with a
// successful history limit of 0 the finished Job is deleted with its pod;
// nothing leaks.
func TestCronJobRunsOnceAMinuteAndPrunesHistory(t *testing.T) {
	e := newEnv(t)
	manifest := `apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 0
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers: [{name: c, image: busybox:latest, command: ["sh", "-c", "sleep 2"]}]
`
	began := time.Now()
	if out := e.apply(manifest); !strings.Contains(out, "cronjob/tick created") {
		t.Fatalf("apply:\n%s", out)
	}
	var created batchv1.CronJob
	e.object("cronjobs", "tick", &created)
	// The first start time is the first minute after its creation.
	next := created.CreationTimestamp.Time.Truncate(time.Minute).Add(time.Minute)
	want := fmt.Sprintf("tick-%d", next.Unix()/60)
	seen := map[string]time.Time{}
	testutil.WaitFor(t, 2*time.Minute, "the Job of the next minute to start and finish", func() (bool, error) {
		for _, n := range e.listNames("jobs") {
			if _, ok := seen[n]; !ok {
				seen[n] = time.Now()
			}
		}
		var cj batchv1.CronJob
		e.object("cronjobs", "tick", &cj)
		return cj.Status.LastSuccessfulTime != nil, fmt.Errorf("status %+v, jobs seen %v", cj.Status, seen)
	})
	started, ok := seen[want]
	if !ok || len(seen) != 1 {
		t.Fatalf("jobs seen %v, want %s only", seen, want)
	}
	t.Logf("CronJob */1: Job %s seen %v after its start time (applied %v before it)", want,
		started.Sub(next).Round(time.Millisecond), next.Sub(began).Round(time.Millisecond))
	if late := started.Sub(next); late > testutil.Scaled(5*time.Second) {
		t.Errorf("the Job started %v after its start time", late)
	}
	var cj batchv1.CronJob
	e.object("cronjobs", "tick", &cj)
	if cj.Status.LastScheduleTime == nil || !cj.Status.LastScheduleTime.Time.Equal(next) {
		t.Errorf("lastScheduleTime %v, want %v", cj.Status.LastScheduleTime, next)
	}
	testutil.WaitFor(t, time.Minute, "the finished Job pruned (successfulJobsHistoryLimit 0)", func() (bool, error) {
		var j batchv1.Job
		return !e.object("jobs", want, &j) && len(e.ownedPods("Job")) == 0, fmt.Errorf("job %s still there", want)
	})
	if out := e.podctl("get", "cj"); !regexpMatch(`tick\s+\*/1 \* \* \* \*\s+<none>\s+false\s+\d\s+\d+s`, out) {
		t.Errorf("get cj:\n%s", out)
	}
	e.podctl("delete", "cronjob", "tick")
	e.waitNoPods("the CronJob's pods gone")
	if c := e.census(t); !c.empty() {
		t.Errorf("left behind: %+v", c)
	}
}

// Issue 10 item 4: a Recreate Deployment never runs a pod of the old
// template beside one of the new.
func TestDeploymentRecreate(t *testing.T) {
	e := newEnv(t)
	manifest := func(version string) string {
		return strings.Replace(webDeployment(2, version), "{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}", "{type: Recreate}", 1)
	}
	e.apply(manifest("1"))
	e.rolloutStatus()
	old := templateHashes(e.deploymentPods())
	mixed := 0
	stop := make(chan struct{})
	sampled := make(chan int)
	go func() {
		for {
			select {
			case <-stop:
				sampled <- mixed
				return
			case <-time.After(100 * time.Millisecond):
			}
			byHash := map[string]int{}
			for _, p := range e.deploymentPods() {
				byHash[p.Labels["pod-template-hash"]]++ // terminating pods too
			}
			if len(byHash) > 1 {
				mixed++
			}
		}
	}()
	e.apply(manifest("2"))
	e.rolloutStatus()
	close(stop)
	if n := <-sampled; n > 0 {
		t.Errorf("%d samples saw pods of both templates during a Recreate rollout", n)
	}
	now := templateHashes(e.deploymentPods())
	if len(now) != 1 || now[firstKey(old)] != 0 || now[firstKey(now)] != 2 {
		t.Errorf("pods by template after the rollout: %v (before %v)", now, old)
	}
	e.podctl("delete", "deployment", "web")
	e.waitNoPods("the Deployment's pods gone")
	if c := e.census(t); !c.empty() {
		t.Errorf("left behind: %+v", c)
	}
}

// Issue 10 item 4: a rollout whose new pods never become ready stops at
// progressDeadlineSeconds with ProgressDeadlineExceeded, and rollout status
// fails saying so.
func TestDeploymentProgressDeadlineExceeded(t *testing.T) {
	e := newEnv(t)
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  replicas: 1
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: busybox:latest
        command: ["sleep", "3600"]
        readinessProbe: {exec: {command: ["false"]}, periodSeconds: 1}
`
	began := time.Now()
	e.apply(manifest)
	var d appsv1.Deployment
	testutil.WaitFor(t, time.Minute, "ProgressDeadlineExceeded", func() (bool, error) {
		e.object("deployments", "stuck", &d)
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
				return c.Status == corev1.ConditionFalse, nil
			}
		}
		return false, fmt.Errorf("conditions %+v", d.Status.Conditions)
	})
	t.Logf("ProgressDeadlineExceeded %v after apply (progressDeadlineSeconds 5)", time.Since(began).Round(time.Millisecond))
	if took := time.Since(began); took < 5*time.Second {
		t.Errorf("deadline exceeded after %v, before the 5 s deadline", took)
	}
	out, err := e.podctlErr("rollout", "status", "deployment/stuck", "--timeout", "30s")
	if err == nil || !strings.Contains(out, `deployment "stuck" exceeded its progress deadline`) {
		t.Errorf("rollout status: %v\n%s", err, out)
	}
	if len(e.ownedPods("Deployment")) != 1 {
		t.Errorf("pods of the stuck rollout: %d, want its 1 (kept, as Kubernetes does)", len(e.ownedPods("Deployment")))
	}
	e.podctl("delete", "deployment", "stuck")
	e.waitNoPods("the Deployment's pods gone")
	if c := e.census(t); !c.empty() {
		t.Errorf("left behind: %+v", c)
	}
}

// Issue 10 item 6: ttlSecondsAfterFinished deletes a finished Job with its
// pod.
func TestJobTTLSecondsAfterFinished(t *testing.T) {
	e := newEnv(t)
	manifest := `apiVersion: batch/v1
kind: Job
metadata: {name: brief}
spec:
  ttlSecondsAfterFinished: 2
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: busybox:latest, command: ["true"]}]
`
	e.apply(manifest)
	j, done := e.waitJobFinished("brief", 2*time.Minute)
	if done.Type != batchv1.JobComplete {
		t.Fatalf("condition %+v, status %+v", done, j.Status)
	}
	finished := time.Now()
	testutil.WaitFor(t, time.Minute, "the finished Job deleted after its TTL", func() (bool, error) {
		var j batchv1.Job
		return !e.object("jobs", "brief", &j), fmt.Errorf("job still there")
	})
	t.Logf("Job deleted %v after it was seen finished (ttlSecondsAfterFinished 2)", time.Since(finished).Round(time.Millisecond))
	e.waitNoPods("the Job's pod gone")
	if c := e.census(t); !c.empty() {
		t.Errorf("left behind: %+v", c)
	}
}

func regexpMatch(pattern, s string) bool {
	return regexp.MustCompile(pattern).MatchString(s)
}
