package planner

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// planActions lists what to do now, in the order of Output.Actions.
func (p *plan) planActions() {
	if !p.deadline.IsZero() && !p.terminal {
		p.wakeAt(p.deadline)
	}
	if p.planTermination() || p.planSandbox() {
		return
	}
	p.planKills()
	for _, v := range p.sidecarsUp {
		if !v.running() {
			p.start(v) // R34: sidecars are kept running, whatever the restartPolicy
		}
	}
	if p.initNext != nil {
		p.start(p.initNext) // R30, R31: one init container at a time
	}
	if !p.initDone {
		return
	}
	for _, v := range p.apps { // R30: all eligible app containers together
		switch {
		case v.running():
		case v.exited():
			if p.restarts(v) {
				p.start(v)
			}
		default:
			// Never started in this sandbox. One that ran in an older sandbox and is
			// done stays done (OnFailure after exit 0; the kubelet's rule).
			if t := v.latest(); t == nil || p.appRestarts(v, t) {
				p.start(v)
			}
		}
	}
}

// planKills stops running instances whose postStart hook failed (R51) or whose
// liveness or startup probe reached its failure threshold (R46).
func (p *plan) planKills() {
	for _, v := range p.all() {
		i := v.inst()
		if !v.running() || i == nil || i.KillInProgress || (v.init && !v.sidecar) {
			continue
		}
		restart := v.sidecar || p.restartPolicy() != corev1.RestartPolicyNever
		switch {
		case i.PostStartError != "":
			p.event(corev1.EventTypeWarning, EventFailedPostStartHook, v.fieldPath(), i.PostStartError)
			p.kill(v, KillPostStartHookFailed, probeKillMessage(v, "postStart hook", restart), p.podGrace())
		case i.Probes.LivenessFailed && v.spec.LivenessProbe != nil:
			p.kill(v, KillLivenessProbe, probeKillMessage(v, "liveness probe", restart),
				p.probeGrace(v.spec.LivenessProbe))
		case i.Probes.StartupFailed && v.spec.StartupProbe != nil && !i.Probes.StartupSucceeded:
			p.kill(v, KillStartupProbe, probeKillMessage(v, "startup probe", restart),
				p.probeGrace(v.spec.StartupProbe))
		}
	}
}

// probeGrace is the probe's terminationGracePeriodSeconds if set, else the pod's (R46).
func (p *plan) probeGrace(pr *corev1.Probe) int64 {
	if pr.TerminationGracePeriodSeconds != nil {
		return *pr.TerminationGracePeriodSeconds
	}
	return p.podGrace()
}

// start plans to start v now, or, while its back-off runs (R41), schedules a wake-up
// and reports the back-off once per exit.
func (p *plan) start(v *cview) {
	reason := StartFirst
	var until time.Time
	if v.exited() {
		reason, until = StartRestart, v.h.Backoff.Until()
	}
	if v.h.StartFailure != nil {
		reason, until = StartRetry, v.h.Backoff.Until()
	}
	if p.now.Before(until) {
		p.wakeAt(until)
		if v.exitNew {
			p.event(corev1.EventTypeWarning, EventBackOff, v.fieldPath(), backOffEventMessage(v, p.pod))
		}
		return
	}
	a := Action{
		Kind:      ActionStartContainer,
		Container: v.spec.Name,
		Index:     v.index,
		Init:      v.init,
		Restart:   v.nextRestart(),
		Reason:    reason,
		Message:   "Starting container " + v.spec.Name,
	}
	if v.init {
		a.Kind, a.Message = ActionStartInitContainer, "Starting init container "+v.spec.Name
	}
	p.actions = append(p.actions, a)
}
