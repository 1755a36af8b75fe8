package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// Shims outlive the daemon: after an upgrade the new daemon drives the
// shims an older podd started, which speak only gRPC. A daemon whose
// podd-shim is that older one starts a pod with an exec probe; it is killed
// and a daemon with this podd-shim takes over: the old pod keeps running
// (same PID 1), its probe and exec answer, a new pod gets a ttrpc shim,
// and deleting the old pod stops its shim.
func TestDaemonUpgradeDrivesShimsFromBeforeTTRPC(t *testing.T) {
	oldBin := buildPreTTRPCShim(t)
	e := newEnv(t, "--bin-dir", oldBin)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: old}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: t
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do echo tick; sleep 0.2; done & wait"]
    readinessProbe:
      exec: {command: ["true"]}
      periodSeconds: 1
`)
	old := e.waitForPod("old", 60*time.Second, "running and ready", podReady)
	oldDir := filepath.Join(e.runRoot, "pods", string(old.UID))
	if _, err := os.Stat(filepath.Join(oldDir, "ttrpc.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the pod's shim has a ttrpc socket (%v): it is not a shim from before ttrpc", err)
	}
	start := e.pid1Start("old")

	e.killDaemon()
	for i, a := range e.args {
		if a == oldBin {
			e.args[i] = e.bin
		}
	}
	e.restartDaemon()
	e.waitLog(reconcileRE, 30*time.Second)
	e.waitRunning("old", 20*time.Second)
	if got := e.pid1Start("old"); got != start {
		t.Errorf("old: PID 1 was replaced across the upgrade (start %s → %s)", start, got)
	}
	if out := strings.TrimSpace(e.podctl("exec", "old", "--", "echo", "hi")); out != "hi" {
		t.Errorf("exec in old after the upgrade printed %q, want hi", out)
	}
	e.waitForPod("old", 20*time.Second, "ready through its exec probe after the upgrade", podReady)

	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: new}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: t, image: busybox:latest, command: ["sleep", "1000"]}
`)
	fresh := e.waitRunning("new", 60*time.Second)
	if _, err := os.Stat(filepath.Join(e.runRoot, "pods", string(fresh.UID), "ttrpc.sock")); err != nil {
		t.Errorf("the new pod's shim serves no ttrpc socket: %v", err)
	}
	if out := strings.TrimSpace(e.podctl("exec", "new", "--", "echo", "hi")); out != "hi" {
		t.Errorf("exec in new printed %q, want hi", out)
	}

	e.podctl("delete", "pod", "old")
	e.waitGone("old", 60*time.Second)
	if _, err := os.Stat(filepath.Join(oldDir, "shim.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old pod's shim socket is left after the delete (%v)", err)
	}
	e.waitForPod("new", 10*time.Second, "still running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
}

// buildPreTTRPCShim builds podd-shim at testutil.PreTTRPCCommit into a directory
// with this run's podd-pause beside it (a daemon's --bin-dir).
func buildPreTTRPCShim(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bin")
	testutil.BuildShimAt(t, testutil.PreTTRPCCommit, filepath.Join(bin, "podd-shim"))
	// The old shim creates containers itself; the daemon still looks for
	// podd-create, which an upgrade installs beside the rest.
	binDirBesideShim(t, bin)
	return bin
}
