package podworker

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/planner"
)

// EventWorkerPanic is the Warning event of a recovered panic in a pod's
// worker: the pod's failure, never the daemon's.
const EventWorkerPanic = "PodWorkerPanic"

// caughtPanic is a panic recovered in one of the worker's goroutines.
type caughtPanic struct {
	where string
	value any
}

// guard runs f and turns a panic in it into the pod's failure: logged with
// its stack, a Warning event, and (by the loop) a failed sandbox.
func (w *Worker) guard(where string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			w.notePanic(where, r, debug.Stack())
		}
	}()
	f()
}

// goGuarded runs f in a goroutine under guard and wakes the loop after a
// panic, so that it handles it.
func (w *Worker) goGuarded(where string, f func()) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				w.notePanic(where, r, debug.Stack())
				w.poke()
			}
		}()
		f()
	}()
}

// notePanic records a recovered panic for the loop.
func (w *Worker) notePanic(where string, r any, stack []byte) {
	slog.Error("Pod worker panicked; the pod's sandbox fails and is retried with back-off",
		"pod", w.key, "uid", w.uid, "in", where, "panic", fmt.Sprint(r), "stack", string(stack))
	w.event(corev1.EventTypeWarning, EventWorkerPanic, "", fmt.Sprintf("recovered from a panic in %s: %v", where, r))
	w.mu.Lock()
	if w.panicked == nil {
		w.panicked = &caughtPanic{where: where, value: r}
	}
	w.mu.Unlock()
}

// takePanic returns and clears the panic noted since the last call.
func (w *Worker) takePanic() *caughtPanic {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.panicked
	w.panicked = nil
	return p
}

// failAfterPanic makes a recovered panic the failure of the pod's sandbox:
// what a creation cut short made is undone, a sandbox that exists is torn
// down (its containers restart in the next one, R32), and the failure is
// recorded so that the planner retries with its back-off (R41). A sandbox
// whose teardown failed (or panicked) stays recorded, so that the next
// teardown finishes the job instead of leaking it.
func (w *Worker) failAfterPanic(ctx context.Context, p *caughtPanic) {
	torn := false
	w.guard("failing the sandbox after a panic", func() {
		if err := w.abandonCreation(ctx); err != nil {
			slog.Warn("Undo sandbox creation after a panic", "pod", w.key, "uid", w.uid, "err", err)
		}
		w.mu.Lock()
		sb := w.state.Sandbox
		w.mu.Unlock()
		if sb != nil {
			if err := w.teardownSandbox(ctx, nil); err != nil {
				slog.Warn("Tear down sandbox after a panic", "pod", w.key, "uid", w.uid, "err", err)
				return
			}
		}
		torn = true
	})
	w.mu.Lock()
	if torn {
		w.state.Sandbox = nil
	}
	w.state.SandboxFailure = &SandboxFailure{
		Message: fmt.Sprintf("pod worker panicked in %s: %v", p.where, p.value), At: time.Now(),
	}
	w.mu.Unlock()
	w.takePanic() // a panic of the teardown itself is logged and not retried here
	w.persist()
}

// panicBackoff is how long the loop waits after its n-th panic in a row,
// before the planner sees anything: the planner's back-off settings,
// doubling from the base to the max.
func (w *Worker) panicBackoff(n int) time.Duration {
	base, limit := w.deps.Planner.BackoffBase, w.deps.Planner.BackoffMax
	if base <= 0 {
		base = planner.DefaultBackoffBase
	}
	if limit <= 0 {
		limit = planner.DefaultBackoffMax
	}
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
