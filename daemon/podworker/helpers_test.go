package podworker

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/planner"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// The newest instance of a container is the one with the highest restart
// number, whatever the shim's listing order (names may contain dashes).
func TestNewestInstance(t *testing.T) {
	st := func(id, name string) *shimv1.ContainerState {
		return &shimv1.ContainerState{Id: id, Labels: map[string]string{labelContainer: name}}
	}
	states := []*shimv1.ContainerState{st("web-app-10", "web-app"), st("web-2", "web"), st("web-app-9", "web-app"), st("pause", "")}
	if got := newestInstance(states, "web-app"); got.GetId() != "web-app-10" {
		t.Errorf("newest web-app = %s", got.GetId())
	}
	if got := newestInstance(states, "web"); got.GetId() != "web-2" {
		t.Errorf("newest web = %s", got.GetId())
	}
	if got := newestInstance(states, "db"); got != nil {
		t.Errorf("newest db = %v, want none", got)
	}
}

// R54: a delete's grace overrides the pod's; the default is 30 s.
func TestGracePeriod(t *testing.T) {
	five, zero := int64(5), int64(0)
	pod := &corev1.Pod{}
	if g := gracePeriod(pod, nil); g != 30 {
		t.Errorf("default grace %d", g)
	}
	pod.Spec.TerminationGracePeriodSeconds = &five
	if g := gracePeriod(pod, nil); g != 5 {
		t.Errorf("pod grace %d", g)
	}
	if g := gracePeriod(pod, &planner.Deletion{GracePeriodSeconds: &zero}); g != 0 {
		t.Errorf("override grace %d", g)
	}
}

// R94: hostPorts of every container become port mappings.
func TestPortMappings(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 53, HostPort: 5353, Protocol: corev1.ProtocolUDP}}}},
		Containers:     []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 8080, HostPort: 18080, Protocol: corev1.ProtocolTCP}}}},
	}}
	got := portMappings(pod)
	if len(got) != 2 || got[0].HostPort != 5353 || got[0].Protocol != "UDP" || got[1].ContainerPort != 8080 {
		t.Errorf("portMappings = %+v", got)
	}
}

func TestOnlyKills(t *testing.T) {
	k := planner.Action{Kind: planner.ActionKillContainer}
	s := planner.Action{Kind: planner.ActionStartContainer}
	if !onlyKills([]planner.Action{k, k}) || onlyKills([]planner.Action{k, s}) {
		t.Error("onlyKills")
	}
}

// One log file per restart; numbers sort numerically, not lexically.
func TestLogNumbers(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"0.log", "10.log", "2.log", "junk", "x.log"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	got := logNumbers(dir)
	if len(got) != 3 || got[0] != 0 || got[1] != 2 || got[2] != 10 {
		t.Errorf("logNumbers = %v", got)
	}
}

// R50: after preStop the stop signal keeps the rest of the grace, never
// less than 2 s, also when preStop used it all up.
func TestKillDeadline_R50(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name          string
		graceEnd, now time.Time
		want          time.Time
	}{
		{"preStop quick: the rest of the grace", t0.Add(30 * time.Second), t0.Add(time.Second), t0.Add(30 * time.Second)},
		{"little grace left: 2 s allowance", t0.Add(3 * time.Second), t0.Add(2 * time.Second), t0.Add(4 * time.Second)},
		{"preStop outlived grace: 2 s allowance", t0.Add(3 * time.Second), t0.Add(3 * time.Second), t0.Add(5 * time.Second)},
	} {
		if got := killDeadline(tc.graceEnd, tc.now); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got.Sub(t0), tc.want.Sub(t0))
		}
	}
}
