package planner

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// basePod is the pod every test starts from: one app container "web", Always, grace 30.
func basePod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "u1"},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: ptr(int64(30)),
			Containers:                    []corev1.Container{{Name: "web", Image: "busybox"}},
		},
	}
}

func withInit(p *corev1.Pod, names ...string) {
	for _, n := range names {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "busybox"})
	}
}

func withSidecar(p *corev1.Pod, names ...string) {
	for _, n := range names {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{
			Name: n, Image: "busybox", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)})
	}
}

func withApp(p *corev1.Pod, names ...string) {
	for _, n := range names {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "busybox"})
	}
}

func container(p *corev1.Pod, name string) *corev1.Container {
	for i := range p.Spec.InitContainers {
		if p.Spec.InitContainers[i].Name == name {
			return &p.Spec.InitContainers[i]
		}
	}
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == name {
			return &p.Spec.Containers[i]
		}
	}
	panic("no container " + name)
}

func execProbe() *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
}

// world is a scriptable fake of the daemon around the planner: it feeds Plan, runs
// the actions the simplest way (starts succeed at once, kills end with exit 143) and
// keeps the clock. Tests change its knobs and observations between steps.
type world struct {
	t        *testing.T
	pod      *corev1.Pod
	now      time.Time
	cfg      Config
	sandbox  Sandbox
	deletion *Deletion
	eviction *Eviction
	obs      map[string]Observed
	hist     History
	events   []Event
	removed  bool
	last     Output

	initExit0   bool                    // regular init containers exit 0 right after start
	asyncKill   bool                    // kills stay in progress until finishKill
	sandboxFail string                  // CreateSandbox fails with this message
	sandboxWait bool                    // … because something outside the pod is missing
	startFail   map[string]StartFailure // starts of these containers fail
	healthy     ProbeResults            // probe results of new instances
}

func newWorld(t *testing.T, pod *corev1.Pod) *world {
	t.Helper()
	return &world{
		t: t, pod: pod, now: t0,
		obs:       map[string]Observed{},
		initExit0: true,
		startFail: map[string]StartFailure{},
		healthy:   ProbeResults{StartupSucceeded: true, Ready: true},
	}
}

func (w *world) input() Input {
	return Input{Pod: w.pod, Now: w.now, Config: w.cfg, Sandbox: w.sandbox,
		Deletion: w.deletion, Eviction: w.eviction, Containers: w.obs, History: w.hist}
}

// plan runs Plan, checks the invariants and keeps status and history; it runs no action.
func (w *world) plan() Output {
	w.t.Helper()
	out := Plan(w.input())
	checkInvariants(w.t, w.pod, out)
	w.pod.Status, w.hist, w.last = out.Status, out.History, out
	w.events = append(w.events, out.Events...)
	return out
}

// step plans and runs the actions.
func (w *world) step() Output {
	w.t.Helper()
	out := w.plan()
	w.apply(out)
	return out
}

// up steps until nothing is left to do now.
func (w *world) up() {
	w.t.Helper()
	for range 30 {
		if len(w.step().Actions) == 0 {
			return
		}
	}
	w.t.Fatalf("pod did not settle; last actions %v", w.last.Actions)
}

func (w *world) apply(out Output) {
	for _, a := range out.Actions {
		switch a.Kind {
		case ActionCreateSandbox:
			if w.sandboxFail != "" {
				w.sandbox = Sandbox{State: SandboxFailed, Message: w.sandboxFail, FailedAt: w.now, Waiting: w.sandboxWait}
				continue
			}
			w.sandbox = Sandbox{State: SandboxReady, Attempt: a.Attempt, IP: fmt.Sprintf("10.88.0.%d", 2+a.Attempt)}
		case ActionKillSandbox:
			w.sandbox = Sandbox{}
		case ActionStartInitContainer, ActionStartContainer:
			if f, ok := w.startFail[a.Container]; ok {
				f.At = w.now
				w.obs[a.Container] = Observed{Instance: w.obs[a.Container].Instance, StartFailure: &f}
				continue
			}
			key := fmt.Sprintf("%s-%d", a.Container, a.Restart) // the worker's naming
			inst := &Instance{ID: key, Restart: a.Restart, ContainerID: "cid-" + key,
				StartedAt: w.now, ImageID: "sha256:bb", Probes: w.healthy}
			c := container(w.pod, a.Container)
			if a.Init && c.RestartPolicy == nil && w.initExit0 {
				inst.Exited, inst.FinishedAt = true, w.now
			}
			w.obs[a.Container] = Observed{Instance: inst}
		case ActionKillContainer:
			if w.asyncKill {
				w.inst(a.Container).KillInProgress = true
				continue
			}
			w.exit(a.Container, 143)
		case ActionRemovePod:
			w.removed = true
		}
	}
}

// inst is the current instance of a container; the test fails if there is none.
func (w *world) inst(name string) *Instance {
	w.t.Helper()
	i := w.obs[name].Instance
	if i == nil {
		w.t.Fatalf("container %s has no instance", name)
	}
	return i
}

// exit ends the container's instance now with code.
func (w *world) exit(name string, code int32) {
	i := w.inst(name)
	i.Exited, i.ExitCode, i.FinishedAt, i.KillInProgress = true, code, w.now, false
}

func (w *world) advance(d time.Duration) { w.now = w.now.Add(d) }

func (w *world) deleteNow(grace *int64) {
	w.deletion = &Deletion{RequestedAt: w.now, GracePeriodSeconds: grace}
}

// actions renders actions the way tests spell them.
func actions(out Output) []string {
	var s []string
	for _, a := range out.Actions {
		s = append(s, a.String())
	}
	return s
}

func status(t *testing.T, out Output, name string) corev1.ContainerStatus {
	t.Helper()
	for _, cs := range append(append([]corev1.ContainerStatus{}, out.Status.InitContainerStatuses...), out.Status.ContainerStatuses...) {
		if cs.Name == name {
			return cs
		}
	}
	t.Fatalf("no status for container %s", name)
	return corev1.ContainerStatus{}
}

func condition(t *testing.T, out Output, typ corev1.PodConditionType) corev1.PodCondition {
	t.Helper()
	for _, c := range out.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("no condition %s", typ)
	return corev1.PodCondition{}
}

func findEvent(out Output, reason string) *Event {
	for i := range out.Events {
		if out.Events[i].Reason == reason {
			return &out.Events[i]
		}
	}
	return nil
}

// stateOf names a container state for compact comparisons: "waiting/CrashLoopBackOff",
// "running", "terminated/Error/1".
func stateOf(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		return "waiting/" + s.Waiting.Reason
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return fmt.Sprintf("terminated/%s/%d", s.Terminated.Reason, s.Terminated.ExitCode)
	}
	return "none"
}

var kindRank = map[ActionKind]int{
	ActionKillContainer: 0, ActionKillSandbox: 1, ActionCreateSandbox: 2,
	ActionStartInitContainer: 3, ActionStartContainer: 4, ActionRemovePod: 5,
}

// checkInvariants holds for every Output: R20 (exactly one state per container), one
// status per container, actions in the documented order, conditions with a time.
func checkInvariants(t *testing.T, pod *corev1.Pod, out Output) {
	t.Helper()
	all := append(append([]corev1.ContainerStatus{}, out.Status.InitContainerStatuses...), out.Status.ContainerStatuses...)
	if len(all) != len(pod.Spec.InitContainers)+len(pod.Spec.Containers) {
		t.Fatalf("got %d container statuses for %d containers", len(all), len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	}
	for _, cs := range all {
		n := 0
		for _, set := range []bool{cs.State.Waiting != nil, cs.State.Running != nil, cs.State.Terminated != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("R20: container %s has %d states: %+v", cs.Name, n, cs.State)
		}
		if cs.Started == nil {
			t.Fatalf("container %s: started unset", cs.Name)
		}
	}
	for i := 1; i < len(out.Actions); i++ {
		if kindRank[out.Actions[i-1].Kind] > kindRank[out.Actions[i].Kind] {
			t.Fatalf("actions out of order: %v", actions(out))
		}
	}
	for _, c := range out.Status.Conditions {
		if c.LastTransitionTime.IsZero() {
			t.Fatalf("condition %s has no lastTransitionTime", c.Type)
		}
	}
	for _, a := range out.Actions {
		if a.Reason == "" || a.Message == "" {
			t.Fatalf("action without reason or message: %+v", a)
		}
	}
	if out.Status.StartTime == nil {
		t.Fatalf("R4: no startTime")
	}
}

func wantActions(t *testing.T, out Output, want []string) {
	t.Helper()
	got := actions(out)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("actions:\n got  %q\n want %q", got, want)
	}
}
