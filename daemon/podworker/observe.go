package podworker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/internal/limiter"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/spec"
)

// observeTimeout bounds one State call to the shim, once admitted by the
// observe budget. A call that takes longer tells nothing about the sandbox:
// it stays as last seen and is looked at again later. (A variable for tests.)
var observeTimeout = 5 * time.Second

// reconnect finds the shim of a sandbox that existed before a daemon
// restart, and subscribes to its events. The probes of what still runs
// start again at the first round's look (observe), as for any running
// instance that has none.
func (w *Worker) reconnect(ctx context.Context) {
	w.mu.Lock()
	sb := w.state.Sandbox
	w.mu.Unlock()
	if sb == nil {
		return
	}
	release, err := w.deps.Observes.Acquire(ctx, limiter.Maintain)
	if err != nil {
		return
	}
	defer release()
	cl, err := w.connectShim(ctx)
	if err != nil {
		return // observe tries again, and decides on evidence
	}
	w.setShim(ctx, cl)
}

// connectTimeout bounds reconnecting to a pod's shim; a restarting daemon
// connects to every shim at once, so it allows for a busy host.
const connectTimeout = 5 * time.Second

// connectShim connects to the pod's running shim, retrying until
// connectTimeout. The error wraps shim.ErrGone when there is evidence that
// the shim no longer runs.
func (w *Worker) connectShim(ctx context.Context) (ShimClient, error) {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	dir := w.deps.Layout.ShimDir(w.uid)
	for {
		cl, err := w.deps.shims().Connect(cctx, dir)
		if errors.Is(err, fs.ErrNotExist) {
			// No shim at all (reboot, or it exited and cleaned up).
			return nil, fmt.Errorf("connect to the pod's shim: %w: %w", shim.ErrGone, err)
		}
		if err == nil {
			return cl, nil
		}
		if cctx.Err() == nil {
			if gone := w.deps.shims().Gone(cctx, dir); gone != nil {
				return nil, fmt.Errorf("connect to the pod's shim: %w", gone)
			}
		}
		select {
		case <-cctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// setShim installs the shim client and follows its events to wake the loop
// and the stops waiting for an exit. A stream that ends while the shim is
// still the pod's and has not exited (it fell behind, or the connection was
// cut) is opened again after a pause.
func (w *Worker) setShim(ctx context.Context, cl ShimClient) {
	w.mu.Lock()
	w.shim = cl
	w.mu.Unlock()
	w.goGuarded("following shim events", func() {
		pause := eventsRetryMin
		for {
			if w.followEvents(ctx, cl) {
				pause = eventsRetryMin
			}
			if ctx.Err() != nil || cl.Exited() || w.currentShim() != cl {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, eventsRetryMax)
		}
	})
}

// eventsRetryMin and eventsRetryMax bound the pause before a shim's event
// stream is opened again.
const (
	eventsRetryMin = 100 * time.Millisecond
	eventsRetryMax = 5 * time.Second
)

// followEvents wakes the loop and the exit waiters once the stream from cl
// is open and at each of its events, until it ends; it reports whether any
// event came.
func (w *Worker) followEvents(ctx context.Context, cl ShimClient) (any bool) {
	defer func() {
		w.shimEventSeen()
		w.poke()
	}()
	stream, err := cl.Events(ctx, &shimv1.EventsRequest{})
	if err != nil {
		return false
	}
	// What changed before the subscription was up came as no event: a
	// round now looks (the loop's own rounds may all have come earlier).
	w.shimEventSeen()
	w.poke()
	for {
		if _, err := stream.Recv(); err != nil {
			return any
		}
		any = true
		w.shimEventSeen()
		w.poke()
	}
}

// nextShimEvent returns a channel closed at the shim's next event.
func (w *Worker) nextShimEvent() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.shimEvent
}

// shimEventSeen wakes everything waiting on nextShimEvent.
func (w *Worker) shimEventSeen() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.shimEvent)
	w.shimEvent = make(chan struct{})
}

func (w *Worker) currentShim() ShimClient {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.shim
}

// observe builds the planner's input from the shim's state and what the
// worker knows itself. It reports false when the shim did not answer and
// there is no evidence it is gone: the sandbox's state is unknown, and the
// worker must not act on it (a slow answer never loses a sandbox).
func (w *Worker) observe(ctx context.Context) (planner.Input, bool) {
	w.mu.Lock()
	pod := w.pod.DeepCopy()
	pod.Status = *w.state.Status.DeepCopy()
	pod.Status.HostIP = w.deps.NodeIP
	pod.Status.HostIPs = []corev1.HostIP{{IP: w.deps.NodeIP}}
	in := planner.Input{
		Pod: pod, Now: time.Now(), Config: w.deps.Planner,
		History: w.state.History, Containers: map[string]planner.Observed{},
	}
	if d := w.state.Deletion; d != nil {
		dc := *d
		in.Deletion = &dc
	}
	in.Eviction = w.eviction
	sb, failure := w.state.Sandbox, w.state.SandboxFailure
	w.mu.Unlock()

	var shimStates []*shimv1.ContainerState
	switch {
	case sb != nil:
		in.Sandbox = planner.Sandbox{State: planner.SandboxReady, Attempt: sb.Attempt, IP: sb.IP}
		states, err := w.sandboxStates(ctx)
		if err != nil && !errors.Is(err, shim.ErrGone) {
			if !w.silence.deleteAnyway(in.Deletion, gracePeriod(w.pod, in.Deletion), in.Now) {
				w.silence.note(w.key, w.uid, err, in.Now)
				return in, false
			}
			err = fmt.Errorf("deleting the pod whose shim has not answered since %s: %w", w.silence.since.Format(time.RFC3339), err)
		}
		if err != nil {
			in.Sandbox.State, in.Sandbox.Message = planner.SandboxLost, err.Error()
			slog.Warn("Sandbox lost", "pod", w.key, "uid", w.uid, "sandbox", sb.ID, "err", err)
			break
		}
		w.silence.end(w.key, w.uid, in.Now)
		shimStates = withoutHeld(states)
		w.noteOrphansHeld(states)
		w.probeRunning(states, *sb)
		if p := find(states, spec.PauseID); p == nil || p.GetStatus() != shimv1.Status_STATUS_RUNNING {
			in.Sandbox.State, in.Sandbox.Message = planner.SandboxLost, "the pod's pause holder exited"
			slog.Warn("Sandbox lost", "pod", w.key, "uid", w.uid, "sandbox", sb.ID, "err", in.Sandbox.Message)
		}
	case failure != nil:
		in.Sandbox = planner.Sandbox{State: planner.SandboxFailed, Message: failure.Message, FailedAt: failure.At, Waiting: failure.Waiting}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range allContainers(w.pod) {
		obs := planner.Observed{StartFailure: w.state.StartFailures[c.Name]}
		if st := newestInstance(shimStates, c.Name); st != nil {
			obs.Instance = w.instance(st)
		}
		in.Containers[c.Name] = obs
	}
	return in, true
}

// sandboxStates asks the pod's shim for its containers, connecting first
// after a daemon restart or a failed connect. An error wrapping
// shim.ErrGone is evidence that the sandbox is lost; any other error (a
// timeout, a busy shim, the daemon stopping) says nothing about it.
func (w *Worker) sandboxStates(ctx context.Context) ([]*shimv1.ContainerState, error) {
	release, err := w.deps.Observes.Acquire(ctx, limiter.Maintain)
	if err != nil {
		return nil, fmt.Errorf("wait to observe the pod's shim: %w", err)
	}
	defer release()
	cl := w.currentShim()
	if cl == nil {
		if cl, err = w.connectShim(ctx); err != nil {
			return nil, err
		}
		w.setShim(ctx, cl)
	}
	states, err := w.shimState(ctx, cl)
	switch {
	case err == nil:
		return states, nil
	case ctx.Err() != nil:
		return nil, err // the daemon is stopping: not evidence
	case cl.Exited():
		return nil, fmt.Errorf("%w: its process exited: %w", shim.ErrGone, err)
	}
	if gone := w.deps.shims().Gone(ctx, w.deps.Layout.ShimDir(w.uid)); gone != nil {
		return nil, fmt.Errorf("%w (%w)", gone, err)
	}
	return nil, err
}

func (w *Worker) shimState(ctx context.Context, cl ShimClient) ([]*shimv1.ContainerState, error) {
	if cl == nil {
		return nil, fmt.Errorf("the pod's shim is not connected")
	}
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	resp, err := cl.State(ctx, &shimv1.StateRequest{})
	if err != nil {
		return nil, fmt.Errorf("the pod's shim did not answer: %w", err)
	}
	return resp.GetContainers(), nil
}

// instance converts a shim container state. Callers hold mu.
func (w *Worker) instance(st *shimv1.ContainerState) *planner.Instance {
	_, restart, _ := store.ParseInstanceKey(st.GetId())
	cid := st.GetLabels()[labelContainerID]
	if cid == "" {
		cid = store.LegacyContainerID(w.uid, st.GetId())
	}
	i := &planner.Instance{
		ID:             st.GetId(),
		Restart:        restart,
		ContainerID:    cid,
		Exited:         st.GetStatus() == shimv1.Status_STATUS_STOPPED,
		ExitCode:       st.GetExitCode(),
		Signal:         st.GetSignal(),
		Reason:         st.GetReason(),
		Message:        st.GetMessage(),
		ImageID:        st.GetLabels()[labelImageID],
		KillInProgress: w.killing[st.GetId()],
		Probes:         w.probeResults[st.GetId()],
	}
	if st.GetOomKilled() {
		i.Reason = "OOMKilled"
	}
	if t := st.GetStartedUnixNano(); t > 0 {
		i.StartedAt = time.Unix(0, t)
	}
	if t := st.GetFinishedUnixNano(); t > 0 {
		i.FinishedAt = time.Unix(0, t)
	}
	if ps, ok := w.postStart[st.GetId()]; ok {
		i.PostStartPending = ps == nil
		if ps != nil {
			i.PostStartError = *ps
		}
	}
	return i
}

func find(states []*shimv1.ContainerState, id string) *shimv1.ContainerState {
	for _, s := range states {
		if s.GetId() == id {
			return s
		}
	}
	return nil
}

// newestInstance returns the shim container of the named pod container with
// the highest restart number.
func newestInstance(states []*shimv1.ContainerState, name string) *shimv1.ContainerState {
	var best *shimv1.ContainerState
	bestN := int32(-1)
	for _, s := range states {
		if s.GetLabels()[labelContainer] != name {
			continue
		}
		if _, n, ok := store.ParseInstanceKey(s.GetId()); ok && n > bestN {
			best, bestN = s, n
		}
	}
	return best
}

// allContainers lists init containers then app containers.
func allContainers(pod *corev1.Pod) []*corev1.Container {
	var out []*corev1.Container
	for i := range pod.Spec.InitContainers {
		out = append(out, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	return out
}
