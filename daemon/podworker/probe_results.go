package podworker

import (
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/probes"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// probeRunning registers the probes of every running instance in states
// that has none yet: one the worker did not start itself (it ran before a
// daemon restart, also when the reconnect could not look or its start was
// still under way then), from what the recorded status says it had passed.
func (w *Worker) probeRunning(states []*shimv1.ContainerState, sb Sandbox) {
	for _, c := range allContainers(w.pod) {
		st := newestInstance(states, c.Name)
		if st == nil || st.GetStatus() != shimv1.Status_STATUS_RUNNING || w.probing(st.GetId()) {
			continue
		}
		w.addProbes(c, st.GetId(), sb, w.recordedProbes(c, st.GetId()))
	}
}

// probing reports whether the probes of instance id are registered.
func (w *Worker) probing(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.probed[id]
}

// addProbes registers the instance's probes once, startup first (the
// manager holds liveness and readiness until startup succeeds, R43).
// passed is what the instance had passed before a daemon restart (zero for
// a new one): those probes resume from there.
func (w *Worker) addProbes(c *corev1.Container, id string, sb Sandbox, passed planner.ProbeResults) {
	key := probes.ContainerKey{PodUID: w.uid, Container: c.Name, InstanceID: id}
	w.mu.Lock()
	if w.probed[id] {
		w.mu.Unlock()
		return
	}
	w.probed[id] = true
	if passed != (planner.ProbeResults{}) {
		w.probeResults[id] = passed
	}
	w.mu.Unlock()
	target := probes.Target{
		PodIP: sb.IP, HostNetwork: w.pod.Spec.HostNetwork, ContainerPorts: c.Ports,
		Execer: w.execer(), ContainerID: id,
	}
	for _, p := range []struct {
		kind  probes.Kind
		probe *corev1.Probe
	}{{probes.Startup, c.StartupProbe}, {probes.Liveness, c.LivenessProbe}, {probes.Readiness, c.ReadinessProbe}} {
		if p.probe == nil {
			continue
		}
		add := w.deps.Probes.Add
		if p.kind == probes.Startup && passed.StartupSucceeded || p.kind == probes.Readiness && passed.Ready {
			add = w.deps.Probes.Resume
		}
		if err := add(key, p.kind, p.probe, target); err != nil {
			slog.Warn("Add probe", "pod", w.key, "uid", w.uid, "container", id, "probe", p.kind.String(), "err", err)
			w.event(corev1.EventTypeWarning, "Unhealthy", "spec.containers{"+c.Name+"}", fmt.Sprintf("%s probe errored: %v", p.kind, err))
		}
	}
}

// recordedProbes is what the recorded status says instance id of c had
// passed before a daemon restart: started (with a startup probe) and ready
// (with a readiness probe), when the status is of that very instance.
func (w *Worker) recordedProbes(c *corev1.Container, id string) planner.ProbeResults {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.state.History.Containers[c.Name]
	if !ok || h.InstanceID != id || h.ContainerID == "" {
		return planner.ProbeResults{}
	}
	st := w.state.Status
	for _, cs := range append(append([]corev1.ContainerStatus{}, st.InitContainerStatuses...), st.ContainerStatuses...) {
		if cs.Name != c.Name || cs.ContainerID != planner.ContainerIDPrefix+h.ContainerID || cs.State.Running == nil {
			continue
		}
		return planner.ProbeResults{
			StartupSucceeded: c.StartupProbe != nil && cs.Started != nil && *cs.Started,
			Ready:            c.ReadinessProbe != nil && cs.Ready,
		}
	}
	return planner.ProbeResults{}
}

// ProbeUpdate takes a probe worker's new state for one of this pod's
// instances (the daemon routes updates by pod UID), and wakes the loop
// when it changes the instance's results.
func (w *Worker) ProbeUpdate(u probes.Update) {
	fp := "spec.containers{" + u.Key.Container + "}"
	for i := range w.pod.Spec.InitContainers {
		if w.pod.Spec.InitContainers[i].Name == u.Key.Container {
			fp = "spec.initContainers{" + u.Key.Container + "}"
		}
	}
	if u.Warning != "" {
		w.event(corev1.EventTypeWarning, "ProbeWarning", fp, fmt.Sprintf("%s probe warning: %s", u.Kind, u.Warning))
	}
	w.mu.Lock()
	before := w.probeResults[u.Key.InstanceID]
	r := before
	ok := u.Result == probes.Success
	switch {
	case u.Result == probes.Unknown:
		// A failed run that decided nothing yet (startup below threshold).
	case u.Kind == probes.Startup:
		r.StartupSucceeded = ok
		r.StartupFailed = !ok
	case u.Kind == probes.Liveness:
		r.LivenessFailed = !ok
	case u.Kind == probes.Readiness:
		r.Ready = ok
	}
	w.probeResults[u.Key.InstanceID] = r
	w.mu.Unlock()
	if u.RunFailed {
		w.event(corev1.EventTypeWarning, "Unhealthy", fp, fmt.Sprintf("%s probe failed: %s", u.Kind, u.Output))
		if u.Kind != probes.Readiness {
			// A failed liveness or startup run counts towards a restart:
			// each is logged, so that a restart can be read back from the
			// log alone (events are bounded per pod and gone with it). A
			// failing readiness probe would log every period.
			slog.Info("Probe failed", "pod", w.key, "uid", w.uid, "container", u.Key.Container,
				"instance", u.Key.InstanceID, "probe", u.Kind.String(), "output", u.Output)
		}
	}
	// Only a changed result can change what the planner decides: a run
	// that failed again (readiness below its threshold or still failing)
	// or warned is an event, not a round.
	if r != before {
		w.poke()
	}
}
