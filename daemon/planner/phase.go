package planner

import corev1 "k8s.io/api/core/v1"

// decidePhase computes the pod phase (the kubelet's getPhase with podd's rules) and the
// status reason and message that go with it.
func (p *plan) decidePhase() {
	prev := p.pod.Status
	p.phase = p.computePhase()
	p.terminal = p.phase == corev1.PodSucceeded || p.phase == corev1.PodFailed
	switch {
	case p.phase == prev.Phase:
		// The kubelet keeps the reason that came with the phase.
		p.reason, p.message = prev.Reason, prev.Message
	case p.evicted && p.phase == corev1.PodFailed:
		p.reason, p.message = ReasonEvicted, p.evictMessage
		p.event(corev1.EventTypeWarning, EventEvicted, "", p.evictMessage)
	case p.deadlineExceeded && p.phase == corev1.PodFailed:
		p.reason, p.message = ReasonDeadlineExceeded, MessageDeadlineExceeded
		p.event(corev1.EventTypeNormal, EventDeadlineExceeded, "", MessageDeadlineExceeded)
	}
}

func (p *plan) computePhase() corev1.PodPhase {
	prev := p.pod.Status.Phase
	if prev == corev1.PodSucceeded || prev == corev1.PodFailed {
		return prev // final (R14)
	}
	if p.evicted {
		return corev1.PodFailed // local storage limit, like the kubelet's eviction
	}
	if p.deadlineExceeded {
		return corev1.PodFailed // R55
	}
	if p.initFailed != nil {
		return corev1.PodFailed // R10
	}
	if p.del != nil && !p.anyRunning() {
		return p.finalPhase() // R14
	}
	if !p.initDone {
		return corev1.PodPending // R11
	}
	var running, waiting, stopped, succeeded, restarting int
	for _, v := range p.apps {
		t := v.latest()
		switch {
		case v.running() && v.postStartDone():
			running++
		case v.running() && t == nil:
			waiting++ // R51: first start, postStart still running
		case v.running():
			restarting++ // restarted, postStart still running
		case t != nil:
			stopped++
			if t.ExitCode == 0 {
				succeeded++
			}
			if p.appRestarts(v, t) {
				restarting++
			}
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending // R11: an app waits for its first start
	case running > 0:
		return corev1.PodRunning // R12 (sidecars never count, R15)
	case p.restartPolicy() == corev1.RestartPolicyAlways:
		return corev1.PodRunning // R13: they will restart
	case restarting > 0:
		return corev1.PodRunning // R13: OnFailure, some will restart
	case stopped == succeeded:
		return corev1.PodSucceeded // R13
	default:
		return corev1.PodFailed // R13: Never, some failed
	}
}

// finalPhase is the phase of a deleted pod whose containers have all stopped (R14).
func (p *plan) finalPhase() corev1.PodPhase {
	for _, v := range p.apps {
		if t := v.latest(); t == nil || t.ExitCode != 0 {
			return corev1.PodFailed
		}
	}
	return corev1.PodSucceeded
}

func (p *plan) anyRunning() bool {
	for _, v := range p.all() {
		if v.running() {
			return true
		}
	}
	return false
}

// appRestarts is the restart decision for an app container that ended with t (R40,
// R42): Always restarts; OnFailure restarts on a non-zero exit or a probe/hook kill;
// Never does not.
func (p *plan) appRestarts(v *cview, t *corev1.ContainerStateTerminated) bool {
	switch p.restartPolicy() {
	case corev1.RestartPolicyAlways:
		return true
	case corev1.RestartPolicyOnFailure:
		return t.ExitCode != 0 || v.probeKilled()
	}
	return false
}

// restarts reports whether an exited container is to be started again (R31, R34,
// R40): never once the pod is finished or being deleted (R14).
func (p *plan) restarts(v *cview) bool {
	if !p.active() {
		return false
	}
	switch {
	case v.sidecar:
		return true
	case v.init:
		return !p.initDone && v.h.Exit.ExitCode != 0 && p.restartPolicy() != corev1.RestartPolicyNever
	}
	return p.appRestarts(v, v.h.Exit)
}
