package planner

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestPlanner_ContainerStates(t *testing.T) {
	runCases(t, map[string]planCase{
		"R21_CrashLoopBackOff_message_names_the_delay": {
			setup: func(w *world) { w.up(); w.exit("web", 1) },
			check: func(t *testing.T, w *world, out Output) {
				cs := status(t, out, "web")
				want := "back-off 10s restarting failed container=web pod=p_default(u1)"
				if cs.State.Waiting == nil || cs.State.Waiting.Reason != ReasonCrashLoopBackOff || cs.State.Waiting.Message != want {
					t.Fatalf("state %+v, want CrashLoopBackOff %q", cs.State, want)
				}
				if got := stateOf(cs.LastTerminationState); got != "terminated/Error/1" {
					t.Fatalf("lastState %s", got)
				}
			},
		},
		"R21_ImagePullBackOff_while_a_failed_pull_backs_off": {
			setup: func(w *world) {
				w.startFail["web"] = StartFailure{Reason: ReasonErrImagePull, Message: "registry unreachable"}
				w.up()
			},
			check: func(t *testing.T, w *world, out Output) {
				wantState(t, out, "web", "waiting/ImagePullBackOff")
				if m := status(t, out, "web").State.Waiting.Message; m != `Back-off pulling image "busybox"` {
					t.Fatalf("message %q", m)
				}
			},
		},
		"R21_start_failure_retried_after_backoff": {
			setup: func(w *world) {
				w.startFail["web"] = StartFailure{Reason: ReasonErrImageNeverPull, Message: `Container image "busybox" is not present with pull policy of Never`}
				w.up()
				if !w.last.NextWake.Equal(t0.Add(10 * time.Second)) {
					w.t.Fatalf("NextWake %v, want the back-off expiry", w.last.NextWake)
				}
				w.advance(10 * time.Second)
			},
			want: []string{"StartContainer web restart=0 reason=Retry"},
			check: func(t *testing.T, w *world, out Output) {
				wantState(t, out, "web", "waiting/ErrImageNeverPull")
				if m := status(t, out, "web").State.Waiting.Message; m != `Container image "busybox" is not present with pull policy of Never` {
					t.Fatalf("message %q", m)
				}
			},
		},
		"R22_shim_reasons_are_kept": {
			pod: policy(corev1.RestartPolicyNever),
			setup: func(w *world) {
				w.up()
				i := w.inst("web")
				w.exit("web", 137)
				i.Reason, i.Message = ReasonOOMKilled, "memory limit"
			},
			want: []string{"KillSandbox attempt=0 reason=PodFinished"},
			check: func(t *testing.T, w *world, out Output) {
				wantState(t, out, "web", "terminated/OOMKilled/137")
				if term := status(t, out, "web").State.Terminated; term.Message != "memory limit" || term.ContainerID != "podd://cid-web-0" {
					t.Fatalf("terminated %+v", term)
				}
			},
		},
		"R22_ContainerCannotRun_exit_128": {
			pod: policy(corev1.RestartPolicyNever),
			setup: func(w *world) {
				w.up()
				i := w.inst("web")
				w.exit("web", 128)
				i.Reason = ReasonContainerCannotRun
			},
			want: []string{"KillSandbox attempt=0 reason=PodFinished"},
			check: func(t *testing.T, w *world, out Output) {
				wantState(t, out, "web", "terminated/ContainerCannotRun/128")
			},
		},
		"R22_Completed_for_exit_0": {
			pod:   policy(corev1.RestartPolicyNever),
			setup: func(w *world) { w.up(); w.exit("web", 0) },
			want:  []string{"KillSandbox attempt=0 reason=PodFinished"},
			check: func(t *testing.T, w *world, out Output) { wantState(t, out, "web", "terminated/Completed/0") },
		},
		"R23_killed_by_signal_is_128_plus_n": {
			pod: policy(corev1.RestartPolicyNever),
			setup: func(w *world) {
				w.up()
				i := w.inst("web")
				w.exit("web", 0)
				i.Signal = 9
			},
			want: []string{"KillSandbox attempt=0 reason=PodFinished"},
			check: func(t *testing.T, w *world, out Output) {
				if term := status(t, out, "web").State.Terminated; term.ExitCode != 137 || term.Signal != 9 || term.Reason != ReasonError {
					t.Fatalf("terminated %+v", term)
				}
			},
		},
		"R24_restart_count_and_last_state": {
			setup: func(w *world) {
				w.up()
				w.advance(time.Minute)
				w.exit("web", 1)
				w.step()
				w.advance(10 * time.Second)
				w.step()
			},
			check: func(t *testing.T, w *world, out Output) {
				cs := status(t, out, "web")
				if cs.RestartCount != 1 || cs.ContainerID != "podd://cid-web-1" || stateOf(cs.State) != "running" {
					t.Fatalf("status %+v", cs)
				}
				last := cs.LastTerminationState.Terminated
				if last == nil || last.ExitCode != 1 || last.ContainerID != "podd://cid-web-0" || !last.FinishedAt.Time.Equal(t0.Add(time.Minute)) {
					t.Fatalf("lastState %+v", cs.LastTerminationState)
				}
			},
		},
		"R24_vanished_instance_is_recorded_unknown": {
			setup: func(w *world) { w.up(); w.obs["web"] = Observed{} },
			check: func(t *testing.T, w *world, out Output) {
				wantState(t, out, "web", "waiting/CrashLoopBackOff")
				if got := stateOf(status(t, out, "web").LastTerminationState); got != "terminated/ContainerStatusUnknown/137" {
					t.Fatalf("lastState %s", got)
				}
			},
		},
		"R24_lost_history_keeps_the_restart_count_of_the_instance_id": {
			setup: func(w *world) {
				w.up()
				w.exit("web", 1)
				w.step()
				w.advance(10 * time.Second)
				w.up() // web-1 runs
				w.hist = History{}
				w.exit("web", 1)
				w.step()
				w.advance(10 * time.Second)
			},
			want: []string{"StartContainer web restart=2 reason=Restart"},
		},
		"R25_ready_without_readiness_probe": {
			setup: func(w *world) { w.up() },
			check: func(t *testing.T, w *world, out Output) {
				if cs := status(t, out, "web"); !cs.Ready || !*cs.Started {
					t.Fatalf("ready %t started %t", cs.Ready, *cs.Started)
				}
				wantCondition(t, out, corev1.ContainersReady, corev1.ConditionTrue, "")
				wantCondition(t, out, corev1.PodReady, corev1.ConditionTrue, "") // R63
			},
		},
		"R25_not_ready_before_readiness_success": {
			pod:   func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = execProbe() },
			setup: func(w *world) { w.healthy.Ready = false; w.up() },
			check: func(t *testing.T, w *world, out Output) {
				if status(t, out, "web").Ready {
					t.Fatalf("ready before the readiness probe succeeded")
				}
				wantCondition(t, out, corev1.ContainersReady, corev1.ConditionFalse, "containers with unready status: [web]") // R62
				wantCondition(t, out, corev1.PodReady, corev1.ConditionFalse, "containers with unready status: [web]")        // R63
			},
		},
		"R25_not_ready_when_not_running": {
			setup: func(w *world) { w.up(); w.exit("web", 1) },
			check: func(t *testing.T, w *world, out Output) {
				if cs := status(t, out, "web"); cs.Ready || *cs.Started {
					t.Fatalf("ready %t started %t after exit (R26)", cs.Ready, *cs.Started)
				}
			},
		},
		"R26_not_started_until_startup_probe_succeeds": {
			pod:   func(p *corev1.Pod) { p.Spec.Containers[0].StartupProbe = execProbe() },
			setup: func(w *world) { w.healthy.StartupSucceeded = false; w.up() },
			check: func(t *testing.T, w *world, out Output) {
				cs := status(t, out, "web")
				if *cs.Started || cs.Ready || stateOf(cs.State) != "running" {
					t.Fatalf("started %t ready %t state %s", *cs.Started, cs.Ready, stateOf(cs.State))
				}
			},
		},
		"R26_started_once_startup_probe_succeeds": {
			pod: func(p *corev1.Pod) { p.Spec.Containers[0].StartupProbe = execProbe() },
			setup: func(w *world) {
				w.healthy.StartupSucceeded = false
				w.up()
				w.inst("web").Probes.StartupSucceeded = true
			},
			check: func(t *testing.T, w *world, out Output) {
				if cs := status(t, out, "web"); !*cs.Started || !cs.Ready {
					t.Fatalf("started %t ready %t", *cs.Started, cs.Ready)
				}
			},
		},
		"R43_results_of_probes_not_in_the_spec_are_ignored": {
			setup: func(w *world) {
				w.up()
				w.inst("web").Probes = ProbeResults{LivenessFailed: true, StartupFailed: true}
			},
			check: func(t *testing.T, w *world, out Output) {
				if !status(t, out, "web").Ready {
					t.Fatalf("a container without readiness probe is ready")
				}
			},
		},
		"R47_readiness_failure_makes_unready_without_restart": {
			pod: func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = execProbe() },
			setup: func(w *world) {
				w.up()
				w.advance(time.Hour)
				w.inst("web").Probes.Ready = false
			},
			check: func(t *testing.T, w *world, out Output) {
				cs := status(t, out, "web")
				if cs.Ready || cs.RestartCount != 0 {
					t.Fatalf("ready %t restarts %d", cs.Ready, cs.RestartCount)
				}
				c := condition(t, out, corev1.PodReady)
				if c.Status != corev1.ConditionFalse || !c.LastTransitionTime.Time.Equal(w.now) {
					t.Fatalf("R63: Ready %s since %v, want False since %v", c.Status, c.LastTransitionTime, w.now)
				}
			},
		},
		"R47_not_ready_once_termination_starts": {
			setup: func(w *world) { w.up(); w.asyncKill = true; w.deleteNow(nil); w.step() },
			check: func(t *testing.T, w *world, out Output) {
				if status(t, out, "web").Ready {
					t.Fatalf("ready while terminating")
				}
				wantCondition(t, out, corev1.PodReady, corev1.ConditionFalse, "containers with unready status: [web]")
			},
		},
		"R51_poststart_pending_reports_ContainerCreating": {
			setup: func(w *world) {
				w.up()
				w.inst("web").PostStartPending = true
			},
			check: func(t *testing.T, w *world, out Output) {
				wantState(t, out, "web", "waiting/ContainerCreating")
				wantPhase(t, out, corev1.PodPending)
				if cs := status(t, out, "web"); cs.Ready || *cs.Started {
					t.Fatalf("ready/started during postStart")
				}
			},
		},
		"R60_ready_to_start_containers_false_when_sandbox_lost": {
			setup: func(w *world) { w.up(); w.sandbox.State = SandboxLost },
			want:  []string{"KillContainer web id=web-0 grace=30 prestop=false reason=SandboxChanged"},
			check: func(t *testing.T, w *world, out Output) {
				wantCondition(t, out, corev1.PodReadyToStartContainers, corev1.ConditionFalse, "")
			},
		},
		"R63_transition_time_kept_while_unchanged": {
			setup: func(w *world) { w.up(); w.advance(time.Hour) },
			check: func(t *testing.T, w *world, out Output) {
				for _, c := range out.Status.Conditions {
					if !c.LastTransitionTime.Time.Equal(t0) {
						t.Fatalf("condition %s moved to %v without a change", c.Type, c.LastTransitionTime)
					}
				}
			},
		},
	})
}

// R24: restart counts and back-off live in History, which must survive the daemon
// restarting (a JSON round trip through the store) unchanged.
func TestPlanner_R24_history_survives_a_json_round_trip(t *testing.T) {
	w := newWorld(t, basePod())
	w.up()
	w.exit("web", 1)
	w.step()
	w.advance(10 * time.Second)
	w.step()
	w.exit("web", 1)
	before := w.plan()
	raw, err := json.Marshal(before.History)
	if err != nil {
		t.Fatal(err)
	}
	var restored History
	if err := json.Unmarshal(raw, &restored); err != nil {
		t.Fatal(err)
	}
	in := w.input()
	in.History = restored
	after := Plan(in)
	a, b := before.History.Containers["web"], after.History.Containers["web"]
	if a.RestartCount != 1 || b.RestartCount != 1 || a.Backoff.Delay != b.Backoff.Delay || !a.Backoff.UpdatedAt.Equal(b.Backoff.UpdatedAt) {
		t.Fatalf("history changed across a round trip: %+v vs %+v", a, b)
	}
	if !reflect.DeepEqual(actions(before), actions(after)) {
		t.Fatalf("actions changed: %v vs %v", actions(before), actions(after))
	}
}

// R21: every start failure keeps the container waiting with its reason and message.
func TestPlanner_R21_start_failures_keep_the_container_waiting(t *testing.T) {
	for _, reason := range []string{ReasonErrImageNeverPull, ReasonInvalidImageName,
		ReasonCreateContainerConfigError, ReasonCreateContainerError, ReasonRunContainerError} {
		t.Run(reason, func(t *testing.T) {
			w := newWorld(t, basePod())
			w.startFail["web"] = StartFailure{Reason: reason, Message: "because"}
			w.up()
			cs := status(t, w.last, "web")
			if cs.State.Waiting == nil || cs.State.Waiting.Reason != reason || cs.State.Waiting.Message != "because" {
				t.Fatalf("state %+v", cs.State)
			}
			wantPhase(t, w.last, corev1.PodPending)
		})
	}
}

// A container whose config refers to a ConfigMap or Secret that does not
// exist yet is retried at the base delay, never the doubled back-off (the
// kubelet retries CreateContainerConfigError at every sync): the object may
// be applied at any moment. Other start failures double.
func TestPlanner_R21_config_error_retried_at_the_base_delay(t *testing.T) {
	for reason, want := range map[string][]time.Duration{
		ReasonCreateContainerConfigError: {10 * time.Second, 10 * time.Second, 10 * time.Second},
		ReasonCreateContainerError:       {10 * time.Second, 20 * time.Second, 40 * time.Second},
	} {
		t.Run(reason, func(t *testing.T) {
			w := newWorld(t, basePod())
			w.startFail["web"] = StartFailure{Reason: reason, Message: `secret "s" not found`}
			var got []time.Duration
			for range want {
				w.up()
				got = append(got, w.hist.Containers["web"].Backoff.Delay)
				w.advance(w.hist.Containers["web"].Backoff.Delay)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("delays %v, want %v", got, want)
			}
		})
	}
}
