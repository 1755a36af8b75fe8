package daemon

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/controller/daemonset"
	"github.com/podd-dev/podd/daemon/controller/deployment"
	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
)

// daemonSetYAML is DaemonSet "agent" running version, with extra spec
// lines for its pod template.
func daemonSetYAML(version, podSpec string) string {
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
      - {name: c, image: busybox:latest, imagePullPolicy: IfNotPresent, env: [{name: V, value: %q}]}
`, podSpec, version)
}

func (d *testDaemon) daemonSet(name string) *appsv1.DaemonSet {
	obj, ok := d.objects.get(resDaemonSets, "default", name)
	if !ok {
		return nil
	}
	return obj.(*appsv1.DaemonSet)
}

// daemonPods are the DaemonSet's pods: all of them, and the names of the
// live ones of its current template.
func (d *testDaemon) daemonPods(name string) (all []daemonset.Pod, current []string) {
	ds := d.daemonSet(name)
	if ds == nil {
		return nil, nil
	}
	all, _ = d.daemonSetPods(ds)
	for _, p := range all {
		if !p.Deleting && p.Hash == deployment.TemplateHash(&ds.Spec.Template) {
			current = append(current, p.Name)
		}
	}
	return all, current
}

// updated says whether the DaemonSet runs one ready pod of its template
// and its status says so.
func (d *testDaemon) updated(name string) bool {
	ds := d.daemonSet(name)
	if ds == nil {
		return false
	}
	all, current := d.daemonPods(name)
	s := ds.Status
	return len(all) == 1 && len(current) == 1 && s.ObservedGeneration == ds.Generation && s.DesiredNumberScheduled == 1 &&
		s.CurrentNumberScheduled == 1 && s.UpdatedNumberScheduled == 1 && s.NumberReady == 1 && s.NumberAvailable == 1
}

// A DaemonSet runs one pod on the node, replaces it (old first, as
// maxSurge 0) on a template change, keeps it across a restart, runs none
// when its nodeSelector does not match the node, and goes with its pod.
func TestDaemonSetRunsOnePodRollsSurvivesRestartAndDeletes(t *testing.T) {
	dir, h := t.TempDir(), podworkertest.NewHost()
	d := newTestDaemon(t, dir, h)
	if err := d.restore(); err != nil {
		t.Fatal(err)
	}
	go d.runController(d.ctx, d.dsQueue, resDaemonSets, d.reconcileDaemonSet)
	res := d.mustApply(t, daemonSetYAML("1", ""))
	if res[0].Kind != "DaemonSet" || res[0].Action != "created" {
		t.Fatalf("apply: %+v", res)
	}
	eventually(t, "one ready pod", 10*time.Second, func() bool { return d.updated("agent") })
	_, first := d.daemonPods("agent")
	if !strings.HasPrefix(first[0], "agent-") || len(first[0]) != len("agent-")+5 {
		t.Errorf("pod name %q, want agent-<5 characters>", first[0])
	}

	if res := d.mustApply(t, daemonSetYAML("1", "")); res[0].Action != "unchanged" {
		t.Errorf("applying the same DaemonSet again: %s", res[0].Action)
	}
	d.mustApply(t, daemonSetYAML("2", ""))
	most := 0
	eventually(t, "the rollout of the new template", 10*time.Second, func() bool {
		all, _ := d.daemonPods("agent")
		most = max(most, len(all))
		return d.updated("agent")
	})
	if most > 1 {
		t.Errorf("%d pods at once during a rolling update with maxSurge 0", most)
	}
	_, second := d.daemonPods("agent")
	if second[0] == first[0] {
		t.Errorf("pod %s was not replaced", first[0])
	}
	if g := d.daemonSet("agent").Generation; g != 2 {
		t.Errorf("generation %d after one template change, want 2", g)
	}
	if rev := d.daemonSet("agent").Annotations[annotationRevision]; rev != "2" || len(d.objects.list(resControllerRevisions, "default")) != 2 {
		t.Errorf("revision %q with %d revisions recorded, want 2 and 2", rev, len(d.objects.list(resControllerRevisions, "default")))
	}

	d.stop()
	d2 := newTestDaemon(t, dir, h)
	if err := d2.restore(); err != nil {
		t.Fatal(err)
	}
	go d2.runController(d2.ctx, d2.dsQueue, resDaemonSets, d2.reconcileDaemonSet)
	eventually(t, "the DaemonSet to keep its pod after restart", 10*time.Second, func() bool { return d2.updated("agent") })
	if _, after := d2.daemonPods("agent"); after[0] != second[0] {
		t.Errorf("pod %s after restart, want %s kept", after[0], second[0])
	}

	d2.mustApply(t, daemonSetYAML("2", "      nodeSelector: {disktype: ssd}\n"))
	eventually(t, "no pod on a node the nodeSelector does not match", 10*time.Second, func() bool {
		ds := d2.daemonSet("agent")
		c := ds.Status.Conditions
		return len(d2.pods.list()) == 0 && ds.Status.DesiredNumberScheduled == 0 && len(c) == 1 &&
			c[0].Type == daemonset.ConditionNodeMatched && c[0].Status == corev1.ConditionFalse && strings.Contains(c[0].Message, "disktype=ssd")
	})
	d2.mustApply(t, daemonSetYAML("2", "      nodeSelector: {kubernetes.io/hostname: node1}\n"))
	eventually(t, "the pod back on a matching nodeSelector", 10*time.Second, func() bool { return d2.updated("agent") })

	if _, err := d2.deleteObject(context.Background(), resDaemonSets, "default", "agent", true); err != nil {
		t.Fatal(err)
	}
	if n := len(d2.pods.list()); n != 0 {
		t.Errorf("%d pods left after the DaemonSet was deleted", n)
	}
	if n := len(d2.objects.list(resControllerRevisions, "default")); n != 0 {
		t.Errorf("%d revisions left after the DaemonSet was deleted", n)
	}
}

// A static manifest may hold a DaemonSet and a CronJob: both are marked
// with the file and deleted (with their pods) when the file drops them.
func TestStaticDaemonSetAndCronJob(t *testing.T) {
	d := startTestDaemon(t)
	go d.runController(d.ctx, d.dsQueue, resDaemonSets, d.reconcileDaemonSet)
	go d.runController(d.ctx, d.cronQueue, resCronJobs, d.reconcileCronJob)
	file := "/etc/podd/manifests/agent.yaml"
	doc := daemonSetYAML("1", "") + "---\n" + cronJobYAML
	keys, err := staticApplier{d: d.Daemon}.ApplyStatic(context.Background(), file, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, " ") != "daemonsets:default/agent cronjobs:default/tick" {
		t.Fatalf("keys %v", keys)
	}
	eventually(t, "the DaemonSet's pod", 10*time.Second, func() bool { return d.updated("agent") })
	if _, err := d.deleteObject(context.Background(), resCronJobs, "default", "tick", false); !errorsIs(err, ErrFailedPrecondition) {
		t.Errorf("API delete of a static CronJob: %v", err)
	}
	if err := (staticApplier{d: d.Daemon}).DeleteStatic(context.Background(), file, keys); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the DaemonSet, the CronJob and the pod gone", 10*time.Second, func() bool {
		_, cj := d.objects.get(resCronJobs, "default", "tick")
		return d.daemonSet("agent") == nil && !cj && len(d.pods.list()) == 0
	})
}

const cronJobYAML = `apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "@hourly"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: c, image: busybox:latest, imagePullPolicy: IfNotPresent}
`
