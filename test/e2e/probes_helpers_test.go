package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// execIn runs cmd in a container of a pod through `podctl exec` and fails
// the test when it exits non-zero.
func (e *env) execIn(pod, container string, cmd ...string) string {
	e.t.Helper()
	return e.podctl(append([]string{"exec", pod, "-c", container, "--"}, cmd...)...)
}

// events lists a pod's events through the API, oldest first.
func (e *env) events(pod string) ([]*poddv1.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := e.client.ListEvents(ctx, &poddv1.ListEventsRequest{Namespace: "default", Name: pod})
	if err != nil {
		return nil, err
	}
	return resp.Events, nil
}

// findEvent returns the first event of the pod with the reason, about the
// container (any when ""), whose message contains substr.
func findEvent(evs []*poddv1.Event, reason, container, substr string) *poddv1.Event {
	for _, ev := range evs {
		if ev.Reason != reason || !strings.Contains(ev.Message, substr) {
			continue
		}
		if container != "" && !strings.Contains(ev.Object, "{"+container+"}") {
			continue
		}
		return ev
	}
	return nil
}

// waitEvent waits for an event as findEvent describes it and returns it.
func (e *env) waitEvent(pod, reason, container, substr string, timeout time.Duration) *poddv1.Event {
	e.t.Helper()
	var found *poddv1.Event
	testutil.WaitFor(e.t, timeout, fmt.Sprintf("pod %s: event %s %q about %q", pod, reason, substr, container), func() (bool, error) {
		evs, err := e.events(pod)
		if err != nil {
			return false, err
		}
		found = findEvent(evs, reason, container, substr)
		return found != nil, fmt.Errorf("events: %s", eventSummary(evs))
	})
	return found
}

// eventWithin is waitEvent without failing: nil when no such event came
// within timeout, so a test can report the lack and go on checking.
func (e *env) eventWithin(pod, reason, container, substr string, timeout time.Duration) *poddv1.Event {
	deadline := time.Now().Add(timeout)
	for {
		evs, err := e.events(pod)
		if ev := findEvent(evs, reason, container, substr); err == nil && ev != nil {
			return ev
		}
		if time.Now().After(deadline) {
			e.t.Logf("no event %s %q about %q within %s; events: %s", reason, substr, container, timeout, eventSummary(evs))
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func eventSummary(evs []*poddv1.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "[%s %s x%d: %s] ", ev.Reason, ev.Object, ev.Count, ev.Message)
	}
	return b.String()
}

// eventTime is the first timestamp of an event.
func eventTime(ev *poddv1.Event) time.Time { return time.Unix(0, ev.FirstTimestampUnixNano) }

// restarts is the named app container's restartCount (-1 without a status).
func restarts(p *corev1.Pod, container string) int32 {
	if cs := containerStatus(p, container); cs != nil {
		return cs.RestartCount
	}
	return -1
}

// isRunning tells whether the named app container is running.
func isRunning(p *corev1.Pod, container string) bool {
	cs := containerStatus(p, container)
	return cs != nil && cs.State.Running != nil
}

// isReady tells whether the named app container is ready.
func isReady(p *corev1.Pod, container string) bool {
	cs := containerStatus(p, container)
	return cs != nil && cs.Ready
}

// isStarted tells whether the named app container's startup probe (if any) passed.
func isStarted(p *corev1.Pod, container string) bool {
	cs := containerStatus(p, container)
	return cs != nil && cs.Started != nil && *cs.Started
}

// podCondition is the status of the pod's condition of that type ("" when absent).
func podCondition(p *corev1.Pod, typ corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

// waitRestarts waits until the container's restartCount is at least n.
func (e *env) waitRestarts(pod, container string, n int32, timeout time.Duration) *corev1.Pod {
	e.t.Helper()
	return e.waitForPod(pod, timeout, fmt.Sprintf("%s restartCount >= %d", container, n), func(p *corev1.Pod) bool {
		return restarts(p, container) >= n
	})
}

// holds polls the pod for d and fails the test the first time cond is false:
// it proves that a state lasts, where waitForPod proves that one arrives.
func (e *env) holds(name string, d time.Duration, what string, cond func(*corev1.Pod) bool) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		p, err := e.pod(name)
		if err != nil {
			e.t.Fatalf("pod %s while checking that %s holds: %v", name, what, err)
		}
		if !cond(p) {
			e.t.Fatalf("pod %s: %s stopped holding after %s of %s: phase %s, containers %s",
				name, what, d-time.Until(deadline), d, p.Status.Phase, describeStates(p))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readyColumn is the READY column `podctl get pods NAME` prints.
func (e *env) readyColumn(name string) (string, error) {
	out, err := e.podctlErr("get", "pods", name)
	if err != nil {
		return "", fmt.Errorf("get pods %s: %v: %s", name, err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == name {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("no row for %s in %q", name, out)
}

// waitReadyColumn waits until `podctl get pods` prints want in READY.
func (e *env) waitReadyColumn(name, want string, timeout time.Duration) {
	e.t.Helper()
	testutil.WaitFor(e.t, timeout, fmt.Sprintf("pod %s READY %s", name, want), func() (bool, error) {
		got, err := e.readyColumn(name)
		if err != nil {
			return false, err
		}
		return got == want, fmt.Errorf("READY %s", got)
	})
}

// observed is one pod update from a watch and when the test received it.
type observed struct {
	at  time.Time
	pod *corev1.Pod
}

// podWatch records every update of one pod from WatchPods until the test ends.
type podWatch struct {
	mu   sync.Mutex
	seen []observed
}

// watchPod starts recording the pod's updates; the watch stops at cleanup.
func (e *env) watchPod(name string) *podWatch {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	stream, err := e.client.WatchPods(ctx, &poddv1.ListPodsRequest{Namespace: "default", Name: name})
	if err != nil {
		e.t.Fatalf("watch pod %s: %v", name, err)
	}
	w := &podWatch{}
	go func() {
		for {
			ev, err := stream.Recv()
			if err != nil {
				return
			}
			if p, err := decodePod(ev.Pod); err == nil && p.Name == name {
				w.mu.Lock()
				w.seen = append(w.seen, observed{at: time.Now(), pod: p})
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// first returns the first recorded update for which cond holds.
func (w *podWatch) first(cond func(*corev1.Pod) bool) (observed, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range w.seen {
		if cond(o.pod) {
			return o, true
		}
	}
	return observed{}, false
}

// waitFirst waits until an update for which cond holds has been recorded.
func (w *podWatch) waitFirst(t *testing.T, timeout time.Duration, what string, cond func(*corev1.Pod) bool) observed {
	t.Helper()
	var o observed
	testutil.WaitFor(t, timeout, "watched update: "+what, func() (bool, error) {
		var ok bool
		o, ok = w.first(cond)
		return ok, nil
	})
	return o
}

// buildGRPCHealth builds testdata/grpchealth statically into a fresh
// host directory and returns that directory.
func buildGRPCHealth(t *testing.T) string {
	t.Helper()
	dir := hostDir(t)
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "grpchealth"), "./testdata/grpchealth")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build grpchealth: %v\n%s", err, out)
	}
	return dir
}
