package podworker

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/hooks"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// minGraceAfterPreStop is the least time the stop signal gets after preStop
// (R50).
const minGraceAfterPreStop = 2 * time.Second

// exitRecheckMin and exitRecheckMax bound how long a stop waits for the
// shim's next event before it asks the shim whether the instance exited.
const (
	exitRecheckMin = 250 * time.Millisecond
	exitRecheckMax = 2 * time.Second
)

// startKill stops an instance in the background (R50): preStop, the stop
// signal, SIGKILL when the grace runs out. The loop sees KillInProgress.
func (w *Worker) startKill(ctx context.Context, a planner.Action) {
	w.mu.Lock()
	if w.killing[a.ID] {
		w.mu.Unlock()
		return
	}
	w.killing[a.ID] = true
	w.mu.Unlock()
	c := w.containerSpec(a)
	w.event(corev1.EventTypeNormal, "Killing", fieldPath(c, a.Init), a.Message)
	w.goGuarded("stop container "+a.ID, func() {
		defer func() {
			w.mu.Lock()
			delete(w.killing, a.ID)
			w.mu.Unlock()
			w.poke()
		}()
		// Stopping must finish even when the daemon shuts down meanwhile.
		kctx := context.WithoutCancel(ctx)
		if err := w.stopInstance(kctx, a, c); err != nil {
			slog.Warn("Stop container", "pod", w.key, "uid", w.uid, "container", a.ID, "err", err)
		}
	})
}

// stopInstance runs R50 for one instance.
func (w *Worker) stopInstance(ctx context.Context, a planner.Action, c *corev1.Container) error {
	cl := w.currentShim()
	if cl == nil {
		return fmt.Errorf("stop container %q: no shim", a.ID)
	}
	start := time.Now()
	deadline := start.Add(planner.Seconds(a.GracePeriodSeconds))
	if a.GracePeriodSeconds > 0 && a.RunPreStop && c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		w.runPreStop(ctx, a, c, deadline)
		deadline = killDeadline(deadline, time.Now())
	}
	if a.GracePeriodSeconds > 0 {
		sig := w.stopSignal(ctx, a.ID)
		if _, err := cl.Signal(ctx, &shimv1.SignalRequest{Id: a.ID, Signal: int32(sig)}); err != nil {
			return fmt.Errorf("signal container %q: %w", a.ID, err)
		}
		if w.waitExit(ctx, a.ID, deadline) {
			return nil
		}
	}
	if _, err := cl.Signal(ctx, &shimv1.SignalRequest{Id: a.ID, Signal: int32(syscall.SIGKILL), All: true}); err != nil {
		return fmt.Errorf("kill container %q: %w", a.ID, err)
	}
	if !w.waitExit(ctx, a.ID, time.Now().Add(30*time.Second)) {
		return fmt.Errorf("container %q did not exit after SIGKILL", a.ID)
	}
	return nil
}

// runPreStop runs the preStop hook until it ends or the grace runs out; a
// failure is an event and does not stop the termination (R52).
func (w *Worker) runPreStop(ctx context.Context, a planner.Action, c *corev1.Container, deadline time.Time) {
	hctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	w.mu.Lock()
	ip := ""
	if w.state.Sandbox != nil {
		ip = w.state.Sandbox.IP
	}
	w.mu.Unlock()
	out, err := hooks.Run(hctx, c.Lifecycle.PreStop, hooks.Target{
		PodIP: ip, HostNetwork: w.pod.Spec.HostNetwork, ContainerPorts: c.Ports, ContainerID: a.ID,
	}, w.execer(), deadline)
	if err != nil {
		msg := fmt.Sprintf("PreStopHook failed: %v", err)
		if out != "" {
			msg += ": " + out
		}
		w.event(corev1.EventTypeWarning, "FailedPreStopHook", fieldPath(c, a.Init), msg)
	}
}

// stopSignal is the instance's stop signal, recorded as a label at start.
func (w *Worker) stopSignal(ctx context.Context, id string) syscall.Signal {
	states, err := w.shimState(ctx, w.currentShim())
	if err == nil {
		if st := find(states, id); st != nil {
			if n, err := strconv.Atoi(st.GetLabels()[labelStopSignal]); err == nil && n > 0 {
				return syscall.Signal(n)
			}
		}
	}
	return syscall.SIGTERM
}

// killDeadline is when SIGKILL follows the stop signal once preStop has
// returned at now (R50): the end of the grace period, but never less than
// minGraceAfterPreStop away, also when preStop outlived the grace.
func killDeadline(graceEnd, now time.Time) time.Time {
	if graceEnd.Sub(now) < minGraceAfterPreStop {
		return now.Add(minGraceAfterPreStop)
	}
	return graceEnd
}

// waitExit waits until the instance stopped or deadline passes. It asks
// the shim once, then again at each of the shim's events (an exit is one);
// without events (a stream being opened again) it asks at growing
// intervals, never more often than exitRecheckMin.
func (w *Worker) waitExit(ctx context.Context, id string, deadline time.Time) bool {
	recheck := exitRecheckMin
	for {
		event := w.nextShimEvent() // before asking: an exit in between still wakes us
		cl := w.currentShim()
		if cl == nil {
			return true // the sandbox is gone, and the instance with it
		}
		states, err := w.shimState(ctx, cl)
		if err == nil {
			st := find(states, id)
			if st == nil || st.GetStatus() == shimv1.Status_STATUS_STOPPED {
				return true
			}
		}
		left := time.Until(deadline)
		if left < 0 {
			return false
		}
		timer := time.NewTimer(min(recheck, left+time.Millisecond))
		select {
		case <-event:
		case <-timer.C:
			recheck = min(2*recheck, exitRecheckMax)
		case <-ctx.Done():
			timer.Stop()
			return false
		}
		timer.Stop()
	}
}
