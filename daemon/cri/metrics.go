package cri

import (
	"context"
	"slices"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/spec"
)

// series gathers the metrics of one container, or of a pod, under its
// label values (metricLabels').
type series struct {
	labels []string
	out    []*runtimeapi.Metric
}

// add appends metric name (one of metricDescs) with value v and the values
// of the labels its descriptor adds. Metrics are read when asked for, so
// they carry no timestamp (CRI: 0 means gathered live).
func (s *series) add(name string, v uint64, extra ...string) {
	s.out = append(s.out, &runtimeapi.Metric{
		Name: name, MetricType: metricDescByName[name].typ,
		LabelValues: slices.Concat(s.labels, extra), Value: &runtimeapi.UInt64Value{Value: v},
	})
}

// seconds is d in whole seconds (CRI metric values are integers).
func seconds(d time.Duration) uint64 { return uint64(max(d, 0) / time.Second) }

// sandboxMetrics is sb's metrics: the pod's network counters and the
// metrics of each of its containers (of sb) that runs. Each read is one pass over
// files of the host (no cache, no background collection); a container
// whose cgroup is gone meanwhile is left out.
func (s *runtimeService) sandboxMetrics(ctx context.Context, sb Sandbox, containers []Container) *runtimeapi.PodSandboxMetrics {
	meta := sb.config().GetMetadata()
	out := &runtimeapi.PodSandboxMetrics{
		PodSandboxId: sb.ID, Metrics: s.podNetworkMetrics(sb, meta), ContainerMetrics: []*runtimeapi.ContainerMetrics{},
	}
	for _, c := range containers {
		if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING || sb.Cgroup == "" {
			continue
		}
		if cm := s.containerMetrics(ctx, c, sb, meta); cm != nil {
			out.ContainerMetrics = append(out.ContainerMetrics, cm)
		}
	}
	return out
}

// podNetworkMetrics is the counters of the interfaces of sb's network
// namespace, labelled as the pod's (no container, the pod cgroup as id,
// the sandbox ID as name); none for a sandbox on the host's network.
func (s *runtimeService) podNetworkMetrics(sb Sandbox, meta *runtimeapi.PodSandboxMetadata) []*runtimeapi.Metric {
	if sb.NetnsPath == "" {
		return []*runtimeapi.Metric{}
	}
	ifs, err := s.cfg.Usage.Interfaces(sb.NetnsPath)
	if err != nil {
		return []*runtimeapi.Metric{}
	}
	m := series{labels: []string{"", sb.Cgroup, "", sb.ID, meta.GetNamespace(), meta.GetName()}, out: []*runtimeapi.Metric{}}
	for _, i := range ifs {
		m.add("container_network_receive_bytes_total", i.RxBytes, i.Name)
		m.add("container_network_receive_packets_total", i.RxPackets, i.Name)
		m.add("container_network_receive_packets_dropped_total", i.RxDropped, i.Name)
		m.add("container_network_receive_errors_total", i.RxErrors, i.Name)
		m.add("container_network_transmit_bytes_total", i.TxBytes, i.Name)
		m.add("container_network_transmit_packets_total", i.TxPackets, i.Name)
		m.add("container_network_transmit_packets_dropped_total", i.TxDropped, i.Name)
		m.add("container_network_transmit_errors_total", i.TxErrors, i.Name)
	}
	return m.out
}

// containerMetrics is running container c's metrics: its cgroup's
// counters, its processes, its writable layer and its resources; nil when
// its cgroup cannot be read (it stopped meanwhile).
func (s *runtimeService) containerMetrics(ctx context.Context, c Container, sb Sandbox, meta *runtimeapi.PodSandboxMetadata) *runtimeapi.ContainerMetrics {
	cgroup := spec.ContainerCgroup(sb.Cgroup, c.ID)
	st, err := s.cfg.Usage.CgroupStats(cgroup)
	if err != nil {
		return nil
	}
	cfg := c.config()
	m := &series{labels: []string{cfg.GetMetadata().GetName(), cgroup, c.Image, c.ID, meta.GetNamespace(), meta.GetName()}}
	m.add("container_last_seen", uint64(max(s.cfg.Now().Unix(), 0)))
	started := c.StartedAt
	if started.IsZero() {
		started = c.CreatedAt
	}
	m.add("container_start_time_seconds", uint64(max(started.Unix(), 0)))
	cpuMetrics(m, st.CPU)
	memoryMetrics(m, st.Memory)
	s.blockIOMetrics(m, st.IO)
	hugetlbMetrics(m, st.Hugetlb)
	pressureMetrics(m, st.Pressure)
	s.processMetrics(m, c, st)
	s.filesystemMetrics(ctx, m, c.ID)
	specMetrics(m, cfg.GetLinux().GetResources(), st.Memory.Reservation)
	return &runtimeapi.ContainerMetrics{ContainerId: c.ID, Metrics: m.out}
}
