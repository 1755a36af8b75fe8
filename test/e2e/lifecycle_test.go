package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// hostDir returns a directory the test's pods can mount with hostPath; it is
// removed with the test.
func hostDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/tmp", "pdh")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o777)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// readFloats reads a file of whitespace-separated numbers (uptime stamps).
func readFloats(t *testing.T, path string) []float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, f := range strings.Fields(string(data)) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatalf("%s: %q is not a number", path, f)
		}
		out = append(out, v)
	}
	return out
}

// statusColumn is the STATUS column of `podctl get pods NAME`.
func (e *env) statusColumn(name string) string {
	out, err := e.podctlErr("get", "pods", name, "--no-headers")
	if err != nil {
		out, err = e.podctlErr("get", "pods", name)
		if err != nil {
			return ""
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		out = lines[len(lines)-1]
	}
	f := strings.Fields(out)
	if len(f) < 3 {
		return ""
	}
	return f[2]
}

// uptime is a shell snippet printing the host's uptime in seconds (the
// same clock in every container: /proc/uptime is not namespaced).
const uptime = `read up rest < /proc/uptime; echo $up`

// R30, scenarios 1 and 2: init containers run one at a time, in order, each
// to success; then both app containers start together.
func TestR30_InitInOrderThenAppsInParallel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := hostDir(t)
	e.apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: seq}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - {name: shared, emptyDir: {}}
  - {name: out, hostPath: {path: %s, type: Directory}}
  initContainers:
  - name: one
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; echo -n '1 ' >> /shared/seq; %s > /out/init1-end"]
    volumeMounts: [{name: shared, mountPath: /shared}, {name: out, mountPath: /out}]
  - name: two
    image: busybox:latest
    command: ["sh", "-c", "%s > /out/init2-start; sleep 1; echo -n '2' >> /shared/seq; %s > /out/init2-end"]
    volumeMounts: [{name: shared, mountPath: /shared}, {name: out, mountPath: /out}]
  containers:
  - name: a
    image: busybox:latest
    command: ["sh", "-c", "%s > /out/a-start; cat /shared/seq; echo; trap 'exit 0' TERM; sleep 1000 & wait"]
    volumeMounts: [{name: shared, mountPath: /shared}, {name: out, mountPath: /out}]
  - name: b
    image: busybox:latest
    command: ["sh", "-c", "%s > /out/b-start; trap 'exit 0' TERM; sleep 1000 & wait"]
    volumeMounts: [{name: out, mountPath: /out}]
`, d, uptime, uptime, uptime, uptime, uptime))
	seen := map[string]bool{}
	testutil.WaitFor(t, 60*time.Second, "pod seq running", func() (bool, error) {
		st := e.statusColumn("seq")
		seen[st] = true
		return st == "Running", nil
	})
	if !seen["Init:0/2"] || !seen["Init:1/2"] {
		t.Errorf("STATUS values seen %v, want Init:0/2 and Init:1/2 among them (R71)", seen)
	}
	testutil.WaitFor(t, 10*time.Second, "app output", func() (bool, error) {
		out, err := e.podctlErr("logs", "seq", "-c", "a")
		return strings.TrimSpace(out) == "1 2", fmt.Errorf("log %q: %v", out, err)
	})
	i1, i2s := readFloats(t, filepath.Join(d, "init1-end"))[0], readFloats(t, filepath.Join(d, "init2-start"))[0]
	i2 := readFloats(t, filepath.Join(d, "init2-end"))[0]
	a, b := readFloats(t, filepath.Join(d, "a-start"))[0], readFloats(t, filepath.Join(d, "b-start"))[0]
	if i2s < i1 {
		t.Errorf("init two started at %.2f before init one ended at %.2f", i2s, i1)
	}
	if a < i2 || b < i2 {
		t.Errorf("apps started at %.2f/%.2f before init two ended at %.2f", a, b, i2)
	}
	gap := a - b
	if gap < 0 {
		gap = -gap
	}
	if gap >= 0.5 {
		t.Errorf("apps started %.2fs apart, want < 0.5s (parallel)", gap)
	}
	t.Logf("init1 end %.2f, init2 %.2f..%.2f, apps %.2f/%.2f (gap %.2fs)", i1, i2s, i2, a, b, gap)
}

// R10, R31, scenario 3: a failing init container under Never fails the pod;
// the app never starts.
func TestR10_InitFailureWithNeverFailsPod(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: initfail}
spec:
  restartPolicy: Never
  initContainers:
  - {name: boom, image: busybox:latest, command: ["sh", "-c", "exit 3"]}
  containers:
  - {name: app, image: busybox:latest, command: ["sleep", "100"]}
`)
	p := e.waitForPhase("initfail", corev1.PodFailed, 30*time.Second)
	if st := e.statusColumn("initfail"); st != "Init:Error" {
		t.Errorf("STATUS %q, want Init:Error (R71)", st)
	}
	if cs := containerStatus(p, "app"); cs == nil || cs.State.Running != nil || cs.State.Terminated != nil || cs.RestartCount != 0 {
		t.Errorf("app status %+v, want never started", cs)
	}
	if ics := p.Status.InitContainerStatuses; len(ics) != 1 || ics[0].State.Terminated == nil || ics[0].State.Terminated.ExitCode != 3 {
		t.Errorf("init status %+v, want terminated with 3", ics)
	}
}

// R31, R41, scenario 4: a failing init container under Always is retried with
// back-off until it succeeds; its restartCount counts the retries.
func TestR31_InitRetriedUntilSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: initretry}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: s, emptyDir: {}}]
  initContainers:
  - name: flaky
    image: busybox:latest
    command: ["sh", "-c", "echo x >> /s/tries; test $(wc -l < /s/tries) -ge 3"]
    volumeMounts: [{name: s, mountPath: /s}]
  containers:
  - {name: app, image: busybox:latest, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]}
`)
	seen := map[string]bool{}
	var p *corev1.Pod
	testutil.WaitFor(t, 40*time.Second, "initretry running", func() (bool, error) {
		seen[e.statusColumn("initretry")] = true
		var err error
		p, err = e.pod("initretry")
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	if rc := p.Status.InitContainerStatuses[0].RestartCount; rc != 2 {
		t.Errorf("init restartCount %d, want 2 (R24)", rc)
	}
	if !seen["Init:Error"] && !seen["Init:CrashLoopBackOff"] {
		t.Errorf("STATUS values seen %v, want Init:Error or Init:CrashLoopBackOff while retrying", seen)
	}
}

// R40, R13, scenarios 5 and 6: the restart decision per restartPolicy on exit
// 0 and exit 1.
func TestR40_RestartPolicies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var docs []string
	for _, policy := range []string{"Always", "OnFailure", "Never"} {
		for _, code := range []int{0, 1} {
			docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s-%d}
spec:
  restartPolicy: %s
  containers:
  - {name: c, image: busybox:latest, command: ["sh", "-c", "sleep 0.3; exit %d"]}
`, strings.ToLower(policy), code, policy, code))
		}
	}
	e.apply(strings.Join(docs, "---\n"))
	restarted := func(p *corev1.Pod) bool {
		cs := containerStatus(p, "c")
		return cs != nil && cs.RestartCount >= 1 && p.Status.Phase == corev1.PodRunning
	}
	phase := func(ph corev1.PodPhase) func(*corev1.Pod) bool {
		return func(p *corev1.Pod) bool { return p.Status.Phase == ph }
	}
	for _, tc := range []struct {
		pod  string
		what string
		cond func(*corev1.Pod) bool
	}{
		{"always-0", "restarted", restarted},
		{"always-1", "restarted", restarted},
		{"onfailure-0", "Succeeded", phase(corev1.PodSucceeded)},
		{"onfailure-1", "restarted", restarted},
		{"never-0", "Succeeded", phase(corev1.PodSucceeded)},
		{"never-1", "Failed", phase(corev1.PodFailed)},
	} {
		p := e.waitForPod(tc.pod, 30*time.Second, tc.what, tc.cond)
		if tc.what != "restarted" {
			if rc := containerStatus(p, "c").RestartCount; rc != 0 {
				t.Errorf("%s: restartCount %d, want 0", tc.pod, rc)
			}
		}
	}
	// Finished pods must stay finished (R14), past the 1 s restart back-off.
	e.holds("never-1", 1500*time.Millisecond, "not restarted", func(p *corev1.Pod) bool {
		return containerStatus(p, "c").RestartCount == 0
	})
	for _, n := range []string{"onfailure-0", "never-0", "never-1"} {
		p, err := e.pod(n)
		if err != nil || containerStatus(p, "c").RestartCount != 0 {
			t.Errorf("%s restarted after it finished: %v", n, err)
		}
	}
	if st := e.statusColumn("never-1"); st != "Error" {
		t.Errorf("never-1 STATUS %q, want Error", st)
	}
	if st := e.statusColumn("never-0"); st != "Completed" {
		t.Errorf("never-0 STATUS %q, want Completed", st)
	}
}

// R41, scenario 7: crash-loop back-off doubles (base 1s in tests: 1, 2, 4 s)
// and STATUS shows CrashLoopBackOff between the starts.
func TestR41_CrashLoopBackoffGrows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := hostDir(t)
	e.apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  volumes: [{name: out, hostPath: {path: %s, type: Directory}}]
  containers:
  - name: c
    image: busybox:latest
    command: ["sh", "-c", "%s >> /out/starts; exit 1"]
    volumeMounts: [{name: out, mountPath: /out}]
`, d, uptime))
	seen := map[string]bool{}
	testutil.WaitFor(t, 30*time.Second, "four starts", func() (bool, error) {
		seen[e.statusColumn("crash")] = true
		data, _ := os.ReadFile(filepath.Join(d, "starts"))
		return len(strings.Fields(string(data))) >= 4, nil
	})
	starts := readFloats(t, filepath.Join(d, "starts"))
	var gaps []float64
	for i := 1; i < 4; i++ {
		gaps = append(gaps, starts[i]-starts[i-1])
	}
	t.Logf("gaps between starts: %.2f", gaps)
	for i, want := range []float64{1, 2, 4} {
		if gaps[i] < want-0.2 || gaps[i] > want+1.5 {
			t.Errorf("gap %d = %.2fs, want ≈ %.0fs", i+1, gaps[i], want)
		}
	}
	if !seen["CrashLoopBackOff"] {
		t.Errorf("STATUS values seen %v, want CrashLoopBackOff", seen)
	}
	p, _ := e.pod("crash")
	if cs := containerStatus(p, "c"); cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 {
		t.Errorf("lastState %+v, want terminated with 1 (R24)", cs.LastTerminationState)
	}
	// One log file per restart: --previous reads the run before the current.
	if out, err := e.podctlErr("logs", "crash", "--previous"); err != nil {
		t.Errorf("logs --previous: %v %q", err, out)
	}
}

// R55, scenario 22: activeDeadlineSeconds fails the pod with DeadlineExceeded.
func TestR55_ActiveDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := time.Now()
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: deadline}
spec:
  activeDeadlineSeconds: 2
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox:latest, command: ["sleep", "100"]}
`)
	p := e.waitForPhase("deadline", corev1.PodFailed, 20*time.Second)
	took := time.Since(start)
	if p.Status.Reason != "DeadlineExceeded" || !strings.Contains(p.Status.Message, "deadline") {
		t.Errorf("reason %q message %q, want DeadlineExceeded", p.Status.Reason, p.Status.Message)
	}
	if took < 2*time.Second || took > 8*time.Second {
		t.Errorf("failed after %s, want ≈ 2s (+ grace 1s)", took)
	}
	if st := e.statusColumn("deadline"); st != "DeadlineExceeded" {
		t.Errorf("STATUS %q, want DeadlineExceeded (R71)", st)
	}
}

// R34, R35, R15, scenarios 20 and 21: a sidecar starts before the next init
// container (started = its startup probe passed: without one the next init
// container may run before httpd listens), serves beside the app, and is stopped after the app; in a
// job-like pod it is stopped when the app is done and the pod Succeeds.
func TestR34_SidecarServesAndStopsAfterApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := hostDir(t)
	e.apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: side}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  volumes: [{name: out, hostPath: {path: %s, type: Directory}}]
  initContainers:
  - name: web
    image: busybox:latest
    restartPolicy: Always
    command: ["sh", "-c", "mkdir -p /w; echo sidecar-page > /w/index.html; trap '%s > /out/side-stop; exit 0' TERM; httpd -f -p 8081 -h /w & wait"]
    volumeMounts: [{name: out, mountPath: /out}]
    startupProbe: {tcpSocket: {port: 8081}, periodSeconds: 1}
  - name: fetch
    image: busybox:latest
    command: ["sh", "-c", "wget -qO- http://127.0.0.1:8081/"]
  containers:
  - name: job
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; wget -qO- http://127.0.0.1:8081/ > /out/job-saw; %s > /out/job-end"]
    volumeMounts: [{name: out, mountPath: /out}]
`, d, uptime, uptime))
	p := e.waitForPhase("side", corev1.PodSucceeded, 40*time.Second)
	if out := e.podctl("logs", "side", "-c", "fetch"); !strings.Contains(out, "sidecar-page") {
		t.Errorf("init container after the sidecar fetched %q (R34: sidecar started first)", out)
	}
	if saw, _ := os.ReadFile(filepath.Join(d, "job-saw")); !strings.Contains(string(saw), "sidecar-page") {
		t.Errorf("app saw %q from the sidecar", saw)
	}
	testutil.WaitFor(t, 10*time.Second, "sidecar stopped", func() (bool, error) {
		_, err := os.Stat(filepath.Join(d, "side-stop"))
		return err == nil, err
	})
	if stop, end := readFloats(t, filepath.Join(d, "side-stop"))[0], readFloats(t, filepath.Join(d, "job-end"))[0]; stop < end {
		t.Errorf("sidecar stopped at %.2f before the app ended at %.2f (R35)", stop, end)
	}
	_ = p
}

// R22: an executable that does not exist terminates with 128
// ContainerCannotRun; a container over its memory limit is OOMKilled (the
// cgroup's OOM-kill counter, read by the shim at exit).
func TestR22_TerminationReasons(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: cannotrun}
spec:
  restartPolicy: Never
  containers:
  - {name: c, image: busybox:latest, command: ["/no/such/binary"]}
---
apiVersion: v1
kind: Pod
metadata: {name: oom}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:latest
    command: ["sh", "-c", "head -c 200m /dev/zero | tail"]
    resources:
      limits: {memory: 20Mi}
`)
	p := e.waitForPhase("cannotrun", corev1.PodFailed, 30*time.Second)
	if term := containerStatus(p, "c").State.Terminated; term == nil || term.ExitCode != 128 || term.Reason != "ContainerCannotRun" {
		t.Errorf("cannotrun: %+v, want 128 ContainerCannotRun", containerStatus(p, "c").State)
	}
	p = e.waitForPhase("oom", corev1.PodFailed, 60*time.Second)
	if term := containerStatus(p, "c").State.Terminated; term == nil || term.Reason != "OOMKilled" {
		t.Errorf("oom: %+v, want OOMKilled", containerStatus(p, "c").State)
	}
}
