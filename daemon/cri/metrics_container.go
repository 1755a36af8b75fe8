package cri

import (
	"context"
	"strconv"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/cgroupusage"
)

// Defaults the kernel applies to a cgroup whose CPU resources are not set,
// reported for a container that asked for none (as cAdvisor reads them).
const (
	defaultCPUPeriod = 100000
	defaultCPUShares = 1024
)

func cpuMetrics(m *series, c cgroupusage.CPUStats) {
	m.add("container_cpu_usage_seconds_total", seconds(c.Usage), "total")
	m.add("container_cpu_user_seconds_total", seconds(c.User))
	m.add("container_cpu_system_seconds_total", seconds(c.System))
	m.add("container_cpu_cfs_periods_total", c.Periods)
	m.add("container_cpu_cfs_throttled_periods_total", c.ThrottledPeriods)
	m.add("container_cpu_cfs_throttled_seconds_total", seconds(c.Throttled))
}

func memoryMetrics(m *series, mem cgroupusage.MemoryStats) {
	m.add("container_memory_usage_bytes", mem.Usage)
	m.add("container_memory_max_usage_bytes", mem.MaxUsage)
	m.add("container_memory_working_set_bytes", mem.WorkingSet)
	m.add("container_memory_rss", mem.RSS)
	m.add("container_memory_cache", mem.Cache)
	m.add("container_memory_mapped_file", mem.MappedFile)
	m.add("container_memory_kernel_usage", mem.Kernel)
	m.add("container_memory_swap", mem.Swap)
	m.add("container_memory_failcnt", mem.Failcnt)
	m.add("container_memory_failures_total", mem.PageFaults, "pgfault", "container")
	m.add("container_memory_failures_total", mem.HierarchyPageFaults, "pgfault", "hierarchy")
	m.add("container_memory_failures_total", mem.MajorPageFaults, "pgmajfault", "container")
	m.add("container_memory_failures_total", mem.HierarchyMajorPageFaults, "pgmajfault", "hierarchy")
	m.add("container_oom_events_total", mem.OOMKills)
}

// blockIOMetrics is the cgroup's I/O per device, the device named as
// cAdvisor does ("/dev/sda").
func (s *runtimeService) blockIOMetrics(m *series, io []cgroupusage.DeviceIO) {
	for _, d := range io {
		dev := s.cfg.Usage.DeviceName(d.Major, d.Minor)
		major, minor := strconv.FormatUint(d.Major, 10), strconv.FormatUint(d.Minor, 10)
		m.add("container_fs_reads_bytes_total", d.ReadBytes, dev)
		m.add("container_fs_reads_total", d.Reads, dev)
		m.add("container_fs_writes_bytes_total", d.WriteBytes, dev)
		m.add("container_fs_writes_total", d.Writes, dev)
		m.add("container_blkio_device_usage_total", d.ReadBytes, dev, major, minor, "Read")
		m.add("container_blkio_device_usage_total", d.WriteBytes, dev, major, minor, "Write")
	}
}

func hugetlbMetrics(m *series, hs []cgroupusage.HugetlbUsage) {
	for _, h := range hs {
		m.add("container_hugetlb_usage_bytes", h.Usage, h.PageSize)
		if h.HasMax {
			m.add("container_hugetlb_max_usage_bytes", h.MaxUsage, h.PageSize)
		}
	}
}

// pressureMetrics: waiting is PSI's "some" total, stalled its "full" one.
func pressureMetrics(m *series, p *cgroupusage.Pressure) {
	if p == nil {
		return
	}
	m.add("container_pressure_cpu_waiting_seconds_total", seconds(p.CPU.Some))
	m.add("container_pressure_cpu_stalled_seconds_total", seconds(p.CPU.Full))
	m.add("container_pressure_memory_waiting_seconds_total", seconds(p.Memory.Some))
	m.add("container_pressure_memory_stalled_seconds_total", seconds(p.Memory.Full))
	m.add("container_pressure_io_waiting_seconds_total", seconds(p.IO.Some))
	m.add("container_pressure_io_stalled_seconds_total", seconds(p.IO.Full))
}

// processMetrics counts the cgroup's processes and what they hold; the
// threads are the pids controller's count (every task) where it has one,
// and the soft limit on open files is the container's init process's.
func (s *runtimeService) processMetrics(m *series, c Container, st cgroupusage.Stats) {
	p := s.cfg.Usage.Processes(st.Procs)
	threads := st.Pids.Current
	if threads == 0 {
		threads = p.Threads
	}
	m.add("container_processes", p.Processes)
	m.add("container_threads", threads)
	m.add("container_threads_max", st.Pids.Limit)
	m.add("container_file_descriptors", p.FileDescriptors)
	m.add("container_sockets", p.Sockets)
	if c.Pid > 0 {
		if n, err := s.cfg.Usage.MaxOpenFiles(int(c.Pid)); err == nil {
			m.add("container_ulimits_soft", n, "max_open_files")
		}
	}
}

// filesystemMetrics is the container's writable layer (what it has
// written) on the filesystem that holds it (its size and inodes).
func (s *runtimeService) filesystemMetrics(ctx context.Context, m *series, id string) {
	fs, err := s.cfg.Usage.WritableLayerFS(id)
	if err != nil {
		return
	}
	layer, err := s.cfg.Usage.WritableLayer(ctx, id)
	if err != nil {
		return
	}
	m.add("container_fs_usage_bytes", layer.Bytes, fs.Device)
	m.add("container_fs_limit_bytes", fs.Capacity, fs.Device)
	m.add("container_fs_inodes_total", fs.Inodes, fs.Device)
	m.add("container_fs_inodes_free", fs.InodesFree, fs.Device)
}

// specMetrics is the resources the container was created (or last
// updated) with; reservation is its cgroup's soft limit, which CRI's
// resources do not carry.
func specMetrics(m *series, r *runtimeapi.LinuxContainerResources, reservation uint64) {
	period, shares := uint64(r.GetCpuPeriod()), uint64(r.GetCpuShares())
	if r.GetCpuPeriod() <= 0 {
		period = defaultCPUPeriod
	}
	if r.GetCpuShares() <= 0 {
		shares = defaultCPUShares
	}
	m.add("container_spec_cpu_period", period)
	m.add("container_spec_cpu_shares", shares)
	if r.GetCpuQuota() > 0 {
		m.add("container_spec_cpu_quota", uint64(r.GetCpuQuota()))
	}
	m.add("container_spec_memory_limit_bytes", uint64(max(r.GetMemoryLimitInBytes(), 0)))
	m.add("container_spec_memory_swap_limit_bytes", uint64(max(r.GetMemorySwapLimitInBytes(), 0)))
	m.add("container_spec_memory_reservation_limit_bytes", reservation)
}
