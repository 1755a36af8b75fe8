package planner

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// planCase is one row of the rule table, in the kubelet's TestComputePodActions style:
// the base pod (basePod) gets mutated by pod, the world is driven by setup (usually
// w.up() first: the pod brought up through Plan itself, then something happens), and
// the next Plan is compared with want and check.
type planCase struct {
	pod   func(p *corev1.Pod)
	setup func(w *world)
	want  []string // the next Plan's actions, as Action.String()
	check func(t *testing.T, w *world, out Output)
}

func runCases(t *testing.T, cases map[string]planCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pod := basePod()
			if tc.pod != nil {
				tc.pod(pod)
			}
			w := newWorld(t, pod)
			if tc.setup != nil {
				tc.setup(w)
			}
			out := w.plan()
			wantActions(t, out, tc.want)
			if tc.check != nil {
				tc.check(t, w, out)
			}
		})
	}
}

func wantPhase(t *testing.T, out Output, phase corev1.PodPhase) {
	t.Helper()
	if out.Status.Phase != phase {
		t.Fatalf("phase %s, want %s", out.Status.Phase, phase)
	}
}

func wantState(t *testing.T, out Output, name, state string) {
	t.Helper()
	if got := stateOf(status(t, out, name).State); got != state {
		t.Fatalf("container %s: state %s, want %s", name, got, state)
	}
}

func wantCondition(t *testing.T, out Output, typ corev1.PodConditionType, st corev1.ConditionStatus, msg string) {
	t.Helper()
	c := condition(t, out, typ)
	if c.Status != st || c.Message != msg {
		t.Fatalf("condition %s = %s %q, want %s %q", typ, c.Status, c.Message, st, msg)
	}
}

func wantEvent(t *testing.T, out Output, typ, reason, fieldPath, msg string) {
	t.Helper()
	e := findEvent(out, reason)
	if e == nil {
		t.Fatalf("no %s event in %+v", reason, out.Events)
	}
	if *e != (Event{Type: typ, Reason: reason, FieldPath: fieldPath, Message: msg}) {
		t.Fatalf("event %+v, want %s %s %s %q", *e, typ, reason, fieldPath, msg)
	}
}

func policy(r corev1.RestartPolicy) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.RestartPolicy = r }
}

func TestPlanner_AcceptancePhaseAndStates(t *testing.T) {
	runCases(t, map[string]planCase{
		"R4_new_pod_creates_sandbox_sets_scheduled_and_start_time": {
			want: []string{"CreateSandbox attempt=0 reason=NewPod"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodPending)
				wantCondition(t, out, corev1.PodScheduled, corev1.ConditionTrue, "")
				wantCondition(t, out, corev1.PodReadyToStartContainers, corev1.ConditionFalse, "")
				if !out.Status.StartTime.Time.Equal(t0) {
					t.Fatalf("startTime %v, want %v", out.Status.StartTime, t0)
				}
				wantState(t, out, "web", "waiting/ContainerCreating") // R21
			},
		},
		"R4_start_time_persists": {
			setup: func(w *world) { w.up(); w.advance(time.Hour) },
			check: func(t *testing.T, w *world, out Output) {
				if !out.Status.StartTime.Time.Equal(t0) {
					t.Fatalf("startTime %v, want %v", out.Status.StartTime, t0)
				}
			},
		},
		"R3_replaced_pod_is_stopped_with_its_grace": {
			pod:   func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(45)) },
			setup: func(w *world) { w.up(); w.deleteNow(nil) },
			want:  []string{"KillContainer web id=web-0 grace=45 prestop=false reason=Deleting"},
			check: func(t *testing.T, w *world, out Output) {
				wantEvent(t, out, corev1.EventTypeNormal, EventKilling, "spec.containers{web}", "Stopping container web")
			},
		},
		"R10_init_fails_under_never_pod_fails": {
			pod: func(p *corev1.Pod) { withInit(p, "init"); p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			setup: func(w *world) {
				w.initExit0 = false
				w.up()
				w.exit("init", 3)
			},
			want: []string{"KillSandbox attempt=0 reason=PodFinished"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodFailed)
				wantState(t, out, "init", "terminated/Error/3")
				wantState(t, out, "web", "waiting/PodInitializing")
			},
		},
		"R11_pending_while_init_runs": {
			pod:   func(p *corev1.Pod) { withInit(p, "init") },
			setup: func(w *world) { w.initExit0 = false; w.up() },
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodPending)
				wantState(t, out, "init", "running")
				wantState(t, out, "web", "waiting/PodInitializing") // R21
				wantCondition(t, out, corev1.PodInitialized, corev1.ConditionFalse, "containers with incomplete status: [init]")
			},
		},
		"R11_pending_while_an_app_waits_for_its_first_start": {
			pod: func(p *corev1.Pod) { withApp(p, "db") },
			setup: func(w *world) {
				w.startFail["db"] = StartFailure{Reason: ReasonCreateContainerError, Message: "no such volume"}
				w.up()
			},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodPending)
				wantState(t, out, "web", "running")
				wantState(t, out, "db", "waiting/CreateContainerError")
			},
		},
		"R12_running_once_an_app_runs": {
			setup: func(w *world) { w.up() },
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodRunning)
				wantCondition(t, out, corev1.PodInitialized, corev1.ConditionTrue, "") // R61: no init containers
				wantCondition(t, out, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "")
			},
		},
		"R13_always_all_exited_is_running": {
			setup: func(w *world) { w.up(); w.exit("web", 0) },
			check: func(t *testing.T, w *world, out Output) { wantPhase(t, out, corev1.PodRunning) },
		},
		"R13_onfailure_all_exit_zero_is_succeeded": {
			pod:   policy(corev1.RestartPolicyOnFailure),
			setup: func(w *world) { w.up(); w.exit("web", 0) },
			want:  []string{"KillSandbox attempt=0 reason=PodFinished"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodSucceeded)
				wantCondition(t, out, corev1.ContainersReady, corev1.ConditionFalse, "")
				if c := condition(t, out, corev1.PodReady); c.Reason != ReasonPodCompleted {
					t.Fatalf("Ready reason %q", c.Reason)
				}
			},
		},
		"R13_onfailure_nonzero_exit_is_running": {
			pod:   policy(corev1.RestartPolicyOnFailure),
			setup: func(w *world) { w.up(); w.exit("web", 1) },
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodRunning)
				wantState(t, out, "web", "waiting/CrashLoopBackOff")
			},
		},
		"R13_never_nonzero_exit_is_failed": {
			pod:   policy(corev1.RestartPolicyNever),
			setup: func(w *world) { w.up(); w.exit("web", 1) },
			want:  []string{"KillSandbox attempt=0 reason=PodFinished"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodFailed)
				wantState(t, out, "web", "terminated/Error/1")
			},
		},
		"R13_never_one_app_still_running_is_running": {
			pod:   func(p *corev1.Pod) { withApp(p, "db"); p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			setup: func(w *world) { w.up(); w.exit("web", 1) },
			check: func(t *testing.T, w *world, out Output) { wantPhase(t, out, corev1.PodRunning) },
		},
		"R14_deleted_pod_whose_apps_exit_0_is_succeeded": {
			setup: func(w *world) {
				w.up()
				w.asyncKill = true
				w.deleteNow(nil)
				w.step()
				w.exit("web", 0)
			},
			want:  []string{"RemovePod reason=Deleted"},
			check: func(t *testing.T, w *world, out Output) { wantPhase(t, out, corev1.PodSucceeded) },
		},
		"R14_deleted_pod_killed_by_signal_is_failed": {
			setup: func(w *world) { w.up(); w.deleteNow(nil); w.step() },
			want:  []string{"RemovePod reason=Deleted"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodFailed)
				wantState(t, out, "web", "terminated/Error/143") // R23: SIGTERM
			},
		},
		"R14_deleted_before_anything_ran_is_failed": {
			setup: func(w *world) { w.deleteNow(nil) },
			want:  []string{"RemovePod reason=Deleted"},
			check: func(t *testing.T, w *world, out Output) { wantPhase(t, out, corev1.PodFailed) },
		},
		"R14_nothing_restarts_after_a_final_phase": {
			setup: func(w *world) {
				w.up()
				w.pod.Status.Phase = corev1.PodFailed
				w.exit("web", 1)
				w.advance(time.Hour)
			},
			want: []string{"KillSandbox attempt=0 reason=PodFinished"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodFailed)
				wantState(t, out, "web", "terminated/Error/1")
			},
		},
		"R14_finished_pod_gets_no_new_sandbox": {
			pod: policy(corev1.RestartPolicyOnFailure),
			setup: func(w *world) {
				w.up()
				w.exit("web", 0)
				w.up()
				w.advance(time.Hour)
			},
			check: func(t *testing.T, w *world, out Output) { wantPhase(t, out, corev1.PodSucceeded) },
		},
		"R15_sidecar_does_not_hold_a_never_pod_running": {
			pod: func(p *corev1.Pod) { withSidecar(p, "proxy"); p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			setup: func(w *world) {
				w.up()
				w.exit("web", 0)
			},
			want: []string{"KillContainer proxy id=proxy-0 grace=30 prestop=false reason=SidecarAfterApps"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodSucceeded)
				wantState(t, out, "proxy", "running")
			},
		},
		"R15_sidecar_stopped_when_onfailure_apps_succeed": {
			pod: func(p *corev1.Pod) { withSidecar(p, "proxy"); p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			setup: func(w *world) {
				w.up()
				w.exit("web", 0)
				w.step()
			},
			want: []string{"KillSandbox attempt=0 reason=PodFinished"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodSucceeded)
				wantState(t, out, "proxy", "terminated/Error/143") // not restarted (R14)
			},
		},
		"R20_every_container_has_exactly_one_state": {
			pod: func(p *corev1.Pod) {
				withInit(p, "init")
				withSidecar(p, "proxy")
				withApp(p, "db", "cache")
			},
			setup: func(w *world) {
				w.startFail["cache"] = StartFailure{Reason: ReasonCreateContainerConfigError, Message: `secret "s" not found`}
				w.up()
				w.exit("db", 2)
			},
			check: func(t *testing.T, w *world, out Output) {
				// checkInvariants verified R20; spot-check the mix.
				wantState(t, out, "init", "terminated/Completed/0")
				wantState(t, out, "proxy", "running")
				wantState(t, out, "web", "running")
				wantState(t, out, "db", "waiting/CrashLoopBackOff")
				wantState(t, out, "cache", "waiting/CreateContainerConfigError")
				if !status(t, out, "init").Ready {
					t.Fatalf("a regular init container that exited 0 reports ready")
				}
			},
		},
	})
}
