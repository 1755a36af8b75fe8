package planner

import corev1 "k8s.io/api/core/v1"

// progressInit finds how far initialization got in the current sandbox, the kubelet's
// way (computeInitContainerActions): the newest init container that ran in this
// sandbox is the frontier; everything before it is done.
//
//   - A regular init container must exit 0 before the next one starts (R30); if it
//     fails, the pod fails under Never (R10) or it restarts with back-off (R31).
//   - A sidecar lets the next one start once it has *started* (R34) and is kept running
//     from then on.
//   - Once any app container ran in this sandbox, initialization is done, even if a
//     sidecar restarts later.
func (p *plan) progressInit() {
	if len(p.inits) == 0 {
		p.initDone = true
		return
	}
	frontier := -1
	for i := len(p.inits) - 1; i >= 0; i-- {
		if p.inits[i].current {
			frontier = i
			break
		}
	}
	for _, a := range p.apps {
		if a.current {
			p.initDone = true
			frontier = len(p.inits) - 1
			break
		}
	}
	for _, v := range p.inits[:frontier+1] {
		if v.sidecar {
			p.sidecarsUp = append(p.sidecarsUp, v)
		}
	}
	if p.initDone {
		return
	}
	if frontier < 0 {
		p.initNext = p.inits[0]
		return
	}
	v := p.inits[frontier]
	switch {
	case v.sidecar:
		if !v.started() {
			return // running but not started yet, or exited: kept up as a sidecar
		}
	case v.running():
		return
	case v.h.Exit.ExitCode != 0:
		if p.restartPolicy() == corev1.RestartPolicyNever {
			p.initFailed = v
		} else {
			p.initNext = v
		}
		return
	}
	if frontier == len(p.inits)-1 {
		p.initDone = true
		return
	}
	p.initNext = p.inits[frontier+1]
}

// initComplete reports a regular init container as done (exited 0 in this sandbox) or
// a sidecar as started, for the Initialized condition (R61).
func (v *cview) initComplete() bool {
	if v.sidecar {
		return v.started()
	}
	return v.exited() && v.h.Exit.ExitCode == 0
}
