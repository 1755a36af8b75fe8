package planner

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Transcript tests feed every Output back as the next Input over a fake clock and
// compare the whole story with an expected text, in the spirit of etcd-io/raft's
// data-driven tests: one line per Plan, "+<seconds> <phase> <actions> | <web state>".

// transcript records one line per step.
type transcript struct {
	w     *world
	lines []string
	show  []string // containers whose state each line shows
}

func (tr *transcript) step(note string) Output {
	out := tr.w.step()
	var acts []string
	for _, a := range out.Actions {
		s := string(a.Kind)
		switch {
		case a.Kind == ActionStartContainer || a.Kind == ActionStartInitContainer:
			s += fmt.Sprintf(" %s-%d", a.Container, a.Restart)
		case a.Container != "":
			s += " " + a.ID
		}
		if a.Kind == ActionKillContainer {
			s += fmt.Sprintf("(%ds)", a.GracePeriodSeconds)
		}
		acts = append(acts, s)
	}
	var states []string
	for _, n := range tr.show {
		cs := status(tr.w.t, out, n)
		states = append(states, fmt.Sprintf("%s=%s#%d", n, stateOf(cs.State), cs.RestartCount))
	}
	line := fmt.Sprintf("+%ds %s [%s] %s", int(tr.w.now.Sub(t0)/time.Second), out.Status.Phase,
		strings.Join(acts, ", "), strings.Join(states, " "))
	if !out.NextWake.IsZero() {
		line += fmt.Sprintf(" wake=+%ds", int(out.NextWake.Sub(t0)/time.Second))
	}
	if note != "" {
		line += " # " + note
	}
	tr.lines = append(tr.lines, line)
	return out
}

func (tr *transcript) check(t *testing.T, want string) {
	t.Helper()
	got := strings.Join(tr.lines, "\n")
	want = strings.TrimSpace(want)
	if got != want {
		t.Fatalf("transcript differs\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// R41: crash → back-off 10s → restart → crash → 20s → … capped at 300s; a long run
// resets the delay.
func TestTranscript_R41_crash_loop_backoff(t *testing.T) {
	w := newWorld(t, basePod())
	tr := &transcript{w: w, show: []string{"web"}}
	tr.step("")
	tr.step("")
	for range 7 {
		w.advance(time.Second)
		w.exit("web", 1)
		out := tr.step("crash")
		w.now = out.NextWake
		tr.step("")
	}
	w.advance(11 * time.Minute)
	w.exit("web", 1)
	tr.step("crash after a long run")
	tr.check(t, `
+0s Pending [CreateSandbox] web=waiting/ContainerCreating#0
+0s Pending [StartContainer web-0] web=waiting/ContainerCreating#0
+1s Running [] web=waiting/CrashLoopBackOff#0 wake=+11s # crash
+11s Running [StartContainer web-1] web=terminated/Error/1#0
+12s Running [] web=waiting/CrashLoopBackOff#1 wake=+32s # crash
+32s Running [StartContainer web-2] web=terminated/Error/1#1
+33s Running [] web=waiting/CrashLoopBackOff#2 wake=+73s # crash
+73s Running [StartContainer web-3] web=terminated/Error/1#2
+74s Running [] web=waiting/CrashLoopBackOff#3 wake=+154s # crash
+154s Running [StartContainer web-4] web=terminated/Error/1#3
+155s Running [] web=waiting/CrashLoopBackOff#4 wake=+315s # crash
+315s Running [StartContainer web-5] web=terminated/Error/1#4
+316s Running [] web=waiting/CrashLoopBackOff#5 wake=+616s # crash
+616s Running [StartContainer web-6] web=terminated/Error/1#5
+617s Running [] web=waiting/CrashLoopBackOff#6 wake=+917s # crash
+917s Running [StartContainer web-7] web=terminated/Error/1#6
+1577s Running [] web=waiting/CrashLoopBackOff#7 wake=+1587s # crash after a long run
`)
}

// Acceptance 7: with a 1 s base the gaps between starts are 1, 2, 4 s.
func TestTranscript_R41_small_base_gaps(t *testing.T) {
	w := newWorld(t, basePod())
	w.cfg.BackoffBase = time.Second
	w.up()
	var starts []time.Time
	for range 4 {
		w.exit("web", 1)
		out := w.step()
		w.now = out.NextWake
		out = w.step()
		if len(out.Actions) != 1 || out.Actions[0].Kind != ActionStartContainer {
			t.Fatalf("no restart at the back-off expiry: %v", actions(out))
		}
		starts = append(starts, w.now)
	}
	for i, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		if gap := starts[i+1].Sub(starts[i]); gap != want {
			t.Fatalf("gap %d = %s, want %s", i, gap, want)
		}
	}
	if starts[0].Sub(t0) != time.Second {
		t.Fatalf("first restart after %s, want the 1s base", starts[0].Sub(t0))
	}
}

// R30, R61: init containers one at a time, then all app containers together.
func TestTranscript_R30_init_sequence_then_apps_in_parallel(t *testing.T) {
	pod := basePod()
	withInit(pod, "a", "b")
	withApp(pod, "db")
	w := newWorld(t, pod)
	w.initExit0 = false
	tr := &transcript{w: w, show: []string{"a", "b", "web"}}
	tr.step("")
	tr.step("")
	tr.step("a runs")
	w.advance(time.Second)
	w.exit("a", 0)
	tr.step("")
	w.advance(time.Second)
	w.exit("b", 0)
	tr.step("both apps at once")
	tr.step("")
	tr.check(t, `
+0s Pending [CreateSandbox] a=waiting/PodInitializing#0 b=waiting/PodInitializing#0 web=waiting/PodInitializing#0
+0s Pending [StartInitContainer a-0] a=waiting/PodInitializing#0 b=waiting/PodInitializing#0 web=waiting/PodInitializing#0
+0s Pending [] a=running#0 b=waiting/PodInitializing#0 web=waiting/PodInitializing#0 # a runs
+1s Pending [StartInitContainer b-0] a=terminated/Completed/0#0 b=waiting/PodInitializing#0 web=waiting/PodInitializing#0
+2s Pending [StartContainer web-0, StartContainer db-0] a=terminated/Completed/0#0 b=terminated/Completed/0#0 web=waiting/PodInitializing#0 # both apps at once
+2s Running [] a=terminated/Completed/0#0 b=terminated/Completed/0#0 web=running#0
`)
	if c := condition(t, w.last, corev1.PodInitialized); c.Status != corev1.ConditionTrue {
		t.Fatalf("Initialized %s", c.Status)
	}
}

// R35, R54, R14: deleting a pod with two sidecars stops the app, then the sidecars in
// reverse order within the one grace period, then removes the pod.
func TestTranscript_R35_delete_with_sidecars(t *testing.T) {
	pod := basePod()
	withSidecar(pod, "s1", "s2")
	w := newWorld(t, pod)
	w.up()
	w.asyncKill = true
	tr := &transcript{w: w, show: []string{"s1", "s2", "web"}}
	w.advance(time.Minute)
	w.deleteNow(nil)
	tr.step("delete")
	w.advance(3 * time.Second)
	tr.step("web still stopping")
	w.exit("web", 143)
	tr.step("")
	w.advance(time.Second)
	w.exit("s2", 0)
	tr.step("")
	w.advance(30 * time.Second)
	w.exit("s1", 137)
	tr.step("")
	tr.check(t, `
+60s Running [KillContainer web-0(30s)] s1=running#0 s2=running#0 web=running#0 # delete
+63s Running [] s1=running#0 s2=running#0 web=running#0 # web still stopping
+63s Running [KillContainer s2-0(27s)] s1=running#0 s2=running#0 web=terminated/Error/143#0
+64s Running [KillContainer s1-0(26s)] s1=running#0 s2=terminated/Completed/0#0 web=terminated/Error/143#0
+94s Failed [RemovePod] s1=terminated/Error/137#0 s2=terminated/Completed/0#0 web=terminated/Error/143#0
`)
	if !w.removed {
		t.Fatalf("pod not removed")
	}
}

// R32: the sandbox dies under a running pod: the app is stopped, the sandbox killed
// and re-created, init runs again from the first container, then the app restarts.
func TestTranscript_R32_sandbox_lost_and_recreated(t *testing.T) {
	pod := basePod()
	withInit(pod, "init")
	w := newWorld(t, pod)
	w.up()
	w.advance(time.Minute)
	w.sandbox.State = SandboxLost
	tr := &transcript{w: w, show: []string{"init", "web"}}
	for range 6 {
		tr.step("")
	}
	tr.check(t, `
+60s Running [KillContainer web-0(30s)] init=terminated/Completed/0#0 web=running#0
+60s Running [KillSandbox] init=terminated/Completed/0#0 web=waiting/CrashLoopBackOff#0
+60s Running [CreateSandbox] init=terminated/Completed/0#0 web=waiting/CrashLoopBackOff#0
+60s Pending [StartInitContainer init-1] init=waiting/PodInitializing#0 web=waiting/PodInitializing#0
+60s Running [StartContainer web-1] init=terminated/Completed/0#1 web=waiting/PodInitializing#0
+60s Running [] init=terminated/Completed/0#1 web=running#1
`)
	if e := findEventIn(w.events, EventSandboxChanged); e == nil {
		t.Fatalf("no SandboxChanged event")
	}
}

func findEventIn(events []Event, reason string) *Event {
	return findEvent(Output{Events: events}, reason)
}

// Plan is pure: it leaves its Input untouched and answers the same twice.
func TestPlan_is_pure(t *testing.T) {
	pod := basePod()
	withSidecar(pod, "proxy")
	withInit(pod, "init")
	withApp(pod, "db")
	w := newWorld(t, pod)
	w.up()
	w.exit("db", 1)
	w.inst("web").Probes.LivenessFailed = true
	in := w.input()
	in.Pod = pod.DeepCopy()
	before, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	a, b := Plan(in), Plan(in)
	after, _ := json.Marshal(in)
	if string(before) != string(after) {
		t.Fatalf("Plan changed its input")
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("Plan answered differently for the same input")
	}
}
