package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// Issue 13 goal 2 as figures: PODD_BENCH_BURST_PODS (default 200)
// one-container pods in one `podctl apply -f`: how long the apply call
// takes, until the watch shows every pod running, the p99 latency of the
// pod list (every page) sampled during the burst, the daemon's peak
// goroutines and RSS; then `podctl delete -f` with grace 0 until the watch
// shows every pod gone. Fails on any restart or SandboxChanged event.
// The CPU per pod start (apply to all Running) says how far the burst is
// bound by work rather than by waiting.
// Also prints the median of each start phase (queue: waiting for the
// daemon's work limiter).
func BenchmarkBurst(b *testing.B) {
	benchBurst(b, graceZeroBurst)
}

// Issue 13 goal 2, second half: the same burst of containers that exit on
// TERM (a shell trapping it), deleted with the default grace period
// (`podctl delete -f` without --grace-period: the pods' 30 s), so every
// container is stopped by its signal, not killed; goal: all gone within
// 10 s, 0 restarts.
func BenchmarkBurstDefaultGrace(b *testing.B) {
	benchBurst(b, termBurst)
}

// burstKind is what a burst's pods run and how they are deleted.
type burstKind struct {
	what string // for the report
	pod  func(name string) string
	// deleteArgs follow `podctl delete -f FILE`.
	deleteArgs []string
	deleteWhat string
}

var (
	graceZeroBurst = burstKind{what: "one-container pods", pod: sleepPod,
		deleteArgs: []string{"--grace-period", "0"}, deleteWhat: "delete grace 0 until all gone"}
	termBurst = burstKind{what: "one-container pods that exit on TERM", pod: termPod,
		deleteWhat: "delete default grace until gone"}
)

// termPod is a one-container pod whose container exits 0 on SIGTERM, with
// the default termination grace period. The shell waits on one sleep and
// is otherwise idle: a loop of `sleep 1` made the 200 pods start 200
// processes a second between them, ~0.8 of a core on a host where a
// process start costs 4 ms, which the burst measured as podd's.
func termPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  containers:
  - {name: c, image: busybox:latest, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"]}
`, name)
}

func benchBurst(b *testing.B, k burstKind) {
	n := envInt(b, "PODD_BENCH_BURST_PODS", 200)
	flags := []string{"--metrics-address", "127.0.0.1:0", "--log-level", "debug"}
	if os.Getenv("PODD_BENCH_PROFILE_DIR") != "" {
		flags = append(flags, "--profiling")
	}
	e := benchEnvFlags(b, flags...)
	b.StopTimer()
	// The network masquerades, as podd's default network does.
	e.ipMasq = true
	e.writeConflist()
	url := e.metricsURL()
	tr := e.trackPods(b)
	for i := 0; i < b.N; i++ {
		e.burst(b, tr, url, n, fmt.Sprintf("b%d-", i), k)
	}
}

// burst runs one burst of n pods of kind k named prefix….
func (e *env) burst(b *testing.B, tr *podTracker, url string, n int, prefix string, k burstKind) {
	b.Helper()
	manifest, names := podsManifestOf(prefix, n, k.pod)
	file := filepath.Join(e.dir, prefix+"burst.yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		b.Fatal(err)
	}
	s := e.startSampler(b, url)

	prof := startBurstProfile(b, url)
	cpu0, own0, alloc0 := e.startCPU(b), processCPU(b, e.cmd.Process.Pid), allocatedBytes(b, url)
	b.StartTimer()
	start := time.Now()
	e.podctlLong(b, "apply", "-f", file)
	applied := time.Since(start)
	tr.wait(b, 15*time.Minute, fmt.Sprintf("%d pods running", n), func() bool { return tr.countRunning(names) == n })
	b.StopTimer()
	cpuPerPod := (e.startCPU(b) - cpu0) / time.Duration(n)
	ownPerPod := (processCPU(b, e.cmd.Process.Pid) - own0) / time.Duration(n)
	allocPerPod := (allocatedBytes(b, url) - alloc0) / float64(n)
	prof.stop(b)
	var lastRunning time.Time
	tr.mu.Lock()
	for _, name := range names {
		lastRunning = maxTime(lastRunning, tr.running[name])
	}
	tr.mu.Unlock()
	allRunning := lastRunning.Sub(start)
	s.sample(b, true)
	lists := s.stopLists()

	restarts := tr.restartsOf(names)
	changed := e.sandboxChanges(b, prefix)

	host0 := readHostCPU(b)
	pid := e.cmd.Process.Pid
	delOwn0, delPods0 := processCPU(b, pid), e.cgroupCPU(b)
	b.StartTimer()
	delStart := time.Now()
	e.podctlLong(b, append(append([]string{"delete", "-f", file}, k.deleteArgs...), "--wait=false")...)
	deleteCall := time.Since(delStart)
	tr.wait(b, 15*time.Minute, fmt.Sprintf("%d pods gone", n), func() bool { return tr.countGone(names) == n })
	b.StopTimer()
	var lastGone time.Time
	tr.mu.Lock()
	for _, name := range names {
		lastGone = maxTime(lastGone, tr.gone[name])
	}
	tr.mu.Unlock()
	deleted := lastGone.Sub(delStart)
	host1 := readHostCPU(b)
	hostBusy, busyPerDelete := host1.busySince(host0), host1.busyTimeSince(host0)/time.Duration(n)
	// Where a delete's CPU goes: the daemon's threads, the pods' cgroups
	// (shims, pause, containers), and the rest: the CNI plugins the
	// daemon runs, the kernel's workers tearing down netns and mounts,
	// anything else on the host. (The daemon's reaped children are not
	// told apart: a shim's whole life counts when the daemon reaps it.)
	delOwn := (processCPU(b, pid) - delOwn0) / time.Duration(n)
	delPods := (e.cgroupCPU(b) - delPods0) / time.Duration(n)
	delRest := busyPerDelete - delOwn - delPods
	s.stop()
	if s.err != nil {
		b.Fatal(s.err)
	}

	p99 := percentile(lists, 99)
	b.ReportMetric(msOf(applied), "ms-apply")
	b.ReportMetric(msOf(allRunning), "ms-all-running")
	b.ReportMetric(msOf(deleted), "ms-delete-all")
	b.ReportMetric(msOf(p99), "ms-p99-list")
	b.ReportMetric(msOf(cpuPerPod), "cpu-ms/pod-start")
	b.ReportMetric(msOf(ownPerPod), "daemon-cpu-ms/pod-start")
	b.ReportMetric(allocPerPod/1024, "daemon-alloc-KiB/pod-start")
	b.ReportMetric(float64(s.peakGoroutines), "peak-goroutines")
	b.ReportMetric(float64(s.peakRSS)/1024, "peak-rss-MiB")
	var r benchReport
	r.add("burst of %d %s in one podctl apply -f", n, k.what)
	r.goal("apply call returns", applied.Seconds(), "s", 1)
	r.goal("all Running (watch)", allRunning.Seconds(), "s", 30)
	r.goal(k.deleteWhat, deleted.Seconds(), "s", 10)
	r.add("  %-30s %10.2f s  (the CLI call alone)", "delete call returns", deleteCall.Seconds())
	r.add("  %-30s %10.0f ms (the host's busy time, all cores)", "CPU per pod delete", msOf(busyPerDelete))
	r.add("  %-30s %10.1f ms (the daemon's own threads)", "  of which the daemon", msOf(delOwn))
	r.add("  %-30s %10.1f ms (shims, pause, containers)", "  the pods' cgroups", msOf(delPods))
	r.add("  %-30s %10.1f ms (CNI plugins, kernel workers, the rest)", "  the rest of the host", msOf(delRest))
	r.add("  %-30s %10.0f %%  (all cores, kernel threads too)", "host CPU busy during delete", 100*hostBusy)
	r.goal("p99 pod list during burst", msOf(p99), "ms", 100)
	r.add("  %-30s %10.2f ms (median; %d samples)", "pod list during burst", msOf(median(lists)), len(lists))
	r.add("  %-30s %10.0f ms (daemon with its CNI plugins, shims, pods)", "CPU per pod start", msOf(cpuPerPod))
	r.add("  %-30s %10.1f ms (the daemon's own threads)", "  of which the daemon", msOf(ownPerPod))
	r.add("  %-30s %10.0f KiB (the daemon's, Go heap)", "allocated per pod start", allocPerPod/1024)
	r.goal("restarts", float64(restarts), "", 0)
	r.goal("SandboxChanged events", float64(changed), "", 0)
	r.add("  %-30s %10d", "daemon goroutines at peak", s.peakGoroutines)
	r.add("  %-30s %10.1f MiB", "daemon RSS at peak", float64(s.peakRSS)/1024)
	r.lines = append(r.lines, phaseMedians(e.logBuf.String(), prefix)...)
	r.print(b)
	if restarts != 0 || changed != 0 {
		b.Errorf("burst of %d %s: %d restarts and %d SandboxChanged events, want 0", n, k.what, restarts, changed)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// allocatedBytes is the daemon's go_memstats_alloc_bytes_total: what its
// Go heap allocated so far.
func allocatedBytes(tb testing.TB, url string) float64 {
	tb.Helper()
	fams, err := scrapeMetrics(url)
	if err != nil {
		tb.Fatalf("scrape the daemon's metrics: %v", err)
	}
	f := fams["go_memstats_alloc_bytes_total"]
	if f == nil || len(f.GetMetric()) == 0 {
		tb.Fatal("the daemon's metrics lack go_memstats_alloc_bytes_total")
	}
	return f.GetMetric()[0].GetCounter().GetValue()
}

// burstProfile, with PODD_BENCH_PROFILE_DIR set, saves the daemon's CPU
// profile of the burst's start (its first PODD_BENCH_PROFILE_SECONDS,
// default 20) and the allocations from apply to all Running (two
// snapshots: compare with go tool pprof -base) there.
type burstProfile struct {
	dir, base string
	cpu       chan error
}

func startBurstProfile(b *testing.B, url string) *burstProfile {
	p := newProfile(url)
	if p == nil {
		return nil
	}
	if err := p.save("/debug/pprof/allocs", "daemon.allocs.before"); err != nil {
		b.Fatal(err)
	}
	p.startCPU(envInt(b, "PODD_BENCH_PROFILE_SECONDS", 20), "daemon.cpu")
	return p
}

// startCPUProfile, with PODD_BENCH_PROFILE_DIR set, saves the daemon's CPU
// profile of the next secs seconds there as file (waitCPU waits for it);
// nil without.
func startCPUProfile(url string, secs int, file string) *burstProfile {
	p := newProfile(url)
	if p != nil {
		p.startCPU(secs, file)
	}
	return p
}

// newProfile is a profile of the daemon whose metrics are at url, saved in
// PODD_BENCH_PROFILE_DIR; nil when that is not set.
func newProfile(url string) *burstProfile {
	dir := os.Getenv("PODD_BENCH_PROFILE_DIR")
	if dir == "" {
		return nil
	}
	return &burstProfile{dir: dir, base: strings.TrimSuffix(url, "/metrics")}
}

// startCPU saves the daemon's CPU profile of the next secs seconds as file,
// in the background.
func (p *burstProfile) startCPU(secs int, file string) {
	p.cpu = make(chan error, 1)
	go func() { p.cpu <- p.save(fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), file) }()
}

// waitCPU waits for the CPU profile startCPU began.
func (p *burstProfile) waitCPU(b *testing.B) {
	if p == nil {
		return
	}
	if err := <-p.cpu; err != nil {
		b.Fatal(err)
	}
}

func (p *burstProfile) save(path, file string) error {
	resp, err := http.Get(p.base + path)
	if err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: %s %v", path, resp.Status, err)
	}
	return os.WriteFile(filepath.Join(p.dir, file), data, 0o644)
}

func (p *burstProfile) stop(b *testing.B) {
	if p == nil {
		return
	}
	if err := p.save("/debug/pprof/allocs", "daemon.allocs.after"); err != nil {
		b.Fatal(err)
	}
	p.waitCPU(b)
}

// podctlLong runs podctl with a long deadline (a burst's apply and delete
// can take minutes on a busy host) and fails on a non-zero exit.
func (e *env) podctlLong(tb testing.TB, args ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(e.bin, "podctl"), append([]string{"--socket", e.socket}, args...)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("podctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// sandboxChanges counts the SandboxChanged events of pods named prefix….
func (e *env) sandboxChanges(tb testing.TB, prefix string) int {
	n := 0
	for _, ev := range e.eventsOf(tb, prefix, "SandboxChanged") {
		n += int(max(ev.Count, 1))
	}
	return n
}

// eventsOf lists the events with reason of the pods named prefix….
func (e *env) eventsOf(tb testing.TB, prefix, reason string) []*poddv1.Event {
	tb.Helper()
	evs, err := e.events("")
	if err != nil {
		tb.Fatalf("list events: %v", err)
	}
	var out []*poddv1.Event
	for _, ev := range evs {
		if ev.Reason == reason && strings.HasPrefix(ev.Pod, prefix) {
			out = append(out, ev)
		}
	}
	return out
}

// sampler lists the pods every 100 ms (timing the whole paged list) and
// every second reads the daemon's goroutines and RSS, keeping the peaks.
type sampler struct {
	e      *env
	url    string
	cancel context.CancelFunc
	done   chan struct{}

	mu             sync.Mutex
	lists          []time.Duration
	listing        bool
	peakGoroutines int
	peakRSS        int64
	err            error
}

func (e *env) startSampler(tb testing.TB, url string) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sampler{e: e, url: url, cancel: cancel, done: make(chan struct{}), listing: true}
	tb.Cleanup(s.stop)
	go func() {
		defer close(s.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			s.mu.Lock()
			listing := s.listing
			s.mu.Unlock()
			if listing {
				d, err := e.listAllPods(ctx)
				s.mu.Lock()
				if err != nil && ctx.Err() == nil {
					s.err = err
				} else if err == nil {
					s.lists = append(s.lists, d)
				}
				s.mu.Unlock()
			}
			if i%10 == 0 {
				s.sample(tb, false)
			}
		}
	}()
	return s
}

// sample reads goroutines and RSS once; fatal says whether a failure fails
// the benchmark (from the benchmark's goroutine) or is only recorded.
func (s *sampler) sample(tb testing.TB, fatal bool) {
	fams, err := scrapeMetrics(s.url)
	var g int
	if err == nil {
		g = int(gaugeValue(fams, "go_goroutines"))
	}
	rss, rerr := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.e.cmd.Process.Pid))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || rerr != nil {
		if fatal {
			tb.Fatalf("sample the daemon: %v %v", err, rerr)
		}
		s.err = fmt.Errorf("sample the daemon: %v %v", err, rerr)
		return
	}
	s.peakGoroutines = max(s.peakGoroutines, g)
	s.peakRSS = max(s.peakRSS, kibField(string(rss), "VmRSS"))
}

// stopLists ends the list sampling and returns the latencies.
func (s *sampler) stopLists() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listing = false
	return append([]time.Duration(nil), s.lists...)
}

func (s *sampler) stop() {
	s.cancel()
	<-s.done
}

// listAllPods lists every pod, page by page, and returns how long it took.
func (e *env) listAllPods(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	req := &poddv1.ListPodsRequest{}
	for {
		resp, err := e.client.ListPods(ctx, req)
		if err != nil {
			return 0, err
		}
		if resp.Continue == "" {
			return time.Since(start), nil
		}
		req.Continue = resp.Continue
	}
}

// startCPU is the CPU used so far by what starts pods: the daemon with the
// children it waited for (CNI plugins, iptables), and everything in its
// cgroup parent (shims, pause, containers).
func (e *env) startCPU(tb testing.TB) time.Duration {
	tb.Helper()
	own := processTreeCPU(tb, e.cmd.Process.Pid)
	if len(cgroupDirs(e.cgroupParent)) == 0 {
		return own // the daemon makes its cgroup parent with the first pod
	}
	return own + e.cgroupCPU(tb)
}

// hostCPU is the host's CPU time counters (/proc/stat's cpu line, in
// ticks): all of it and what was idle (idle and iowait).
type hostCPU struct{ total, idle int64 }

func readHostCPU(tb testing.TB) hostCPU {
	tb.Helper()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		tb.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		tb.Fatalf("/proc/stat starts %q, want the cpu line", line)
	}
	var c hostCPU
	for i, v := range f[1:] {
		var t int64
		if _, err := fmt.Sscan(v, &t); err != nil {
			tb.Fatalf("/proc/stat cpu line %q: %v", line, err)
		}
		if i >= 7 {
			break // guest and guest_nice are counted in user and nice
		}
		c.total += t
		if i == 3 || i == 4 {
			c.idle += t
		}
	}
	return c
}

// busyTimeSince is the CPU time all cores were busy since before.
func (c hostCPU) busyTimeSince(before hostCPU) time.Duration {
	busy := (c.total - before.total) - (c.idle - before.idle)
	return time.Duration(busy) * time.Second / clockTicks
}

// busySince is the fraction of all cores' time since before that was busy.
func (c hostCPU) busySince(before hostCPU) float64 {
	total := c.total - before.total
	if total <= 0 {
		return 0
	}
	return 1 - float64(c.idle-before.idle)/float64(total)
}
