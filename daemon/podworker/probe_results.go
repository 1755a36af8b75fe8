package podworker

import (
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/probes"
)

// addProbes registers the instance's probes, startup first (the manager
// holds liveness and readiness until startup succeeds, R43).
func (w *Worker) addProbes(c *corev1.Container, id string, sb Sandbox) {
	key := probes.ContainerKey{PodUID: w.uid, Container: c.Name, InstanceID: id}
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
		if err := w.deps.Probes.Add(key, p.kind, p.probe, target); err != nil {
			slog.Warn("Add probe", "pod", w.key, "uid", w.uid, "container", id, "probe", p.kind.String(), "err", err)
			w.event(corev1.EventTypeWarning, "Unhealthy", "spec.containers{"+c.Name+"}", fmt.Sprintf("%s probe errored: %v", p.kind, err))
		}
	}
}

// ProbeUpdate takes a probe worker's new state for one of this pod's
// instances (the daemon routes updates by pod UID).
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
	r := w.probeResults[u.Key.InstanceID]
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
	}
	w.poke()
}
