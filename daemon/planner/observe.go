package planner

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// foldSandbox records a new sandbox and counts a failed creation once (R32, R81).
func (p *plan) foldSandbox() {
	switch p.sb.State {
	case SandboxReady, SandboxLost:
		p.hist.SandboxCreated = true
		p.hist.SandboxAttempt = p.sb.Attempt
	case SandboxFailed:
		at := p.sb.FailedAt
		if at.IsZero() {
			at = p.now
		}
		if at.After(p.hist.SandboxBackoff.UpdatedAt) {
			if p.sb.Waiting {
				p.hist.SandboxBackoff = Backoff{}.next(at, p.cfg)
			} else {
				p.hist.SandboxBackoff = p.hist.SandboxBackoff.next(at, p.cfg)
			}
			p.event(corev1.EventTypeWarning, EventFailedCreatePodSandBox, "",
				"Failed to create pod sandbox: "+p.sb.Message)
		}
	}
}

// foldContainers brings every container's history up to date with what was observed:
// a new instance bumps the restart count and moves the last exit to lastState (R24);
// an exit is recorded once and advances the back-off (R41); so is a failed start.
func (p *plan) foldContainers() {
	for _, v := range p.all() {
		p.foldInstance(v)
		p.foldStartFailure(v)
		v.current = v.h.InstanceID != "" && v.h.InstanceSandbox == p.hist.SandboxAttempt
	}
}

func (p *plan) foldInstance(v *cview) {
	h := &v.h
	obs := v.obs.Instance
	if obs != nil && obs.ID != "" && obs.ID != h.InstanceID {
		if h.InstanceID != "" {
			h.RestartCount++
			h.LastTermination = h.Exit
			if h.LastTermination == nil {
				h.LastTermination = unknownExit(h)
			}
		}
		// Trust the instance's restart number, so that a lost history never makes
		// the planner ask for one the shim already has.
		h.RestartCount = obs.Restart
		h.InstanceID = obs.ID
		h.ContainerID = obs.ContainerID
		h.InstanceSandbox = p.hist.SandboxAttempt
		h.InstanceStartedAt = obs.StartedAt
		if h.InstanceStartedAt.IsZero() {
			h.InstanceStartedAt = p.now
		}
		h.Exit = nil
		h.KillReason = ""
		h.StartFailure = nil
	}
	if obs != nil && obs.ID == h.InstanceID && obs.ImageID != "" {
		h.ImageID = obs.ImageID
	}
	if h.InstanceID == "" || h.Exit != nil {
		return
	}
	switch {
	case obs == nil:
		// The instance vanished without an exit record (sandbox lost, reboot).
		h.Exit = unknownExit(h)
		h.Exit.FinishedAt = metav1.NewTime(p.now)
	case obs.Exited:
		h.Exit = terminated(obs, h.KillReason)
	default:
		return
	}
	at := h.Exit.FinishedAt.Time
	if at.IsZero() {
		at = p.now
	}
	h.Backoff = h.Backoff.next(at, p.cfg)
	v.exitNew = true
}

// foldStartFailure adopts a start failure newer than anything known and counts it for
// the back-off once; a CreateContainerConfigError keeps the base delay.
func (p *plan) foldStartFailure(v *cview) {
	f := v.obs.StartFailure
	h := &v.h
	if f == nil || f.At.IsZero() || !f.At.After(h.InstanceStartedAt) {
		return
	}
	if h.StartFailure != nil && !f.At.After(h.StartFailure.At) {
		return
	}
	c := *f
	h.StartFailure = &c
	if f.Reason == ReasonCreateContainerConfigError {
		// It waits for an object that may be applied at any moment (the
		// kubelet retries it at every sync): the base delay, not doubled.
		h.Backoff = Backoff{}.next(f.At, p.cfg)
		return
	}
	h.Backoff = h.Backoff.next(f.At, p.cfg)
}

// terminated turns an exited instance into its API state (R22, R23).
func terminated(i *Instance, killReason string) *corev1.ContainerStateTerminated {
	code := i.ExitCode
	if code == 0 && i.Signal != 0 {
		code = 128 + i.Signal
	}
	reason := i.Reason
	switch {
	case reason != "" && reason != ReasonError && reason != ReasonCompleted:
		// OOMKilled, ContainerCannotRun: the shim knows better.
	case killReason == KillDeadlineExceeded:
		reason = ReasonDeadlineExceeded
	case code == 0:
		reason = ReasonCompleted
	default:
		reason = ReasonError
	}
	return &corev1.ContainerStateTerminated{
		ExitCode:    code,
		Signal:      i.Signal,
		Reason:      reason,
		Message:     i.Message,
		StartedAt:   metav1.NewTime(i.StartedAt),
		FinishedAt:  metav1.NewTime(i.FinishedAt),
		ContainerID: ContainerIDPrefix + i.ContainerID,
	}
}

// unknownExit is the termination recorded for an instance that disappeared: the
// kubelet's ContainerStatusUnknown, exit 137.
func unknownExit(h *ContainerHistory) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{
		ExitCode:    137,
		Reason:      ReasonContainerStatusUnknown,
		Message:     messageUnknownExit,
		StartedAt:   metav1.NewTime(h.InstanceStartedAt),
		ContainerID: ContainerIDPrefix + h.ContainerID,
	}
}
