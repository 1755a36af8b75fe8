package planner

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// status builds the pod's next status. Fields the planner does not own (hostIP,
// qosClass…) are carried over from the previous status.
func (p *plan) status() corev1.PodStatus {
	prev := p.pod.Status
	st := corev1.PodStatus{
		Phase:    p.phase,
		Reason:   p.reason,
		Message:  p.message,
		HostIP:   prev.HostIP,
		HostIPs:  prev.HostIPs,
		PodIP:    prev.PodIP,
		PodIPs:   prev.PodIPs,
		QOSClass: prev.QOSClass,
		// R4: set when podd starts working on the pod, then kept.
		StartTime: &metav1.Time{Time: p.startTime},
	}
	if p.sb.State == SandboxReady && p.sb.IP != "" {
		st.PodIP = p.sb.IP
		st.PodIPs = []corev1.PodIP{{IP: p.sb.IP}}
	}
	for _, v := range p.inits {
		st.InitContainerStatuses = append(st.InitContainerStatuses, p.containerStatus(v))
	}
	for _, v := range p.apps {
		st.ContainerStatuses = append(st.ContainerStatuses, p.containerStatus(v))
	}
	st.Conditions = p.conditions()
	return st
}

// containerStatus is one container's API status (R20–R26): exactly one state, the
// previous termination as lastState, restart count, ready and started.
func (p *plan) containerStatus(v *cview) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{
		Name:                 v.spec.Name,
		Image:                v.spec.Image,
		ImageID:              v.h.ImageID,
		RestartCount:         v.h.RestartCount,
		LastTerminationState: termState(v.h.LastTermination),
	}
	started := false
	switch {
	case v.running():
		cs.ContainerID = ContainerIDPrefix + v.h.ContainerID
		if !v.postStartDone() {
			// R51: not running until postStart returns.
			cs.State = waiting(ReasonContainerCreating, "")
			break
		}
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(v.inst().StartedAt)}
		started = v.started()
		cs.Ready = p.ready(v)
	case v.exited():
		cs.ContainerID = ContainerIDPrefix + v.h.ContainerID
		if w := p.waitingAgain(v); w != nil {
			cs.State.Waiting = w
			cs.LastTerminationState = termState(v.h.Exit)
			break
		}
		cs.State = termState(v.h.Exit)
		// The kubelet reports a regular init container that succeeded as ready.
		cs.Ready = v.init && !v.sidecar && v.h.Exit.ExitCode == 0
	default:
		// Not run in this sandbox yet (or not any more).
		if v.h.Exit != nil {
			cs.LastTerminationState = termState(v.h.Exit)
		}
		cs.State = waiting(p.defaultWaitingReason(), "")
		if w := p.failureWaiting(v); w != nil {
			cs.State.Waiting = w
		}
	}
	cs.Started = &started
	return cs
}

// waitingAgain is the waiting state of an exited container that is to be started
// again: its start failure, or CrashLoopBackOff while its back-off runs (R21, R41).
// Nil when it stays terminated or restarts right now.
func (p *plan) waitingAgain(v *cview) *corev1.ContainerStateWaiting {
	if !p.restarts(v) {
		return nil
	}
	if w := p.failureWaiting(v); w != nil {
		return w
	}
	if p.now.Before(v.h.Backoff.Until()) {
		return &corev1.ContainerStateWaiting{Reason: ReasonCrashLoopBackOff, Message: crashLoopMessage(v, p.pod)}
	}
	return nil
}

// failureWaiting shows a pending start failure; a failed pull in back-off reads
// ImagePullBackOff, as in the kubelet.
func (p *plan) failureWaiting(v *cview) *corev1.ContainerStateWaiting {
	f := v.h.StartFailure
	if f == nil {
		return nil
	}
	if f.Reason == ReasonErrImagePull && p.now.Before(v.h.Backoff.Until()) {
		return &corev1.ContainerStateWaiting{Reason: ReasonImagePullBackOff,
			Message: fmt.Sprintf("Back-off pulling image %q", v.spec.Image)}
	}
	return &corev1.ContainerStateWaiting{Reason: f.Reason, Message: f.Message}
}

// defaultWaitingReason: PodInitializing in a pod with init containers, else
// ContainerCreating (the kubelet's rule; R21).
func (p *plan) defaultWaitingReason() string {
	if len(p.inits) > 0 {
		return ReasonPodInitializing
	}
	return ReasonContainerCreating
}

// ready (R25, R47): running and started, readiness probe passing if there is one, and
// the pod not terminating or finished.
func (p *plan) ready(v *cview) bool {
	if !v.started() || p.del != nil || p.terminal {
		return false
	}
	if v.spec.ReadinessProbe == nil {
		return true
	}
	return v.inst().Probes.Ready
}

func waiting(reason, message string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
}

func termState(t *corev1.ContainerStateTerminated) corev1.ContainerState {
	if t == nil {
		return corev1.ContainerState{}
	}
	c := *t
	return corev1.ContainerState{Terminated: &c}
}
