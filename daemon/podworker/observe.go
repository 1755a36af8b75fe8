package podworker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/daemon/store"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// observeTimeout bounds one State call to the shim.
const observeTimeout = 5 * time.Second

// reconnect finds the shim of a sandbox that existed before a daemon
// restart, and subscribes to its events.
func (w *Worker) reconnect(ctx context.Context) {
	w.mu.Lock()
	sb := w.state.Sandbox
	w.mu.Unlock()
	if sb == nil {
		return
	}
	cl, err := w.connectShim(ctx)
	if err != nil {
		return // observe tries again, then reports the sandbox lost
	}
	w.setShim(ctx, cl)
	// Probes live in the daemon: start them again for what still runs.
	states, err := w.shimState(ctx, cl)
	if err != nil {
		return
	}
	for _, c := range allContainers(w.pod) {
		st := newestInstance(states, c.Name)
		if st != nil && st.GetStatus() == shimv1.Status_STATUS_RUNNING {
			w.addProbes(c, st.GetId(), *sb)
		}
	}
}

// connectTimeout bounds reconnecting to a pod's shim; a restarting daemon
// connects to every shim at once, so it allows for a busy host.
const connectTimeout = 5 * time.Second

// connectShim connects to the pod's running shim, retrying until
// connectTimeout.
func (w *Worker) connectShim(ctx context.Context) (ShimClient, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	dir := w.deps.Layout.ShimDir(w.uid)
	for {
		cl, err := w.deps.shims().Connect(ctx, dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("connect to the pod's shim: %w", err) // no shim at all (reboot)
		}
		if err == nil {
			return cl, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// setShim installs the shim client and follows its events to wake the loop.
func (w *Worker) setShim(ctx context.Context, cl ShimClient) {
	w.mu.Lock()
	w.shim = cl
	w.mu.Unlock()
	w.goGuarded("following shim events", func() {
		stream, err := cl.Events(ctx, &shimv1.EventsRequest{})
		if err != nil {
			w.poke()
			return
		}
		for {
			if _, err := stream.Recv(); err != nil {
				w.poke()
				return
			}
			w.poke()
		}
	})
}

func (w *Worker) currentShim() ShimClient {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.shim
}

// observe builds the planner's input from the shim's state and what the
// worker knows itself.
func (w *Worker) observe(ctx context.Context) planner.Input {
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
	sb, failure := w.state.Sandbox, w.state.SandboxFailure
	cl := w.shim
	w.mu.Unlock()

	if sb != nil && cl == nil {
		// The daemon restarted, or a connect failed: try once more before
		// calling the sandbox lost.
		if c, err := w.connectShim(ctx); err == nil {
			w.setShim(ctx, c)
			cl = c
		}
	}
	var shimStates []*shimv1.ContainerState
	switch {
	case sb != nil:
		in.Sandbox = planner.Sandbox{State: planner.SandboxReady, Attempt: sb.Attempt, IP: sb.IP}
		states, err := w.shimState(ctx, cl)
		if err != nil {
			in.Sandbox.State, in.Sandbox.Message = planner.SandboxLost, err.Error()
			break
		}
		shimStates = states
		if p := find(states, store.PauseID); p == nil || p.GetStatus() != shimv1.Status_STATUS_RUNNING {
			in.Sandbox.State, in.Sandbox.Message = planner.SandboxLost, "the pod's pause holder exited"
		}
	case failure != nil:
		in.Sandbox = planner.Sandbox{State: planner.SandboxFailed, Message: failure.Message, FailedAt: failure.At}
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
	return in
}

func (w *Worker) shimState(ctx context.Context, cl ShimClient) ([]*shimv1.ContainerState, error) {
	if cl == nil {
		return nil, fmt.Errorf("the pod's shim is not reachable")
	}
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	resp, err := cl.State(ctx, &shimv1.StateRequest{})
	if err != nil {
		return nil, fmt.Errorf("the pod's shim is not reachable: %w", err)
	}
	return resp.GetContainers(), nil
}

// instance converts a shim container state. Callers hold mu.
func (w *Worker) instance(st *shimv1.ContainerState) *planner.Instance {
	i := &planner.Instance{
		ID:             st.GetId(),
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
	bestN := -1
	for _, s := range states {
		if s.GetLabels()[labelContainer] != name {
			continue
		}
		if n := instanceNumber(s.GetId()); n > bestN {
			best, bestN = s, n
		}
	}
	return best
}

// instanceNumber is the restart number at the end of an instance id.
func instanceNumber(id string) int {
	i := strings.LastIndexByte(id, '-')
	n, err := strconv.Atoi(id[i+1:])
	if i < 0 || err != nil {
		return -1
	}
	return n
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
