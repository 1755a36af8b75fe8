package cri

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/cgroupusage"
	"github.com/podd-dev/podd/runtime/diskusage"
	"github.com/podd-dev/podd/runtime/procusage"
)

// cadvisorNames are the metrics the kubelet's /metrics/cadvisor serves for
// a container with cAdvisor (critest v1.37's expectedMetricDescriptorNames).
var cadvisorNames = []string{
	"container_blkio_device_usage_total", "container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total",
	"container_cpu_cfs_throttled_seconds_total", "container_cpu_system_seconds_total", "container_cpu_usage_seconds_total",
	"container_cpu_user_seconds_total", "container_file_descriptors", "container_fs_inodes_free", "container_fs_inodes_total",
	"container_fs_limit_bytes", "container_fs_reads_bytes_total", "container_fs_reads_total", "container_fs_usage_bytes",
	"container_fs_writes_bytes_total", "container_fs_writes_total", "container_hugetlb_max_usage_bytes",
	"container_hugetlb_usage_bytes", "container_last_seen", "container_memory_cache", "container_memory_failcnt",
	"container_memory_failures_total", "container_memory_kernel_usage", "container_memory_mapped_file",
	"container_memory_max_usage_bytes", "container_memory_rss", "container_memory_swap", "container_memory_usage_bytes",
	"container_memory_working_set_bytes", "container_network_receive_bytes_total", "container_network_receive_errors_total",
	"container_network_receive_packets_dropped_total", "container_network_receive_packets_total",
	"container_network_transmit_bytes_total", "container_network_transmit_errors_total",
	"container_network_transmit_packets_dropped_total", "container_network_transmit_packets_total",
	"container_oom_events_total", "container_pressure_cpu_stalled_seconds_total", "container_pressure_cpu_waiting_seconds_total",
	"container_pressure_io_stalled_seconds_total", "container_pressure_io_waiting_seconds_total",
	"container_pressure_memory_stalled_seconds_total", "container_pressure_memory_waiting_seconds_total",
	"container_processes", "container_sockets", "container_spec_cpu_period", "container_spec_cpu_quota",
	"container_spec_cpu_shares", "container_spec_memory_limit_bytes", "container_spec_memory_reservation_limit_bytes",
	"container_spec_memory_swap_limit_bytes", "container_start_time_seconds", "container_threads", "container_threads_max",
	"container_ulimits_soft",
}

// hostDependent are the metrics that need a host feature (block I/O
// accounting, huge pages, pressure per cgroup), a CPU quota or a live init
// process: the others are there for every running container.
var hostDependent = []string{
	"container_blkio_device_usage_total", "container_fs_reads_bytes_total", "container_fs_reads_total",
	"container_fs_writes_bytes_total", "container_fs_writes_total", "container_hugetlb_max_usage_bytes",
	"container_hugetlb_usage_bytes", "container_pressure_cpu_stalled_seconds_total",
	"container_pressure_cpu_waiting_seconds_total", "container_pressure_io_stalled_seconds_total",
	"container_pressure_io_waiting_seconds_total", "container_pressure_memory_stalled_seconds_total",
	"container_pressure_memory_waiting_seconds_total", "container_spec_cpu_quota", "container_ulimits_soft",
}

// Every descriptor has help and label keys (cAdvisor's labels first), no
// name twice, and the list names every metric cAdvisor serves.
func TestListMetricDescriptors(t *testing.T) {
	cfg, _, _ := testConfig()
	rc, _ := clients(t, cfg)
	r, err := rc.ListMetricDescriptors(context.Background(), &runtimeapi.ListMetricDescriptorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range r.Descriptors {
		if seen[d.Name] {
			t.Errorf("descriptor %s twice", d.Name)
		}
		seen[d.Name] = true
		if d.Help == "" || !slices.Equal(d.LabelKeys[:min(len(d.LabelKeys), len(metricLabels))], metricLabels) {
			t.Errorf("descriptor %v: want help and the labels %v first", d, metricLabels)
		}
	}
	for _, n := range cadvisorNames {
		if !seen[n] {
			t.Errorf("no descriptor %s", n)
		}
	}
}

// checkMetrics fails on a metric without a descriptor, with label values
// not matching its descriptor's keys in count, of another type than its
// descriptor's, with a timestamp (they are read live), or a series (name
// and label values) twice: the kubelet would refuse the scrape.
func checkMetrics(t *testing.T, pms []*runtimeapi.PodSandboxMetrics) {
	t.Helper()
	descs := map[string]*runtimeapi.MetricDescriptor{}
	for _, d := range descriptors() {
		descs[d.Name] = d
	}
	seen := map[string]bool{}
	for _, pm := range pms {
		all := slices.Clone(pm.Metrics)
		for _, cm := range pm.ContainerMetrics {
			all = append(all, cm.Metrics...)
		}
		for _, m := range all {
			d, ok := descs[m.Name]
			if !ok {
				t.Errorf("metric %s has no descriptor", m.Name)
				continue
			}
			if len(m.LabelValues) != len(d.LabelKeys) || m.MetricType != metricDescByName[m.Name].typ || m.Timestamp != 0 || m.Value == nil {
				t.Errorf("metric %v does not match its descriptor %v", m, d)
			}
			key := m.Name + "{" + strings.Join(m.LabelValues, ",") + "}"
			if seen[key] {
				t.Errorf("series %s twice", key)
			}
			seen[key] = true
		}
	}
}

// value finds metric name among ms with the given extra label values (after
// metricLabels), or fails.
func value(t *testing.T, ms []*runtimeapi.Metric, name string, extra ...string) uint64 {
	t.Helper()
	for _, m := range ms {
		if m.Name == name && slices.Equal(m.LabelValues[len(metricLabels):], extra) {
			return m.Value.Value
		}
	}
	t.Fatalf("no metric %s%v", name, extra)
	return 0
}

func names(ms []*runtimeapi.Metric) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		out[m.Name] = true
	}
	return out
}

// fullStats is a container cgroup with every counter a host can have.
func fullStats() cgroupusage.Stats {
	return cgroupusage.Stats{
		CPU: cgroupusage.CPUStats{Usage: 2500 * time.Millisecond, User: 1900 * time.Millisecond, System: 600 * time.Millisecond,
			Periods: 50, ThrottledPeriods: 7, Throttled: 3200 * time.Millisecond},
		Memory: cgroupusage.MemoryStats{Usage: 8000, MaxUsage: 9000, WorkingSet: 6000, RSS: 3000, Cache: 4000, MappedFile: 100,
			Kernel: 200, Swap: 10, Failcnt: 1, PageFaults: 640, MajorPageFaults: 2, HierarchyPageFaults: 700,
			HierarchyMajorPageFaults: 3, Reservation: 512, OOMKills: 1},
		Pids:     cgroupusage.PidsStats{Current: 5, Limit: 1024},
		IO:       []cgroupusage.DeviceIO{{Major: 8, Minor: 0, ReadBytes: 4096, WriteBytes: 8192, Reads: 1, Writes: 2}},
		Hugetlb:  []cgroupusage.HugetlbUsage{{PageSize: "2MB", Usage: 2 << 20, MaxUsage: 4 << 20, HasMax: true}},
		Pressure: &cgroupusage.Pressure{CPU: cgroupusage.PressureTotals{Some: 3 * time.Second, Full: time.Second}},
		Procs:    []int{42, 43},
	}
}

// ListPodSandboxMetrics: the ready sandboxes only; the pod's interfaces at
// pod level; each running container's cgroup, processes, writable layer
// and resources, labelled as cAdvisor labels them.
func TestListPodSandboxMetrics(t *testing.T) {
	f := newStatsFixture(t)
	ctx := context.Background()
	if _, err := f.rc.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: f.app,
		Linux: &runtimeapi.LinuxContainerResources{CpuPeriod: 50000, CpuQuota: 20000, CpuShares: 512, MemoryLimitInBytes: 64 << 20}}); err != nil {
		t.Fatal(err)
	}
	f.usage.stats[f.appCgroup] = fullStats()
	f.usage.procs = procusage.Usage{Processes: 2, Threads: 6, FileDescriptors: 9, Sockets: 2}
	f.usage.nofile[42] = 1024
	f.usage.devices[[2]uint64{8, 0}] = "/dev/sda"
	f.usage.layers[f.app] = diskusage.Usage{Bytes: 8192, Inodes: 12}
	f.usage.fs[f.app] = diskusage.FS{Device: "/dev/sda1", Capacity: 1 << 30, Available: 1 << 29, Inodes: 1000, InodesFree: 400}
	f.usage.ifs["/run/netns/"+f.web[:4]] = []Interface{
		{Name: "eth0", RxBytes: 100, RxPackets: 2, RxErrors: 1, RxDropped: 3, TxBytes: 200, TxPackets: 4, TxErrors: 5, TxDropped: 6, Default: true},
		{Name: "net1", RxBytes: 7},
	}
	// sql's cgroup is gone (it exited meanwhile): its pod is reported
	// without it.
	r, err := f.rc.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	checkMetrics(t, r.PodMetrics)
	bySandbox := map[string]*runtimeapi.PodSandboxMetrics{}
	for _, pm := range r.PodMetrics {
		bySandbox[pm.PodSandboxId] = pm
	}
	if len(bySandbox) != 2 || bySandbox[f.web] == nil || bySandbox[f.db] == nil {
		t.Fatalf("metrics of sandboxes %v, want web and db (gone is stopped)", bySandbox)
	}
	db := bySandbox[f.db]
	if len(db.ContainerMetrics) != 0 || len(db.Metrics) != 0 {
		t.Errorf("db: %v, want no container metrics (sql's cgroup is gone) and no network (no netns counters)", db)
	}

	web := bySandbox[f.web]
	if got := web.Metrics[0].LabelValues; !slices.Equal(got, []string{"", f.webCgroup, "", f.web, "ns", "web", "eth0"}) {
		t.Errorf("pod network labels %v, want no container, the pod cgroup as id, the sandbox as name, eth0", got)
	}
	for name, want := range map[string]uint64{
		"container_network_receive_bytes_total": 100, "container_network_receive_packets_total": 2,
		"container_network_receive_errors_total": 1, "container_network_receive_packets_dropped_total": 3,
		"container_network_transmit_bytes_total": 200, "container_network_transmit_packets_total": 4,
		"container_network_transmit_errors_total": 5, "container_network_transmit_packets_dropped_total": 6,
	} {
		if got := value(t, web.Metrics, name, "eth0"); got != want {
			t.Errorf("%s{eth0} = %d, want %d", name, got, want)
		}
	}
	if got := value(t, web.Metrics, "container_network_receive_bytes_total", "net1"); got != 7 {
		t.Errorf("net1 received %d, want 7", got)
	}

	// side is created, not running: only app.
	if len(web.ContainerMetrics) != 1 || web.ContainerMetrics[0].ContainerId != f.app {
		t.Fatalf("web's container metrics %v, want app's only", web.ContainerMetrics)
	}
	app := web.ContainerMetrics[0].Metrics
	if got := app[0].LabelValues; !slices.Equal(got, []string{"app", f.appCgroup, "busybox", f.app, "ns", "web"}) {
		t.Errorf("container labels %v, want cAdvisor's: name in the pod, cgroup, image, ID, namespace, pod", got)
	}
	for _, tc := range []struct {
		name  string
		extra []string
		want  uint64
	}{
		{"container_cpu_usage_seconds_total", []string{"total"}, 2}, // whole seconds
		{"container_cpu_user_seconds_total", nil, 1},
		{"container_cpu_system_seconds_total", nil, 0},
		{"container_cpu_cfs_periods_total", nil, 50},
		{"container_cpu_cfs_throttled_periods_total", nil, 7},
		{"container_cpu_cfs_throttled_seconds_total", nil, 3},
		{"container_memory_usage_bytes", nil, 8000},
		{"container_memory_max_usage_bytes", nil, 9000},
		{"container_memory_working_set_bytes", nil, 6000},
		{"container_memory_rss", nil, 3000},
		{"container_memory_cache", nil, 4000},
		{"container_memory_mapped_file", nil, 100},
		{"container_memory_kernel_usage", nil, 200},
		{"container_memory_swap", nil, 10},
		{"container_memory_failcnt", nil, 1},
		{"container_memory_failures_total", []string{"pgfault", "container"}, 640},
		{"container_memory_failures_total", []string{"pgfault", "hierarchy"}, 700},
		{"container_memory_failures_total", []string{"pgmajfault", "container"}, 2},
		{"container_memory_failures_total", []string{"pgmajfault", "hierarchy"}, 3},
		{"container_oom_events_total", nil, 1},
		{"container_fs_reads_bytes_total", []string{"/dev/sda"}, 4096},
		{"container_fs_writes_total", []string{"/dev/sda"}, 2},
		{"container_blkio_device_usage_total", []string{"/dev/sda", "8", "0", "Write"}, 8192},
		{"container_hugetlb_usage_bytes", []string{"2MB"}, 2 << 20},
		{"container_hugetlb_max_usage_bytes", []string{"2MB"}, 4 << 20},
		{"container_pressure_cpu_waiting_seconds_total", nil, 3},
		{"container_pressure_cpu_stalled_seconds_total", nil, 1},
		{"container_processes", nil, 2},
		{"container_threads", nil, 5}, // pids.current, where there is one
		{"container_threads_max", nil, 1024},
		{"container_file_descriptors", nil, 9},
		{"container_sockets", nil, 2},
		{"container_ulimits_soft", []string{"max_open_files"}, 1024},
		{"container_fs_usage_bytes", []string{"/dev/sda1"}, 8192},
		{"container_fs_limit_bytes", []string{"/dev/sda1"}, 1 << 30},
		{"container_fs_inodes_total", []string{"/dev/sda1"}, 1000},
		{"container_fs_inodes_free", []string{"/dev/sda1"}, 400},
		{"container_spec_cpu_period", nil, 50000},
		{"container_spec_cpu_quota", nil, 20000},
		{"container_spec_cpu_shares", nil, 512},
		{"container_spec_memory_limit_bytes", nil, 64 << 20},
		{"container_spec_memory_swap_limit_bytes", nil, 0},
		{"container_spec_memory_reservation_limit_bytes", nil, 512},
		{"container_start_time_seconds", nil, 300},
		{"container_last_seen", nil, 100},
	} {
		if got := value(t, app, tc.name, tc.extra...); got != tc.want {
			t.Errorf("%s%v = %d, want %d", tc.name, tc.extra, got, tc.want)
		}
	}
	// On a host with everything, every descriptor has a value.
	have := names(slices.Concat(web.Metrics, app))
	for _, d := range metricDescs {
		if !have[d.name] {
			t.Errorf("no value for %s", d.name)
		}
	}
	if len(f.usage.procsAsked) != 1 || !slices.Equal(f.usage.procsAsked[0], []int{42, 43}) {
		t.Errorf("processes asked about %v, want the cgroup's", f.usage.procsAsked)
	}
}

// On the leanest host (no block I/O accounting, huge pages or pressure per
// cgroup, no pids controller) and a container that asked for no resources,
// every metric but the host-dependent ones is still there: what critest
// asks of a running container.
func TestContainerMetricsOnALeanHost(t *testing.T) {
	f := newStatsFixture(t)
	f.usage.stats[f.appCgroup] = cgroupusage.Stats{
		CPU: cgroupusage.CPUStats{Usage: time.Second}, Memory: cgroupusage.MemoryStats{Usage: 10, WorkingSet: 5}, Procs: []int{42},
	}
	f.usage.procs = procusage.Usage{Processes: 1, Threads: 3}
	f.usage.layers[f.app] = diskusage.Usage{Bytes: 4096, Inodes: 1}
	f.usage.fs[f.app] = diskusage.FS{Device: "0:42", Capacity: 1 << 20}
	f.usage.ifs["/run/netns/"+f.web[:4]] = []Interface{{Name: "eth0", Default: true}}
	r, err := f.rc.ListPodSandboxMetrics(context.Background(), &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	checkMetrics(t, r.PodMetrics)
	var web *runtimeapi.PodSandboxMetrics
	for _, pm := range r.PodMetrics {
		if pm.PodSandboxId == f.web {
			web = pm
		}
	}
	if web == nil || len(web.ContainerMetrics) != 1 {
		t.Fatalf("metrics %v", r.PodMetrics)
	}
	app := web.ContainerMetrics[0].Metrics
	have := names(slices.Concat(web.Metrics, app))
	for _, n := range cadvisorNames {
		if !have[n] && !slices.Contains(hostDependent, n) {
			t.Errorf("no value for %s", n)
		}
	}
	for name, want := range map[string]uint64{
		"container_threads": 3, "container_spec_cpu_period": defaultCPUPeriod, "container_spec_cpu_shares": defaultCPUShares,
		"container_spec_memory_limit_bytes": 0, "container_cpu_usage_seconds_total": 1,
	} {
		extra := []string(nil)
		if name == "container_cpu_usage_seconds_total" {
			extra = []string{"total"}
		}
		if got := value(t, app, name, extra...); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	if have["container_spec_cpu_quota"] {
		t.Error("container_spec_cpu_quota without a quota, want none (as cAdvisor)")
	}
}

func TestListPodSandboxMetricsCancelled(t *testing.T) {
	f := newStatsFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.rc.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{}); err == nil {
		t.Error("a cancelled call succeeded")
	}
}
