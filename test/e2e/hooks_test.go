package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// Scenario 14, R51: a postStart exec hook writes /www/hook and httpd serves
// it; a postStart `sleep 2` keeps the container waiting/ContainerCreating,
// not running, for about 2 s after it started, where a pod without the hook
// is running at once.
func TestScenario14PostStartR51(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	slow, plain := e.watchPod("slowhook"), e.watchPod("nohook")
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: hookweb}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox:latest
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "echo written-by-poststart > /www/hook"]}
---
apiVersion: v1
kind: Pod
metadata: {name: slowhook}
spec:
  # podd bounds a postStart hook by the pod's grace period: keep it above 2 s.
  terminationGracePeriodSeconds: 10
  containers:
  - name: app
    image: busybox:latest
    command: ` + politeSleeper + `
    lifecycle:
      postStart:
        exec: {command: ["sleep", "2"]}
---
apiVersion: v1
kind: Pod
metadata: {name: nohook}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:latest
    command: ` + politeSleeper + `
`)
	applied := time.Now()

	p := e.waitRunning("hookweb", 60*time.Second)
	testutil.WaitFor(t, 10*time.Second, "host fetches the page the postStart hook wrote", func() (bool, error) {
		body, err := httpGet("http://" + p.Status.PodIP + ":8080/hook")
		return strings.Contains(body, "written-by-poststart"), err
	})

	for _, tc := range []struct {
		pod      string
		w        *podWatch
		min, max time.Duration
	}{
		{"slowhook", slow, 1500 * time.Millisecond, 5 * time.Second},
		{"nohook", plain, 0, 1500 * time.Millisecond},
	} {
		running := tc.w.waitFirst(t, 60*time.Second, tc.pod+" running", func(p *corev1.Pod) bool { return isRunning(p, "app") })
		started := e.waitEvent(tc.pod, "Started", "app", "", 5*time.Second)
		gap := running.at.Sub(eventTime(started))
		t.Logf("%s: apply -> running %s, Started event -> running %s",
			tc.pod, running.at.Sub(applied).Round(time.Millisecond), gap.Round(time.Millisecond))
		if gap < tc.min || gap > tc.max {
			t.Errorf("%s: running %s after its Started event, want between %s and %s", tc.pod, gap, tc.min, tc.max)
		}
	}

	// While the hook ran, the status said waiting/ContainerCreating.
	slow.mu.Lock()
	defer slow.mu.Unlock()
	var lastBefore *corev1.ContainerStatus
	for _, o := range slow.seen {
		if isRunning(o.pod, "app") {
			break
		}
		if cs := containerStatus(o.pod, "app"); cs != nil {
			lastBefore = cs
		}
	}
	if lastBefore == nil || lastBefore.State.Waiting == nil || lastBefore.State.Waiting.Reason != "ContainerCreating" {
		t.Errorf("slowhook status before running = %+v, want waiting/ContainerCreating", lastBefore)
	}
}

// Scenario 15, R51 R40: a failing postStart records FailedPostStartHook,
// the container is killed and restarted again and again (restartCount
// grows), and it is never reported running.
func TestScenario15FailingPostStartR51(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.watchPod("badhook")
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: badhook}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:latest
    command: ` + politeSleeper + `
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "exit 1"]}
`)
	e.waitEvent("badhook", "FailedPostStartHook", "app", "", 60*time.Second)
	start := time.Now()
	e.waitRestarts("badhook", "app", 2, 20*time.Second)
	t.Logf("FailedPostStartHook -> restartCount 2 in %s (back-off 1s, 2s)", time.Since(start).Round(time.Millisecond))
	if o, ok := w.first(func(p *corev1.Pod) bool { return isRunning(p, "app") }); ok {
		t.Errorf("container reported running (restartCount %d) although its postStart hook always fails", restarts(o.pod, "app"))
	}
}

// Scenario 16, R50 R35: on delete, the app's preStop runs before its TERM
// (the app's TERM trap sees the preStop marker), and the sidecar gets TERM
// only after the app has stopped (its TERM trap sees both files). The
// sidecar copies what it saw to a hostPath directory of the test.
func TestScenario16PreStopBeforeTermSidecarLastR50R35(t *testing.T) {
	t.Parallel()
	out := hostDir(t)
	e := newEnv(t)
	e.apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: prestop}
spec:
  terminationGracePeriodSeconds: 10
  volumes:
  - name: shared
    emptyDir: {}
  - name: out
    hostPath: {path: %s, type: Directory}
  initContainers:
  - name: sidecar
    image: busybox:latest
    restartPolicy: Always
    command:
    - sh
    - -c
    - |
      trap 'echo "prestop=$(cat /shared/prestop 2>/dev/null || echo missing) app=$(cat /shared/app 2>/dev/null || echo still-running)" > /out/result; exit 0' TERM
      while true; do sleep 0.1; done
    volumeMounts:
    - {name: shared, mountPath: /shared}
    - {name: out, mountPath: /out}
  containers:
  - name: app
    image: busybox:latest
    command:
    - sh
    - -c
    - |
      trap 'if [ -f /shared/prestop ]; then echo saw-prestop > /shared/app; else echo no-prestop > /shared/app; fi; exit 0' TERM
      sleep 1000 & wait
    volumeMounts: [{name: shared, mountPath: /shared}]
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo ran > /shared/prestop"]}
`, out))
	e.waitRunning("prestop", 60*time.Second)
	start := time.Now()
	e.podctl("delete", "pod", "prestop")
	t.Logf("delete took %s (grace 10s, everything exits on TERM)", time.Since(start).Round(time.Millisecond))
	data, err := os.ReadFile(filepath.Join(out, "result"))
	if err != nil {
		t.Fatalf("sidecar left no result: %v", err)
	}
	if got, want := strings.TrimSpace(string(data)), "prestop=ran app=saw-prestop"; got != want {
		t.Fatalf("sidecar saw %q at its TERM, want %q (preStop before the app's TERM, sidecar after the app)", got, want)
	}
}

// Scenario 17, R50: a preStop `sleep 100` outlives grace 3: TERM at 3 s,
// then the final 2 s allowance, then KILL: delete takes about 5 s and the
// TERM-ignoring app is recorded with exit code 137.
func TestScenario17PreStopOutlivesGraceR50(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.watchPod("longstop")
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: longstop}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: app
    image: busybox:latest
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]
    lifecycle:
      preStop:
        exec: {command: ["sleep", "100"]}
`)
	e.waitRunning("longstop", 60*time.Second)
	start := time.Now()
	e.podctl("delete", "pod", "longstop")
	took := time.Since(start)
	t.Logf("delete with preStop sleep 100 and grace 3 took %s (want 3s + 2s)", took.Round(time.Millisecond))
	if took < 4*time.Second || took > 7500*time.Millisecond {
		t.Errorf("delete took %s, want between 4s and 7.5s (grace 3s + final 2s)", took)
	}
	o := w.waitFirst(t, 5*time.Second, "app terminated", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "app")
		return cs != nil && cs.State.Terminated != nil
	})
	if code := containerStatus(o.pod, "app").State.Terminated.ExitCode; code != 137 {
		t.Errorf("exit code %d, want 137 (KILL after the final allowance)", code)
	}
}

// R53 (httpGet hook), R46 R50: when a liveness failure stops the app, its
// preStop httpGet (host defaulting to the pod IP) reaches the server in the
// same pod, which logs the request path.
func TestR53PreStopHTTPGetHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: httphook}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: server
    image: busybox:latest
    command: ["sh", "-c", "echo bye > /www/prestop-hook; exec httpd -f -vv -p 8080 -h /www"]
  - name: app
    image: busybox:latest
    command: ` + politeSleeper + `
    livenessProbe:
      exec: {command: ["false"]}
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 1
    lifecycle:
      preStop:
        httpGet: {path: /prestop-hook, port: 8080}
`)
	e.waitRestarts("httphook", "app", 1, 60*time.Second)
	testutil.WaitFor(t, 10*time.Second, "server log shows the preStop request", func() (bool, error) {
		out, err := e.podctlErr("logs", "httphook", "-c", "server")
		return strings.Contains(out, "url:/prestop-hook"), fmt.Errorf("%v: %s", err, out)
	})
	evs, err := e.events("httphook")
	if err != nil {
		t.Fatal(err)
	}
	if ev := findEvent(evs, "FailedPreStopHook", "", ""); ev != nil {
		t.Errorf("FailedPreStopHook for a hook that got 200: %s", ev.Message)
	}
}

// R52: a failing preStop records FailedPreStopHook and the termination goes
// on (the app still gets TERM and the delete finishes quickly).
func TestR52_FailingPreStopDoesNotStopTermination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: badstop}
spec:
  terminationGracePeriodSeconds: 20
  containers:
  - name: app
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo prestop-broke; exit 1"]}
`)
	e.waitRunning("badstop", 60*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := e.client.WatchEvents(ctx, &poddv1.ListEventsRequest{Namespace: "default", Name: "badstop"})
	if err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		for {
			ev, err := stream.Recv()
			if err != nil {
				return
			}
			if ev.Reason == "FailedPreStopHook" {
				found <- ev.Message
				return
			}
		}
	}()
	start := time.Now()
	e.podctl("delete", "pod", "badstop")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("delete took %s: a failed preStop must not hold the termination", took)
	}
	select {
	case msg := <-found:
		if !strings.Contains(msg, "prestop-broke") {
			t.Errorf("FailedPreStopHook message %q lacks the hook's output", msg)
		}
	case <-time.After(5 * time.Second):
		t.Error("no FailedPreStopHook event")
	}
}
