package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/test/testutil"
)

// scrapeMetrics fetches and parses the daemon's /metrics.
func scrapeMetrics(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

func metricLabel(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// startSamples is the sample count of the start histogram of kind and phase.
func startSamples(fams map[string]*dto.MetricFamily, kind, phase string) uint64 {
	for _, m := range fams["podd_pod_start_duration_seconds"].GetMetric() {
		if metricLabel(m, "kind") == kind && metricLabel(m, "phase") == phase {
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func gaugeValue(fams map[string]*dto.MetricFamily, name string) float64 {
	f := fams[name]
	if f == nil || len(f.GetMetric()) == 0 {
		return -1
	}
	return f.GetMetric()[0].GetGauge().GetValue()
}

// Issue 13.4: with --metrics-address the daemon serves Prometheus metrics
// on loopback: after a pod starts, the start histogram has a sample for
// every phase of the sandbox and the container, and the gauges count the
// running pod; each start also logs its phases at debug level.
func TestMetricsListenerServesStartHistogramAndGauges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "--metrics-address", "127.0.0.1:0", "--log-level", "debug")
	m := e.waitLog(regexp.MustCompile(`msg="Serving metrics" address=(127\.0\.0\.1:\d+)`), 10*time.Second)
	url := "http://" + m[1] + "/metrics"
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: measured}
spec:
  containers:
  - name: app
    image: busybox:latest
    command: ["sleep", "3600"]
`)
	e.waitRunning("measured", 60*time.Second)
	var fams map[string]*dto.MetricFamily
	// The API can show Running a moment before the worker records it.
	testutil.WaitFor(t, 10*time.Second, "metrics showing the running pod", func() (bool, error) {
		var err error
		if fams, err = scrapeMetrics(url); err != nil {
			return false, err
		}
		pods, ctrs := gaugeValue(fams, "podd_running_pods"), gaugeValue(fams, "podd_running_containers")
		started := startSamples(fams, "pod", "total")
		return pods == 1 && ctrs == 1 && started == 1, fmt.Errorf("running pods %v, containers %v, pod starts %d", pods, ctrs, started)
	})
	if v := gaugeValue(fams, "podd_shims"); v != 1 {
		t.Errorf("podd_shims = %v, want 1", v)
	}
	if f := fams["podd_pod_start_duration_seconds"]; f.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("podd_pod_start_duration_seconds is %v, want a histogram", f.GetType())
	}
	for _, kp := range [][2]string{
		{"sandbox", "total"}, {"sandbox", "netns"}, {"sandbox", "cni_add"}, {"sandbox", "shim"},
		{"sandbox", "pause_cgroup"}, {"sandbox", "pause_start"}, {"sandbox", "pause"}, {"sandbox", "prestart"},
		{"container", "total"}, {"container", "rootfs"}, {"container", "libcontainer_create"},
		{"container", "libcontainer_hold"}, {"container", "held"}, {"container", "libcontainer_exec"}, {"container", "shim_call"},
		{"pod", "validation"}, {"pod", "persist"}, {"pod", "total"},
	} {
		if n := startSamples(fams, kp[0], kp[1]); n != 1 {
			t.Errorf("start histogram kind=%s phase=%s has %d samples, want 1", kp[0], kp[1], n)
		}
	}
	applied := false
	for _, s := range fams["podd_api_request_duration_seconds"].GetMetric() {
		applied = applied || (metricLabel(s, "method") == "/podd.v1.PodService/Apply" && metricLabel(s, "code") == "OK")
	}
	if !applied {
		t.Error("no API latency sample of the Apply call")
	}
	for _, kind := range []string{"sandbox", "container"} {
		line := e.waitLog(regexp.MustCompile(`msg="Start timing" pod=default/measured .*kind=`+kind+` .*phases_ms\.total=.*`), 5*time.Second)
		t.Log(line[0])
	}
}

// Without --metrics-address nothing listens; a non-loopback address is
// refused unless allowed.
func TestMetricsAddressMustBeLoopback(t *testing.T) {
	t.Parallel()
	out, err := runPodd(t, "--metrics-address", "0.0.0.0:0")
	if err == nil || !strings.Contains(out, "not a loopback address") {
		t.Fatalf("podd --metrics-address 0.0.0.0:0: %v\n%s", err, out)
	}
}

// runPodd runs podd with args that make it exit at once.
func runPodd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binaries(t), "podd"), args...)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// cgroupCPU reads the cumulative CPU time of cgroup path from the cgroup
// files themselves: cpuacct.usage on v1, cpu.stat usage_usec on v2.
func cgroupCPU(path string) (time.Duration, error) {
	for _, f := range []string{
		filepath.Join("/sys/fs/cgroup/cpuacct", path, "cpuacct.usage"),
		filepath.Join("/sys/fs/cgroup/cpu,cpuacct", path, "cpuacct.usage"),
	} {
		if b, err := os.ReadFile(f); err == nil {
			ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			return time.Duration(ns), err
		}
	}
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", path, "cpu.stat"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			us, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Duration(us) * time.Microsecond, err
		}
	}
	return 0, fmt.Errorf("%s/cpu.stat has no usage_usec", path)
}

// Issue 13.4: podctl top reports a busy loop's CPU within 10 % of what its
// cgroup counted over the same window, and its memory working set.
func TestTopPodsMatchesCgroupCPU(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: busy}
spec:
  containers:
  - name: spin
    image: busybox:latest
    command: ["sh", "-c", "while :; do :; done"]
`)
	p := e.waitRunning("busy", 60*time.Second)
	cs := containerStatus(p, "spin")
	// The container's cgroup is its instance key under the pod cgroup.
	cg := filepath.Join(e.cgroupParent, "pod"+string(p.UID), store.InstanceKey(cs.Name, cs.RestartCount))
	row := regexp.MustCompile(`(?m)^busy\s+spin\s+(\d+)m\s+(\d+)Mi$`)
	// A shared host can change the loop's share of a core during the
	// window; the figures are compared again (at most 3 windows) before
	// the test fails.
	var misses []string
	for try := 0; try < 3; try++ {
		before, err := cgroupCPU(cg)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		out := e.podctl("top", "pod", "busy", "--containers", "--window", "3s")
		wall := time.Since(began)
		after, err := cgroupCPU(cg)
		if err != nil {
			t.Fatal(err)
		}
		m := row.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("podctl top pod busy --containers printed:\n%s", out)
		}
		top, _ := strconv.ParseFloat(m[1], 64)
		real := float64(after-before) / float64(wall) * 1000
		if top < 100 {
			t.Fatalf("top reports %vm for a busy loop (cgroup: %.0fm)", top, real)
		}
		if d := (top - real) / real; d <= 0.1 && d >= -0.1 {
			t.Logf("top %vm, cgroup %.0fm over %v (%+.1f%%)", top, real, wall, d*100)
			return
		}
		misses = append(misses, fmt.Sprintf("top %vm vs cgroup %.0fm over %v", top, real, wall))
	}
	t.Fatalf("top's CPU was not within 10%% of the cgroup's in 3 windows: %s", strings.Join(misses, "; "))
}
