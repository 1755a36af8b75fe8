package daemon

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podd-dev/podd/runtime/cgroupusage"
)

// fakeCgroups answers each cgroup's samples in turn; a cgroup it does not
// know is gone.
type fakeCgroups struct {
	mu      sync.Mutex
	samples map[string][]cgroupusage.Sample
}

func (f *fakeCgroups) Read(path string) (cgroupusage.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.samples[path]
	if len(s) == 0 {
		return cgroupusage.Sample{}, errors.New("no such cgroup")
	}
	f.samples[path] = s[1:]
	return s[0], nil
}

func runningPod(name, uid string, containers map[string]string) topPod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(uid)}}
	pod.Status.Phase = corev1.PodRunning
	instances := map[string]string{}
	for c, id := range containers {
		cs := corev1.ContainerStatus{Name: c, ContainerID: "podd://0123abcd"}
		if id != "" {
			cs.State.Running = &corev1.ContainerStateRunning{}
			instances[c] = id
		}
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, cs)
	}
	return topPod{pod: pod, instances: instances}
}

func podCgroup(uid string) string { return "/podd/pod" + uid }

func TestTopUsage(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(cpu time.Duration, ws uint64, sec int) cgroupusage.Sample {
		return cgroupusage.Sample{CPU: cpu, WorkingSet: ws, At: t0.Add(time.Duration(sec) * time.Second)}
	}
	web := runningPod("web", "u1", map[string]string{"app": "i1"})
	pending := runningPod("pending", "u2", nil)
	pending.pod.Status.Phase = corev1.PodPending
	gone := runningPod("gone", "u3", map[string]string{"app": "i3"})
	targets := topTargets(podCgroup, []topPod{web, pending, gone})
	if len(targets) != 4 {
		t.Fatalf("targets %+v: want the running pods' cgroups and their running containers'", targets)
	}
	if targets[0].cgroup != "/podd/podu1" || targets[1].cgroup != "/podd/podu1/i1" {
		t.Errorf("cgroups %q %q, want /podd/podu1 and /podd/podu1/i1", targets[0].cgroup, targets[1].cgroup)
	}
	r := &fakeCgroups{samples: map[string][]cgroupusage.Sample{
		"/podd/podu1":    {at(time.Second, 100, 0), at(2*time.Second, 300, 2)},
		"/podd/podu1/i1": {at(time.Second, 50, 0), at(2*time.Second, 250, 2)},
		// The pod stopped during the window: read once only.
		"/podd/podu3": {at(0, 10, 0)},
	}}
	usage, err := topUsage(context.Background(), r, targets, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(usage) != 1 || usage[0].Name != "web" {
		t.Fatalf("usage %v: want web only", usage)
	}
	u := usage[0]
	if u.CpuMillicores != 500 || u.MemoryWorkingSetBytes != 300 {
		t.Errorf("pod %dm %d B, want 500m 300 B", u.CpuMillicores, u.MemoryWorkingSetBytes)
	}
	if len(u.Containers) != 1 || u.Containers[0].Name != "app" || u.Containers[0].CpuMillicores != 500 || u.Containers[0].MemoryWorkingSetBytes != 250 {
		t.Errorf("containers %v, want app 500m 250 B", u.Containers)
	}
}

func TestTopUsageStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := topUsage(ctx, &fakeCgroups{}, nil, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

func TestTopWindow(t *testing.T) {
	for _, tc := range []struct {
		millis int64
		want   time.Duration
		ok     bool
	}{
		{0, time.Second, true}, {250, 250 * time.Millisecond, true}, {60000, time.Minute, true},
		{-1, 0, false}, {60001, 0, false},
	} {
		got, err := topWindow(tc.millis)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("topWindow(%d) = %v, %v; want %v, ok=%v", tc.millis, got, err, tc.want, tc.ok)
		}
	}
}
