package planner

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Plan decides what to do with one pod now and what its status is. It is a pure
// function of in: the same Input always gives the same Output.
//
// The steps follow the kubelet's sync (computePodActions, generateAPIPodStatus):
//
//  1. fold the observations into the history (new instances, exits, failures, back-off);
//  2. find how far initialization got (R30, R31, R34);
//  3. compute the phase (R10–R15, R55);
//  4. plan actions: termination (R35, R54, R55, R15), sandbox (R32), probe and hook
//     kills (R46, R51), init and app starts with back-off (R30, R40–R42);
//  5. build the status: container statuses (R20–R26) and conditions (R60–R63).
func Plan(in Input) Output {
	p := newPlan(in)
	p.foldSandbox()
	p.foldContainers()
	p.progressInit()
	p.decidePhase()
	p.planActions()
	return Output{
		Actions:  p.actions,
		Status:   p.status(),
		History:  p.history(),
		Events:   p.events,
		NextWake: p.wake,
	}
}

// plan is the working state of one Plan call.
type plan struct {
	pod  *corev1.Pod
	now  time.Time
	cfg  Config
	sb   Sandbox
	del  *Deletion
	hist History

	inits []*cview
	apps  []*cview

	startTime        time.Time
	deadline         time.Time // active deadline; zero without activeDeadlineSeconds
	deadlineExceeded bool
	// evicted: the pod is (being) evicted with evictMessage, reported now or
	// recorded in the status by an earlier plan.
	evicted      bool
	evictMessage string

	// Initialization progress (progressInit).
	initDone   bool
	initNext   *cview   // init container to start or restart at the frontier
	initFailed *cview   // regular init container that failed under Never (R10)
	sidecarsUp []*cview // sidecars at or before the frontier: kept running (R34)

	phase    corev1.PodPhase
	reason   string
	message  string
	terminal bool

	actions []Action
	events  []Event
	wake    time.Time
}

// cview is one container as the planner sees it in this call.
type cview struct {
	spec    *corev1.Container
	index   int
	init    bool
	sidecar bool
	obs     Observed
	h       ContainerHistory

	current bool // h.InstanceID ran in the current sandbox
	exitNew bool // the exit of h.InstanceID was folded in this call
}

func newPlan(in Input) *plan {
	p := &plan{
		pod: in.Pod,
		now: in.Now,
		cfg: in.Config.withDefaults(),
		sb:  in.Sandbox,
		del: in.Deletion,
		hist: History{
			SandboxCreated: in.History.SandboxCreated,
			SandboxAttempt: in.History.SandboxAttempt,
			SandboxBackoff: in.History.SandboxBackoff,
		},
	}
	for i := range p.pod.Spec.InitContainers {
		c := &p.pod.Spec.InitContainers[i]
		v := p.view(c, i, in)
		v.init = true
		v.sidecar = c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		p.inits = append(p.inits, v)
	}
	for i := range p.pod.Spec.Containers {
		p.apps = append(p.apps, p.view(&p.pod.Spec.Containers[i], i, in))
	}
	p.startTime = in.Now
	if st := p.pod.Status.StartTime; st != nil && !st.IsZero() {
		p.startTime = st.Time
	}
	switch prev := p.pod.Status; {
	case prev.Phase == corev1.PodFailed && prev.Reason == ReasonEvicted:
		p.evicted, p.evictMessage = true, prev.Message
	case in.Eviction != nil:
		p.evicted, p.evictMessage = true, in.Eviction.Message
	}
	if ads := p.pod.Spec.ActiveDeadlineSeconds; ads != nil {
		p.deadline = p.startTime.Add(Seconds(*ads))
		p.deadlineExceeded = !p.now.Before(p.deadline)
	}
	return p
}

func (p *plan) view(c *corev1.Container, i int, in Input) *cview {
	return &cview{spec: c, index: i, obs: in.Containers[c.Name], h: in.History.Containers[c.Name]}
}

// all lists init containers then app containers.
func (p *plan) all() []*cview {
	return append(append(make([]*cview, 0, len(p.inits)+len(p.apps)), p.inits...), p.apps...)
}

func (p *plan) history() History {
	h := p.hist
	h.Containers = make(map[string]ContainerHistory, len(p.inits)+len(p.apps))
	for _, v := range p.all() {
		h.Containers[v.spec.Name] = v.h
	}
	return h
}

func (p *plan) restartPolicy() corev1.RestartPolicy {
	if p.pod.Spec.RestartPolicy == "" {
		return corev1.RestartPolicyAlways
	}
	return p.pod.Spec.RestartPolicy
}

func (p *plan) podGrace() int64 {
	if g := p.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return *g
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}

// active is true while the pod may still start containers: not finished, not being
// deleted (R14).
func (p *plan) active() bool { return !p.terminal && p.del == nil }

func (p *plan) wakeAt(t time.Time) {
	if t.After(p.now) && (p.wake.IsZero() || t.Before(p.wake)) {
		p.wake = t
	}
}

func (p *plan) event(typ, reason, fieldPath, message string) {
	p.events = append(p.events, Event{Type: typ, Reason: reason, FieldPath: fieldPath, Message: message})
}

// inst returns the observed instance when it is the one the history knows.
func (v *cview) inst() *Instance {
	if i := v.obs.Instance; i != nil && i.ID == v.h.InstanceID {
		return i
	}
	return nil
}

func (v *cview) running() bool { return v.current && v.h.Exit == nil }
func (v *cview) exited() bool  { return v.current && v.h.Exit != nil }

// postStartDone: the running instance's postStart hook returned successfully (or it
// has none) (R51).
func (v *cview) postStartDone() bool {
	i := v.inst()
	return v.running() && i != nil && !i.PostStartPending && i.PostStartError == ""
}

// started: running, postStart done, startup probe passed if any (R26, R34, R51).
func (v *cview) started() bool {
	if !v.postStartDone() {
		return false
	}
	return v.spec.StartupProbe == nil || v.inst().Probes.StartupSucceeded
}

// killing: the worker is already stopping the running instance.
func (v *cview) killing() bool {
	i := v.inst()
	return v.running() && i != nil && i.KillInProgress
}

// latest is the newest known termination: of the current instance, or of the last
// one in an older sandbox, or the one before.
func (v *cview) latest() *corev1.ContainerStateTerminated {
	if v.h.Exit != nil {
		return v.h.Exit
	}
	return v.h.LastTermination
}

// probeKilled: the planner stopped the instance for a failed probe or postStart
// (R42: counts as a failure).
func (v *cview) probeKilled() bool {
	switch v.h.KillReason {
	case KillLivenessProbe, KillStartupProbe, KillPostStartHookFailed:
		return true
	}
	return false
}

func (v *cview) fieldPath() string {
	if v.init {
		return fmt.Sprintf("spec.initContainers{%s}", v.spec.Name)
	}
	return fmt.Sprintf("spec.containers{%s}", v.spec.Name)
}

// nextRestart is the restart number of the next instance: restartCount, or one
// more once an instance exists.
func (v *cview) nextRestart() int32 {
	if v.h.InstanceID == "" {
		return v.h.RestartCount
	}
	return v.h.RestartCount + 1
}
