package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// benchEnv starts a daemon for a benchmark, outside the timer.
func benchEnv(b *testing.B) *env {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	return newEnvWith(b, nil)
}

// podWithApps is a pod of n app containers that exit on TERM.
func podWithApps(name string, n int) string {
	var cs []string
	for i := 0; i < n; i++ {
		cs = append(cs, fmt.Sprintf(`  - {name: c%d, image: busybox:latest, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]}`, i))
	}
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n%s\n", name, strings.Join(cs, "\n"))
}

// timeToRunning applies a manifest and returns how long until the pod runs.
func (e *env) timeToRunning(b *testing.B, name, manifest string) time.Duration {
	start := time.Now()
	e.apply(manifest)
	e.waitRunning(name, 60*time.Second)
	d := time.Since(start)
	e.podctl("delete", "pod", name, "--grace-period", "0")
	return d
}

// R30 as a figure: a pod of 4 app containers reaches Running in about the
// time of a 1-container pod, because apps start in parallel (podman kube
// play starts them one after another). Reported as the ratio 4c/1c.
func BenchmarkAppsStartInParallel(b *testing.B) {
	e := benchEnv(b)
	var one, four time.Duration
	for i := 0; i < b.N; i++ {
		one += e.timeToRunning(b, fmt.Sprintf("one%d", i), podWithApps(fmt.Sprintf("one%d", i), 1))
		four += e.timeToRunning(b, fmt.Sprintf("four%d", i), podWithApps(fmt.Sprintf("four%d", i), 4))
	}
	b.ReportMetric(float64(four)/float64(one), "ratio-4c/1c")
	b.ReportMetric(float64(one.Milliseconds())/float64(b.N), "ms-apply-to-running-1c")
}

var reconcileRE = regexp.MustCompile(`Pods restored and reconciled" count=(\d+) took=(\S+)`)

// Issue 4 as a figure: after kill -9, the restarted daemon reconciles 50
// running pods; reported as the ratio to reconciling 1 pod, and in ms.
func BenchmarkReconcileAfterKill9(b *testing.B) {
	e := benchEnv(b)
	measure := func(n int) time.Duration {
		var docs []string
		for i := 0; i < n; i++ {
			docs = append(docs, podWithApps(fmt.Sprintf("r%d", i), 1))
		}
		e.apply(strings.Join(docs, "---\n"))
		for i := 0; i < n; i++ {
			e.waitRunning(fmt.Sprintf("r%d", i), 120*time.Second)
		}
		e.killDaemon()
		e.logBuf.Reset()
		e.restartDaemon()
		m := e.waitLog(reconcileRE, 60*time.Second)
		d, err := time.ParseDuration(m[2])
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < n; i++ {
			e.podctl("delete", "pod", fmt.Sprintf("r%d", i), "--grace-period", "0", "--wait=false")
		}
		for i := 0; i < n; i++ {
			e.waitGone(fmt.Sprintf("r%d", i), 60*time.Second)
		}
		return d
	}
	var one, fifty time.Duration
	for i := 0; i < b.N; i++ {
		one += measure(1)
		fifty += measure(50)
	}
	b.ReportMetric(float64(fifty)/float64(one), "ratio-50/1")
	b.ReportMetric(float64(fifty.Microseconds())/1000/float64(b.N), "ms-reconcile-50")
}
