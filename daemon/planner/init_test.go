package planner

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestPlanner_InitSidecarsAndSandbox(t *testing.T) {
	twoInits := func(p *corev1.Pod) { withInit(p, "a", "b") }
	sidecarThenInit := func(p *corev1.Pod) {
		withSidecar(p, "proxy")
		withInit(p, "setup")
		p.Spec.InitContainers[0].StartupProbe = execProbe()
	}
	runCases(t, map[string]planCase{
		"R30_second_init_waits_for_first": {
			pod:   twoInits,
			setup: func(w *world) { w.initExit0 = false; w.up() },
			check: func(t *testing.T, w *world, out Output) {
				wantState(t, out, "a", "running")
				wantState(t, out, "b", "waiting/PodInitializing")
				wantCondition(t, out, corev1.PodInitialized, corev1.ConditionFalse, "containers with incomplete status: [a b]")
			},
		},
		"R30_next_init_starts_after_the_first_exits_0": {
			pod:   twoInits,
			setup: func(w *world) { w.initExit0 = false; w.up(); w.exit("a", 0) },
			want:  []string{"StartInitContainer b restart=0 reason=Start"},
			check: func(t *testing.T, w *world, out Output) {
				wantCondition(t, out, corev1.PodInitialized, corev1.ConditionFalse, "containers with incomplete status: [b]")
			},
		},
		"R30_apps_start_together_after_init": {
			pod: func(p *corev1.Pod) { withInit(p, "a"); withApp(p, "db", "cache") },
			setup: func(w *world) {
				w.step() // sandbox
				w.step() // init a runs and exits 0
			},
			want: []string{
				"StartContainer web restart=0 reason=Start",
				"StartContainer db restart=0 reason=Start",
				"StartContainer cache restart=0 reason=Start",
			},
			check: func(t *testing.T, w *world, out Output) {
				wantCondition(t, out, corev1.PodInitialized, corev1.ConditionTrue, "") // R61
				wantState(t, out, "web", "waiting/PodInitializing")
			},
		},
		"R31_failed_init_waits_for_backoff": {
			pod:   twoInits,
			setup: func(w *world) { w.initExit0 = false; w.up(); w.exit("a", 1) },
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodPending)
				wantState(t, out, "a", "waiting/CrashLoopBackOff")
				if !out.NextWake.Equal(w.now.Add(10 * time.Second)) {
					t.Fatalf("NextWake %v", out.NextWake)
				}
				wantEvent(t, out, corev1.EventTypeWarning, EventBackOff, "spec.initContainers{a}",
					"Back-off restarting failed container a in pod p_default(u1)") // R81
			},
		},
		"R31_failed_init_restarts_after_backoff": {
			pod: twoInits,
			setup: func(w *world) {
				w.initExit0 = false
				w.up()
				w.exit("a", 1)
				w.step()
				w.advance(10 * time.Second)
			},
			want: []string{"StartInitContainer a restart=1 reason=Restart"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodPending)
				wantState(t, out, "a", "terminated/Error/1")
			},
		},
		"R32_lost_sandbox_is_killed_once_containers_stopped": {
			setup: func(w *world) { w.up(); w.sandbox.State = SandboxLost; w.step() },
			want:  []string{"KillSandbox attempt=0 reason=SandboxChanged"},
		},
		"R32_lost_sandbox_is_recreated": {
			setup: func(w *world) {
				w.up()
				w.sandbox.State = SandboxLost
				w.step() // kill web
				w.step() // kill the sandbox
			},
			want: []string{"CreateSandbox attempt=1 reason=SandboxChanged"},
			check: func(t *testing.T, w *world, out Output) {
				wantEvent(t, out, corev1.EventTypeNormal, EventSandboxChanged, "", "Pod sandbox changed, it will be killed and re-created.") // R81
				wantCondition(t, out, corev1.PodReadyToStartContainers, corev1.ConditionFalse, "")                                           // R60
			},
		},
		"R32_new_sandbox_reruns_init_from_the_first": {
			pod: twoInits,
			setup: func(w *world) {
				w.up()
				w.sandbox.State = SandboxLost
				for range 3 { // kill web, kill sandbox, create sandbox
					w.step()
				}
			},
			want: []string{"StartInitContainer a restart=1 reason=Start"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodPending)
				wantCondition(t, out, corev1.PodInitialized, corev1.ConditionFalse, "containers with incomplete status: [a b]")
				wantState(t, out, "web", "waiting/PodInitializing")
				if got := stateOf(status(t, out, "web").LastTerminationState); got != "terminated/Error/143" {
					t.Fatalf("lastState %s", got)
				}
				if out.Status.PodIP != "10.88.0.3" {
					t.Fatalf("podIP %q of the new sandbox", out.Status.PodIP)
				}
			},
		},
		"R32_never_pod_that_ran_gets_no_new_sandbox": {
			pod: policy(corev1.RestartPolicyNever),
			setup: func(w *world) {
				w.up()
				w.sandbox = Sandbox{} // gone after a reboot, web with it
				w.obs["web"] = Observed{}
			},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodFailed)
				wantState(t, out, "web", "terminated/ContainerStatusUnknown/137")
			},
		},
		"R32_onfailure_app_that_succeeded_is_not_rerun_in_the_new_sandbox": {
			pod: func(p *corev1.Pod) { withApp(p, "db"); p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			setup: func(w *world) {
				w.up()
				w.exit("web", 0)
				w.step()
				w.sandbox.State = SandboxLost
				for range 3 { // kill db, kill sandbox, create sandbox
					w.step()
				}
			},
			want: []string{"StartContainer db restart=1 reason=Start"},
			check: func(t *testing.T, w *world, out Output) {
				wantState(t, out, "web", "waiting/ContainerCreating")
				if got := stateOf(status(t, out, "web").LastTerminationState); got != "terminated/Completed/0" {
					t.Fatalf("lastState %s", got)
				}
			},
		},
		"R33_probe_results_of_regular_init_containers_are_ignored": {
			pod: func(p *corev1.Pod) {
				withInit(p, "init")
				p.Spec.InitContainers[0].LivenessProbe = execProbe() // rejected by validation; ignored here
			},
			setup: func(w *world) {
				w.initExit0 = false
				w.up()
				w.inst("init").Probes.LivenessFailed = true
			},
		},
		"R34_next_init_waits_until_the_sidecar_started": {
			pod:   sidecarThenInit,
			setup: func(w *world) { w.healthy.StartupSucceeded = false; w.up() },
			check: func(t *testing.T, w *world, out Output) {
				wantState(t, out, "proxy", "running")
				wantState(t, out, "setup", "waiting/PodInitializing")
				wantCondition(t, out, corev1.PodInitialized, corev1.ConditionFalse, "containers with incomplete status: [proxy setup]")
			},
		},
		"R34_next_init_starts_once_the_sidecar_started": {
			pod: sidecarThenInit,
			setup: func(w *world) {
				w.healthy.StartupSucceeded = false
				w.up()
				w.inst("proxy").Probes.StartupSucceeded = true
			},
			want: []string{"StartInitContainer setup restart=0 reason=Start"},
		},
		"R34_sidecar_keeps_running_beside_the_apps": {
			pod: sidecarThenInit,
			setup: func(w *world) {
				w.up()
			},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodRunning)
				wantState(t, out, "proxy", "running")
				wantState(t, out, "setup", "terminated/Completed/0")
				wantState(t, out, "web", "running")
			},
		},
		"R34_sidecar_restarts_under_never": {
			pod: func(p *corev1.Pod) { withSidecar(p, "proxy"); p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			setup: func(w *world) {
				w.up()
				w.exit("proxy", 1)
				w.step()
				w.advance(10 * time.Second)
			},
			want: []string{"StartInitContainer proxy restart=1 reason=Restart"},
			check: func(t *testing.T, w *world, out Output) {
				wantPhase(t, out, corev1.PodRunning)
				wantCondition(t, out, corev1.PodInitialized, corev1.ConditionTrue, "")
			},
		},
		"R34_sidecar_readiness_counts_for_the_pod": {
			pod: func(p *corev1.Pod) {
				withSidecar(p, "proxy")
				p.Spec.InitContainers[0].ReadinessProbe = execProbe()
			},
			setup: func(w *world) { w.up(); w.inst("proxy").Probes.Ready = false },
			check: func(t *testing.T, w *world, out Output) {
				wantCondition(t, out, corev1.ContainersReady, corev1.ConditionFalse, "containers with unready status: [proxy]")
			},
		},
		"R34_sidecar_liveness_failure_restarts_it": {
			pod: func(p *corev1.Pod) {
				withSidecar(p, "proxy")
				p.Spec.RestartPolicy = corev1.RestartPolicyNever
				p.Spec.InitContainers[0].LivenessProbe = execProbe()
			},
			setup: func(w *world) { w.up(); w.inst("proxy").Probes.LivenessFailed = true },
			want:  []string{"KillContainer proxy id=proxy-0 grace=30 prestop=false reason=LivenessProbe"},
			check: func(t *testing.T, w *world, out Output) {
				wantEvent(t, out, corev1.EventTypeNormal, EventKilling, "spec.initContainers{proxy}",
					"Init container proxy failed liveness probe, will be restarted")
			},
		},
		"R81_failed_sandbox_creation_is_reported_and_retried_later": {
			setup: func(w *world) { w.sandboxFail = "cni: no IP left"; w.step() },
			check: func(t *testing.T, w *world, out Output) {
				wantEvent(t, out, corev1.EventTypeWarning, EventFailedCreatePodSandBox, "", "Failed to create pod sandbox: cni: no IP left")
				if !out.NextWake.Equal(t0.Add(10 * time.Second)) {
					t.Fatalf("NextWake %v", out.NextWake)
				}
				wantPhase(t, out, corev1.PodPending)
			},
		},
		"R81_a_sandbox_waiting_for_a_claim_is_retried_at_the_base_delay": {
			setup: func(w *world) {
				w.sandboxFail, w.sandboxWait = `persistentvolumeclaim "data" not found`, true
				for range 4 {
					w.step()
					w.advance(w.plan().NextWake.Sub(w.now))
				}
				w.step()
			},
			check: func(t *testing.T, w *world, out Output) {
				if d := out.NextWake.Sub(w.now); d != 10*time.Second {
					t.Fatalf("retried after %v, want the base delay 10s every time", d)
				}
			},
		},
		"R81_failed_sandbox_creation_backs_off_exponentially": {
			setup: func(w *world) {
				w.sandboxFail = "cni: no IP left"
				for range 4 {
					w.step()
					w.advance(w.plan().NextWake.Sub(w.now))
				}
				w.step()
			},
			check: func(t *testing.T, w *world, out Output) {
				if d := out.NextWake.Sub(w.now); d != 160*time.Second {
					t.Fatalf("retried after %v after 5 failures, want 160s (10s doubled 4 times)", d)
				}
			},
		},
		"R81_failed_sandbox_creation_retried_after_backoff": {
			setup: func(w *world) {
				w.sandboxFail = "cni: no IP left"
				w.step()
				w.step()
				w.advance(10 * time.Second)
			},
			want: []string{"CreateSandbox attempt=0 reason=Retry"},
			check: func(t *testing.T, w *world, out Output) {
				if findEvent(out, EventFailedCreatePodSandBox) != nil {
					t.Fatalf("the same failure was reported twice")
				}
			},
		},
	})
}
