package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// bigPod is a pod whose containers carry envBytes of environment, in
// variables of 100 KB (under the kernel's per-string exec limit).
func bigPod(name string, containers, envBytes int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  restartPolicy: Never\n  containers:\n", name)
	for c := 0; c < containers; c++ {
		fmt.Fprintf(&b, "  - name: c%d\n    image: busybox:latest\n    command: [\"true\"]\n", c)
		if c == 0 && envBytes > 0 {
			b.WriteString("    env:\n")
			chunk := strings.Repeat("x", 100<<10)
			for i := 0; i*len(chunk) < envBytes; i++ {
				fmt.Fprintf(&b, "    - {name: BIG%d, value: %s}\n", i, chunk)
			}
		}
	}
	return b.String()
}

// Issue 7.10: a pod too big for the API is refused with a limit naming the
// field, and pods that are allowed never break `get pods` for everyone, however
// many of them there are: the list is paged.
func TestPodSizeLimitsAndPagedList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	out, err := e.podctlIn(bigPod("huge-env", 1, 3<<20), "apply", "-f", "-")
	if err == nil || !strings.Contains(out, "spec.containers[0].env") || !strings.Contains(out, "must have at most") {
		t.Fatalf("apply of a pod with 3 MB of env: err %v, output %q; want a refusal naming spec.containers[0].env and the limit", err, tail(out, 400))
	}
	out, err = e.podctlIn(bigPod("many", 3000, 0), "apply", "-f", "-")
	if err == nil || !strings.Contains(out, "spec.containers") || !strings.Contains(out, "must have at most") {
		t.Fatalf("apply of a pod with 3000 containers: err %v, output %q; want a refusal naming spec.containers and the limit", err, tail(out, 400))
	}

	// Four pods of 1.1 MB each are allowed; together they are more than one
	// gRPC message may carry.
	for i := 0; i < 4; i++ {
		e.apply(bigPod(fmt.Sprintf("big%d", i), 1, 1100<<10))
	}
	for i := 0; i < 4; i++ {
		e.waitForPhase(fmt.Sprintf("big%d", i), corev1.PodSucceeded, 60*time.Second)
	}
	out = e.podctl("get", "pods")
	for i := 0; i < 4; i++ {
		if !strings.Contains(out, fmt.Sprintf("big%d ", i)) {
			t.Errorf("get pods does not list big%d:\n%s", i, out)
		}
	}
	if got := strings.Count(e.podctl("get", "pods", "-o", "name"), "pod/big"); got != 4 {
		t.Errorf("get pods -o name lists %d big pods, want 4", got)
	}
	if out := e.podctl("describe", "pod"); strings.Count(out, "\nName:") < 3 && strings.Count(out, "Name:") < 4 {
		t.Errorf("describe pod (all) shows fewer than 4 pods:\n%s", tail(out, 400))
	}
	for i := 0; i < 4; i++ {
		e.podctl("delete", "pod", fmt.Sprintf("big%d", i), "--grace-period", "0")
	}
	for i := 0; i < 4; i++ {
		e.waitGone(fmt.Sprintf("big%d", i), 30*time.Second)
	}
}

// A container can nest directories as deep as its disk allows (mkdir and
// chdir in a loop), in its emptyDir and in its writable layer. The pod's
// removal takes them with a few descriptors: a removal that held one per
// level failed at the daemon's descriptor limit (EMFILE, here lowered to
// 256 for the test), retry after retry, so the pod was never gone, and
// took every descriptor from the rest of the daemon meanwhile.
func TestDeepTreesDoNotStopAPodsRemoval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: deep}
spec:
  terminationGracePeriodSeconds: 0
  volumes:
  - {name: scratch, emptyDir: {}}
  containers:
  - name: c
    image: busybox:latest
    command: ["sleep", "1000000"]
    volumeMounts:
    - {name: scratch, mountPath: /scratch}
`)
	pod := e.waitRunning("deep", time.Minute)
	podDir := filepath.Join(e.root, "pods", string(pod.UID))
	// Written from the host, as the container's program would write them.
	const depth = 3000
	testutil.MakeDeepTree(t, filepath.Join(podDir, "volumes", "scratch", "d"), depth, nil)
	upper := filepath.Join(podDir, "containers", "c-0", "upper")
	if _, err := os.Stat(upper); err != nil {
		t.Fatalf("the container's writable layer: %v", err)
	}
	testutil.MakeDeepTree(t, filepath.Join(upper, "d"), depth, nil)
	lim := unix.Rlimit{Cur: 256, Max: 256}
	if err := unix.Prlimit(e.cmd.Process.Pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Fatalf("lower the daemon's descriptor limit: %v", err)
	}
	e.podctl("delete", "pod", "deep", "--grace-period", "0")
	e.waitGone("deep", time.Minute)
	if _, err := os.Lstat(podDir); !os.IsNotExist(err) {
		t.Errorf("the pod's dir is still there (%v)", err)
	}
	if c := e.census(t); !c.empty() {
		t.Errorf("left behind: %+v", c)
	}
	e.apply(sleepPod("after"))
	e.waitRunning("after", time.Minute)
}
