package planner

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const evictMsg = `Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".`

func TestPlanner_Eviction(t *testing.T) {
	evict := func(w *world) { w.eviction = &Eviction{Message: evictMsg} }
	runCases(t, map[string]planCase{
		"evicted_pod_fails_and_its_containers_are_killed_at_once": {
			setup: func(w *world) { w.up(); evict(w) },
			want:  []string{"KillContainer web id=web-0 grace=0 prestop=false reason=Evicted"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodFailed)
				if out.Status.Reason != ReasonEvicted || out.Status.Message != evictMsg {
					t.Fatalf("reason %q message %q", out.Status.Reason, out.Status.Message)
				}
				wantEvent(t, out, corev1.EventTypeWarning, EventEvicted, "", evictMsg)
				wantCondition(t, out, corev1.PodReady, corev1.ConditionFalse, "")
			},
		},
		"evicted_pod_stops_its_sandbox_and_never_restarts": {
			pod: policy(corev1.RestartPolicyAlways),
			setup: func(w *world) {
				w.up()
				evict(w)
				w.step()
				// The worker need not report the eviction again: the status holds it.
				w.eviction = nil
				w.step()
				w.advance(time.Hour)
			},
			want: nil,
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodFailed)
				if out.Status.Reason != ReasonEvicted || out.Status.Message != evictMsg {
					t.Fatalf("reason %q message %q", out.Status.Reason, out.Status.Message)
				}
				if len(out.Events) != 0 {
					t.Fatalf("events again: %+v", out.Events)
				}
				if w.sandbox.State != SandboxNone {
					t.Fatalf("sandbox %v, want stopped", w.sandbox.State)
				}
				if restarts(out, "web") != 0 {
					t.Fatalf("web restarted %d times", restarts(out, "web"))
				}
			},
		},
		"eviction_of_a_finished_pod_changes_nothing": {
			pod: policy(corev1.RestartPolicyNever),
			setup: func(w *world) {
				w.up()
				w.exit("web", 0)
				w.step()
				w.step()
				evict(w)
			},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodSucceeded)
				if out.Status.Reason == ReasonEvicted {
					t.Fatalf("a finished pod is evicted: %+v", out.Status)
				}
			},
		},
	})
}

func restarts(out Output, name string) int32 {
	for _, cs := range out.Status.ContainerStatuses {
		if cs.Name == name {
			return cs.RestartCount
		}
	}
	return 0
}
