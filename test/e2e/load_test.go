package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// loadPods is how many pods the burst applies at once (issue 7 item 6;
// issue 13 asks for 200, with no restart and nothing left after delete).
const loadPods = 200

// loadDeadline bounds each wait of the burst test; generous because the
// test host is small and may be shared (on 2 cores under a load average of
// 150 from other work, all Running took 6 min; on a 2-core host alone it
// takes a fraction of that).
const loadDeadline = 10 * time.Minute

// sleeperPods is a multi-document manifest of n tiny one-container pods.
func sleeperPods(prefix string, n int) string {
	var docs []string
	for i := 0; i < n; i++ {
		docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s%d
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox:latest
    command: ["sleep", "100000"]
`, prefix, i))
	}
	return strings.Join(docs, "---\n")
}

// sandboxIdentity names a pod's sandbox instance and its container instance:
// a new sandbox has a new shim process, and usually a new IP; a restarted
// container has a new container id and start time.
type sandboxIdentity struct {
	IP, ShimPid, ContainerID, StartedAt string
	Restarts                            int32
}

func (e *env) identity(p *corev1.Pod) sandboxIdentity {
	id := sandboxIdentity{IP: p.Status.PodIP}
	if pid, err := os.ReadFile(filepath.Join(e.runRoot, "pods", string(p.UID), "shim.pid")); err == nil {
		id.ShimPid = strings.TrimSpace(string(pid))
	}
	if cs := containerStatus(p, "c"); cs != nil {
		id.ContainerID, id.Restarts = cs.ContainerID, cs.RestartCount
		if cs.State.Running != nil {
			id.StartedAt = cs.State.Running.StartedAt.UTC().Format(time.RFC3339)
		}
	}
	return id
}

// listPods returns every pod the daemon knows, by name, page by page.
func (e *env) listPods() (map[string]*corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]*corev1.Pod{}
	req := &poddv1.ListPodsRequest{}
	for {
		resp, err := e.client.ListPods(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, raw := range resp.Pods {
			p := &corev1.Pod{}
			if err := json.Unmarshal(raw.Json, p); err != nil {
				return nil, err
			}
			out[p.Name] = p
		}
		if resp.Continue == "" {
			return out, nil
		}
		req.Continue = resp.Continue
	}
}

// daemonAlive fails the test if the daemon process has exited.
func (e *env) daemonAlive(t *testing.T) {
	t.Helper()
	pid := e.cmd.Process.Pid
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("podd (pid %d) exited: %v\n%s", pid, err, tail(e.logBuf.String(), 40))
	}
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
		t.Fatalf("podd (pid %d) exited\n%s", pid, tail(e.logBuf.String(), 40))
	}
}

// daemonRSS is the daemon's resident set, from /proc/<pid>/status.
func (e *env) daemonRSS() string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.cmd.Process.Pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// waitAllRunning polls the pod list until the n pods of prefix all run
// their container, checking the daemon stays up and nothing restarts. It
// returns the pods' identities.
func (e *env) waitAllRunning(t *testing.T, prefix string, n int) map[string]sandboxIdentity {
	t.Helper()
	deadline := time.Now().Add(loadDeadline)
	for {
		e.daemonAlive(t)
		pods, err := e.listPods()
		running, why := 0, ""
		for i := 0; err == nil && i < n; i++ {
			name := fmt.Sprintf("%s%d", prefix, i)
			p, ok := pods[name]
			if !ok {
				t.Fatalf("pod %s is missing from the list", name)
			}
			if cs := containerStatus(p, "c"); cs != nil && cs.RestartCount > 0 {
				t.Fatalf("pod %s restarted its container under load: %s", name, describeStates(p))
			}
			if p.Status.Phase == corev1.PodRunning && describeStates(p) == "c=running " {
				running++
			} else if why == "" {
				why = fmt.Sprintf("%s: phase %s %s", name, p.Status.Phase, describeStates(p))
			}
		}
		if err == nil && running == n {
			ids := map[string]sandboxIdentity{}
			for i := 0; i < n; i++ {
				name := fmt.Sprintf("%s%d", prefix, i)
				ids[name] = e.identity(pods[name])
			}
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d of %d pods running (list error %v; first waiting %s)", loadDeadline, running, n, err, why)
		}
		time.Sleep(time.Second)
	}
}

// sameSandboxes fails the test for every pod whose sandbox or container
// changed.
func sameSandboxes(t *testing.T, what string, before, after map[string]sandboxIdentity) {
	t.Helper()
	changed := 0
	for name, b := range before {
		if a := after[name]; a != b {
			changed++
			t.Errorf("%s: pod %s changed: %+v -> %+v", what, name, b, a)
		}
	}
	if changed > 0 {
		t.Fatalf("%s: %d of %d sandboxes changed", what, changed, len(before))
	}
}

// Issue 7 item 6 and issue 13: a burst of 200 pods on a small host reaches
// Running without a restart or a crash, a daemon killed with every pod
// running comes back without touching any of them, and deleting them all
// leaves nothing on the host while the daemon still runs (the census; the
// env's cleanup takes it again after the daemon stops).
func TestBurstOfPodsAndKill9KeepEverySandbox(t *testing.T) {
	e := newEnv(t)
	e.logBuf.Reset()

	start := time.Now()
	e.apply(sleeperPods("load", loadPods))
	applied := time.Since(start)
	ids := e.waitAllRunning(t, "load", loadPods)
	t.Logf("%d pods: apply returned in %s, all Running in %s, daemon VmRSS %s",
		loadPods, applied.Round(time.Millisecond), time.Since(start).Round(time.Second), e.daemonRSS())
	out := e.podctl("get", "pods", "-o", "json")
	if strings.Count(out, `"phase": "Running"`) < loadPods {
		t.Fatalf("podctl get pods -o json shows fewer than %d running pods", loadPods)
	}
	// The daemon sets status.qosClass (issue 8 item 7); these pods set no
	// requests or limits.
	if n := strings.Count(out, `"qosClass": "BestEffort"`); n < loadPods {
		t.Errorf("podctl get pods -o json: %d pods with qosClass BestEffort, want %d", n, loadPods)
	}
	for name, id := range ids {
		if id.ShimPid == "" || id.IP == "" || id.ContainerID == "" {
			t.Fatalf("pod %s has no full identity: %+v", name, id)
		}
	}
	for _, bad := range []string{"Sandbox lost", "panic"} {
		if strings.Contains(e.logBuf.String(), bad) {
			t.Fatalf("the daemon logged %q under load:\n%s", bad, tail(e.logBuf.String(), 40))
		}
	}
	t.Logf("warnings of a shim not answering (sandbox kept, retried): %d", strings.Count(e.logBuf.String(), "does not answer"))

	e.killDaemon()
	e.logBuf.Reset()
	restarted := time.Now()
	e.restartDaemon()
	m := e.waitLog(reconcileRE, loadDeadline)
	t.Logf("after kill -9: reconciled %s pods in %s (log), READY after %s", m[1], m[2], time.Since(restarted).Round(time.Millisecond))
	after := e.waitAllRunning(t, "load", loadPods)
	sameSandboxes(t, "after kill -9 and restart", ids, after)
	t.Logf("after restart: daemon VmRSS %s", e.daemonRSS())
	for _, bad := range []string{"Sandbox lost", "panic"} {
		if strings.Contains(e.logBuf.String(), bad) {
			t.Errorf("the restarted daemon logged %q", bad)
		}
	}

	delStart := time.Now()
	zero := int64(0)
	for name := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := e.client.DeletePod(ctx, &poddv1.DeletePodRequest{Namespace: "default", Name: name, GracePeriodSeconds: &zero})
		cancel()
		if err != nil {
			t.Fatalf("delete pod %s: %v", name, err)
		}
	}
	deadline := time.Now().Add(loadDeadline)
	for {
		e.daemonAlive(t)
		pods, err := e.listPods()
		if err == nil && len(pods) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d pods still listed (list error %v)", loadDeadline, len(pods), err)
		}
		time.Sleep(time.Second)
	}
	t.Logf("deleted %d pods in %s", loadPods, time.Since(delStart).Round(time.Second))
	testutil.WaitFor(t, 30*time.Second, "nothing left of the deleted pods", func() (bool, error) {
		c := e.census(t)
		return c.empty(), fmt.Errorf("census %+v", c)
	})
}

// Issue 7 item 6, the other side: evidence does lose a sandbox. A pod whose
// shim is killed gets a new sandbox (a new shim) and runs again.
func TestKilledShimLosesSandbox(t *testing.T) {
	e := newEnv(t)
	e.apply(sleeperPods("lost", 1))
	p := e.waitRunning("lost0", 90*time.Second)
	before := e.identity(p)
	pid, err := strconv.Atoi(before.ShimPid)
	if err != nil {
		t.Fatalf("shim pid of lost0: %q", before.ShimPid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitForPod("lost0", 120*time.Second, "a new sandbox, running", func(p *corev1.Pod) bool {
		id := e.identity(p)
		return id.ShimPid != "" && id.ShimPid != before.ShimPid && p.Status.Phase == corev1.PodRunning &&
			describeStates(p) == "c=running "
	})
	e.daemonAlive(t)
	if !strings.Contains(e.logBuf.String(), "Sandbox lost") {
		t.Errorf("the daemon did not log the lost sandbox")
	}
}

// Issue 13, an overloaded host meeting a crash: the daemon is killed while
// a burst of pods is half-way to Running (sandboxes and containers in
// every step of their creation), and again while all of them are being
// deleted. After each restart the burst reaches Running and the delete
// completes, and nothing of any pod is left on the host (the census: netns
// pins, mounts, cgroups, addresses, veths, shims, NAT chains).
func TestKill9MidBurstAndMidMassDelete(t *testing.T) {
	const n = 80
	e := newEnv(t)
	e.apply(sleeperPods("mid", n))
	e.killWhen(t, "a third of the burst Running", func(pods map[string]*corev1.Pod) bool {
		running := 0
		for _, p := range pods {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running >= n/3
	})
	e.restartDaemon()
	e.waitAllRunning(t, "mid", n)

	zero := int64(0)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("mid%d", i)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := e.client.DeletePod(ctx, &poddv1.DeletePodRequest{Namespace: "default", Name: name, GracePeriodSeconds: &zero})
		cancel()
		if err != nil {
			t.Fatalf("delete pod %s: %v", name, err)
		}
	}
	e.killWhen(t, "a quarter of the pods deleted", func(pods map[string]*corev1.Pod) bool { return len(pods) <= n-n/4 })
	e.restartDaemon()
	testutil.WaitFor(t, loadDeadline, "every pod deleted after the restart", func() (bool, error) {
		e.daemonAlive(t)
		pods, err := e.listPods()
		return err == nil && len(pods) == 0, fmt.Errorf("%d pods listed (list error %v)", len(pods), err)
	})
	testutil.WaitFor(t, 30*time.Second, "nothing left of the deleted pods", func() (bool, error) {
		c := e.census(t)
		return c.empty(), fmt.Errorf("census %+v", c)
	})
}

// killWhen kills the daemon (SIGKILL) as soon as its pod list meets cond.
func (e *env) killWhen(t *testing.T, what string, cond func(map[string]*corev1.Pod) bool) {
	t.Helper()
	testutil.WaitFor(t, loadDeadline, what, func() (bool, error) {
		e.daemonAlive(t)
		pods, err := e.listPods()
		return err == nil && cond(pods), fmt.Errorf("%d pods listed (list error %v)", len(pods), err)
	})
	e.killDaemon()
}
