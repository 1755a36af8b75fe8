package e2e

import (
	"encoding/json"
	"fmt"
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

// runningContainers maps the name of each running CRI container to its ID.
func (e *env) runningContainers() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, c := range e.criContainers("") {
		if c.State == "CONTAINER_RUNNING" {
			out[c.Metadata.Name] = c.ID
		}
	}
	return out
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
	checkKubeletContainerProcess(t, e, webs[0].ID, p, guaranteed)
	si := e.inspectp(webs[0].PodSandboxID)
	if si.Status.Network.IP == "" || si.Status.Network.IP != p.Status.PodIP {
		t.Fatalf("sandbox IP %q, the kubelet's pod IP %q", si.Status.Network.IP, p.Status.PodIP)
	}
	if body := fetchPage(t, p.Status.PodIP); body != "hello from web-"+kubeletNode+"\n" {
		t.Errorf("the pod IP served %q", body)
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
	// Each gap is the back-off (from the attempt's end, which podd reports)
	// plus the attempt's run and the kubelet's latency: never shorter.
	if gaps[0] < 9500*time.Millisecond || gaps[1] < 19500*time.Millisecond || gaps[1] <= gaps[0] {
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
	// The kubelet's reader of CRI logs (kubectl logs) parses podd's files.
	// Its status may name for a moment an attempt it has just removed.
	for _, q := range []string{"", "?previous=true"} {
		testutil.WaitFor(t, 30*time.Second, "kubelet /containerLogs"+q+" of the crashing container", func() (bool, error) {
			out, err := k.get("/containerLogs/default/crash-" + kubeletNode + "/crash" + q)
			return err == nil && out == "crashing\n", fmt.Errorf("%q, %v", out, err)
		})
	}
	logFile := filepath.Join(k.path("pod-logs"), fmt.Sprintf("default_crash-%s_%s", kubeletNode, p.UID), "crash", fmt.Sprintf("%d.log", last.Metadata.Attempt))
	if data, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(data), " stdout F crashing") {
		t.Errorf("CRI log file %s: %q, %v", logFile, data, err)
	}
}

// qosWant is what the kubelet asks for a container of a QoS class.
type qosWant struct {
	class string
	// dir is the QoS cgroup of the pod's, under kubepods.
	dir string
	// oomScoreAdj is what the kubelet asks; podd clamps it to its shim's.
	oomScoreAdj int
	// memLimit, cpuQuota and cpuShares are the container cgroup's values.
	memLimit, cpuQuota, cpuShares int64
}

var (
	bestEffort = qosWant{class: "BestEffort", dir: "/besteffort", oomScoreAdj: 1000, cpuShares: 2, cpuQuota: -1}
	// guaranteed is the web container's: limits cpu 200m, memory 64Mi.
	guaranteed = qosWant{class: "Guaranteed", oomScoreAdj: -997, memLimit: 64 << 20, cpuQuota: 20000, cpuShares: 204}
)

// checkKubeletContainerProcess: the container's process is where the
// kubelet asked, and as it asked: in the cgroup of its pod
// (<root>/kubepods[/<qos>]/pod<uid>) with the container's CPU and memory
// values, with the OOM score of its QoS class (lowered no further than
// podd's shim could go), without seccomp filter (the kubelet's default is
// Unconfined), with the resolv.conf the kubelet gave the sandbox (the
// host's nameservers, no cluster DNS here) and the kubelet's annotations
// back in its status.
func checkKubeletContainerProcess(t *testing.T, e *env, id string, p *corev1.Pod, want qosWant) {
	ci := e.inspect(id)
	pid := ci.Info.Pid
	if pid <= 0 {
		t.Fatalf("container %s: pid %d", id, pid)
	}
	if p.Status.QOSClass != corev1.PodQOSClass(want.class) {
		t.Errorf("pod %s is %s, want %s", p.Name, p.Status.QOSClass, want.class)
	}
	podCgroup := e.cgroupParent + "/kubepods" + want.dir + "/pod" + string(p.UID)
	for ctrl, files := range map[string]map[string]int64{
		"memory": {"memory.limit_in_bytes": want.memLimit},
		"cpu":    {"cpu.cfs_quota_us": want.cpuQuota, "cpu.shares": want.cpuShares},
		"pids":   {},
	} {
		dir := v1CgroupOf(t, pid, ctrl)
		if !strings.HasPrefix(dir, podCgroup+"/") {
			t.Errorf("container's %s cgroup %s, want under the pod's %s", ctrl, dir, podCgroup)
		}
		for f, v := range files {
			if v == 0 {
				continue // not asked: unlimited
			}
			got, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", ctrl, dir, f))
			if err != nil || strings.TrimSpace(string(got)) != strconv.FormatInt(v, 10) {
				t.Errorf("container's %s = %q, %v; want %d", f, got, err, v)
			}
		}
	}
	wantAdj := max(want.oomScoreAdj, shimOOMScoreAdj(t, e, ci.Info.SandboxID))
	if adj, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid)); err != nil || strings.TrimSpace(string(adj)) != strconv.Itoa(wantAdj) {
		t.Errorf("oom_score_adj %q, %v: want %d (%s, the kubelet asks %d)", adj, err, wantAdj, want.class, want.oomScoreAdj)
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
		"io.kubernetes.pod.terminationGracePeriod":       strconv.FormatInt(*p.Spec.TerminationGracePeriodSeconds, 10),
	} {
		if st.Status.Annotations[k] != v {
			t.Errorf("container annotation %s = %q, want %q", k, st.Status.Annotations[k], v)
		}
	}
}

// checkStatsSummary: the kubelet's /stats/summary has the web container's
// CPU, memory, writable layer and log usage (from CRI's ListContainerStats:
// cAdvisor knows no podd containers) and the image filesystem (ImageFsInfo).
func checkStatsSummary(t *testing.T, k *kubelet) {
	type fsStats struct {
		UsedBytes  *uint64 `json:"usedBytes"`
		InodesUsed *uint64 `json:"inodesUsed"`
	}
	var sum struct {
		Node struct {
			Runtime struct {
				ImageFs *fsStats `json:"imageFs"`
			} `json:"runtime"`
		} `json:"node"`
		Pods []struct {
			PodRef     struct{ Name string } `json:"podRef"`
			Containers []struct {
				Name string `json:"name"`
				CPU  *struct {
					UsageCoreNanoSeconds uint64 `json:"usageCoreNanoSeconds"`
				} `json:"cpu"`
				Memory *struct {
					WorkingSetBytes uint64 `json:"workingSetBytes"`
				} `json:"memory"`
				Rootfs *fsStats `json:"rootfs"`
				Logs   *fsStats `json:"logs"`
			} `json:"containers"`
		} `json:"pods"`
	}
	resp, err := k.client.Get(fmt.Sprintf("https://127.0.0.1:%d/stats/summary", k.port))
	if err != nil {
		t.Fatalf("kubelet /stats/summary: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&sum); err != nil {
		t.Fatalf("kubelet /stats/summary: %v", err)
	}
	if fs := sum.Node.Runtime.ImageFs; fs == nil || fs.UsedBytes == nil || *fs.UsedBytes == 0 {
		t.Errorf("stats summary: image filesystem %+v", fs)
	}
	for _, p := range sum.Pods {
		if p.PodRef.Name != "web-"+kubeletNode {
			continue
		}
		for _, c := range p.Containers {
			if c.Name != "web" {
				continue
			}
			if c.CPU == nil || c.CPU.UsageCoreNanoSeconds == 0 || c.Memory == nil || c.Memory.WorkingSetBytes == 0 ||
				c.Rootfs == nil || c.Rootfs.UsedBytes == nil || c.Logs == nil || c.Logs.InodesUsed == nil {
				t.Errorf("stats summary of the web container: cpu %+v memory %+v rootfs %+v logs %+v", c.CPU, c.Memory, c.Rootfs, c.Logs)
			}
			return
		}
	}
	t.Errorf("stats summary has no web container: %+v", sum.Pods)
}

// v1CgroupOf is a process's cgroup path in the v1 hierarchy of ctrl.
func v1CgroupOf(t *testing.T, pid int, ctrl string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), ctrl) {
			return f[2]
		}
	}
	t.Fatalf("process %d has no %s cgroup (a cgroup v1 host is needed):\n%s", pid, ctrl, data)
	return ""
}

// shimOOMScoreAdj is the oom_score_adj of a sandbox's shim: the lowest
// podd gives the sandbox's processes.
func shimOOMScoreAdj(t *testing.T, e *env, sandboxID string) int {
	t.Helper()
	procs, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/memory", e.cgroupParent, "shims", "cri"+sandboxID, "cgroup.procs"))
	if err != nil {
		t.Fatalf("the shim of sandbox %s: %v", sandboxID, err)
	}
	for _, pid := range strings.Fields(string(procs)) {
		adj, err := os.ReadFile("/proc/" + pid + "/oom_score_adj")
		if err != nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(adj)))
		if err == nil {
			return n
		}
	}
	t.Fatalf("no shim in the cgroup of sandbox %s", sandboxID)
	return 0
}
