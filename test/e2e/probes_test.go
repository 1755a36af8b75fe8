package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// politeSleeper is a PID 1 that exits at once on TERM, so restarts and
// deletes of the probe tests do not wait for a grace period.
const politeSleeper = `["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]`

// Scenario 8, R46 R48 (httpGet): httpd with a liveness httpGet (period 1,
// failureThreshold 2) is restarted after its page disappears, within
// period×threshold + grace + back-off; an Unhealthy "Liveness probe failed"
// event is listed by describe and events; the page is served again.
func TestScenario8LivenessHTTPGetRestartsR46R48(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: live-http}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: httpd
    image: busybox:latest
    command: ["sh", "-c", "echo page-ok > /www/index.html; exec httpd -f -p 8080 -h /www"]
    livenessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
      failureThreshold: 2
`)
	p := e.waitRunning("live-http", 60*time.Second)
	url := "http://" + p.Status.PodIP + ":8080/index.html"
	testutil.WaitFor(t, 10*time.Second, "host fetches the page before the removal", func() (bool, error) {
		body, err := httpGet(url)
		return strings.Contains(body, "page-ok"), err
	})
	e.holds("live-http", 2*time.Second, "no restart while the page is served", func(p *corev1.Pod) bool {
		return restarts(p, "httpd") == 0 && isRunning(p, "httpd")
	})

	e.execIn("live-http", "httpd", "rm", "/www/index.html")
	start := time.Now()
	p = e.waitRestarts("live-http", "httpd", 1, 20*time.Second)
	took := time.Since(start)
	t.Logf("rm index.html -> restartCount 1 in %s (period 1 x threshold 2 + grace 2 + back-off 1)", took.Round(time.Millisecond))
	if took < 900*time.Millisecond || took > 10*time.Second {
		t.Errorf("restart %s after the page went away, want between 0.9s and 10s", took)
	}
	if n := restarts(p, "httpd"); n != 1 {
		t.Errorf("restartCount %d right after the liveness kill, want 1", n)
	}

	e.waitEvent("live-http", "Unhealthy", "httpd", "Liveness probe failed", 5*time.Second)
	for _, args := range [][]string{{"describe", "pod", "live-http"}, {"events", "live-http"}} {
		out := e.podctl(args...)
		if !strings.Contains(out, "Unhealthy") || !strings.Contains(out, "Liveness probe failed") {
			t.Errorf("podctl %s lacks the Unhealthy / Liveness probe failed event:\n%s", strings.Join(args, " "), out)
		}
	}

	p = e.waitRunning("live-http", 20*time.Second)
	testutil.WaitFor(t, 10*time.Second, "host fetches the page again after the restart", func() (bool, error) {
		body, err := httpGet("http://" + p.Status.PodIP + ":8080/index.html")
		return strings.Contains(body, "page-ok"), err
	})
}

// Scenario 9, R47 R62 R63 R70: a readiness exec probe flips READY 0/1 -> 1/1
// -> 0/1 with the file, the pod's Ready condition follows, nothing restarts.
func TestScenario9ReadinessExecFollowsFileR47(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: ready-file}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:latest
    command: ` + politeSleeper + `
    readinessProbe:
      exec: {command: ["test", "-f", "/tmp/ready"]}
      periodSeconds: 1
      failureThreshold: 1
`)
	e.waitRunning("ready-file", 60*time.Second)
	unready := func(p *corev1.Pod) bool {
		return isRunning(p, "app") && !isReady(p, "app") && podCondition(p, corev1.PodReady) == corev1.ConditionFalse &&
			podCondition(p, corev1.ContainersReady) == corev1.ConditionFalse && restarts(p, "app") == 0
	}
	ready := func(p *corev1.Pod) bool {
		return isReady(p, "app") && podCondition(p, corev1.PodReady) == corev1.ConditionTrue &&
			podCondition(p, corev1.ContainersReady) == corev1.ConditionTrue && restarts(p, "app") == 0
	}
	e.holds("ready-file", 3*time.Second, "unready without /tmp/ready", unready)
	e.waitReadyColumn("ready-file", "0/1", 5*time.Second)

	e.execIn("ready-file", "app", "touch", "/tmp/ready")
	start := time.Now()
	e.waitForPod("ready-file", 10*time.Second, "ready after touch", ready)
	t.Logf("touch -> ready in %s (period 1)", time.Since(start).Round(time.Millisecond))
	e.waitReadyColumn("ready-file", "1/1", 5*time.Second)

	e.execIn("ready-file", "app", "rm", "/tmp/ready")
	start = time.Now()
	e.waitForPod("ready-file", 10*time.Second, "unready after rm", unready)
	t.Logf("rm -> unready in %s (period 1, failureThreshold 1)", time.Since(start).Round(time.Millisecond))
	e.waitReadyColumn("ready-file", "0/1", 5*time.Second)
	e.holds("ready-file", 2*time.Second, "unready and not restarted", unready)
}

// Scenario 10, R46 R48 (tcpSocket): a liveness tcpSocket probe on a closed
// port restarts the container; against a listening nc it stays healthy.
func TestScenario10TCPSocketLivenessR46R48(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.watchPod("tcp-closed")
	// Debian's busybox nc has no -k: -ll with -e keeps listening.
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: tcp-closed}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:latest
    command: ` + politeSleeper + `
    livenessProbe:
      tcpSocket: {port: 9000}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: tcp-open}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: nc
    image: busybox:latest
    command: ["nc", "-ll", "-p", "9000", "-e", "true"]
    livenessProbe:
      tcpSocket: {port: 9000}
      periodSeconds: 1
      failureThreshold: 2
`)
	e.waitRunning("tcp-open", 60*time.Second)
	closed := w.waitFirst(t, 60*time.Second, "tcp-closed app running", func(p *corev1.Pod) bool { return isRunning(p, "app") })
	restarted := w.waitFirst(t, 15*time.Second, "tcp-closed app restarted", func(p *corev1.Pod) bool { return restarts(p, "app") >= 1 })
	t.Logf("closed port: running -> restartCount 1 in %s", restarted.at.Sub(closed.at).Round(time.Millisecond))
	e.waitEvent("tcp-closed", "Unhealthy", "app", "Liveness probe failed", 5*time.Second)

	e.holds("tcp-open", 5*time.Second, "listening nc stays running without restarts", func(p *corev1.Pod) bool {
		return isRunning(p, "nc") && restarts(p, "nc") == 0
	})
	// A lone failed connect on a loaded machine is allowed (failureThreshold 2
	// absorbs it, R45); what the scenario demands is that nothing restarts.
}

// Scenario 11, R43: while the startup probe has not succeeded the failing
// liveness probe does not run (no restart, started false); once /tmp/up
// exists the container is started, liveness runs and restarts it.
func TestScenario11StartupProbeGatesLivenessR43(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: startup}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:latest
    command: ` + politeSleeper + `
    startupProbe:
      exec: {command: ["test", "-f", "/tmp/up"]}
      periodSeconds: 1
      failureThreshold: 30
    livenessProbe:
      exec: {command: ["false"]}
      periodSeconds: 1
      failureThreshold: 1
`)
	e.waitRunning("startup", 60*time.Second)
	e.holds("startup", 4*time.Second, "no restart and not started while startup is pending", func(p *corev1.Pod) bool {
		return isRunning(p, "app") && !isStarted(p, "app") && !isReady(p, "app") && restarts(p, "app") == 0
	})
	evs, err := e.events("startup")
	if err != nil {
		t.Fatal(err)
	}
	if ev := findEvent(evs, "Unhealthy", "app", "Liveness"); ev != nil {
		t.Fatalf("liveness ran while startup was pending: %s", ev.Message)
	}

	e.execIn("startup", "app", "touch", "/tmp/up")
	start := time.Now()
	e.waitRestarts("startup", "app", 1, 15*time.Second)
	took := time.Since(start)
	t.Logf("touch /tmp/up -> liveness restart in %s", took.Round(time.Millisecond))
	if took > 8*time.Second {
		t.Errorf("liveness restart %s after startup succeeded, want <= 8s (startup 1s + liveness 1s + back-off 1s)", took)
	}
	e.waitEvent("startup", "Unhealthy", "app", "Liveness probe failed", 5*time.Second)
}

// Scenario 12, R48 R49: an exec readiness probe `sleep 30` with timeoutSeconds
// 1 counts as a failure within about a second; the pod stays unready; the
// other container's readiness probe keeps working; the hung commands are
// killed at their timeout and do not pile up.
func TestScenario12ExecProbeTimeoutR48R49(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.watchPod("slowprobe")
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: slowprobe}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: slow
    image: busybox:latest
    command: ` + politeSleeper + `
    readinessProbe:
      exec: {command: ["sleep", "30"]}
      timeoutSeconds: 1
      periodSeconds: 2
      failureThreshold: 1
  - name: quick
    image: busybox:latest
    command: ` + politeSleeper + `
    readinessProbe:
      exec: {command: ["true"]}
      periodSeconds: 1
`)
	running := w.waitFirst(t, 60*time.Second, "slow running", func(p *corev1.Pod) bool { return isRunning(p, "slow") })
	// The kubelet records Unhealthy for every failed run, readiness included.
	if ev := e.eventWithin("slowprobe", "Unhealthy", "slow", "Readiness probe failed", 5*time.Second); ev == nil {
		t.Errorf("no Unhealthy \"Readiness probe failed\" event for the timed-out exec probe within 5s of running")
	} else {
		lag := eventTime(ev).Sub(running.at)
		t.Logf("slow running -> Unhealthy %q after %s", ev.Message, lag.Round(time.Millisecond))
		if lag > 4*time.Second {
			t.Errorf("timed-out probe recorded %s after the container ran, want <= 4s (timeout 1s)", lag)
		}
	}

	quick := w.waitFirst(t, 10*time.Second, "quick ready", func(p *corev1.Pod) bool { return isReady(p, "quick") })
	t.Logf("quick ready %s after slow ran", quick.at.Sub(running.at).Round(time.Millisecond))
	e.holds("slowprobe", 6*time.Second, "slow unready, quick ready, pod not Ready, no restarts", func(p *corev1.Pod) bool {
		return !isReady(p, "slow") && isReady(p, "quick") && podCondition(p, corev1.PodReady) == corev1.ConditionFalse &&
			restarts(p, "slow") == 0 && restarts(p, "quick") == 0
	})
	e.waitReadyColumn("slowprobe", "1/2", 5*time.Second)

	// After ≥ 6 s at period 2 without the timeout kill, three or more would live.
	ps := e.execIn("slowprobe", "slow", "ps")
	if n := strings.Count(ps, "sleep 30"); n > 2 {
		t.Errorf("%d probe commands `sleep 30` alive, want <= 2 (killed at timeoutSeconds):\n%s", n, ps)
	}
}

// Scenario 13, R48 (grpc): a readiness grpc probe against testdata/grpchealth
// is ready while the server says SERVING and unready on NOT_SERVING.
func TestScenario13GRPCReadinessR48(t *testing.T) {
	t.Parallel()
	bin := buildGRPCHealth(t)
	e := newEnv(t)
	e.apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: grpc}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: probe
    hostPath: {path: %s, type: Directory}
  containers:
  - name: health
    image: busybox:latest
    command: ["sh", "-c", "touch /tmp/serving; exec /probe/grpchealth -port 9090 -file /tmp/serving"]
    volumeMounts: [{name: probe, mountPath: /probe, readOnly: true}]
    readinessProbe:
      grpc: {port: 9090}
      periodSeconds: 1
      failureThreshold: 1
`, bin))
	e.waitRunning("grpc", 60*time.Second)
	e.waitForPod("grpc", 15*time.Second, "ready while SERVING", func(p *corev1.Pod) bool {
		return isReady(p, "health") && podCondition(p, corev1.PodReady) == corev1.ConditionTrue
	})

	e.execIn("grpc", "health", "rm", "/tmp/serving")
	start := time.Now()
	e.waitForPod("grpc", 10*time.Second, "unready on NOT_SERVING", func(p *corev1.Pod) bool {
		return !isReady(p, "health") && podCondition(p, corev1.PodReady) == corev1.ConditionFalse
	})
	t.Logf("rm -> unready in %s", time.Since(start).Round(time.Millisecond))
	e.waitEvent("grpc", "Unhealthy", "health", "Readiness probe failed", 5*time.Second)

	e.execIn("grpc", "health", "touch", "/tmp/serving")
	e.waitForPod("grpc", 10*time.Second, "ready again on SERVING", func(p *corev1.Pod) bool { return isReady(p, "health") })
	if n := restarts(e.waitRunning("grpc", 5*time.Second), "health"); n != 0 {
		t.Errorf("restartCount %d, want 0 (readiness never restarts)", n)
	}
}

// Scenario 23, R46 R44: a liveness kill uses the probe's own
// terminationGracePeriodSeconds (1) instead of the pod's (30): a TERM-ignoring
// app is killed (137) about a second after the failure, not thirty.
func TestScenario23ProbeGracePeriodR46(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.watchPod("probegrace")
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: probegrace}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: busybox:latest
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]
    livenessProbe:
      exec: {command: ["false"]}
      periodSeconds: 1
      failureThreshold: 1
      terminationGracePeriodSeconds: 1
`)
	running := w.waitFirst(t, 60*time.Second, "app running", func(p *corev1.Pod) bool { return isRunning(p, "app") })
	killed := w.waitFirst(t, 15*time.Second, "app terminated by the liveness kill", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "app")
		return cs != nil && (cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil)
	})
	ev := e.waitEvent("probegrace", "Unhealthy", "app", "Liveness probe failed", 5*time.Second)
	kill := killed.at.Sub(eventTime(ev))
	t.Logf("running -> Unhealthy %s; Unhealthy -> terminated %s (probe grace 1s, pod grace 30s)",
		eventTime(ev).Sub(running.at).Round(time.Millisecond), kill.Round(time.Millisecond))
	if kill < 700*time.Millisecond || kill > 5*time.Second {
		t.Errorf("liveness kill took %s after the failure, want about 1s (between 0.7s and 5s)", kill)
	}
	cs := containerStatus(killed.pod, "app")
	term := cs.State.Terminated
	if term == nil {
		term = cs.LastTerminationState.Terminated
	}
	if term.ExitCode != 137 {
		t.Errorf("exit code %d after the kill of a TERM-ignoring app, want 137", term.ExitCode)
	}
	e.waitRestarts("probegrace", "app", 1, 10*time.Second)
}
