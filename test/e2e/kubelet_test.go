package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// criContainer is what the kubelet test reads of `crictl ps -a -o json`.
type criContainer struct {
	ID           string `json:"id"`
	PodSandboxID string `json:"podSandboxId"`
	Metadata     struct {
		Name    string `json:"name"`
		Attempt uint32 `json:"attempt"`
	} `json:"metadata"`
	State     string            `json:"state"`
	CreatedAt string            `json:"createdAt"`
	Labels    map[string]string `json:"labels"`
}

func (c criContainer) created(t testing.TB) time.Time {
	ns, err := strconv.ParseInt(c.CreatedAt, 10, 64)
	if err != nil {
		t.Fatalf("container %s createdAt %q: %v", c.ID, c.CreatedAt, err)
	}
	return time.Unix(0, ns)
}

// criContainers lists the CRI containers named name (every one when
// empty), in every state.
func (e *env) criContainers(name string) []criContainer {
	e.t.Helper()
	args := []string{"ps", "-a", "-o", "json"}
	if name != "" {
		args = append(args, "--name", "^"+name+"$")
	}
	var resp struct {
		Containers []criContainer `json:"containers"`
	}
	out := e.crictl(args...)
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		e.t.Fatalf("crictl ps: %v\n%s", err, out)
	}
	return resp.Containers
}

// sandboxOf returns the ID and state of the CRI sandbox of static pod name,
// "" when there is none.
func (e *env) sandboxOf(name string) (id, state string) {
	e.t.Helper()
	var resp struct {
		Items []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"items"`
	}
	out := e.crictl("pods", "-o", "json", "--label", "io.kubernetes.pod.name="+name+"-"+kubeletNode)
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		e.t.Fatalf("crictl pods: %v\n%s", err, out)
	}
	for _, it := range resp.Items {
		// The newest first; a NotReady one may be an old attempt.
		if it.State == "SANDBOX_READY" || id == "" {
			id, state = it.ID, it.State
		}
	}
	return id, state
}

// waitRunningInCRI waits until crictl shows container name Running and
// returns when it first saw it.
func (e *env) waitRunningInCRI(name string, timeout time.Duration) time.Time {
	e.t.Helper()
	testutil.WaitFor(e.t, timeout, "crictl: container "+name+" running", func() (bool, error) {
		for _, c := range e.criContainers(name) {
			if c.State == "CONTAINER_RUNNING" {
				return true, nil
			}
		}
		return false, nil
	})
	return time.Now()
}

// The reference pod of ../shared/conformance/kubelet (its figures were
// measured with containerd): a busybox sleeping, an exec readiness probe.
const kubeletProbePod = `apiVersion: v1
kind: Pod
metadata: {name: bb, namespace: default}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: bb
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    readinessProbe:
      exec: {command: ["cat", "/etc/passwd"]}
      periodSeconds: 2
`

// kubeletWebPod: an init container writes the page into an emptyDir;
// httpd serves it, an httpGet probe makes the pod ready, and a preStop
// hook leaves a mark in a hostPath directory. The image is pulled from a
// registry on 127.0.0.1 on every start (imagePullPolicy Always).
func kubeletWebPod(image, outDir string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 5
  volumes:
  - {name: www, emptyDir: {}}
  - {name: out, hostPath: {path: %[2]s, type: Directory}}
  initContainers:
  - name: init
    image: %[1]s
    imagePullPolicy: Always
    command: ["sh", "-c", "echo hello from $(hostname) > /www/index.html"]
    volumeMounts: [{name: www, mountPath: /www}]
  containers:
  - name: web
    image: %[1]s
    imagePullPolicy: Always
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: [{containerPort: 8080}]
    volumeMounts: [{name: www, mountPath: /www}, {name: out, mountPath: /out}]
    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo prestop of $(hostname) > /out/prestop"]}
`, image, outDir)
}

// kubeletCrashPod: a container that exits 1 under restartPolicy Always.
const kubeletCrashPod = `apiVersion: v1
kind: Pod
metadata: {name: crash, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Always
  containers:
  - name: crash
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo crashing; echo bye > /dev/termination-log; exit 1"]
`

// Issue 9, kubelet slice: an upstream kubelet (make kubelet-e2e builds
// v1.37.2) runs standalone on podd's CRI socket. It brings a web pod (init
// container, httpGet readiness, preStop hook) to running and ready,
// restarts a crashing container with growing back-off, and when the
// manifests are removed it tears everything down through podd, which
// leaves nothing on the host.
func TestKubeletRunsStaticPodsOnPodd(t *testing.T) {
	bin := kubeletBinary(t)
	t.Parallel()
	e := newEnv(t)
	reg := mirrorRegistry(t, "web")
	outDir := filepath.Join(e.dir, "out")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	kStart := time.Now()
	k := startKubelet(t, e, bin)
	t.Logf("kubelet healthy %v after its start", time.Since(kStart).Round(time.Millisecond))

	// The reference pod alone first: its figures compare with containerd's.
	t0 := k.writeManifest("bb", kubeletProbePod)
	bbRunning := e.waitRunningInCRI("bb", 120*time.Second).Sub(t0)
	k.waitPod("bb", 60*time.Second, "Ready", podReady)
	bbReady := time.Since(t0)

	t0 = k.writeManifest("web", kubeletWebPod(reg+"/test/web:v1", outDir))
	k.writeManifest("crash", kubeletCrashPod)
	webRunning := e.waitRunningInCRI("web", 120*time.Second).Sub(t0)
	web := k.waitPod("web", 60*time.Second, "Ready", podReady)
	webReady := time.Since(t0)
	checkWebPod(t, e, web)
	checkCrashBackOff(t, e, k)

	kubeletRSS, poddRSS := rssKB(k.cmd.Process.Pid), rssKB(e.cmd.Process.Pid)
	if t.Failed() {
		return
	}

	// Teardown: every manifest removed at once; the kubelet stops the
	// sandboxes (after the preStop hook and the grace period) and removes
	// them at its next cleanup of dead pods.
	names := []string{"bb", "web", "crash"}
	ids := map[string]string{}
	for _, n := range names {
		ids[n], _ = e.sandboxOf(n)
	}
	var td time.Time
	for _, n := range names {
		td = k.removeManifest(n)
	}
	notReady := map[string]time.Duration{}
	testutil.WaitFor(t, 120*time.Second, "every sandbox stopped", func() (bool, error) {
		for _, n := range names {
			if _, ok := notReady[n]; ok {
				continue
			}
			if _, st := e.sandboxOf(n); st != "SANDBOX_READY" {
				notReady[n] = time.Since(td)
			}
		}
		return len(notReady) == len(names), fmt.Errorf("stopped: %v", notReady)
	})
	testutil.WaitFor(t, 180*time.Second, "crictl pods and ps empty", func() (bool, error) {
		pods := e.crictlPods()
		ctrs := e.criContainers("")
		return len(pods)+len(ctrs) == 0, fmt.Errorf("pods %v, %d containers", pods, len(ctrs))
	})
	removed := time.Since(td)
	if data, err := os.ReadFile(filepath.Join(outDir, "prestop")); err != nil || string(data) != "prestop of web-"+kubeletNode+"\n" {
		t.Errorf("the preStop hook's mark: %q, %v", data, err)
	}
	// The kubelet removes a pod's cgroup once the pod is gone; then only
	// its QoS cgroups are left under its root.
	testutil.WaitFor(t, 60*time.Second, "nothing left of the pods with the kubelet running", func() (bool, error) {
		c := e.census(t)
		c.Cgroups = slices.DeleteFunc(c.Cgroups, func(p string) bool {
			return slices.ContainsFunc(kubeletQoSCgroups, func(q string) bool { return strings.HasSuffix(p, "/"+q) })
		})
		return c.empty(), fmt.Errorf("%+v", c)
	})
	for _, n := range names {
		if st := e.crictlPods("--id", ids[n]); len(st) != 0 {
			t.Errorf("sandbox of %s still listed: %v", n, st)
		}
	}
	t.Logf("figures (ms): bb (exec probe) file→running %d, →ready %d; web (init, pull, httpGet probe) file→running %d, →ready %d; "+
		"delete→sandbox stopped bb %d web %d crash %d; delete→every sandbox removed %d; RSS kubelet %d MiB, podd %d MiB (3 pods)",
		bbRunning.Milliseconds(), bbReady.Milliseconds(), webRunning.Milliseconds(), webReady.Milliseconds(),
		notReady["bb"].Milliseconds(), notReady["web"].Milliseconds(), notReady["crash"].Milliseconds(), removed.Milliseconds(),
		kubeletRSS/1024, poddRSS/1024)
	// The env's cleanup stops podd and takes the census once more, with the
	// kubelet stopped and its QoS cgroups removed.
}

// checkWebPod: the init container ran to completion before the web
// container started, the pod's IP answers with the page it wrote, and CRI
// carries the kubelet's labels back.
func checkWebPod(t *testing.T, e *env, p *corev1.Pod) {
	init := e.criContainers("init")
	if len(init) != 1 || init[0].State != "CONTAINER_EXITED" {
		t.Fatalf("init containers: %+v", init)
	}
	webs := e.criContainers("web")
	if len(webs) != 1 || webs[0].State != "CONTAINER_RUNNING" || webs[0].PodSandboxID != init[0].PodSandboxID {
		t.Fatalf("web containers: %+v (init's sandbox %s)", webs, init[0].PodSandboxID)
	}
	if !webs[0].created(t).After(init[0].created(t)) {
		t.Errorf("web created at %s, before its init container (%s)", webs[0].CreatedAt, init[0].CreatedAt)
	}
	ic := e.inspect(init[0].ID)
	if ic.Status.ExitCode != 0 || ic.Status.Reason != "Completed" {
		t.Errorf("init container: exit %d, reason %q", ic.Status.ExitCode, ic.Status.Reason)
	}
	want := map[string]string{
		"io.kubernetes.pod.name": "web-" + kubeletNode, "io.kubernetes.pod.namespace": "default",
		"io.kubernetes.pod.uid": string(p.UID), "io.kubernetes.container.name": "web",
	}
	for k, v := range want {
		if webs[0].Labels[k] != v {
			t.Errorf("web container label %s = %q, want %q", k, webs[0].Labels[k], v)
		}
	}
	checkKubeletContainerProcess(t, e, webs[0].ID, p)
	si := e.inspectp(webs[0].PodSandboxID)
	if si.Status.Network.IP == "" || si.Status.Network.IP != p.Status.PodIP {
		t.Fatalf("sandbox IP %q, the kubelet's pod IP %q", si.Status.Network.IP, p.Status.PodIP)
	}
	resp, err := http.Get("http://" + p.Status.PodIP + ":8080/")
	if err != nil {
		t.Fatalf("fetch from the pod IP: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello from web-"+kubeletNode+"\n" {
		t.Errorf("the pod IP served %s %q", resp.Status, body)
	}
}

// checkCrashBackOff: the kubelet restarts the crashing container (restart
// count ≥ 2) with growing delays between its attempts, podd keeps each
// attempt's log where the kubelet asked, and the kubelet sees exit code 1.
func checkCrashBackOff(t *testing.T, e *env, k *kubelet) {
	// The kubelet restarts a container's first exit at once (and removes
	// attempt 0 as it does), then after 10 s, 20 s, ... doubling up to
	// 5 min. It keeps the newest dead attempt only: each attempt's creation
	// time is noted while it is listed.
	created := map[uint32]time.Time{}
	testutil.WaitFor(t, 150*time.Second, "attempts 1 to 3 of the crashing container", func() (bool, error) {
		for _, c := range e.criContainers("crash") {
			created[c.Metadata.Attempt] = c.created(t)
		}
		for a := uint32(1); a <= 3; a++ {
			if _, ok := created[a]; !ok {
				return false, fmt.Errorf("attempts seen: %v", created)
			}
		}
		return true, nil
	})
	gaps := []time.Duration{created[2].Sub(created[1]), created[3].Sub(created[2])}
	t.Logf("crashing container: attempt 1→2 after %v, 2→3 after %v", gaps[0].Round(time.Millisecond), gaps[1].Round(time.Millisecond))
	if gaps[0] < 9*time.Second || gaps[1] < gaps[0]*3/2 {
		t.Errorf("back-off does not grow as the kubelet's (10 s, then 20 s): gaps %v", gaps)
	}
	p := k.waitPod("crash", 60*time.Second, "restart count ≥ 3 and exit code 1", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "crash")
		return cs != nil && cs.RestartCount >= 3 && cs.LastTerminationState.Terminated != nil &&
			cs.LastTerminationState.Terminated.ExitCode == 1
	})
	cs := containerStatus(p, "crash")
	if msg := cs.LastTerminationState.Terminated.Message; msg != "bye\n" {
		t.Errorf("termination message %q, want the one written to /dev/termination-log", msg)
	}
	if w := cs.State.Waiting; w != nil && w.Reason != "CrashLoopBackOff" {
		t.Errorf("waiting reason %q, want CrashLoopBackOff", w.Reason)
	}
	// Logs: through crictl, and in the file under the kubelet's pod logs dir.
	ctrs := e.criContainers("crash")
	if len(ctrs) == 0 {
		t.Fatal("no crash container listed")
	}
	last := ctrs[0]
	for _, c := range ctrs {
		if c.Metadata.Attempt > last.Metadata.Attempt {
			last = c
		}
	}
	if out, err := e.crictlErr("logs", last.ID); err != nil || out != "crashing\n" {
		t.Errorf("crictl logs of attempt %d: %q, %v", last.Metadata.Attempt, out, err)
	}
	logFile := filepath.Join(k.path("pod-logs"), fmt.Sprintf("default_crash-%s_%s", kubeletNode, p.UID), "crash", fmt.Sprintf("%d.log", last.Metadata.Attempt))
	if data, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(data), " stdout F crashing") {
		t.Errorf("CRI log file %s: %q, %v", logFile, data, err)
	}
}

// checkKubeletContainerProcess: the container's process is where the
// kubelet asked, and as it asked: in the cgroup of its pod
// (<root>/kubepods/besteffort/pod<uid>), with the OOM score of a
// best-effort container (1000), without seccomp filter (the kubelet's
// default is Unconfined), with the resolv.conf the kubelet gave the sandbox
// (the host's nameservers, no cluster DNS here) and the kubelet's
// annotations back in its status.
func checkKubeletContainerProcess(t *testing.T, e *env, id string, p *corev1.Pod) {
	ci := e.inspect(id)
	pid := ci.Info.Pid
	if pid <= 0 {
		t.Fatalf("container %s: pid %d", id, pid)
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	podCgroup := e.cgroupParent + "/kubepods/besteffort/pod" + string(p.UID)
	for _, line := range strings.Split(strings.TrimSpace(string(cg)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && (strings.Contains(f[1], "memory") || strings.Contains(f[1], "pids")) && !strings.HasPrefix(f[2], podCgroup+"/") {
			t.Errorf("container cgroup %s, want under the pod's %s", line, podCgroup)
		}
	}
	if adj, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid)); err != nil || strings.TrimSpace(string(adj)) != "1000" {
		t.Errorf("oom_score_adj %q, %v: want 1000 (best effort)", adj, err)
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err != nil || !strings.Contains(string(st), "Seccomp:\t0\n") {
		t.Errorf("seccomp mode of the container (Unconfined asked): %v\n%s", err, st)
	}
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	inPod := e.crictl("exec", "-s", id, "cat", "/etc/resolv.conf")
	for _, line := range strings.Split(string(host), "\n") {
		if strings.HasPrefix(line, "nameserver ") && !strings.Contains(inPod, line+"\n") {
			t.Errorf("resolv.conf in the pod lacks the host's %q:\n%s", line, inPod)
		}
	}
	var st struct {
		Status struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(e.crictl("inspect", "-o", "json", id)), &st); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"io.kubernetes.container.restartCount":           "0",
		"io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
		"io.kubernetes.pod.terminationGracePeriod":       "5",
	} {
		if st.Status.Annotations[k] != v {
			t.Errorf("container annotation %s = %q, want %q", k, st.Status.Annotations[k], v)
		}
	}
}
