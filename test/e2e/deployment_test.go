package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// webDeployment serves its pod's name on :8080 and is ready once it does.
func webDeployment(replicas int, version string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  minReadySeconds: 1
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: busybox:latest
        env: [{name: VERSION, value: %q}]
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe:
          httpGet: {path: /index.html, port: 8080}
          periodSeconds: 1
`, replicas, version)
}

var deploymentPodName = regexp.MustCompile(`^web-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$`)

// deploymentPods lists the default namespace's pods owned by a Deployment.
func (e *env) deploymentPods() []*corev1.Pod {
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
		if len(p.OwnerReferences) == 1 && p.OwnerReferences[0].Kind == "Deployment" {
			out = append(out, p)
		}
	}
	return out
}

// readyPods counts the pods that are Ready and not terminating.
func readyPods(pods []*corev1.Pod) int {
	n := 0
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n
}

// rolloutStatus runs podctl rollout status until the rollout completes.
func (e *env) rolloutStatus() string {
	e.t.Helper()
	out := e.podctl("rollout", "status", "deployment/web", "--timeout", testutil.Scaled(3*time.Minute).String())
	if !strings.Contains(out, `deployment "web" successfully rolled out`) {
		e.t.Fatalf("rollout status:\n%s", out)
	}
	return out
}

// templateHashes are the pod-template-hash labels of the live pods.
func templateHashes(pods []*corev1.Pod) map[string]int {
	out := map[string]int{}
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			out[p.Labels["pod-template-hash"]]++
		}
	}
	return out
}

// sampleReady counts ready replicas every 100 ms until stop is closed and
// returns the smallest count seen.
func (e *env) sampleReady(stop <-chan struct{}) func() (int, int) {
	var mu sync.Mutex
	min, samples := 1<<30, 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := e.client.ListPods(ctx, &poddv1.ListPodsRequest{Namespace: "default"})
			cancel()
			if err != nil {
				continue
			}
			var pods []*corev1.Pod
			for _, m := range resp.GetPods() {
				p := &corev1.Pod{}
				if json.Unmarshal(m.GetJson(), p) == nil {
					pods = append(pods, p)
				}
			}
			mu.Lock()
			if n := readyPods(pods); n < min {
				min = n
			}
			samples++
			mu.Unlock()
		}
	}()
	return func() (int, int) {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return min, samples
	}
}

// Issue 10 item 4: a Deployment of 3 replicas, each serving its own pod
// name; a rolling update with maxUnavailable 0 never has fewer than 3 ready
// replicas; rollout history and undo; scale to 0 and back; a kill -9 of the
// daemon mid-rollout, after which the rollout completes; delete removes
// the pods, and nothing leaks.
func TestDeploymentRollingUpdateUndoScaleAndCrash(t *testing.T) {
	e := newEnv(t)
	began := time.Now()
	if out := e.apply(webDeployment(3, "1")); !strings.Contains(out, "deployment/web created") {
		t.Fatalf("apply:\n%s", out)
	}
	e.rolloutStatus()
	t.Logf("3 replicas available %v after apply", time.Since(began).Round(time.Millisecond))
	pods := e.deploymentPods()
	if len(pods) != 3 || readyPods(pods) != 3 {
		t.Fatalf("%d pods, %d ready; want 3 ready", len(pods), readyPods(pods))
	}
	for _, p := range pods {
		if !deploymentPodName.MatchString(p.Name) || p.Labels["app"] != "web" || p.Labels["pod-template-hash"] == "" ||
			!strings.Contains(p.Name, "-"+p.Labels["pod-template-hash"]+"-") || p.OwnerReferences[0].Name != "web" {
			t.Errorf("pod %s labels %v owners %v", p.Name, p.Labels, p.OwnerReferences)
		}
	}
	// Each replica serves its own name.
	p := pods[0]
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + p.Status.PodIP + ":8080/index.html")
	if err != nil {
		t.Fatalf("GET from pod %s: %v", p.Name, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != p.Name {
		t.Errorf("pod %s serves %q", p.Name, body)
	}
	out := e.podctl("get", "deployment", "web")
	if !regexp.MustCompile(`web\s+3/3\s+3\s+3\s+`).MatchString(out) {
		t.Errorf("get deployment:\n%s", out)
	}
	rev1 := templateHashes(pods)

	// A rolling update with maxUnavailable 0 keeps 3 ready replicas throughout.
	stop := make(chan struct{})
	result := e.sampleReady(stop)
	began = time.Now()
	e.apply(webDeployment(3, "2"))
	status := e.rolloutStatus()
	took := time.Since(began)
	close(stop)
	minReady, samples := result()
	t.Logf("rolling update of 3 replicas took %v; min ready replicas %d over %d samples (every 100 ms)", took.Round(time.Millisecond), minReady, samples)
	if minReady < 3 {
		t.Errorf("ready replicas dropped to %d during the rolling update", minReady)
	}
	if !strings.Contains(status, "Waiting for deployment") {
		t.Errorf("rollout status printed no progress:\n%s", status)
	}
	rev2 := templateHashes(e.deploymentPods())
	if len(rev2) != 1 || rev2[firstKey(rev1)] != 0 {
		t.Errorf("pods by template after the update: %v (before %v)", rev2, rev1)
	}
	hist := e.podctl("rollout", "history", "deployment/web")
	if !regexp.MustCompile(`(?m)^1\s+<none>\n2\s+<none>`).MatchString(hist) {
		t.Errorf("rollout history:\n%s", hist)
	}
	describe := e.podctl("describe", "deployment", "web")
	for _, want := range []string{"Replicas:", "3 desired | 3 updated | 3 total | 3 available | 0 unavailable", "StrategyType:", "RollingUpdate", "0 max unavailable, 1 max surge", "NewReplicaSetAvailable"} {
		if !strings.Contains(describe, want) {
			t.Errorf("describe lacks %q:\n%s", want, describe)
		}
	}

	// Undo goes back to revision 1's template, as revision 3.
	if out := e.podctl("rollout", "undo", "deployment/web"); !strings.Contains(out, "deployment.apps/web rolled back") {
		t.Errorf("undo: %s", out)
	}
	e.rolloutStatus()
	if got := templateHashes(e.deploymentPods()); len(got) != 1 || got[firstKey(rev1)] != 3 {
		t.Errorf("pods by template after undo: %v, want 3 of %v", got, rev1)
	}
	hist = e.podctl("rollout", "history", "deployment/web")
	if !regexp.MustCompile(`(?m)^2\s+<none>\n3\s+<none>`).MatchString(hist) {
		t.Errorf("rollout history after undo:\n%s", hist)
	}

	// Scale to 0 and back.
	e.podctl("scale", "deployment/web", "--replicas=0")
	testutil.WaitFor(t, time.Minute, "no pods after scale to 0", func() (bool, error) {
		n := len(e.deploymentPods())
		return n == 0, fmt.Errorf("%d pods", n)
	})
	e.podctl("scale", "deployment/web", "--replicas=3")
	e.rolloutStatus()
	if n := readyPods(e.deploymentPods()); n != 3 {
		t.Errorf("%d ready pods after scaling back to 3", n)
	}

	// kill -9 of the daemon mid-rollout: the restarted daemon completes it.
	e.apply(webDeployment(3, "4"))
	testutil.WaitFor(t, time.Minute, "the rollout to start", func() (bool, error) {
		got := templateHashes(e.deploymentPods())
		return len(got) == 2, fmt.Errorf("pods by template %v", got)
	})
	e.killDaemon()
	e.restartDaemon()
	began = time.Now()
	e.rolloutStatus()
	t.Logf("rollout interrupted by kill -9 completed %v after the restart", time.Since(began).Round(time.Millisecond))
	if got := templateHashes(e.deploymentPods()); len(got) != 1 {
		t.Errorf("pods by template after the restart: %v", got)
	}

	e.podctl("delete", "deployment", "web", "--wait")
	if pods := e.deploymentPods(); len(pods) != 0 {
		t.Errorf("%d pods left after delete", len(pods))
	}
	if out, err := e.podctlErr("get", "deployment", "web"); err == nil {
		t.Errorf("get after delete: %s", out)
	}
	if c := e.census(t); !c.empty() {
		t.Errorf("left behind: %+v", c)
	}
}

func firstKey(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}
