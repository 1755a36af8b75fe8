package cgroupusage

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Stats is everything a cgroup's counters tell, the figures cAdvisor
// exports for a container. A figure the host does not keep (a controller
// not mounted or not enabled, an older kernel) is zero.
type Stats struct {
	CPU    CPUStats
	Memory MemoryStats
	Pids   PidsStats
	// IO is the cgroup's block I/O per device (empty when the kernel
	// accounts none).
	IO []DeviceIO
	// Hugetlb is the huge page usage per page size (empty without the
	// hugetlb controller).
	Hugetlb []HugetlbUsage
	// Pressure is the cgroup's pressure stall totals; nil where the kernel
	// keeps none per cgroup (v1).
	Pressure *Pressure
	// Procs are the processes in the cgroup itself (cgroup.procs).
	Procs []int
	// At is when the stats were read.
	At time.Time
}

// CPUStats is the cgroup's cumulative CPU time and CFS throttling.
type CPUStats struct {
	Usage, User, System time.Duration
	// Periods is the number of CFS enforcement periods that elapsed (only
	// counted while a quota is set), ThrottledPeriods those in which the
	// cgroup was throttled, for Throttled in all.
	Periods, ThrottledPeriods uint64
	Throttled                 time.Duration
}

// MemoryStats is the cgroup's memory, in bytes but for the counts.
type MemoryStats struct {
	// Usage is the memory charged, page cache included; MaxUsage its peak
	// (0 where the kernel keeps none).
	Usage, MaxUsage uint64
	// WorkingSet is Usage less the inactive file pages (the kubelet's).
	WorkingSet uint64
	// RSS is anonymous memory, Cache the page cache, MappedFile the mapped
	// file pages, Kernel the kernel memory, Swap the swap in use.
	RSS, Cache, MappedFile, Kernel, Swap uint64
	// Failcnt counts the times usage hit the limit.
	Failcnt uint64
	// PageFaults and MajorPageFaults are the cgroup's own; the Hierarchy
	// ones include its descendants (the same figures on v2).
	PageFaults, MajorPageFaults                   uint64
	HierarchyPageFaults, HierarchyMajorPageFaults uint64
	// Reservation is the soft limit (v1 memory.soft_limit_in_bytes, v2
	// memory.low), 0 when none.
	Reservation uint64
	// OOMKills counts the processes the OOM killer killed in the cgroup.
	OOMKills uint64
}

// PidsStats is the cgroup's task count and limit (0: none, or no pids
// controller).
type PidsStats struct {
	Current, Limit uint64
}

// DeviceIO is the block I/O of a cgroup on one device.
type DeviceIO struct {
	Major, Minor          uint64
	ReadBytes, WriteBytes uint64
	Reads, Writes         uint64
}

// HugetlbUsage is the huge pages of one size a cgroup uses.
type HugetlbUsage struct {
	// PageSize is the size as the kernel names it in the file names
	// ("2MB", "1GB").
	PageSize string
	Usage    uint64
	// MaxUsage is the peak; HasMax is false where the kernel keeps none
	// (v2).
	MaxUsage uint64
	HasMax   bool
}

// Pressure is the pressure stall totals of a cgroup's resources.
type Pressure struct {
	CPU, Memory, IO PressureTotals
}

// PressureTotals is the time some task waited for a resource (Some) and
// the time every task was stalled on it at once (Full).
type PressureTotals struct {
	Some, Full time.Duration
}

// Stats reads every counter of cgroup path (absolute from the hierarchy
// roots); a cgroup that is gone is an error.
func (r Reader) Stats(path string) (Stats, error) {
	root := r.Root
	if root == "" {
		root = DefaultRoot
	}
	var s Stats
	var err error
	if _, statErr := os.Stat(filepath.Join(root, "cgroup.controllers")); statErr == nil {
		s, err = statsV2(filepath.Join(root, path))
	} else {
		s, err = statsV1(root, path)
	}
	if err != nil {
		return Stats{}, fmt.Errorf("read stats of cgroup %s: %w", path, err)
	}
	if r.Now != nil {
		s.At = r.Now()
	} else {
		s.At = time.Now()
	}
	return s, nil
}
