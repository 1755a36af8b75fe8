package podworker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// exec reaches only a running container of the pod, through its shim.
func TestExecTarget(t *testing.T) {
	pod := testPod("exec")
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	w, h := newTestWorker(t, pod)
	ctx := context.Background()
	if _, _, err := w.ExecTarget(ctx, "nope"); !errors.Is(err, ErrNoContainer) {
		t.Errorf("unknown container: %v", err)
	}
	if _, _, err := w.ExecTarget(ctx, "app"); err == nil {
		t.Error("exec before the pod has a shim succeeded")
	}
	runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	cl, id, err := w.ExecTarget(ctx, "app")
	if err != nil || cl == nil || id == "" {
		t.Fatalf("running container: %v %q %v", cl, id, err)
	}
	if _, err := cl.Signal(ctx, &shimv1.SignalRequest{Id: id, Signal: int32(syscall.SIGKILL)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.ExecTarget(ctx, "app"); !errors.Is(err, ErrNoContainer) {
		t.Errorf("exec into a stopped container: %v", err)
	}
	h.KillShim(w.deps.Layout.ShimDir(w.uid))
	if _, _, err := w.ExecTarget(ctx, "app"); err == nil {
		t.Error("exec into a pod whose shim is gone succeeded")
	}
}

// logs read the newest instance's file, or the one before it (previous).
func TestContainerLog(t *testing.T) {
	w, _ := newTestWorker(t, testPod("logs"))
	if _, _, err := w.ContainerLog("nope", false); !errors.Is(err, ErrNoContainer) {
		t.Errorf("unknown container: %v", err)
	}
	if _, _, err := w.ContainerLog("app", false); !errors.Is(err, ErrNoContainer) {
		t.Errorf("no log yet: %v", err)
	}
	dir := filepath.Dir(w.deps.Layout.LogPath(w.uid, "app", 0))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1} {
		if err := os.WriteFile(w.deps.Layout.LogPath(w.uid, "app", n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		previous bool
		want     int
	}{{false, 1}, {true, 0}} {
		got, _, err := w.ContainerLog("app", tc.previous)
		if want := w.deps.Layout.LogPath(w.uid, "app", tc.want); err != nil || got != want {
			t.Errorf("previous %v: %s %v, want %s", tc.previous, got, err, want)
		}
	}
	os.Remove(w.deps.Layout.LogPath(w.uid, "app", 0))
	if _, _, err := w.ContainerLog("app", true); !errors.Is(err, ErrNoContainer) {
		t.Errorf("previous of the only instance: %v", err)
	}
}

// A log caught mid-rotation (its live file renamed to <n>.log.<m>, the
// next not created yet) is still that instance's log, not "waiting to
// start": TestLogRotationBoundsAFloodAndLogsReadsAcrossFiles hit it.
func TestContainerLogMidRotation(t *testing.T) {
	w, _ := newTestWorker(t, testPod("logs"))
	live := w.deps.Layout.LogPath(w.uid, "app", 2)
	if err := os.MkdirAll(filepath.Dir(live), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{w.deps.Layout.LogPath(w.uid, "app", 1), live + ".3", live + ".4"} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, _, err := w.ContainerLog("app", false); err != nil || got != live {
		t.Errorf("mid-rotation: %s %v, want %s", got, err, live)
	}
	if got, _, err := w.ContainerLog("app", true); err != nil || got != w.deps.Layout.LogPath(w.uid, "app", 1) {
		t.Errorf("previous, mid-rotation: %s %v", got, err)
	}
}
