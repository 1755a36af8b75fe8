package cri

import (
	"context"
	"sync"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/cgroupusage"
	"github.com/podd-dev/podd/runtime/diskusage"
	"github.com/podd-dev/podd/runtime/procusage"
	"github.com/podd-dev/podd/runtime/spec"
)

// Usage reads what CRI containers and sandboxes use on the host.
type Usage interface {
	// Cgroup samples a cgroup (path from the hierarchy roots).
	Cgroup(path string) (cgroupusage.Sample, error)
	// WritableLayer is what container id's writable layer (its overlay
	// upper dir) takes on disk.
	WritableLayer(ctx context.Context, id string) (diskusage.Usage, error)
	// Interfaces reads the counters of the interfaces in the netns pinned
	// at path; the pod's own (CNI's) is marked Default.
	Interfaces(path string) ([]Interface, error)

	// CgroupStats reads every counter of a cgroup (path from the hierarchy
	// roots), for the metrics.
	CgroupStats(path string) (cgroupusage.Stats, error)
	// Processes counts what the processes pids hold.
	Processes(pids []int) procusage.Usage
	// MaxOpenFiles is the soft limit on open files of process pid.
	MaxOpenFiles(pid int) (uint64, error)
	// WritableLayerFS is the filesystem container id's writable layer is
	// on.
	WritableLayerFS(id string) (diskusage.FS, error)
	// DeviceName names block device major:minor ("/dev/sda").
	DeviceName(major, minor uint64) string
}

// Interface is one network interface's counters.
type Interface struct {
	Name                                    string
	RxBytes, RxPackets, RxErrors, RxDropped uint64
	TxBytes, TxPackets, TxErrors, TxDropped uint64
	// Default marks the pod's own interface (CNI's eth0).
	Default bool
}

// cpuSamples keeps the last CPU sample of each container and sandbox, for
// usage_nano_cores between two stats calls (containerd's stats cache).
type cpuSamples struct {
	mu   sync.Mutex
	last map[string]cgroupusage.Sample
}

// nanoCores is the CPU rate of id since its previous sample (0 for the
// first), and keeps s as the previous one unless it is older.
func (c *cpuSamples) nanoCores(id string, s cgroupusage.Sample) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]cgroupusage.Sample{}
	}
	prev, ok := c.last[id]
	if ok && !s.At.After(prev.At) {
		return 0
	}
	c.last[id] = s
	if !ok {
		return 0
	}
	return cgroupusage.NanoCores(prev, s)
}

// keep forgets the samples of every ID not in live (removed containers and
// sandboxes).
func (c *cpuSamples) keep(live map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.last {
		if !live[id] {
			delete(c.last, id)
		}
	}
}

// cpuStats is a sample's CPU figures for id.
func (c *cpuSamples) cpuStats(id string, s cgroupusage.Sample) *runtimeapi.CpuUsage {
	return &runtimeapi.CpuUsage{
		Timestamp:            s.At.UnixNano(),
		UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: uint64(s.CPU.Nanoseconds())},
		UsageNanoCores:       &runtimeapi.UInt64Value{Value: c.nanoCores(id, s)},
	}
}

// memoryStats is a sample's memory figures, as the kubelet counts them.
func memoryStats(s cgroupusage.Sample) *runtimeapi.MemoryUsage {
	m := &runtimeapi.MemoryUsage{
		Timestamp:       s.At.UnixNano(),
		WorkingSetBytes: &runtimeapi.UInt64Value{Value: s.WorkingSet},
		UsageBytes:      &runtimeapi.UInt64Value{Value: s.MemoryUsage},
		RssBytes:        &runtimeapi.UInt64Value{Value: s.RSS},
		PageFaults:      &runtimeapi.UInt64Value{Value: s.PageFaults},
		MajorPageFaults: &runtimeapi.UInt64Value{Value: s.MajorPageFaults},
	}
	if s.MemoryLimit != 0 {
		m.AvailableBytes = &runtimeapi.UInt64Value{Value: s.Available()}
	}
	return m
}

// containerStats is c's stats: its attributes, its cgroup's CPU and
// memory when it can be read (a container that does not run has none),
// and its writable layer.
func (s *runtimeService) containerStats(ctx context.Context, c Container, sb Sandbox) *runtimeapi.ContainerStats {
	cfg := c.config()
	out := &runtimeapi.ContainerStats{Attributes: &runtimeapi.ContainerAttributes{
		Id: c.ID, Metadata: cfg.GetMetadata(), Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(),
	}}
	if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING && sb.Cgroup != "" {
		if smp, err := s.cfg.Usage.Cgroup(spec.ContainerCgroup(sb.Cgroup, c.ID)); err == nil {
			out.Cpu = s.cpu.cpuStats(c.ID, smp)
			out.Memory = memoryStats(smp)
		}
	}
	if u, err := s.cfg.Usage.WritableLayer(ctx, c.ID); err == nil {
		out.WritableLayer = &runtimeapi.FilesystemUsage{
			Timestamp:  s.cfg.Now().UnixNano(),
			FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: s.cfg.ImageFsDir},
			UsedBytes:  &runtimeapi.UInt64Value{Value: u.Bytes},
			InodesUsed: &runtimeapi.UInt64Value{Value: u.Inodes},
		}
	}
	return out
}

// sandboxStats is sb's stats: its attributes and, while it is ready, its
// pod cgroup's CPU, memory and process count, its interfaces' counters
// (the first one, the pod's, as the network's default) and its
// containers' stats.
func (s *runtimeService) sandboxStats(ctx context.Context, sb Sandbox, containers []Container) *runtimeapi.PodSandboxStats {
	cfg := sb.config()
	out := &runtimeapi.PodSandboxStats{Attributes: &runtimeapi.PodSandboxAttributes{
		Id: sb.ID, Metadata: cfg.GetMetadata(), Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(),
	}}
	if !sb.Ready {
		return out
	}
	linux := &runtimeapi.LinuxPodSandboxStats{}
	if smp, err := s.cfg.Usage.Cgroup(sb.Cgroup); err == nil {
		linux.Cpu = s.cpu.cpuStats(sb.ID, smp)
		linux.Memory = memoryStats(smp)
		linux.Process = &runtimeapi.ProcessUsage{Timestamp: smp.At.UnixNano(), ProcessCount: &runtimeapi.UInt64Value{Value: smp.Processes}}
	}
	if sb.NetnsPath != "" {
		if ifs, err := s.cfg.Usage.Interfaces(sb.NetnsPath); err == nil {
			linux.Network = networkStats(s.cfg.Now().UnixNano(), ifs)
		}
	}
	for _, c := range containers {
		if c.SandboxID == sb.ID {
			linux.Containers = append(linux.Containers, s.containerStats(ctx, c, sb))
		}
	}
	out.Linux = linux
	return out
}

// networkStats is the counters of a sandbox's interfaces; the pod's own
// (CNI's eth0, else the first) is the default one.
func networkStats(at int64, ifs []Interface) *runtimeapi.NetworkUsage {
	if len(ifs) == 0 {
		return nil
	}
	out := &runtimeapi.NetworkUsage{Timestamp: at}
	for _, i := range ifs {
		u := &runtimeapi.NetworkInterfaceUsage{
			Name: i.Name, RxBytes: &runtimeapi.UInt64Value{Value: i.RxBytes}, RxErrors: &runtimeapi.UInt64Value{Value: i.RxErrors},
			TxBytes: &runtimeapi.UInt64Value{Value: i.TxBytes}, TxErrors: &runtimeapi.UInt64Value{Value: i.TxErrors},
		}
		if i.Default {
			out.DefaultInterface = u
			continue
		}
		out.Interfaces = append(out.Interfaces, u)
	}
	if out.DefaultInterface == nil {
		out.DefaultInterface, out.Interfaces = out.Interfaces[0], out.Interfaces[1:]
	}
	return out
}
