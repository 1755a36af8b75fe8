package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue 13 goal 3 as figures: PODD_BENCH_FOOTPRINT_PODS (default 50) idle
// one-container pods: PSS per pod of its shim and pause (smaps_rollup), the
// daemon's RSS and goroutines, and the CPU the daemon (/proc/<pid>/stat)
// and the shims (cpuacct of <cgroup parent>/shims) use per pod over an idle
// window of PODD_BENCH_IDLE_SECONDS (default 150), begun 5 s after the last
// pod ran. The PSS is taken at the window's start and at its end; the goal
// is the end's: the Go runtime collects every 2 minutes in a process that
// has not collected since (runtime's forcegcperiod), and each collection
// of an idle shim's first few leaves more of the collector's own
// structures behind (~0.4 MiB by the second), so a shim is in its idle
// steady state only once that has run. With PODD_BENCH_PROFILE_DIR set,
// the daemon's heap and goroutine profiles at the window's start are saved
// there.
func BenchmarkFootprint(b *testing.B) {
	n := envInt(b, "PODD_BENCH_FOOTPRINT_PODS", 50)
	window := time.Duration(envInt(b, "PODD_BENCH_IDLE_SECONDS", 150)) * time.Second
	flags := []string{"--metrics-address", "127.0.0.1:0"}
	if os.Getenv("PODD_BENCH_PROFILE_DIR") != "" {
		flags = append(flags, "--profiling")
	}
	e := benchEnvFlags(b, flags...)
	b.StopTimer()
	url := e.metricsURL()
	tr := e.trackPods(b)
	for i := 0; i < b.N; i++ {
		prefix := fmt.Sprintf("f%d-", i)
		manifest, names := podsManifest(prefix, n)
		file := filepath.Join(e.dir, prefix+"footprint.yaml")
		if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
			b.Fatal(err)
		}
		e.podctlLong(b, "apply", "-f", file)
		tr.wait(b, 15*time.Minute, fmt.Sprintf("%d pods running", n), func() bool { return tr.countRunning(names) == n })
		e.measureFootprint(b, url, n, window)
		e.podctlLong(b, "delete", "-f", file, "--grace-period", "0", "--wait=false")
		tr.wait(b, 15*time.Minute, fmt.Sprintf("%d pods gone", n), func() bool { return tr.countGone(names) == n })
	}
}

// goForcedGCPeriod is how long the Go runtime lets a process go without a
// collection before it forces one (runtime's forcegcperiod).
const goForcedGCPeriod = 2 * time.Minute

func (e *env) measureFootprint(b *testing.B, url string, n int, window time.Duration) {
	b.Helper()
	// Let the last starts' follow-up work (status writes, events) finish.
	<-time.After(5 * time.Second)
	first := e.podsPSS(b, n)
	daemon := e.cmd.Process.Pid
	g := goroutines(b, url)
	if dir := os.Getenv("PODD_BENCH_PROFILE_DIR"); dir != "" {
		saveProfiles(b, strings.TrimSuffix(url, "/metrics"), dir)
	}

	shimsCgroup := e.cgroupParent + "/shims"
	d0, s0, a0 := processCPU(b, daemon), cgroupCPUOf(b, shimsCgroup), e.cgroupCPU(b)
	start := time.Now()
	<-time.After(window)
	d1, s1, a1 := processCPU(b, daemon), cgroupCPUOf(b, shimsCgroup), e.cgroupCPU(b)
	took := time.Since(start)
	last := e.podsPSS(b, n)
	rss := procKiB(b, fmt.Sprintf("/proc/%d/status", daemon), "VmRSS")
	perPod := func(cpu time.Duration) float64 { return 100 * cpu.Seconds() / took.Seconds() / float64(n) }

	mib := func(kib int64) float64 { return float64(kib) / 1024 / float64(n) }
	b.ReportMetric(mib(last.shim+last.pause), "MiB-pss/pod")
	b.ReportMetric(mib(last.shimAnon), "MiB-shim-pss-anon/pod")
	b.ReportMetric(mib(first.shim+first.pause), "MiB-pss-first/pod")
	b.ReportMetric(float64(rss)/1024, "MiB-daemon-rss")
	b.ReportMetric(perPod(d1-d0), "%core-daemon/pod")
	b.ReportMetric(perPod(s1-s0), "%core-shims/pod")
	var r benchReport
	r.add("%d idle one-container pods; idle window %s", n, took.Round(time.Millisecond))
	if window < goForcedGCPeriod+10*time.Second {
		r.add("  (a window under %s ends before the Go runtime's forced collection in every shim: the last PSS is not the steady state)", goForcedGCPeriod+10*time.Second)
	}
	r.goal("shim+pause PSS per pod at end", mib(last.shim+last.pause), "MiB", 3)
	for _, m := range []struct {
		when string
		p    podsPSS
	}{{"window's end", last}, {"window's start", first}} {
		r.add("  %-30s %10.2f MiB (PSS; Pss_Anon %.2f MiB; RSS %.2f MiB)", "  shim, "+m.when, mib(m.p.shim), mib(m.p.shimAnon), mib(m.p.shimRSS))
		r.add("  %-30s %10.2f MiB (PSS)", "  pause, "+m.when, mib(m.p.pause))
	}
	r.goal("daemon RSS (goal is at 200 pods)", float64(rss)/1024, "MiB", 60)
	r.add("  %-30s %10d", "daemon goroutines", g)
	r.goal("idle CPU daemon per pod", perPod(d1-d0), "% core", 0.1)
	r.goal("idle CPU shims per pod", perPod(s1-s0), "% core", 0.1)
	r.add("  %-30s %10.3f %% core (shims, pause and containers)", "idle CPU cgroup parent per pod", perPod(a1-a0))
	r.add("  %-30s %10.2f %% core (daemon + cgroup parent)", "idle CPU in all", 100*((d1-d0)+(a1-a0)).Seconds()/took.Seconds())
	r.print(b)
}

// podsPSS is the memory of the env's shims and pause processes, in KiB
// summed over them (smaps_rollup).
type podsPSS struct {
	shim, shimAnon, shimRSS, pause int64
}

// podsPSS reads the memory of the env's n pods' shims and pauses.
func (e *env) podsPSS(b *testing.B, n int) podsPSS {
	b.Helper()
	shims, pauses := e.shimsAndPauses(b)
	if len(shims) != n || len(pauses) != n {
		b.Fatalf("%d pods running, but %d shims and %d pause processes", n, len(shims), len(pauses))
	}
	var p podsPSS
	for _, pid := range shims {
		rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			b.Fatal(err)
		}
		p.shim += kibField(string(rollup), "Pss")
		p.shimAnon += kibField(string(rollup), "Pss_Anon")
		p.shimRSS += kibField(string(rollup), "Rss")
	}
	for _, pid := range pauses {
		p.pause += procKiB(b, fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
	}
	return p
}

// shimsAndPauses finds the env's shims (by command line) and their
// podd-pause children (the namespace holders the shims start).
func (e *env) shimsAndPauses(tb testing.TB) (shims, pauses []int) {
	tb.Helper()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatal(err)
	}
	parent := map[int]int{}
	comms := map[int]string{}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), "podd-shim") && strings.Contains(string(cmdline), e.runRoot) {
			shims = append(shims, pid)
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", p.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+2:])
		if len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			parent[pid], comms[pid] = ppid, s[open+1:close]
		}
	}
	isShim := map[int]bool{}
	for _, pid := range shims {
		isShim[pid] = true
	}
	for pid, ppid := range parent {
		if isShim[ppid] && comms[pid] == "podd-pause" {
			pauses = append(pauses, pid)
		}
	}
	return shims, pauses
}

// cgroupCPUOf is the CPU used so far by everything in cgroup path (v1
// cpuacct or v2 cpu.stat): env.cgroupCPU reads only the cgroup parent.
func cgroupCPUOf(tb testing.TB, path string) time.Duration {
	tb.Helper()
	return (&env{cgroupParent: path}).cgroupCPU(tb)
}

// saveProfiles saves the daemon's heap profile and goroutine dump (base is
// its metrics server's http://host:port) in dir.
func saveProfiles(b *testing.B, base, dir string) {
	b.Helper()
	for file, path := range map[string]string{"daemon.heap": "/debug/pprof/heap", "daemon.goroutines": "/debug/pprof/goroutine?debug=1"} {
		resp, err := http.Get(base + path)
		if err != nil {
			b.Fatalf("get %s: %v", path, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("get %s: %s %v", path, resp.Status, err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
