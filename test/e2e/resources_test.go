package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// podPidsDir finds the pod cgroup's directory in the hierarchy that holds
// the pids controller (v1 pids, or the unified one).
func (e *env) podPidsDir(uid string) (string, error) {
	for _, d := range cgroupDirs(filepath.Join(e.cgroupParent, "pod"+uid)) {
		if _, err := os.Stat(filepath.Join(d, "pids.max")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no pod cgroup with pids.max for pod %s under %s", uid, e.cgroupParent)
}

// pidsEventsMax sums how many forks the pids limit has refused ("max N" in
// pids.events) over the pod cgroup and its children: older kernels count
// the refusal in the cgroup of the forking task, not the limiting one.
func pidsEventsMax(dir string) (int, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*", "pids.events"))
	total := 0
	for _, f := range append(files, filepath.Join(dir, "pids.events")) {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "max "); ok {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					return 0, fmt.Errorf("%s: %w", f, err)
				}
				total += n
			}
		}
	}
	return total, nil
}

// Issue 7.7: the daemon's podPidsLimit caps the processes of a whole pod,
// at the pod cgroup as the kubelet does: a fork bomb in one container is
// stopped there, and the daemon keeps serving.
func TestPodPidsLimitStopsAForkBomb(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "--pod-pids-limit", "64")
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: forks}
spec:
  restartPolicy: Never
  containers:
  - name: forks
    image: busybox:latest
    command: ["sh", "-c", "(for i in $(seq 200); do sleep 3600 & done) 2>/dev/null; exec sleep 3600"]
`)
	p := e.waitRunning("forks", 60*time.Second)
	dir, err := e.podPidsDir(string(p.UID))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "pids.max"))
	if err != nil || strings.TrimSpace(string(b)) != "64" {
		t.Fatalf("pids.max of the pod cgroup %s: %q, %v; want 64", dir, b, err)
	}
	testutil.WaitFor(t, 60*time.Second, "the pod's forks to hit the pids limit", func() (bool, error) {
		n, err := pidsEventsMax(dir)
		return n > 0, fmt.Errorf("pids.events max %d: %v", n, err)
	})
	cur, err := os.ReadFile(filepath.Join(dir, "pids.current"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(string(cur))); err != nil || n > 64 {
		t.Fatalf("pids.current of the pod cgroup: %q; want at most 64", cur)
	}
	// The daemon still works: a second pod starts.
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: after}
spec:
  containers:
  - {name: c, image: busybox:latest, command: ["sleep", "3600"]}
`)
	e.waitRunning("after", 60*time.Second)
	p, err = e.pod("forks")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase != corev1.PodRunning {
		t.Fatalf("pod forks after the fork bomb: phase %s; want Running", p.Status.Phase)
	}
}

// Issue 7.7: a medium Memory emptyDir without sizeLimit is a tmpfs the size
// of the pod's memory limit, as the kubelet makes it: it cannot take more of
// the host's memory than the pod may use.
func TestMemoryEmptyDirIsSizedToThePodLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: shm}
spec:
  restartPolicy: Never
  volumes:
  - {name: mem, emptyDir: {medium: Memory}}
  containers:
  - name: c
    image: busybox:latest
    command: ["sleep", "3600"]
    resources: {limits: {memory: 64Mi}}
    volumeMounts: [{name: mem, mountPath: /mem}]
`)
	e.waitRunning("shm", 60*time.Second)
	out := e.execIn("shm", "c", "df", "-k", "/mem")
	f := strings.Fields(strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]))
	if len(f) < 2 || f[1] != strconv.Itoa(64<<10) {
		t.Fatalf("df -k /mem: %q; want a size of %d KiB", out, 64<<10)
	}
	// Written from the host, outside the pod's memory cgroup, so that the
	// tmpfs size is what stops the write (inside, the container's own 64Mi
	// limit would OOM-kill the writer first: tmpfs pages are charged to it).
	p := e.waitRunning("shm", 10*time.Second)
	big, err := os.Create(filepath.Join(e.root, "pods", string(p.UID), "volumes", "mem", "big"))
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	chunk := make([]byte, 1<<20)
	written := 0
	for ; written < 100; written++ {
		if _, err = big.Write(chunk); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.ENOSPC) || written > 64 {
		t.Fatalf("writing 100M into a 64Mi memory emptyDir: %d MiB written, error %v; want ENOSPC by 64 MiB", written, err)
	}
	big.Close()
}

// Issue 7.7: a disk emptyDir's sizeLimit is enforced as the kubelet's
// eviction manager does: measured periodically, and a pod past it is
// evicted (Failed, reason Evicted, a Warning event), never restarted.
func TestEmptyDirSizeLimitEvictsThePod(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "--eviction-interval", "1s")
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: filler}
spec:
  volumes:
  - {name: scratch, emptyDir: {sizeLimit: 1Mi}}
  containers:
  - name: c
    image: busybox:latest
    command: ["sh", "-c", "dd if=/dev/zero of=/scratch/fill bs=1M count=5 && exec sleep 3600"]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
`)
	const msg = `Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".`
	p := e.waitForPhase("filler", corev1.PodFailed, 60*time.Second)
	if p.Status.Reason != "Evicted" || p.Status.Message != msg {
		t.Fatalf("status reason %q message %q; want Evicted, %q", p.Status.Reason, p.Status.Message, msg)
	}
	e.waitEvent("filler", "Evicted", "", msg, 30*time.Second)
	if out := e.podctl("describe", "pod", "filler"); !strings.Contains(out, "Evicted") || !strings.Contains(out, msg) {
		t.Fatalf("describe does not show the eviction:\n%s", out)
	}
	e.holds("filler", 5*time.Second, "stays Failed with no restart", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodFailed && restarts(p, "c") == 0
	})
	e.podctl("delete", "pod", "filler")
	e.waitGone("filler", 60*time.Second)
}

// What a container writes to its emptyDir below a tree deeper than a path
// may be long counts towards its sizeLimit: the measure walked by paths and
// stopped with ENAMETOOLONG there, so 32 MiB at the bottom of a tree 2100
// deep (whose directories take some 8 MiB) never evicted a pod limited to
// 16 MiB.
func TestEmptyDirSizeLimitCountsWhatIsDeep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "--eviction-interval", "1s")
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: deepfill}
spec:
  terminationGracePeriodSeconds: 0
  volumes:
  - {name: scratch, emptyDir: {sizeLimit: 16Mi}}
  containers:
  - name: c
    image: busybox:latest
    command: ["sleep", "3600"]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
`)
	p := e.waitRunning("deepfill", time.Minute)
	// Written from the host, as the container's program would write it.
	dir := filepath.Join(e.root, "pods", string(p.UID), "volumes", "scratch", "d")
	testutil.MakeDeepTree(t, dir, 2100, bytes.Repeat([]byte{1}, 32<<20))
	const msg = `Usage of EmptyDir volume "scratch" exceeds the limit "16Mi".`
	p = e.waitForPhase("deepfill", corev1.PodFailed, 30*time.Second)
	if p.Status.Reason != "Evicted" || p.Status.Message != msg {
		t.Fatalf("status reason %q message %q; want Evicted, %q", p.Status.Reason, p.Status.Message, msg)
	}
	e.podctl("delete", "pod", "deepfill", "--grace-period", "0")
	e.waitGone("deepfill", time.Minute)
}
