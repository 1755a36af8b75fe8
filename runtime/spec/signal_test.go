package spec

import (
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestStopSignal_R50(t *testing.T) {
	cases := []struct {
		in   string
		want syscall.Signal
		err  bool
	}{
		{"", syscall.SIGTERM, false},
		{"SIGQUIT", syscall.SIGQUIT, false},
		{"QUIT", syscall.SIGQUIT, false},
		{"sigint", syscall.SIGINT, false},
		{"9", syscall.SIGKILL, false},
		{" SIGUSR1 ", syscall.SIGUSR1, false},
		{"SIGRTMIN", 34, false},
		{"SIGRTMIN+3", 37, false},
		{"RTMAX-1", 63, false},
		{"SIGFOO", 0, true},
		{"0", 0, true},
		{"65", 0, true},
		{"SIGRTMIN+99", 0, true},
	}
	for _, tc := range cases {
		got, err := StopSignal(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("StopSignal(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestContainerStopSignal_LifecycleWins(t *testing.T) {
	sig := corev1.Signal("SIGUSR2")
	c := &corev1.Container{Lifecycle: &corev1.Lifecycle{StopSignal: &sig}}
	if got, err := ContainerStopSignal(c, "SIGQUIT"); err != nil || got != syscall.SIGUSR2 {
		t.Errorf("got %v, %v", got, err)
	}
	if got, err := ContainerStopSignal(&corev1.Container{}, "SIGQUIT"); err != nil || got != syscall.SIGQUIT {
		t.Errorf("got %v, %v", got, err)
	}
}
