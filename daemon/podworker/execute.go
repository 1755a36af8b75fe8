package podworker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/internal/limiter"
	"github.com/podd-dev/podd/internal/undo"
	"github.com/podd-dev/podd/runtime/volume"
)

// execute runs the planner's actions in its order: kills in the background
// (each with its own grace), sandbox changes, init containers one by one,
// app containers all together. It reports whether the pod was removed, and
// whether an action failed in a way the planner cannot see (then the loop
// waits a little before it tries again).
func (w *Worker) execute(ctx context.Context, actions []planner.Action) (removed, stalled bool) {
	// Instances made ahead by an earlier round's sandbox creation that
	// this round does not start are not asked for.
	defer w.discardHeld(ctx, w.heldIDs())
	w.removeOrphansHeld(ctx)
	var apps []planner.Action
	for _, a := range actions {
		slog.Debug("Pod action", "pod", w.key, "uid", w.uid, "action", a.String())
		switch a.Kind {
		case planner.ActionKillContainer:
			w.startKill(ctx, a)
		case planner.ActionKillSandbox:
			if !w.admitted(ctx, limiter.Maintain, func() bool { return w.killSandbox(ctx) }) {
				return false, true // the sandbox stays recorded; retried after a pause
			}
		case planner.ActionCreateSandbox:
			w.warmMigrations()
			t := newStartTiming(kindSandbox, time.Now())
			if !w.admitted(ctx, limiter.Start, func() bool { t.mark("queue", time.Now()); return w.makeTimedSandbox(ctx, a.Attempt, t) }) {
				return false, false // the planner backs off (SandboxFailed)
			}
		case planner.ActionStartInitContainer:
			if !w.startContainer(ctx, a) {
				return false, false // R30: the next init container waits for this one
			}
		case planner.ActionStartContainer:
			apps = append(apps, a)
		case planner.ActionRemovePod:
			var err error
			t := newStartTiming(kindRemoval, time.Now())
			if !w.admitted(ctx, limiter.Maintain, func() bool { t.mark("queue", time.Now()); err = w.removePod(ctx, t); return true }) {
				return false, false
			}
			w.finishRemoval(t, err)
			if err != nil {
				slog.Error("Remove pod", "pod", w.key, "uid", w.uid, "err", err)
				return false, true // retried after a pause
			}
			slog.Info("Pod removed", "pod", w.key, "uid", w.uid)
			return true, false
		}
	}
	// R30: app containers start in parallel.
	var wg sync.WaitGroup
	for _, a := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.guard("start container "+a.Container, func() { w.startContainer(ctx, a) })
		}()
	}
	wg.Wait()
	return false, false
}

// warmMigrations warms the host's cgroup migrations (Deps.WarmMigrations)
// before a step that migrates a process: a sandbox's creation (its shim
// and pause), a container's (its init, ~7 ms after the shim is asked).
// Within the kernel's window it costs a no-op migration and keeps the
// window open; after it, the wait runs beside the step's start.
func (w *Worker) warmMigrations() {
	if w.deps.WarmMigrations != nil {
		w.deps.WarmMigrations()
	}
}

// admitted runs do once the daemon's work budget admits it at priority p,
// and returns what do returned; false if ctx ended while waiting. A change
// deferred to do's first write (commit) is written before any wait:
// clients never wait on the budget to see a round's status.
func (w *Worker) admitted(ctx context.Context, p limiter.Priority, do func() bool) bool {
	if ctx.Err() != nil {
		return false // the daemon stops: no new work
	}
	release, ok := w.deps.Work.TryAcquire()
	if !ok {
		w.flushUnsaved()
		var err error
		if release, err = w.deps.Work.Acquire(ctx, p); err != nil {
			return false
		}
	}
	defer release()
	return do()
}

// makeSandbox creates sandbox number attempt and records the outcome.
func (w *Worker) makeSandbox(ctx context.Context, attempt uint32) bool {
	return w.makeTimedSandbox(ctx, attempt, newStartTiming(kindSandbox, time.Now()))
}

// makeTimedSandbox is makeSandbox whose phases add to t.
func (w *Worker) makeTimedSandbox(ctx context.Context, attempt uint32, t *startTiming) bool {
	var sb *Sandbox
	var cl ShimClient
	// What an earlier creation left behind goes first.
	err := w.abandonCreation(ctx)
	t.mark("cleanup", time.Now())
	if err == nil {
		dctx, stop := w.untilDeleted(ctx)
		cctx, cancel := context.WithTimeout(dctx, w.runtimeTimeout())
		sb, cl, err = w.createSandbox(cctx, attempt, t)
		cancel()
		stop()
	}
	w.mu.Lock()
	if !errors.Is(err, undo.ErrIncomplete) {
		// A rollback that did not finish keeps SandboxCreating, so that
		// abandonCreation retries it before anything else.
		w.state.SandboxCreating = ""
	}
	if err != nil {
		// One cut short by the daemon's stop is not the pod's failure,
		// which the next daemon would back off on; it makes the sandbox
		// anew.
		stopped := ctx.Err() != nil
		if !stopped {
			w.state.SandboxFailure = &SandboxFailure{Message: err.Error(), At: time.Now(),
				Waiting: errors.Is(err, volume.ErrNotFound)}
		}
		w.mu.Unlock()
		w.persist()
		w.finishStart(t, "", err)
		if stopped {
			slog.Info("Sandbox creation cut short by the daemon's stop", "pod", w.key, "uid", w.uid, "err", err)
		} else {
			slog.Warn("Create sandbox", "pod", w.key, "uid", w.uid, "err", err)
		}
		return false
	}
	w.state.Sandbox = sb
	w.state.SandboxFailure = nil
	// Written by the next round's commit, before anything of the round
	// runs (R30: no container starts in the round that made the sandbox),
	// rather than here and again there: one write less between the
	// sandbox and its first container. Until then the disk still says
	// SandboxCreating, so a crash in between undoes the sandbox
	// (abandonCreation), whose containers are at most held, never run.
	w.unsaved = true
	w.mu.Unlock()
	w.setShim(ctx, cl)
	w.finishStart(t, sb.ID, nil)
	return true
}

// killSandbox tears down the sandbox after its containers stopped. A
// teardown that failed keeps the sandbox recorded (the planner asks again),
// so that nothing it holds (a CNI attachment, an IP) is forgotten.
func (w *Worker) killSandbox(ctx context.Context) bool {
	if err := w.teardownSandbox(ctx, nil); err != nil {
		slog.Warn("Tear down sandbox", "pod", w.key, "uid", w.uid, "err", err)
		return false
	}
	w.mu.Lock()
	w.state.Sandbox = nil
	w.mu.Unlock()
	w.persist()
	return true
}

// untilDeleted returns ctx, also cancelled when the pod's delete is
// requested (at once if it was already); stop releases it.
func (w *Worker) untilDeleted(ctx context.Context) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state.Deletion != nil {
		cancel()
		return ctx, cancel
	}
	w.startSeq++
	id := w.startSeq
	w.starts[id] = cancel
	return ctx, func() {
		w.mu.Lock()
		delete(w.starts, id)
		w.mu.Unlock()
		cancel()
	}
}
