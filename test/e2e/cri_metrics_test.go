package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// criMetrics is one sandbox's metrics by name: the pod's and its
// containers', each with its label values.
type criMetrics map[string][]*runtimeapi.Metric

// sandboxMetrics lists the metrics of every sandbox and returns sb's (nil
// when it is not listed), failing on a metric whose label values do not
// match its descriptor's keys in count, or without a descriptor.
func sandboxMetrics(t *testing.T, rc runtimeapi.RuntimeServiceClient, descs map[string]*runtimeapi.MetricDescriptor, sb string) criMetrics {
	t.Helper()
	r, err := rc.ListPodSandboxMetrics(context.Background(), &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var out criMetrics
	for _, pm := range r.PodMetrics {
		all := slices.Clone(pm.Metrics)
		for _, cm := range pm.ContainerMetrics {
			all = append(all, cm.Metrics...)
		}
		for _, m := range all {
			d, ok := descs[m.Name]
			if !ok || len(d.LabelKeys) != len(m.LabelValues) {
				t.Fatalf("metric %v does not match its descriptor %v", m, d)
			}
		}
		if pm.PodSandboxId != sb {
			continue
		}
		out = criMetrics{}
		for _, m := range all {
			out[m.Name] = append(out[m.Name], m)
		}
	}
	return out
}

// one is the value of the metric name whose label values end with tail
// (0 and false when there is none).
func (m criMetrics) one(name string, tail ...string) (uint64, bool) {
	for _, x := range m[name] {
		if slices.Equal(x.LabelValues[len(x.LabelValues)-len(tail):], tail) {
			return x.Value.GetValue(), true
		}
	}
	return 0, false
}

// Issue 9, CRI metrics: a running sandbox and container have cAdvisor's
// metrics through podd's CRI socket — every metric matches its
// descriptor's labels; CPU time after a busy loop, the working set, the
// pod's eth0 counters, the written writable layer, the container's
// processes and listening socket and its resources are there — and a
// container that stops and a sandbox that stops leave the list.
func TestCRIMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rc, _ := e.criClients()
	ctx := context.Background()
	dr, err := rc.ListMetricDescriptors(ctx, &runtimeapi.ListMetricDescriptorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	descs := map[string]*runtimeapi.MetricDescriptor{}
	for _, d := range dr.Descriptors {
		if d.Help == "" || len(d.LabelKeys) == 0 {
			t.Errorf("descriptor %v without help or labels", d)
		}
		descs[d.Name] = d
	}

	dir := t.TempDir()
	sbCfg := writeJSON(t, filepath.Join(dir, "sandbox.json"), `{
  "metadata": {"name": "cri-metrics", "namespace": "cri", "uid": "cri-metrics-uid", "attempt": 0},
  "hostname": "cri-metrics", "log_directory": "`+filepath.Join(dir, "logs")+`", "linux": {}
}`)
	busyCfg := writeJSON(t, filepath.Join(dir, "busy.json"), `{
  "metadata": {"name": "busy"}, "image": {"image": "busybox:latest"},
  "command": ["sh", "-c", "dd if=/dev/zero of=/written bs=1024 count=512 2>/dev/null; nc -l -p 8080 & echo ready; while :; do :; done"],
  "log_path": "busy/0.log",
  "linux": {"resources": {"cpu_period": 100000, "cpu_quota": 150000, "cpu_shares": 512, "memory_limit_in_bytes": 67108864}}
}`)
	sb := strings.TrimSpace(e.crictl("runp", sbCfg))
	id := strings.TrimSpace(e.crictl("create", "--no-pull", sb, busyCfg, sbCfg))
	e.crictl("start", id)
	testutil.WaitFor(t, 60*time.Second, "busy wrote its file", func() (bool, error) {
		out, err := e.crictlErr("logs", id)
		return err == nil && strings.Contains(out, "ready"), nil
	})

	// CPU seconds are whole numbers: wait for the first one.
	var m criMetrics
	testutil.WaitFor(t, 60*time.Second, "a second of CPU in container_cpu_usage_seconds_total", func() (bool, error) {
		m = sandboxMetrics(t, rc, descs, sb)
		v, _ := m.one("container_cpu_usage_seconds_total", "total")
		return v >= 1, nil
	})
	for _, name := range []string{
		"container_cpu_user_seconds_total", "container_cpu_cfs_periods_total", "container_memory_usage_bytes",
		"container_memory_rss", "container_memory_failures_total", "container_oom_events_total", "container_threads",
		"container_threads_max", "container_file_descriptors", "container_fs_inodes_total", "container_fs_limit_bytes",
		"container_spec_cpu_period", "container_spec_cpu_shares", "container_spec_memory_swap_limit_bytes",
		"container_spec_memory_reservation_limit_bytes", "container_last_seen", "container_memory_failcnt",
		"container_network_transmit_packets_total", "container_network_receive_errors_total",
	} {
		if len(m[name]) == 0 {
			t.Errorf("no %s", name)
		}
	}
	labels := m["container_memory_working_set_bytes"][0].LabelValues
	if labels[0] != "busy" || !strings.HasSuffix(labels[1], "/"+id) || labels[2] != "busybox:latest" || labels[3] != id ||
		labels[4] != "cri" || labels[5] != "cri-metrics" {
		t.Errorf("container labels %v, want busy, its cgroup, image, ID, namespace and pod", labels)
	}
	for _, c := range []struct {
		name string
		tail []string
		ok   func(uint64) bool
		want string
	}{
		{"container_memory_working_set_bytes", nil, func(v uint64) bool { return v > 0 }, "> 0"},
		{"container_processes", nil, func(v uint64) bool { return v >= 2 }, ">= 2 (sh and nc)"},
		{"container_sockets", nil, func(v uint64) bool { return v >= 1 }, ">= 1 (nc listens)"},
		{"container_fs_usage_bytes", nil, func(v uint64) bool { return v >= 512<<10 }, ">= the 512 KiB written"},
		{"container_network_transmit_bytes_total", []string{"eth0"}, func(v uint64) bool { return true }, "present"},
		{"container_spec_cpu_quota", nil, func(v uint64) bool { return v == 150000 }, "150000"},
		{"container_spec_cpu_shares", nil, func(v uint64) bool { return v == 512 }, "512"},
		{"container_spec_memory_limit_bytes", nil, func(v uint64) bool { return v == 64<<20 }, "64 MiB"},
		{"container_ulimits_soft", []string{"max_open_files"}, func(v uint64) bool { return v > 0 }, "> 0"},
		{"container_start_time_seconds", nil, func(v uint64) bool {
			return time.Since(time.Unix(int64(v), 0)) < 10*time.Minute
		}, "within the last minutes"},
	} {
		var v uint64
		var ok bool
		if c.name == "container_fs_usage_bytes" && len(m[c.name]) > 0 {
			v, ok = m[c.name][0].Value.GetValue(), true
		} else {
			v, ok = m.one(c.name, c.tail...)
		}
		if !ok || !c.ok(v) {
			t.Errorf("%s%v = %d (found %v), want %s", c.name, c.tail, v, ok, c.want)
		}
	}
	if out := e.crictl("metricsp"); !strings.Contains(out, sb) {
		t.Errorf("crictl metricsp does not show the sandbox:\n%.2000s", out)
	}

	// A stopped container has nothing left to measure; a stopped sandbox
	// is not listed.
	e.crictl("stop", "--timeout", "0", id)
	if m := sandboxMetrics(t, rc, descs, sb); m == nil || len(m["container_memory_working_set_bytes"]) != 0 || len(m["container_network_receive_bytes_total"]) == 0 {
		t.Errorf("after the container stopped: %v, want the pod's network metrics only", m)
	}
	e.crictl("rm", id)
	e.crictl("stopp", sb)
	if m := sandboxMetrics(t, rc, descs, sb); m != nil {
		t.Errorf("a stopped sandbox is listed: %v", m)
	}
	e.crictl("rmp", sb)
	if c := e.census(t); !c.empty() {
		t.Errorf("left on the host after rmp: %+v", c)
	}
}
