package podworker

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
)

// A failure at any step of a sandbox creation undoes everything made before
// it (issue 7 item 2: the rollback once dereferenced results that the
// failing return had cleared, so any failure after CNI ADD crashed the
// daemon), and leaves a SandboxFailure for the planner's back-off.
func TestCreateSandboxRollbackAtEveryStep(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*podworkertest.Host, *Worker)
		want  string // in the failure message
	}{
		{"volumes", func(h *podworkertest.Host, _ *Worker) { h.Script("volumes.prepare", podworkertest.FaultError, 0) }, "prepare volumes"},
		{"network (CNI ADD)", func(h *podworkertest.Host, _ *Worker) { h.Script("network.setup", podworkertest.FaultError, 0) }, "set up pod network"},
		{"pod files", func(_ *podworkertest.Host, w *Worker) { os.Remove(w.deps.ResolvConf) }, "write pod files"},
		{"shim start timeout", func(h *podworkertest.Host, _ *Worker) { h.Script("shim.launch", podworkertest.FaultError, 0) }, "start shim"},
		{"pause create", func(h *podworkertest.Host, _ *Worker) { h.Script("pause.create", podworkertest.FaultError, 0) }, "start pause"},
		{"pause exits at once", func(h *podworkertest.Host, _ *Worker) { h.PauseExits = true }, "start pause"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, h := newTestWorker(t, testPod("rollback"))
			tc.setup(h, w)
			var ok bool
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("sandbox rollback panicked: %v", r)
					}
				}()
				ok = w.makeSandbox(context.Background(), 1)
			}()
			if ok {
				t.Fatal("makeSandbox succeeded despite the fault")
			}
			if l := h.Leaks(); len(l) > 0 {
				t.Errorf("left behind after the rollback: %v", l)
			}
			f := w.state.SandboxFailure
			if f == nil || !strings.Contains(f.Message, tc.want) || f.At.IsZero() {
				t.Errorf("SandboxFailure = %+v, want a message with %q", f, tc.want)
			}
			if w.state.Sandbox != nil || w.state.SandboxCreating != "" {
				t.Errorf("state after a failed creation: sandbox %+v, creating %q", w.state.Sandbox, w.state.SandboxCreating)
			}
		})
	}
}

// The rollback runs newest first: shim, then network, then volumes, under
// a context of its own (the creation's was cancelled by its deadline).
func TestCreateSandboxRollbackOrderAfterHang(t *testing.T) {
	w, h := newTestWorker(t, testPod("order"))
	w.deps.RuntimeTimeout = 100 * time.Millisecond
	h.Script("pause.create", podworkertest.FaultHang, 0)
	if w.makeSandbox(context.Background(), 1) {
		t.Fatal("makeSandbox succeeded with a hanging pause")
	}
	want := []string{"stop shim", "network teardown", "volumes cleanup"}
	if !slices.Equal(h.Log(), want) {
		t.Errorf("undo order %v, want %v", h.Log(), want)
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
	if f := w.state.SandboxFailure; f == nil || !strings.Contains(f.Message, "deadline exceeded") {
		t.Errorf("SandboxFailure = %+v, want the deadline", f)
	}
}

// A shim that does not answer its stop is killed by the rollback, and the
// failed undo is reported with the creation's error.
func TestCreateSandboxRollbackKillsShimThatWontStop(t *testing.T) {
	w, h := newTestWorker(t, testPod("stuck"))
	h.Script("pause.create", podworkertest.FaultError, 0)
	h.Script("shim.stop", podworkertest.FaultError, 0)
	if w.makeSandbox(context.Background(), 1) {
		t.Fatal("makeSandbox succeeded")
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
	msg := w.state.SandboxFailure.Message
	if !strings.Contains(msg, "start pause") || !strings.Contains(msg, "undo: stop the shim of pod default/web") {
		t.Errorf("failure message %q does not name the step and the failed undo", msg)
	}
}
