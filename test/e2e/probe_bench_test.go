package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Issue 13 probe goals as figures: PODD_BENCH_PROBE_PODS (default 100)
// one-container pods, each with one probe, measured over a window of
// PODD_BENCH_PROBE_SECONDS (default 60) begun once every pod runs (and,
// for readiness, is ready) and every probe has run at least once, plus 5 s.
// The same pods without the probe are measured first, over half the
// window, so the report also says what the probes add:
//
//   - httpGet: busybox httpd with a 1 s httpGet readiness probe; goal: the
//     daemon (the podd process alone; the probed servers are the pods')
//     under 5 % of a core. Its peer: the same pods without the probe, probed
//     at the same rate by net/http configured as the kubelet's prober, in a
//     process of its own (runHTTPGetPeer); reported as daemon / peer.
//   - exec: sleep with a 10 s exec liveness probe (`true`); goal:
//     everything podd runs (the daemon, the shims and the exec'd
//     processes, which run in the pods' cgroups) under 15 % of a core.
//
// Both: 0 probe timeouts (Unhealthy events whose output says the check
// timed out) and 0 restarts. Also prints the probe runs and failures in
// the window (the daemon's podd_prober_* metrics), the mean run time, the
// daemon's CPU per run, its RSS and goroutines.
func BenchmarkProbeCPU(b *testing.B) {
	n := envInt(b, "PODD_BENCH_PROBE_PODS", 100)
	window := time.Duration(envInt(b, "PODD_BENCH_PROBE_SECONDS", 60)) * time.Second
	for _, v := range []probeVariant{
		{name: "httpGet", probeType: "readiness", period: time.Second, manifest: httpGetProbePod, plain: httpdPod, daemonGoal: 5, peer: true},
		{name: "exec", probeType: "liveness", period: 10 * time.Second, manifest: execProbePod, plain: sleepPod, allGoal: 15},
	} {
		b.Run(v.name, func(b *testing.B) {
			flags := []string{"--metrics-address", "127.0.0.1:0"}
			if os.Getenv("PODD_BENCH_PROFILE_DIR") != "" {
				flags = append(flags, "--profiling")
			}
			e := benchEnvFlags(b, flags...)
			b.StopTimer()
			url := e.metricsURL()
			tr := e.trackPods(b)
			for i := 0; i < b.N; i++ {
				e.probeCPU(b, tr, url, v, n, window, fmt.Sprintf("p%d-", i))
			}
		})
	}
}

// probeVariant is one probe handler BenchmarkProbeCPU measures.
type probeVariant struct {
	name      string
	probeType string // the podd_prober_* label of its kind
	period    time.Duration
	manifest  func(name string) string
	// plain is the same pod without the probe: the baseline.
	plain func(name string) string
	// daemonGoal bounds the daemon's CPU, allGoal that of the daemon, the
	// shims and the pods together (% of a core); 0: no such goal.
	daemonGoal, allGoal float64
	// peer: the plain pods are also probed by the httpGet peer (see
	// runHTTPGetPeer), whose CPU the daemon's is reported against.
	peer bool
}

// httpdCommand serves /index.html on port 8080.
const httpdCommand = `["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]`

// probeBenchPod is a one-container pod running command, with probe (lines
// of the container's spec, indented for it; "" for none).
func probeBenchPod(name, command, probe string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox:latest
    command: %s
%s`, name, command, probe)
}

func httpGetProbePod(name string) string {
	return probeBenchPod(name, httpdCommand, `    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
`)
}

func httpdPod(name string) string { return probeBenchPod(name, httpdCommand, "") }

func execProbePod(name string) string {
	return probeBenchPod(name, `["sleep", "1000000"]`, `    livenessProbe:
      exec: {command: ["true"]}
      periodSeconds: 10
`)
}

// probeCPU runs one measurement of variant v on n pods named prefix….
func (e *env) probeCPU(b *testing.B, tr *podTracker, url string, v probeVariant, n int, window time.Duration, prefix string) {
	b.Helper()
	baseDaemon, baseAll, peer := e.plainPodsCPU(b, tr, url, v, n, window/2, prefix+"plain-")
	manifest, names := podsManifestOf(prefix, n, v.manifest)
	file := filepath.Join(e.dir, prefix+v.name+".yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		b.Fatal(err)
	}
	e.podctlLong(b, "apply", "-f", file)
	if v.probeType == "readiness" {
		tr.wait(b, 15*time.Minute, fmt.Sprintf("%d pods ready", n), func() bool { return tr.countReady(names) == n })
	} else {
		tr.wait(b, 15*time.Minute, fmt.Sprintf("%d pods running", n), func() bool { return tr.countRunning(names) == n })
	}
	// Settled: every probe has run (at least as many runs as pods), then
	// the last starts' follow-up work (status writes, events) has finished.
	e.waitProbeRuns(b, url, v.probeType, n, 2*v.period+time.Minute)
	<-time.After(5 * time.Second)

	m0 := e.probeSnapshot(b, url, v.probeType)
	loadAtStart := loadAvg()
	prof := startCPUProfile(url, int(window.Seconds()), "daemon."+v.name+".cpu")
	<-time.After(window)
	prof.waitCPU(b)
	m1 := e.probeSnapshot(b, url, v.probeType)
	took := m1.at.Sub(m0.at)
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / took.Seconds() }

	daemon, shims, all := pct(m1.daemon-m0.daemon), pct(m1.shims-m0.shims), pct(m1.all-m0.all)
	pods := all - shims
	runs := m1.runs - m0.runs
	restarts := tr.restartsOf(names)
	timeouts, unhealthy := e.probeTimeouts(b, prefix)

	b.ReportMetric(daemon, "%core-daemon")
	b.ReportMetric(shims, "%core-shims")
	b.ReportMetric(pods, "%core-pods")
	b.ReportMetric(float64(timeouts), "timeouts")
	b.ReportMetric(float64(m1.rssKiB)/1024, "MiB-daemon-rss")
	var r benchReport
	r.add("%d pods with a %s %s probe every %s; window %s (load average at its start %s)",
		n, v.name, v.probeType, v.period, took.Round(time.Millisecond), loadAtStart)
	if v.daemonGoal > 0 {
		r.goal("daemon CPU", daemon, "% core", v.daemonGoal)
	} else {
		r.add("  %-30s %10.3f %% core", "daemon CPU", daemon)
	}
	r.add("  %-30s %10.3f %% core (the same pods without the probe: %.3f)", "  of which the probes add", daemon-baseDaemon, baseDaemon)
	if peer != nil && peer.runs > 0 && runs > 0 {
		peerPct := 100 * peer.cpu.Seconds() / peer.took.Seconds()
		r.add("  %-30s %10.3f %% core (%.0f µs per GET, %d of %d failed; net/http as the kubelet's prober, the same pods and rate, no podd probe)",
			"peer prober CPU", peerPct, float64(peer.cpu.Microseconds())/float64(peer.runs), peer.failures, peer.runs)
		// Per run: the peer's wall time includes its start and its first
		// period, in which it probes nothing.
		ratio := (float64((m1.daemon - m0.daemon).Microseconds()) / runs) / (float64(peer.cpu.Microseconds()) / float64(peer.runs))
		r.add("  %-30s %10.3f (CPU per probe run over the peer's per GET)", "daemon / peer", ratio)
		b.ReportMetric(ratio, "ratio-daemon/peer")
	}
	r.add("  %-30s %10.3f %% core", "shims CPU", shims)
	what := "probed servers: the pods', not podd's"
	if v.probeType == "liveness" {
		what = "the exec'd processes and the idle containers"
	}
	r.add("  %-30s %10.3f %% core (%s)", "pod cgroups CPU", pods, what)
	if v.allGoal > 0 {
		r.goal("daemon+shims+pods CPU", daemon+shims+pods, "% core", v.allGoal)
	} else {
		r.add("  %-30s %10.3f %% core", "daemon+shims+pods CPU", daemon+shims+pods)
	}
	r.add("  %-30s %10.3f %% core (the same pods without the probe: %.3f)", "  of which the probes add", daemon+shims+pods-baseAll, baseAll)
	r.add("  %-30s %10.0f (expected about %.0f)", "probe runs in window", runs, float64(n)*took.Seconds()/v.period.Seconds())
	r.add("  %-30s %10.0f", "failed runs in window", m1.failed-m0.failed)
	if runs > 0 {
		r.add("  %-30s %10.2f ms", "mean probe run", 1000*(m1.seconds-m0.seconds)/runs)
		r.add("  %-30s %10.0f µs", "daemon CPU per probe run", float64((m1.daemon-m0.daemon).Microseconds())/runs)
		r.add("  %-30s %10.0f µs", "all CPU per probe run", float64((m1.daemon-m0.daemon+m1.all-m0.all).Microseconds())/runs)
	}
	r.goal("probe timeouts (whole run)", float64(timeouts), "", 0)
	r.add("  %-30s %10d", "Unhealthy events (whole run)", unhealthy)
	r.goal("restarts", float64(restarts), "", 0)
	r.add("  %-30s %10.1f MiB", "daemon RSS", float64(m1.rssKiB)/1024)
	r.add("  %-30s %10d", "daemon goroutines", m1.goroutines)
	r.print(b)

	e.podctlLong(b, "delete", "-f", file, "--grace-period", "0", "--wait=false")
	tr.wait(b, 15*time.Minute, fmt.Sprintf("%d pods gone", n), func() bool { return tr.countGone(names) == n })
	if restarts != 0 || timeouts != 0 {
		b.Errorf("%d pods with a %s probe: %d restarts and %d probe timeouts, want 0", n, v.name, restarts, timeouts)
	}
}

// plainPodsCPU runs n of v's pods without the probe over window (after they
// all run, plus 5 s) and returns the daemon's CPU and that of the daemon,
// the shims and the pods together, in % of a core; with v.peer, then runs
// the peer against them over window; then deletes them.
func (e *env) plainPodsCPU(b *testing.B, tr *podTracker, url string, v probeVariant, n int, window time.Duration, prefix string) (daemon, all float64, peer *httpGetPeerResult) {
	b.Helper()
	manifest, names := podsManifestOf(prefix, n, v.plain)
	file := filepath.Join(e.dir, prefix+v.name+".yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		b.Fatal(err)
	}
	e.podctlLong(b, "apply", "-f", file)
	tr.wait(b, 15*time.Minute, fmt.Sprintf("%d plain pods running", n), func() bool { return tr.countRunning(names) == n })
	<-time.After(5 * time.Second)
	m0 := e.probeSnapshot(b, url, v.probeType)
	<-time.After(window)
	m1 := e.probeSnapshot(b, url, v.probeType)
	if v.peer {
		var urls []string
		for _, name := range names {
			p, err := e.pod(name)
			if err != nil || p.Status.PodIP == "" {
				b.Fatalf("pod %s has no IP for the peer prober: %v", name, err)
			}
			urls = append(urls, "http://"+p.Status.PodIP+":8080/index.html")
		}
		r := runHTTPGetPeer(b, urls, v.period, window)
		peer = &r
	}
	e.podctlLong(b, "delete", "-f", file, "--grace-period", "0", "--wait=false")
	tr.wait(b, 15*time.Minute, fmt.Sprintf("%d plain pods gone", n), func() bool { return tr.countGone(names) == n })
	took := m1.at.Sub(m0.at).Seconds()
	return 100 * (m1.daemon - m0.daemon).Seconds() / took, 100 * (m1.daemon - m0.daemon + m1.all - m0.all).Seconds() / took, peer
}

// probeSnapshot is what probeCPU reads at each end of its window.
type probeSnapshot struct {
	at                 time.Time
	daemon, shims, all time.Duration
	runs, failed       float64 // runs of the probe type, by the daemon's metrics
	seconds            float64 // their summed duration
	rssKiB             int64
	goroutines         int
}

func (e *env) probeSnapshot(tb testing.TB, url, probeType string) probeSnapshot {
	tb.Helper()
	fams, err := scrapeMetrics(url)
	if err != nil {
		tb.Fatalf("scrape %s: %v", url, err)
	}
	pid := e.cmd.Process.Pid
	s := probeSnapshot{
		at: time.Now(),
		// The daemon with the children it waited for (none once pods run).
		daemon: processTreeCPU(tb, pid),
		shims:  cgroupCPUOf(tb, e.cgroupParent+"/shims"),
		all:    e.cgroupCPU(tb),
		rssKiB: procKiB(tb, fmt.Sprintf("/proc/%d/status", pid), "VmRSS"),
	}
	s.runs, s.failed = probeRuns(fams, probeType)
	for _, m := range fams["podd_prober_probe_duration_seconds"].GetMetric() {
		if metricLabel(m, "probe_type") == probeType {
			s.seconds += m.GetHistogram().GetSampleSum()
		}
	}
	s.goroutines = int(gaugeValue(fams, "go_goroutines"))
	return s
}

// probeRuns sums podd_prober_probe_total of probeType: all runs, and those
// not successful.
func probeRuns(fams map[string]*dto.MetricFamily, probeType string) (runs, failed float64) {
	for _, m := range fams["podd_prober_probe_total"].GetMetric() {
		if metricLabel(m, "probe_type") != probeType {
			continue
		}
		runs += m.GetCounter().GetValue()
		if metricLabel(m, "result") != "successful" {
			failed += m.GetCounter().GetValue()
		}
	}
	return runs, failed
}

// waitProbeRuns waits until the daemon has run probes of probeType at
// least n times.
func (e *env) waitProbeRuns(tb testing.TB, url, probeType string, n int, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		fams, err := scrapeMetrics(url)
		if err != nil {
			tb.Fatalf("scrape %s: %v", url, err)
		}
		runs, _ := probeRuns(fams, probeType)
		if runs >= float64(n) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %s: %.0f %s probe runs, want at least %d", timeout, runs, probeType, n)
		}
		<-time.After(500 * time.Millisecond)
	}
}

// probeTimeouts counts the Unhealthy events of pods named prefix…: those
// whose output says the check timed out (an exec probe's "timed out", an
// httpGet's client timeout or deadline), and all of them.
func (e *env) probeTimeouts(tb testing.TB, prefix string) (timeouts, unhealthy int) {
	for _, ev := range e.eventsOf(tb, prefix, "Unhealthy") {
		c := int(max(ev.Count, 1))
		unhealthy += c
		msg := strings.ToLower(ev.Message)
		if strings.Contains(msg, "timed out") || strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded") {
			timeouts += c
		}
	}
	return timeouts, unhealthy
}

// processTreeCPU is the user+system time of process pid and of the
// children it has waited for.
func processTreeCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	// utime, stime, cutime, cstime are fields 14-17 of stat, 12-15 after the name.
	var ticks int64
	for _, v := range f[11:15] {
		var t int64
		if _, err := fmt.Sscan(v, &t); err != nil {
			tb.Fatalf("stat of %d: %q: %v", pid, v, err)
		}
		ticks += t
	}
	return time.Duration(ticks) * time.Second / clockTicks
}
