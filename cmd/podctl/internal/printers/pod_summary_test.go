package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(testNow.Add(-d)) }

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Minute)}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(code int32, reason string) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, Reason: reason, StartedAt: ago(time.Minute), FinishedAt: ago(30 * time.Second)}}
}

func signaled(sig int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 128 + sig, Signal: sig}}
}

func cstatus(name string, state corev1.ContainerState, ready bool) corev1.ContainerStatus {
	started := state.Running != nil
	return corev1.ContainerStatus{Name: name, State: state, Ready: ready, Started: &started}
}

func condition(t corev1.PodConditionType, ok bool) corev1.PodCondition {
	s := corev1.ConditionFalse
	if ok {
		s = corev1.ConditionTrue
	}
	return corev1.PodCondition{Type: t, Status: s}
}

// testPod has init containers i1, i2 (unless cleared) and apps a, b.
func testPod(phase corev1.PodPhase, mods ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", CreationTimestamp: ago(5 * time.Minute)},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "i1"}, {Name: "i2"}},
			Containers:     []corev1.Container{{Name: "a"}, {Name: "b"}},
		},
		Status: corev1.PodStatus{Phase: phase},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func noInit(p *corev1.Pod) {
	p.Spec.InitContainers = nil
}

func inits(s ...corev1.ContainerStatus) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.InitContainerStatuses = s }
}

func apps(s ...corev1.ContainerStatus) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses = s }
}

func conds(c ...corev1.PodCondition) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.Conditions = c }
}

func sidecarI1(p *corev1.Pod) {
	always := corev1.ContainerRestartPolicyAlways
	p.Spec.InitContainers[0].RestartPolicy = &always
}

func initDone(p *corev1.Pod) {
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{
		cstatus("i1", terminated(0, "Completed"), false), cstatus("i2", terminated(0, "Completed"), false)}
	p.Status.Conditions = append(p.Status.Conditions, condition(corev1.PodInitialized, true))
}

func TestSummarizePod_R71_Status(t *testing.T) {
	deleting := func(p *corev1.Pod) { ts := ago(time.Second); p.DeletionTimestamp = &ts }
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"init 0 of 2 running", testPod(corev1.PodPending,
			inits(cstatus("i1", running(), false), cstatus("i2", waiting("PodInitializing"), false)),
			apps(cstatus("a", waiting("PodInitializing"), false), cstatus("b", waiting("PodInitializing"), false))),
			"Init:0/2"},
		{"init 0 of 2 before any status", testPod(corev1.PodPending,
			inits(cstatus("i1", waiting("PodInitializing"), false), cstatus("i2", waiting("PodInitializing"), false))),
			"Init:0/2"},
		{"init 1 of 2", testPod(corev1.PodPending,
			inits(cstatus("i1", terminated(0, "Completed"), false), cstatus("i2", running(), false))),
			"Init:1/2"},
		{"init error under Never", testPod(corev1.PodFailed,
			inits(cstatus("i1", terminated(3, "Error"), false), cstatus("i2", waiting("PodInitializing"), false))),
			"Init:Error"},
		{"init crash loop", testPod(corev1.PodPending,
			inits(cstatus("i1", waiting("CrashLoopBackOff"), false), cstatus("i2", waiting("PodInitializing"), false))),
			"Init:CrashLoopBackOff"},
		{"init exit code without reason", testPod(corev1.PodPending,
			inits(cstatus("i1", terminated(3, ""), false))),
			"Init:ExitCode:3"},
		{"init signal without reason", testPod(corev1.PodPending,
			inits(cstatus("i1", signaled(9), false))),
			"Init:Signal:9"},
		{"init image pull error", testPod(corev1.PodPending,
			inits(cstatus("i1", waiting("ErrImagePull"), false))),
			"Init:ErrImagePull"},
		{"pod initializing after init", testPod(corev1.PodPending, initDone,
			apps(cstatus("a", waiting("PodInitializing"), false), cstatus("b", waiting("PodInitializing"), false))),
			"PodInitializing"},
		{"container creating", testPod(corev1.PodPending, noInit,
			apps(cstatus("a", waiting("ContainerCreating"), false), cstatus("b", waiting("ContainerCreating"), false))),
			"ContainerCreating"},
		{"pending without statuses", testPod(corev1.PodPending, noInit), "Pending"},
		{"running", testPod(corev1.PodRunning, noInit, conds(condition(corev1.PodReady, true)),
			apps(cstatus("a", running(), true), cstatus("b", running(), true))),
			"Running"},
		{"running but unready stays Running", testPod(corev1.PodRunning, noInit,
			apps(cstatus("a", running(), false), cstatus("b", running(), false))),
			"Running"},
		{"completed beside a running ready container", testPod(corev1.PodRunning, noInit,
			conds(condition(corev1.PodReady, true)),
			apps(cstatus("a", terminated(0, "Completed"), false), cstatus("b", running(), true))),
			"Running"},
		{"completed beside a running container, pod not ready", testPod(corev1.PodRunning, noInit,
			conds(condition(corev1.PodReady, false)),
			apps(cstatus("a", terminated(0, "Completed"), false), cstatus("b", running(), true))),
			"NotReady"},
		{"completed", testPod(corev1.PodSucceeded, noInit,
			apps(cstatus("a", terminated(0, "Completed"), false), cstatus("b", terminated(0, "Completed"), false))),
			"Completed"},
		{"error", testPod(corev1.PodFailed, noInit,
			apps(cstatus("a", terminated(1, "Error"), false), cstatus("b", terminated(0, "Completed"), false))),
			"Error"},
		{"first container's reason wins", testPod(corev1.PodRunning, noInit,
			apps(cstatus("a", waiting("CrashLoopBackOff"), false), cstatus("b", terminated(1, "Error"), false))),
			"CrashLoopBackOff"},
		{"crash loop back-off", testPod(corev1.PodRunning, noInit,
			apps(cstatus("a", running(), true), cstatus("b", waiting("CrashLoopBackOff"), false))),
			"CrashLoopBackOff"},
		{"oom killed", testPod(corev1.PodRunning, noInit,
			apps(cstatus("a", terminated(137, "OOMKilled"), false))),
			"OOMKilled"},
		{"exit code without reason", testPod(corev1.PodFailed, noInit,
			apps(cstatus("a", terminated(2, ""), false))),
			"ExitCode:2"},
		{"signal without reason", testPod(corev1.PodFailed, noInit,
			apps(cstatus("a", signaled(15), false))),
			"Signal:15"},
		{"terminating", testPod(corev1.PodRunning, noInit, deleting,
			apps(cstatus("a", running(), true), cstatus("b", running(), true))),
			"Terminating"},
		{"terminating while init runs", testPod(corev1.PodPending, deleting,
			inits(cstatus("i1", running(), false))),
			"Terminating"},
		{"deleted but already succeeded", testPod(corev1.PodSucceeded, noInit, deleting,
			apps(cstatus("a", terminated(0, "Completed"), false))),
			"Completed"},
		{"R55 phase reason without container statuses", testPod(corev1.PodFailed, noInit,
			func(p *corev1.Pod) { p.Status.Reason = "DeadlineExceeded" }),
			"DeadlineExceeded"},
		{"R55 phase reason with containers stopped for it", testPod(corev1.PodFailed, noInit,
			func(p *corev1.Pod) { p.Status.Reason = "DeadlineExceeded" },
			apps(cstatus("a", terminated(137, "DeadlineExceeded"), false))),
			"DeadlineExceeded"},
		{"sidecar started lets init go on", testPod(corev1.PodPending, sidecarI1,
			inits(cstatus("i1", running(), true), cstatus("i2", running(), false))),
			"Init:1/2"},
		{"sidecar not yet started", testPod(corev1.PodPending, sidecarI1,
			inits(cstatus("i1", waiting("ContainerCreating"), false))),
			"Init:ContainerCreating"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SummarizePod(tt.pod, testNow).Status; got != tt.want {
				t.Errorf("STATUS = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSummarizePod_R70_Ready(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"none ready", testPod(corev1.PodPending, noInit), "0/2"},
		{"one of two", testPod(corev1.PodRunning, noInit,
			apps(cstatus("a", running(), true), cstatus("b", running(), false))), "1/2"},
		{"both", testPod(corev1.PodRunning, noInit,
			apps(cstatus("a", running(), true), cstatus("b", running(), true))), "2/2"},
		{"ready flag on a stopped container does not count", testPod(corev1.PodRunning, noInit,
			apps(cstatus("a", terminated(0, "Completed"), true), cstatus("b", running(), true))), "1/2"},
		{"regular init containers are not counted", testPod(corev1.PodRunning, initDone,
			apps(cstatus("a", running(), true), cstatus("b", running(), true))), "2/2"},
		{"sidecar counted and ready", testPod(corev1.PodRunning, sidecarI1, conds(condition(corev1.PodInitialized, true)),
			inits(cstatus("i1", running(), true), cstatus("i2", terminated(0, "Completed"), false)),
			apps(cstatus("a", running(), true), cstatus("b", running(), true))), "3/3"},
		{"sidecar counted, not ready", testPod(corev1.PodRunning, sidecarI1, conds(condition(corev1.PodInitialized, true)),
			inits(cstatus("i1", running(), false), cstatus("i2", terminated(0, "Completed"), false)),
			apps(cstatus("a", running(), true), cstatus("b", running(), true))), "2/3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SummarizePod(tt.pod, testNow).Ready; got != tt.want {
				t.Errorf("READY = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSummarizePod_R72_Restarts(t *testing.T) {
	withLast := func(s corev1.ContainerStatus, restarts int32, finished time.Duration) corev1.ContainerStatus {
		s.RestartCount = restarts
		s.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 1, Reason: "Error", FinishedAt: ago(finished)}}
		return s
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"no restarts", testPod(corev1.PodRunning, noInit,
			apps(cstatus("a", running(), true), cstatus("b", running(), true))), "0"},
		{"restarts with the latest termination", testPod(corev1.PodRunning, noInit,
			apps(withLast(cstatus("a", running(), true), 2, 15*time.Second),
				withLast(cstatus("b", running(), true), 1, 3*time.Minute))), "3 (15s ago)"},
		{"restarts without a last state", testPod(corev1.PodRunning, noInit,
			apps(corev1.ContainerStatus{Name: "a", State: running(), RestartCount: 4})), "4"},
		{"sidecar restarts count after init", testPod(corev1.PodRunning, sidecarI1,
			conds(condition(corev1.PodInitialized, true)),
			inits(withLast(cstatus("i1", running(), true), 1, 2*time.Minute), cstatus("i2", terminated(0, "Completed"), false)),
			apps(withLast(cstatus("a", running(), true), 2, 10*time.Minute))), "3 (2m ago)"},
		{"regular init restarts do not count after init", testPod(corev1.PodRunning, initDone,
			func(p *corev1.Pod) { p.Status.InitContainerStatuses[0].RestartCount = 5 },
			apps(cstatus("a", running(), true))), "0"},
		{"init restarts count while initializing", testPod(corev1.PodPending,
			inits(withLast(cstatus("i1", waiting("CrashLoopBackOff"), false), 2, 8*time.Second))), "2 (8s ago)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SummarizePod(tt.pod, testNow).Restarts; got != tt.want {
				t.Errorf("RESTARTS = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{5 * time.Second, "5s"},
		{119 * time.Second, "119s"},
		{2*time.Minute + 3*time.Second, "2m3s"},
		{5 * time.Minute, "5m"},
		{10 * time.Minute, "10m"},
		{150 * time.Minute, "150m"},
		{4 * time.Hour, "4h"},
		{4*time.Hour + 30*time.Minute, "4h30m"},
		{20 * time.Hour, "20h"},
		{3 * 24 * time.Hour, "3d"},
		{3*24*time.Hour + 5*time.Hour, "3d5h"},
		{30 * 24 * time.Hour, "30d"},
		{-500 * time.Millisecond, "0s"},
	}
	for _, tt := range tests {
		if got := Age(ago(tt.d), testNow); got != tt.want {
			t.Errorf("Age(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := Age(metav1.Time{}, testNow); got != "<unknown>" {
		t.Errorf("Age(zero) = %q, want <unknown>", got)
	}
}
