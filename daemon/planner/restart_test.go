package planner

import (
	"fmt"
	"math"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestPlanner_RestartsProbesAndTermination(t *testing.T) {
	liveness := func(grace *int64) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = execProbe()
			p.Spec.Containers[0].LivenessProbe.TerminationGracePeriodSeconds = grace
		}
	}
	preStop := func(p *corev1.Pod) {
		p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
			Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "sleep 1"}}}}
	}
	withBackoff := func(w *world, delay time.Duration, age time.Duration) {
		h := w.hist.Containers["web"]
		h.Backoff = Backoff{Delay: delay, UpdatedAt: w.now.Add(-age)}
		w.hist.Containers["web"] = h
	}
	runCases(t, map[string]planCase{
		"R40_always_restarts_after_exit_0": {
			setup: func(w *world) { w.up(); w.exit("web", 0); w.step(); w.advance(10 * time.Second) },
			want:  []string{"StartContainer web restart=1 reason=Restart"},
		},
		"R40_onfailure_restarts_after_exit_1": {
			pod:   policy(corev1.RestartPolicyOnFailure),
			setup: func(w *world) { w.up(); w.exit("web", 1); w.step(); w.advance(10 * time.Second) },
			want:  []string{"StartContainer web restart=1 reason=Restart"},
		},
		"R40_never_does_not_restart": {
			pod:   func(p *corev1.Pod) { withApp(p, "db"); p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			setup: func(w *world) { w.up(); w.exit("web", 0); w.step(); w.advance(time.Hour) },
			check: func(t *testing.T, w *world, out Output) { wantState(t, out, "web", "terminated/Completed/0") },
		},
		"R41_first_restart_waits_the_base": {
			setup: func(w *world) { w.up(); w.advance(time.Minute); w.exit("web", 1) },
			check: func(t *testing.T, w *world, out Output) {
				if want := w.now.Add(10 * time.Second); !out.NextWake.Equal(want) {
					t.Fatalf("NextWake %v, want %v", out.NextWake, want)
				}
				wantEvent(t, out, corev1.EventTypeWarning, EventBackOff, "spec.containers{web}",
					"Back-off restarting failed container web in pod p_default(u1)") // R81
			},
		},
		"R41_no_restart_before_the_backoff_ends": {
			setup: func(w *world) { w.up(); w.exit("web", 1); w.step(); w.advance(9 * time.Second) },
			check: func(t *testing.T, w *world, out Output) {
				wantState(t, out, "web", "waiting/CrashLoopBackOff")
				if len(out.Events) != 0 {
					t.Fatalf("BackOff reported again: %+v", out.Events)
				}
			},
		},
		"R41_backoff_doubles": {
			setup: func(w *world) { w.up(); withBackoff(w, 40*time.Second, time.Minute); w.exit("web", 1) },
			check: func(t *testing.T, w *world, out Output) {
				if m := status(t, out, "web").State.Waiting.Message; m != "back-off 1m20s restarting failed container=web pod=p_default(u1)" {
					t.Fatalf("message %q", m)
				}
			},
		},
		"R41_backoff_caps_at_the_max": {
			setup: func(w *world) { w.up(); withBackoff(w, 160*time.Second, time.Minute); w.exit("web", 1) },
			check: func(t *testing.T, w *world, out Output) {
				if d := out.History.Containers["web"].Backoff.Delay; d != 300*time.Second {
					t.Fatalf("delay %s", d)
				}
			},
		},
		"R41_backoff_resets_after_10m": {
			setup: func(w *world) { w.up(); withBackoff(w, 160*time.Second, 11*time.Minute); w.exit("web", 1) },
			check: func(t *testing.T, w *world, out Output) {
				if d := out.History.Containers["web"].Backoff.Delay; d != 10*time.Second {
					t.Fatalf("delay %s", d)
				}
			},
		},
		"R41_base_and_cap_are_settings": {
			setup: func(w *world) {
				w.cfg = Config{BackoffBase: time.Second, BackoffMax: 3 * time.Second}
				w.up()
				withBackoff(w, 2*time.Second, time.Minute)
				w.exit("web", 1)
			},
			check: func(t *testing.T, w *world, out Output) {
				if !out.NextWake.Equal(w.now.Add(3 * time.Second)) {
					t.Fatalf("NextWake %v", out.NextWake)
				}
			},
		},
		"R42_liveness_kill_counts_as_failure_under_onfailure": {
			pod: func(p *corev1.Pod) { liveness(nil)(p); p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			setup: func(w *world) {
				w.up()
				w.asyncKill = true
				w.inst("web").Probes.LivenessFailed = true
				w.step()
				w.exit("web", 0) // the app handled SIGTERM and exited 0
				w.step()
				w.advance(10 * time.Second)
			},
			want:  []string{"StartContainer web restart=1 reason=Restart"},
			check: func(t *testing.T, w *world, out Output) { wantPhase(t, out, corev1.PodRunning) },
		},
		"R46_liveness_failure_kills_with_the_probe_grace": {
			pod:   liveness(ptr(int64(1))),
			setup: func(w *world) { w.up(); w.inst("web").Probes.LivenessFailed = true },
			want:  []string{"KillContainer web id=web-0 grace=1 prestop=false reason=LivenessProbe"},
			check: func(t *testing.T, w *world, out Output) {
				wantEvent(t, out, corev1.EventTypeNormal, EventKilling, "spec.containers{web}",
					"Container web failed liveness probe, will be restarted") // R81
			},
		},
		"R46_startup_failure_kills_with_the_pod_grace": {
			pod: func(p *corev1.Pod) { p.Spec.Containers[0].StartupProbe = execProbe() },
			setup: func(w *world) {
				w.healthy.StartupSucceeded = false
				w.up()
				w.inst("web").Probes.StartupFailed = true
			},
			want: []string{"KillContainer web id=web-0 grace=30 prestop=false reason=StartupProbe"},
		},
		"R46_no_second_kill_while_one_is_in_progress": {
			pod: liveness(nil),
			setup: func(w *world) {
				w.up()
				w.asyncKill = true
				w.inst("web").Probes.LivenessFailed = true
				w.step()
			},
		},
		"R46_never_kill_message_does_not_promise_a_restart": {
			pod:   func(p *corev1.Pod) { liveness(nil)(p); p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			setup: func(w *world) { w.up(); w.inst("web").Probes.LivenessFailed = true },
			want:  []string{"KillContainer web id=web-0 grace=30 prestop=false reason=LivenessProbe"},
			check: func(t *testing.T, w *world, out Output) {
				if m := out.Actions[0].Message; m != "Container web failed liveness probe" {
					t.Fatalf("message %q", m)
				}
			},
		},
		"R50_kill_runs_preStop_within_the_grace": {
			pod:   preStop,
			setup: func(w *world) { w.up(); w.deleteNow(nil) },
			want:  []string{"KillContainer web id=web-0 grace=30 prestop=true reason=Deleting"},
		},
		"R51_poststart_failure_kills_and_restarts": {
			setup: func(w *world) {
				w.up()
				w.inst("web").PostStartError = "Exec lifecycle hook ([false]) for Container \"web\" failed"
			},
			want: []string{"KillContainer web id=web-0 grace=30 prestop=false reason=PostStartHookFailed"},
			check: func(t *testing.T, w *world, out Output) {
				wantEvent(t, out, corev1.EventTypeWarning, EventFailedPostStartHook, "spec.containers{web}",
					"Exec lifecycle hook ([false]) for Container \"web\" failed")
				wantState(t, out, "web", "waiting/ContainerCreating")
			},
		},
		"R54_grace_0_kills_at_once_without_preStop": {
			pod:   preStop,
			setup: func(w *world) { w.up(); w.deleteNow(ptr(int64(0))) },
			want:  []string{"KillContainer web id=web-0 grace=0 prestop=false reason=Deleting"},
		},
		"R54_delete_overrides_the_grace": {
			setup: func(w *world) { w.up(); w.deleteNow(ptr(int64(5))) },
			want:  []string{"KillContainer web id=web-0 grace=5 prestop=false reason=Deleting"},
		},
		"R54_deleting_stops_starts_and_restarts": {
			setup: func(w *world) {
				w.up()
				w.exit("web", 1)
				w.step()
				w.deleteNow(nil)
				w.advance(time.Minute)
			},
			want: []string{"RemovePod reason=Deleted"},
		},
		"R35_delete_stops_apps_before_sidecars": {
			pod:   func(p *corev1.Pod) { withSidecar(p, "s1", "s2"); withApp(p, "db") },
			setup: func(w *world) { w.up(); w.deleteNow(nil) },
			want: []string{
				"KillContainer web id=web-0 grace=30 prestop=false reason=Deleting",
				"KillContainer db id=db-0 grace=30 prestop=false reason=Deleting",
			},
		},
		"R35_sidecars_stop_last_declared_first_with_the_rest_of_the_grace": {
			pod: func(p *corev1.Pod) { withSidecar(p, "s1", "s2") },
			setup: func(w *world) {
				w.up()
				w.deleteNow(nil)
				w.step()
				w.advance(12 * time.Second)
			},
			want: []string{"KillContainer s2 id=s2-0 grace=18 prestop=false reason=Deleting"},
		},
		"R55_deadline_fails_the_pod_and_stops_containers": {
			pod: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(60)) },
			setup: func(w *world) {
				w.up()
				if !w.last.NextWake.Equal(t0.Add(time.Minute)) {
					w.t.Fatalf("NextWake %v, want the deadline", w.last.NextWake)
				}
				w.advance(61 * time.Second)
			},
			want: []string{"KillContainer web id=web-0 grace=29 prestop=false reason=DeadlineExceeded"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodFailed)
				if out.Status.Reason != "DeadlineExceeded" || out.Status.Message != "Pod was active on the node longer than the specified deadline" {
					t.Fatalf("reason %q message %q", out.Status.Reason, out.Status.Message)
				}
				wantEvent(t, out, corev1.EventTypeNormal, EventDeadlineExceeded, "", MessageDeadlineExceeded) // R81
				wantCondition(t, out, corev1.PodReady, corev1.ConditionFalse, "")
			},
		},
		"huge_active_deadline_is_clamped_not_overflowed": {
			pod:   func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(math.MaxInt64)) },
			setup: func(w *world) { w.up(); w.advance(time.Hour) },
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodRunning)
				if out.Status.Reason != "" {
					t.Fatalf("reason %q, want none", out.Status.Reason)
				}
			},
		},
		"huge_grace_is_clamped_not_overflowed": {
			pod: func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(math.MaxInt64)) },
			setup: func(w *world) {
				w.up()
				w.deleteNow(nil)
				w.advance(time.Second)
			},
			want: []string{fmt.Sprintf("KillContainer web id=web-0 grace=%d prestop=false reason=Deleting", MaxSeconds-1)},
			check: func(t *testing.T, w *world, out Output) {
				for _, a := range out.Actions {
					if a.Kind == ActionKillContainer && a.GracePeriodSeconds < 3600 {
						t.Fatalf("a huge grace becomes a kill with grace %d: %v", a.GracePeriodSeconds, actions(out))
					}
				}
				if len(out.Actions) == 0 {
					t.Fatal("no kill planned")
				}
			},
		},
		"R55_containers_stopped_by_the_deadline_read_DeadlineExceeded": {
			pod: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(60)) },
			setup: func(w *world) {
				w.up()
				w.advance(61 * time.Second)
				w.step()
			},
			want: []string{"KillSandbox attempt=0 reason=PodFinished"},
			check: func(t *testing.T, w *world, out Output) {
				wantState(t, out, "web", "terminated/DeadlineExceeded/143") // R22
				if out.Status.Reason != ReasonDeadlineExceeded || len(out.Events) != 0 {
					t.Fatalf("reason %q events %+v", out.Status.Reason, out.Events)
				}
			},
		},
	})
}
