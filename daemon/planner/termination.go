package planner

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// minGraceSeconds is the kubelet's minimal shutdown window for a kill that comes late
// in an overall grace period.
const minGraceSeconds = 2

// stopper says why and with which grace the pod's containers are being stopped.
type stopper struct {
	reason string
	// grace is the overall grace in seconds; start is when it began counting (zero:
	// each kill gets the whole grace).
	grace int64
	start time.Time
}

// stopAll plans the next wave of the pod's termination (R35, R54): first every running
// app and regular init container at once; once none of them runs, the sidecars one
// at a time, last declared first. It reports true when nothing runs any more.
func (p *plan) stopAll(s stopper) bool {
	busy := false
	for _, v := range p.all() {
		if v.running() && !v.sidecar {
			busy = true
			p.kill(v, s.reason, stoppingMessage(v.spec.Name), p.remaining(s))
		}
	}
	if busy {
		return false
	}
	for i := len(p.inits) - 1; i >= 0; i-- {
		if v := p.inits[i]; v.running() {
			p.kill(v, s.reason, stoppingMessage(v.spec.Name), p.remaining(s))
			return false
		}
	}
	return true
}

// remaining is what is left of the overall grace now, at least minGraceSeconds (or
// the whole grace when it is smaller); 0 stays 0 (R54).
func (p *plan) remaining(s stopper) int64 {
	if s.grace <= 0 {
		return 0
	}
	if s.start.IsZero() {
		return s.grace
	}
	left := s.start.Add(Seconds(s.grace)).Sub(p.now)
	secs := int64((left + time.Second - 1) / time.Second) // round up
	return max(min(secs, s.grace), min(minGraceSeconds, s.grace))
}

// kill plans to stop v's running instance unless the worker is already at it.
func (p *plan) kill(v *cview, reason, message string, grace int64) {
	if v.killing() {
		return
	}
	v.h.KillReason = reason
	p.actions = append(p.actions, Action{
		Kind:               ActionKillContainer,
		Container:          v.spec.Name,
		Index:              v.index,
		Init:               v.init,
		ID:                 v.h.InstanceID,
		GracePeriodSeconds: grace,
		RunPreStop:         grace > 0 && v.spec.Lifecycle != nil && v.spec.Lifecycle.PreStop != nil,
		Reason:             reason,
		Message:            message,
	})
	p.event(corev1.EventTypeNormal, EventKilling, v.fieldPath(), message)
}

// planTermination handles a pod that is being deleted or has finished. It reports
// false when the pod is still active and the caller plans as usual.
func (p *plan) planTermination() bool {
	switch {
	case p.del != nil:
		s := stopper{reason: KillDeleting, grace: p.podGrace(), start: p.del.RequestedAt}
		if g := p.del.GracePeriodSeconds; g != nil {
			s.grace = *g
		}
		if p.stopAll(s) {
			p.actions = append(p.actions, Action{Kind: ActionRemovePod, Reason: PodDeleted,
				Message: "All containers stopped; removing the pod"})
		}
		return true
	case p.terminal:
		if p.stopAll(p.finishedStopper()) && (p.sb.State == SandboxReady || p.sb.State == SandboxLost) {
			p.actions = append(p.actions, Action{Kind: ActionKillSandbox, Attempt: p.sb.Attempt,
				Reason: PodFinished, Message: "Pod " + string(p.phase) + "; stopping its sandbox"})
		}
		return true
	}
	return false
}

// finishedStopper says why the containers of a finished pod are stopped: its active
// deadline (R55), a failed init container (R10), or the app containers are done (R15).
func (p *plan) finishedStopper() stopper {
	switch {
	case p.evicted:
		// The kubelet kills at once for a local storage limit.
		return stopper{reason: KillEvicted, grace: 0}
	case p.deadlineExceeded:
		return stopper{reason: KillDeadlineExceeded, grace: p.podGrace(), start: p.deadline}
	case !p.initDone:
		return stopper{reason: KillInitFailed, grace: p.podGrace()}
	}
	return stopper{reason: KillSidecarAfterApps, grace: p.podGrace()}
}

// planSandbox handles a sandbox that is not ready: kill what is left of a lost one,
// then create a new one unless the pod must not come back (R32). It reports false
// when the sandbox is ready.
func (p *plan) planSandbox() bool {
	switch p.sb.State {
	case SandboxReady:
		return false
	case SandboxLost:
		if p.stopAll(stopper{reason: KillSandboxChanged, grace: p.podGrace()}) {
			p.actions = append(p.actions, Action{Kind: ActionKillSandbox, Attempt: p.sb.Attempt,
				Reason: SandboxChanged, Message: "Pod sandbox lost: " + p.sb.Message})
		}
		return true
	}
	if !p.recreateAllowed() {
		return true
	}
	a := Action{Kind: ActionCreateSandbox, Reason: SandboxNew, Message: "Creating pod sandbox"}
	if p.hist.SandboxCreated {
		a.Attempt = p.hist.SandboxAttempt + 1
		a.Reason, a.Message = SandboxChanged, messageSandboxChanged
	}
	if p.sb.State == SandboxFailed {
		if until := p.hist.SandboxBackoff.Until(); p.now.Before(until) {
			p.wakeAt(until)
			return true
		}
		a.Reason = SandboxRetry
	} else if p.hist.SandboxCreated {
		p.event(corev1.EventTypeNormal, EventSandboxChanged, "", messageSandboxChanged)
	}
	p.actions = append(p.actions, a)
	return true
}

// recreateAllowed: with restartPolicy Never, a pod whose containers already ran gets
// no new sandbox (the kubelet's rule).
func (p *plan) recreateAllowed() bool {
	if p.restartPolicy() != corev1.RestartPolicyNever {
		return true
	}
	for _, v := range p.all() {
		if v.h.InstanceID != "" {
			return false
		}
	}
	return true
}
