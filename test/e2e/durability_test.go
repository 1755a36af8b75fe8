package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// tickerPod prints a counter every 0.1 s, so a gap in its log is visible.
func tickerPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: t
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; (i=0; while true; do echo n=$i; i=$((i+1)); sleep 0.1; done) & wait"]
`, name)
}

// pid1Start is the start time (jiffies since boot) of a container's PID 1:
// it changes if the process is replaced.
func (e *env) pid1Start(pod string) string {
	e.t.Helper()
	out := e.podctl("exec", pod, "--", "cut", "-d", " ", "-f22", "/proc/1/stat")
	return strings.TrimSpace(out)
}

// exitRecordedSince reports whether the shim of pod uid has recorded, since
// t, a container exit with code: the exit records it writes whether or not
// a daemon is there to hear (<run-root>/pods/<uid>/exits/<id>.json).
func (e *env) exitRecordedSince(uid string, code int32, t time.Time) (bool, error) {
	files, err := filepath.Glob(filepath.Join(e.runRoot, "pods", uid, "exits", "*.json"))
	if err != nil {
		return false, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return false, err
		}
		var r struct {
			ExitCode         int32 `json:"exitCode"`
			FinishedUnixNano int64 `json:"finishedUnixNano"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return false, fmt.Errorf("%s: %w", f, err)
		}
		if r.ExitCode == code && r.FinishedUnixNano >= t.UnixNano() {
			return true, nil
		}
	}
	return false, fmt.Errorf("no exit %d recorded since %s among %d records", code, t.Format(time.StampMilli), len(files))
}

var counterRE = regexp.MustCompile(`(?m)^n=(\d+)$`)

// checkNoGap fails unless the log holds n=0..n=k with no number missing.
func checkNoGap(t *testing.T, pod, log string) int {
	t.Helper()
	ms := counterRE.FindAllStringSubmatch(log, -1)
	for i, m := range ms {
		if n, _ := strconv.Atoi(m[1]); n != i {
			t.Fatalf("%s: log line %d is n=%d: a gap or duplicate", pod, i, n)
		}
	}
	return len(ms)
}

// DESIGN "nothing is lost", issue 4: SIGKILL of the daemon leaves every
// container running with the same PID 1, no log line is lost, an exit that
// happens while the daemon is down is recorded and acted on, and the
// restarted daemon reconciles quickly.
func TestDaemonKill9KeepsPodsAndRecordsExits(t *testing.T) {
	e := newEnv(t)
	const n = 10
	var docs []string
	for i := 0; i < n; i++ {
		docs = append(docs, tickerPod(fmt.Sprintf("tick%d", i)))
	}
	docs = append(docs, `apiVersion: v1
kind: Pod
metadata: {name: dies}
spec:
  restartPolicy: OnFailure
  containers:
  - {name: d, image: busybox:latest, command: ["sh", "-c", "sleep 3; exit 7"]}
`)
	e.apply(strings.Join(docs, "---\n"))
	starts := map[string]string{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("tick%d", i)
		e.waitRunning(name, 60*time.Second)
		starts[name] = e.pid1Start(name)
	}
	dies := e.waitRunning("dies", 30*time.Second)
	down := time.Now()
	e.killDaemon()
	testutil.WaitFor(t, 10*time.Second, `"dies" exits with 7 while the daemon is down`, func() (bool, error) {
		return e.exitRecordedSince(string(dies.UID), 7, down)
	})
	begin := time.Now()
	e.restartDaemon()
	m := e.waitLog(reconcileRE, 30*time.Second)
	t.Logf("restarted daemon reconciled %s pods in %s (%s after start)", m[1], m[2], time.Since(begin).Round(time.Millisecond))
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("tick%d", i)
		p := e.waitRunning(name, 10*time.Second)
		if got := e.pid1Start(name); got != starts[name] {
			t.Errorf("%s: PID 1 was replaced (start %s → %s)", name, starts[name], got)
		}
		if rc := containerStatus(p, "t").RestartCount; rc != 0 {
			t.Errorf("%s restartCount %d, want 0", name, rc)
		}
		checkNoGap(t, name, e.podctl("logs", name))
	}
	p := e.waitForPod("dies", 20*time.Second, "restarted after its exit during the outage", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "d")
		return cs != nil && cs.RestartCount >= 1
	})
	if lt := containerStatus(p, "d").LastTerminationState.Terminated; lt == nil || lt.ExitCode != 7 {
		t.Errorf("dies lastState %+v, want exit 7 recorded during the outage", containerStatus(p, "d").LastTerminationState)
	}
}

// Issue 4: a reboot (run root wiped, every process gone) recreates every
// accepted pod from the state root, with restart counts carried over.
func TestRebootRecreatesPods(t *testing.T) {
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: survivor}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: s, emptyDir: {}}]
  initContainers:
  - {name: init, image: busybox:latest, command: ["sh", "-c", "echo init-ran >> /s/marks"], volumeMounts: [{name: s, mountPath: /s}]}
  containers:
  - {name: c, image: busybox:latest, command: ["sh", "-c", "cat /s/marks; trap 'exit 0' TERM; sleep 1000 & wait"], volumeMounts: [{name: s, mountPath: /s}]}
`)
	before := e.waitRunning("survivor", 60*time.Second)
	e.killDaemon()
	simulateReboot(t, e)
	e.restartDaemon()
	p := e.waitForPod("survivor", 60*time.Second, "running in a new sandbox", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && containerStatus(p, "c") != nil &&
			containerStatus(p, "c").State.Running != nil && containerStatus(p, "c").RestartCount >= 1
	})
	if p.UID != before.UID {
		t.Errorf("UID changed across the reboot: %s → %s", before.UID, p.UID)
	}
	if rc := containerStatus(p, "c").RestartCount; rc != containerStatus(before, "c").RestartCount+1 {
		t.Errorf("restartCount %d after reboot, want %d (carried over + 1)", rc, containerStatus(before, "c").RestartCount+1)
	}
	if out := e.podctl("logs", "survivor", "-c", "c"); strings.Count(out, "init-ran") < 1 {
		t.Errorf("log after reboot %q: init container did not run again (R32)", out)
	}
}

// simulateReboot makes the host look freshly booted for this daemon: every
// shim and container killed, every mount under its roots gone, the run root
// (tmpfs) emptied.
func simulateReboot(t *testing.T, e *env) {
	t.Helper()
	exec.Command("pkill", "-9", "-f", "podd-shim --pod-uid .* --state-dir "+e.runRoot).Run()
	for _, d := range cgroupDirs(e.cgroupParent) {
		filepath.WalkDir(d, func(p string, de os.DirEntry, err error) error {
			if err == nil && de.IsDir() {
				if data, err := os.ReadFile(filepath.Join(p, "cgroup.procs")); err == nil {
					for _, f := range strings.Fields(string(data)) {
						if pid, err := strconv.Atoi(f); err == nil {
							syscall.Kill(pid, syscall.SIGKILL)
						}
					}
				}
			}
			return nil
		})
	}
	testutil.WaitFor(t, 10*time.Second, "pod processes gone", func() (bool, error) {
		for _, d := range cgroupDirs(e.cgroupParent) {
			var busy bool
			filepath.WalkDir(d, func(p string, de os.DirEntry, err error) error {
				if data, err := os.ReadFile(filepath.Join(p, "cgroup.procs")); err == nil && len(strings.TrimSpace(string(data))) > 0 {
					busy = true
				}
				return nil
			})
			if busy {
				return false, nil
			}
		}
		return true, nil
	})
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var mps []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], e.dir+"/") {
			mps = append(mps, f[4])
		}
	}
	for i := len(mps) - 1; i >= 0; i-- {
		syscall.Unmount(mps[i], syscall.MNT_DETACH)
	}
	for _, d := range cgroupDirs(e.cgroupParent) {
		removeCgroupTree(d)
	}
	if err := os.RemoveAll(e.runRoot); err != nil {
		t.Fatal(err)
	}
}

// Issue 4: create/delete cycles leave the host exactly as before (netns,
// links, mounts, cgroups, IP files, shims, and the daemon's open fds).
func TestCreateDeleteCyclesLeaveNothing(t *testing.T) {
	e := newEnv(t)
	cycles := 200
	if v, err := strconv.Atoi(os.Getenv("PODD_LEAK_CYCLES")); err == nil {
		cycles = v
	}
	const batch = 20
	pid := e.cmd.Process.Pid
	fds := func() int {
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		return len(ents)
	}
	// One warm-up round so lazily opened fds (image store, CNI) are counted.
	e.apply(tickerPod("warm"))
	e.waitRunning("warm", 60*time.Second)
	e.podctl("delete", "pod", "warm", "--grace-period", "0")
	// Both counts with the daemon's spare shim waiting (its pipes are the
	// daemon's fds): it is refilled some time after the last launch.
	e.waitSpare(0)
	before, fdBefore := e.census(t), fds()
	start := time.Now()
	for done := 0; done < cycles; done += batch {
		var docs []string
		for i := 0; i < batch && done+i < cycles; i++ {
			docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: cyc%d}
spec:
  containers:
  - {name: c, image: busybox:latest, command: ["sleep", "1000"]}
`, i))
		}
		e.apply(strings.Join(docs, "---\n"))
		for i := range docs {
			e.waitRunning(fmt.Sprintf("cyc%d", i), 60*time.Second)
		}
		for i := range docs {
			e.podctl("delete", "pod", fmt.Sprintf("cyc%d", i), "--grace-period", "0", "--wait=false")
		}
		for i := range docs {
			e.waitGone(fmt.Sprintf("cyc%d", i), 60*time.Second)
		}
	}
	e.waitSpare(0)
	after, fdAfter := e.census(t), fds()
	t.Logf("%d create/delete cycles in %s; census before %+v after %+v; daemon fds %d → %d",
		cycles, time.Since(start).Round(time.Millisecond), before, after, fdBefore, fdAfter)
	if fmt.Sprint(before) != fmt.Sprint(after) || !after.empty() {
		t.Errorf("census changed: before %+v after %+v", before, after)
	}
	if fdAfter > fdBefore+2 {
		t.Errorf("daemon fds grew %d → %d", fdBefore, fdAfter)
	}
}

// Issue 4: a crash during applies and deletes leaves, after restart, each
// operation either done or not started: every pod ends up running or gone,
// and deleting the rest leaves nothing behind.
func TestDaemonKill9DuringApplyAndDelete(t *testing.T) {
	e := newEnv(t)
	var docs []string
	for i := 0; i < 4; i++ {
		docs = append(docs, tickerPod(fmt.Sprintf("old%d", i)))
	}
	e.apply(strings.Join(docs, "---\n"))
	for i := 0; i < 4; i++ {
		e.waitRunning(fmt.Sprintf("old%d", i), 60*time.Second)
	}
	// Deletes and applies in flight when the daemon dies.
	for i := 0; i < 4; i++ {
		e.podctl("delete", "pod", fmt.Sprintf("old%d", i), "--wait=false")
	}
	var fresh []string
	for i := 0; i < 4; i++ {
		fresh = append(fresh, tickerPod(fmt.Sprintf("new%d", i)))
	}
	e.apply(strings.Join(fresh, "---\n"))
	time.Sleep(150 * time.Millisecond) // work in flight when the daemon dies, not a wait for a state
	e.killDaemon()
	e.restartDaemon()
	e.waitLog(reconcileRE, 30*time.Second)
	for i := 0; i < 4; i++ {
		e.waitGone(fmt.Sprintf("old%d", i), 30*time.Second)
		e.waitRunning(fmt.Sprintf("new%d", i), 60*time.Second)
	}
	for i := 0; i < 4; i++ {
		e.podctl("delete", "pod", fmt.Sprintf("new%d", i), "--grace-period", "0")
	}
	if c := e.census(t); !c.empty() {
		t.Fatalf("left after the crash and the deletes: %+v", c)
	}
}

// Issue 4: SIGTERM stops the daemon and leaves pods running; --drain stops
// every pod gracefully first.
func TestShutdownLeavesPodsUnlessDrain(t *testing.T) {
	e := newEnv(t)
	e.apply(tickerPod("keep"))
	e.waitRunning("keep", 60*time.Second)
	before := e.pid1Start("keep")
	e.stopDaemon()
	if c := e.census(t); len(c.Shims) != 1 {
		t.Fatalf("after SIGTERM the pod's shim is gone: %+v", c)
	}
	e.restartDaemon()
	e.waitRunning("keep", 30*time.Second)
	if got := e.pid1Start("keep"); got != before {
		t.Errorf("PID 1 replaced across a daemon stop/start: %s → %s", before, got)
	}
	e.stopDaemon()
	e.start(append(append([]string{}, e.args...), "--drain"))
	e.waitRunning("keep", 30*time.Second)
	e.stopDaemon()
	if c := e.census(t); !c.empty() {
		t.Fatalf("--drain left: %+v", c)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.root, "pods")); len(ents) != 0 {
		t.Fatalf("--drain left %d pod records", len(ents))
	}
	e.restartDaemon()
}

// Issue 4: after a daemon crash, probes resume (readiness still flips) and
// the pod's events and restart counts are intact.
func TestProbesAndEventsSurviveDaemonCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:latest
    command: ["sh", "-c", "touch /tmp/ready; trap 'exit 0' TERM; sleep 1000 & wait"]
    readinessProbe:
      exec: {command: ["test", "-f", "/tmp/ready"]}
      periodSeconds: 1
      timeoutSeconds: 10 # an exec takes seconds in the cgroup v2 VM (TCG)
`)
	ready := func(want bool) func(*corev1.Pod) bool {
		return func(p *corev1.Pod) bool {
			cs := containerStatus(p, "c")
			return cs != nil && cs.Ready == want
		}
	}
	before := containerStatus(e.waitForPod("probed", 30*time.Second, "ready", ready(true)), "c").ContainerID
	// Issue 8 item 7: a unique container ID per instance, kept across a crash.
	if !regexp.MustCompile(`^podd://[0-9a-f]{64}$`).MatchString(before) {
		t.Errorf("containerID %q, want podd://<64 hex digits>", before)
	}
	e.killDaemon()
	e.restartDaemon()
	e.waitLog(reconcileRE, 30*time.Second)
	after := e.waitForPod("probed", 10*time.Second, "still ready after the restart", ready(true))
	if got := containerStatus(after, "c").ContainerID; got != before {
		t.Errorf("containerID %q after the daemon crash, want %q", got, before)
	}
	e.podctl("exec", "probed", "--", "rm", "/tmp/ready")
	e.waitForPod("probed", 10*time.Second, "unready: the readiness probe runs again", ready(false))
	out := e.podctl("describe", "pod", "probed")
	if !strings.Contains(out, before) {
		t.Errorf("describe does not show container ID %s:\n%s", before, out)
	}
	for _, reason := range []string{"Scheduled", "Created", "Started"} {
		if !strings.Contains(out, reason) {
			t.Errorf("event %s lost across the daemon crash:\n%s", reason, out)
		}
	}
	// A shim adopted after the crash is reaped by whatever init adopted it;
	// deleting its pod must not wait for that.
	start := time.Now()
	e.podctl("delete", "pod", "probed", "--grace-period", "0")
	if took := time.Since(start); took > testutil.Scaled(time.Second) {
		t.Errorf("deleting a pod adopted after a crash took %s, want < %s", took, testutil.Scaled(time.Second))
	}
}

// Issue 4: on start the daemon releases everything that belongs to no
// accepted pod — here a running pod whose records were lost while the
// daemon was down: its shim, containers, mounts, cgroups, netns pin and IP.
func TestStartupGarbageCollectsUnknownPods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(tickerPod("lost"))
	p := e.waitRunning("lost", 60*time.Second)
	e.killDaemon()
	uid := string(p.UID)
	for _, f := range []string{"pod.json", "state.json"} {
		if err := os.Remove(filepath.Join(e.root, "pods", uid, f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(filepath.Join(e.runRoot, "pods", uid)); err != nil {
		t.Fatal(err)
	}
	e.restartDaemon()
	e.waitLog(regexp.MustCompile(`GC: released an unknown pod" uid=`+uid), 30*time.Second)
	testutil.WaitFor(t, 10*time.Second, "nothing left of the lost pod", func() (bool, error) {
		c := e.census(t)
		return c.empty(), fmt.Errorf("census %+v", c)
	})
}

// A SIGTERM right after a burst is applied, while most pods' sandboxes wait
// for the work budget, stops the daemon within seconds and leaves the pods
// to the next daemon, which starts them without a back-off. Each waiting
// worker used to go round at once when the stop cancelled its wait, until
// a slot freed, then make its sandbox with the cancelled context: all 24
// pods recorded a failed sandbox ("context canceled") for the next daemon
// to back off on.
func TestStopDuringABurstLeavesThePodsToTheNextDaemon(t *testing.T) {
	e := newEnv(t)
	e.apply(sleeperPods("stop", 24))
	if took, killed := e.terminate(time.Minute); killed || took > testutil.Scaled(15*time.Second) {
		t.Errorf("the daemon took %v to stop during a burst (killed: %v)", took, killed)
	}
	if n := strings.Count(e.logBuf.String(), `msg="Create sandbox"`); n > 0 {
		t.Errorf("%d sandbox creations failed in the stop (the stop's own cancellation recorded as the pods' failures)", n)
	}
	e.restartDaemon()
	for i := range 24 {
		e.waitRunning(fmt.Sprintf("stop%d", i), testutil.Scaled(3*time.Minute))
	}
}
