package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// podTracker follows every pod of the default namespace through WatchPods
// and records, per pod name, when the test first saw all its app containers
// running and ready, the largest restart count seen, and when the pod was
// deleted.
// Benchmarks wait on it (woken by each update), never by polling the API.
type podTracker struct {
	mu       sync.Mutex
	running  map[string]time.Time
	ready    map[string]time.Time
	restarts map[string]int32
	gone     map[string]time.Time
	changed  chan struct{}
	err      error
}

// trackPods starts the watch; it stops when the benchmark ends.
func (e *env) trackPods(tb testing.TB) *podTracker {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	stream, err := e.client.WatchPods(ctx, &poddv1.ListPodsRequest{Namespace: "default"})
	if err != nil {
		tb.Fatalf("watch pods: %v", err)
	}
	t := &podTracker{running: map[string]time.Time{}, ready: map[string]time.Time{}, restarts: map[string]int32{}, gone: map[string]time.Time{}, changed: make(chan struct{})}
	go func() {
		for {
			ev, err := stream.Recv()
			now := time.Now()
			if err != nil {
				t.update(func() { t.err = err })
				return
			}
			p, err := decodePod(ev.Pod)
			if err != nil {
				t.update(func() { t.err = err })
				return
			}
			t.update(func() { t.record(ev.Type, p, now) })
		}
	}()
	return t
}

func (t *podTracker) record(typ string, p *corev1.Pod, now time.Time) {
	if typ == "DELETED" {
		t.gone[p.Name] = now
		return
	}
	delete(t.gone, p.Name)
	for _, cs := range p.Status.ContainerStatuses {
		t.restarts[p.Name] = max(t.restarts[p.Name], cs.RestartCount)
	}
	if _, seen := t.running[p.Name]; !seen && allRunning(p) {
		t.running[p.Name] = now
	}
	if _, seen := t.ready[p.Name]; !seen && podReady(p) {
		t.ready[p.Name] = now
	}
}

// update changes the tracker's maps and wakes every waiter.
func (t *podTracker) update(fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn()
	close(t.changed)
	t.changed = make(chan struct{})
}

// wait blocks until cond (called with the tracker locked) holds, the watch
// fails, or timeout passes.
func (t *podTracker) wait(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		ok, err, ch := cond(), t.err, t.changed
		t.mu.Unlock()
		if ok {
			return
		}
		if err != nil {
			tb.Fatalf("waiting for %s: watch ended: %v", what, err)
		}
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("waiting for %s: not within %s", what, timeout)
		}
	}
}

// runningAt waits until pod name is running and returns when it was seen so.
func (t *podTracker) runningAt(tb testing.TB, name string, timeout time.Duration) time.Time {
	tb.Helper()
	t.wait(tb, timeout, "pod "+name+" running", func() bool { _, ok := t.running[name]; return ok })
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.running[name]
}

// countRunning and countGone count the names seen running and deleted.
func (t *podTracker) countRunning(names []string) int {
	n := 0
	for _, name := range names {
		if _, ok := t.running[name]; ok {
			n++
		}
	}
	return n
}

func (t *podTracker) countReady(names []string) int {
	n := 0
	for _, name := range names {
		if _, ok := t.ready[name]; ok {
			n++
		}
	}
	return n
}

func (t *podTracker) countGone(names []string) int {
	n := 0
	for _, name := range names {
		if _, ok := t.gone[name]; ok {
			n++
		}
	}
	return n
}

// restartsOf sums the largest restart count seen of each of names.
func (t *podTracker) restartsOf(names []string) (total int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, name := range names {
		total += t.restarts[name]
	}
	return total
}

// allRunning: the pod runs and so does each of its app containers.
func allRunning(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

// median and percentile of a sample (sorted in place).
func median(d []time.Duration) time.Duration { return percentile(d, 50) }

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(float64(len(d))*p/100+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// envInt reads a positive integer override of a benchmark's size.
func envInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// loadAvg is the host's 1, 5 and 15 minute load, for the report.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// benchReport collects a benchmark's figures and prints them to stdout in
// one block (the testing package keeps only 10 lines of a benchmark's log).
type benchReport struct {
	lines []string
}

func (r *benchReport) add(format string, args ...any) {
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

// goal adds one figure next to its goal (at most limit) and the verdict.
func (r *benchReport) goal(figure string, value float64, unit string, limit float64) {
	verdict := "meets"
	if value > limit {
		verdict = "MISSES"
	}
	r.add("  %-30s %10.3f %-9s goal <= %-6g %s", figure, value, unit, limit, verdict)
}

// print writes the block, headed by the benchmark's name and the load.
func (r *benchReport) print(b *testing.B) {
	fmt.Printf("=== %s (load average %s)\n%s\n", b.Name(), loadAvg(), strings.Join(r.lines, "\n"))
}

// procKiB reads a "field:  N kB" line of a /proc file (status,
// smaps_rollup).
func procKiB(tb testing.TB, path, field string) int64 {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	n := kibField(string(b), field)
	if n < 0 {
		tb.Fatalf("no %s in %s", field, path)
	}
	return n
}

// kibField is the value of the "field:  N kB" line of text, -1 if none.
func kibField(text, field string) int64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

var metricsAddrRE = regexp.MustCompile(`msg="Serving metrics" address=(127\.0\.0\.1:\d+)`)

// goroutines reads go_goroutines from the daemon's metrics listener
// (the env must run with --metrics-address).
func goroutines(tb testing.TB, url string) int {
	tb.Helper()
	fams, err := scrapeMetrics(url)
	if err != nil {
		tb.Fatalf("scrape %s: %v", url, err)
	}
	n := gaugeValue(fams, "go_goroutines")
	if n < 0 {
		tb.Fatalf("%s has no go_goroutines", url)
	}
	return int(n)
}

// metricsURL waits for the daemon's metrics listener and returns its URL.
func (e *env) metricsURL() string {
	e.t.Helper()
	return "http://" + e.waitLog(metricsAddrRE, 10*time.Second)[1] + "/metrics"
}

// podsManifest is n one-container pods named prefix0… that sleep, in one file.
func podsManifest(prefix string, n int) (string, []string) {
	return podsManifestOf(prefix, n, sleepPod)
}

// podsManifestOf is n pods named prefix0… made by pod, in one file.
func podsManifestOf(prefix string, n int, pod func(name string) string) (string, []string) {
	var docs, names []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		names = append(names, name)
		docs = append(docs, pod(name))
	}
	return strings.Join(docs, "---\n"), names
}

// sleepPod is the one-container pod every start benchmark runs, on each side.
func sleepPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: busybox:latest, imagePullPolicy: IfNotPresent, command: ["sleep", "1000000"]}
`, name)
}
