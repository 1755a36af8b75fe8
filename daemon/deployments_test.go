package daemon

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/podd-dev/podd/daemon/controller/deployment"
	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

func deploymentYAML(replicas int, version string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: busybox:latest, imagePullPolicy: IfNotPresent, env: [{name: V, value: %q}]}
`, replicas, version)
}

func (d *testDaemon) deployment(name string) *appsv1.Deployment {
	obj, ok := d.objects.get(resDeployments, "default", name)
	if !ok {
		return nil
	}
	return obj.(*appsv1.Deployment)
}

// deploymentPods are the live (not terminating) pods of the Deployment,
// by template hash, and how many of them are ready.
func (d *testDaemon) deploymentPods(name string) (byHash map[string]int, ready int) {
	byHash = map[string]int{}
	dep := d.deployment(name)
	if dep == nil {
		return byHash, 0
	}
	pods, _ := d.ownedPods(dep)
	for _, p := range pods {
		if p.Deleting {
			continue
		}
		byHash[p.Hash]++
		if p.Ready {
			ready++
		}
	}
	return byHash, ready
}

func (d *testDaemon) rolledOut(name string, replicas int32) bool {
	dep := d.deployment(name)
	if dep == nil {
		return false
	}
	s := dep.Status
	byHash, _ := d.deploymentPods(name)
	return s.ObservedGeneration == dep.Generation && s.UpdatedReplicas == replicas && s.Replicas == replicas &&
		s.AvailableReplicas == replicas && len(byHash) <= 1 && byHash[deployment.TemplateHash(&dep.Spec.Template)] == int(replicas)
}

func TestDeploymentRollsOutSurvivesRestartAndDeletesItsPods(t *testing.T) {
	dir, h := t.TempDir(), podworkertest.NewHost()
	d := newTestDaemon(t, dir, h)
	if err := d.restore(); err != nil {
		t.Fatal(err)
	}
	go d.runController(d.ctx, d.deployQueue, resDeployments, d.reconcileDeployment)
	res := d.mustApply(t, deploymentYAML(3, "1"))
	if res[0].Kind != "Deployment" || res[0].Action != "created" {
		t.Fatalf("apply: %+v", res)
	}
	eventually(t, "3 replicas available", 10*time.Second, func() bool { return d.rolledOut("web", 3) })
	for name := range mapKeys(t, d) {
		if !strings.HasPrefix(name, "web-"+deployment.TemplateHash(&d.deployment("web").Spec.Template)+"-") || len(name) != len("web-")+len(deployment.TemplateHash(&d.deployment("web").Spec.Template))+6 {
			t.Errorf("pod name %q, want web-<hash>-<5 characters>", name)
		}
	}
	if res := d.mustApply(t, deploymentYAML(3, "1")); res[0].Action != "unchanged" {
		t.Errorf("applying the same Deployment again: %s", res[0].Action)
	}

	// A template change rolls out without dropping below 3 ready pods.
	d.mustApply(t, deploymentYAML(3, "2"))
	minReady := 3
	eventually(t, "the rollout of revision 2", 20*time.Second, func() bool {
		if _, ready := d.deploymentPods("web"); ready < minReady {
			minReady = ready
		}
		return d.rolledOut("web", 3)
	})
	if minReady < 3 {
		t.Errorf("ready pods dropped to %d during a rollout with maxUnavailable 0", minReady)
	}
	dep := d.deployment("web")
	if dep.Generation != 2 || dep.Annotations[deployment.AnnotationRevision] != "2" {
		t.Errorf("generation %d revision %q, want 2 and 2", dep.Generation, dep.Annotations[deployment.AnnotationRevision])
	}

	// A restarted daemon finds the Deployment, its revisions and pods.
	d.stop()
	d2 := newTestDaemon(t, dir, h)
	if err := d2.restore(); err != nil {
		t.Fatal(err)
	}
	go d2.runController(d2.ctx, d2.deployQueue, resDeployments, d2.reconcileDeployment)
	if got := len(d2.objects.list(resReplicaSets, "default")); got != 2 {
		t.Errorf("%d revisions after restart, want 2", got)
	}
	list, err := (&api{d: d2.Daemon}).ListObjects(context.Background(), &poddv1.ListObjectsRequest{Resource: resReplicaSets})
	if err != nil || len(list.Objects) != 2 || list.Objects[0].Kind != "ReplicaSet" {
		t.Errorf("ListObjects replicasets: %v, %v", list, err)
	}
	eventually(t, "the Deployment to stay rolled out after restart", 10*time.Second, func() bool { return d2.rolledOut("web", 3) })
	if byHash, _ := d2.deploymentPods("web"); len(byHash) != 1 {
		t.Errorf("pods after restart: %v", byHash)
	}

	// Scale to 0 and back.
	d2.mustApply(t, deploymentYAML(0, "2"))
	eventually(t, "scale to 0", 10*time.Second, func() bool { return d2.rolledOut("web", 0) && len(d2.pods.list()) == 0 })
	d2.mustApply(t, deploymentYAML(2, "2"))
	eventually(t, "scale to 2", 10*time.Second, func() bool { return d2.rolledOut("web", 2) })

	if _, err := d2.deleteObject(context.Background(), resDeployments, "default", "web", true); err != nil {
		t.Fatal(err)
	}
	if n := len(d2.pods.list()); n != 0 {
		t.Errorf("%d pods left after the Deployment was deleted", n)
	}
	if n := len(d2.objects.list(resReplicaSets, "default")); n != 0 {
		t.Errorf("%d revisions left after the Deployment was deleted", n)
	}
}

func mapKeys(t *testing.T, d *testDaemon) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, e := range d.pods.list() {
		out[e.worker.Snapshot().Name] = true
	}
	return out
}

// A static manifest may hold a Deployment: it is marked with its file,
// known to the watcher after a restart, refused to API apply and delete,
// and deleted with its pods when the file drops it.
func TestStaticDeployment(t *testing.T) {
	d := startTestDaemon(t)
	go d.runController(d.ctx, d.deployQueue, resDeployments, d.reconcileDeployment)
	file := "/etc/podd/manifests/web.yaml"
	keys, err := staticApplier{d: d.Daemon}.ApplyStatic(context.Background(), file, []byte(deploymentYAML(2, "1")))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "deployments:default/web" {
		t.Fatalf("keys %v", keys)
	}
	eventually(t, "2 replicas", 10*time.Second, func() bool { return d.rolledOut("web", 2) })
	if known := d.knownStatic()[file]; len(known) != 1 || known[0] != keys[0] {
		t.Errorf("knownStatic %v", d.knownStatic())
	}
	if _, _, err := d.apply(context.Background(), []byte(deploymentYAML(3, "1")), "api.yaml", ""); !errorsIs(err, ErrFailedPrecondition) {
		t.Errorf("API apply over a static Deployment: %v", err)
	}
	if _, err := d.deleteObject(context.Background(), resDeployments, "default", "web", false); !errorsIs(err, ErrFailedPrecondition) {
		t.Errorf("API delete of a static Deployment: %v", err)
	}
	if err := (staticApplier{d: d.Daemon}).DeleteStatic(context.Background(), file, keys); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Deployment and its pods gone", 10*time.Second, func() bool {
		return d.deployment("web") == nil && len(d.pods.list()) == 0
	})
}
