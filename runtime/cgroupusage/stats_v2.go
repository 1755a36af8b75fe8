package cgroupusage

import (
	"os"
	"path/filepath"
	"time"
)

// statsV2 reads a cgroup of the unified hierarchy. cpu.stat's usage_usec,
// memory.current and memory.stat must be there; the rest is optional (a
// controller not enabled in the parent, an older kernel).
func statsV2(dir string) (Stats, error) {
	cpu, err := readStat(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return Stats{}, err
	}
	usec, ok := cpu["usage_usec"]
	if !ok {
		return Stats{}, errNoUsage
	}
	var s Stats
	s.CPU = CPUStats{
		Usage: time.Duration(usec) * time.Microsecond, User: time.Duration(cpu["user_usec"]) * time.Microsecond,
		System: time.Duration(cpu["system_usec"]) * time.Microsecond, Periods: cpu["nr_periods"],
		ThrottledPeriods: cpu["nr_throttled"], Throttled: time.Duration(cpu["throttled_usec"]) * time.Microsecond,
	}
	if s.Memory, err = memoryV2(dir); err != nil {
		return Stats{}, err
	}
	if s.Procs, err = readProcs(filepath.Join(dir, "cgroup.procs")); err != nil {
		return Stats{}, err
	}
	s.Pids = PidsStats{Current: readOptional(filepath.Join(dir, "pids.current")), Limit: readMax(filepath.Join(dir, "pids.max"))}
	if b, err := os.ReadFile(filepath.Join(dir, "io.stat")); err == nil {
		s.IO = parseIOStat(b)
	}
	s.Hugetlb = hugetlbUsage(dir, "current", "")
	s.Pressure = readPressure(dir)
	return s, nil
}

// memoryV2 reads memory.current, memory.stat, memory.peak, the swap in
// use, memory.events (max: the times usage hit the limit, as runc counts
// v2's failcnt; oom_kill) and memory.low.
func memoryV2(dir string) (MemoryStats, error) {
	usage, err := readUint(filepath.Join(dir, "memory.current"))
	if err != nil {
		return MemoryStats{}, err
	}
	st, err := readStat(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return MemoryStats{}, err
	}
	kernel, ok := st["kernel"] // Linux 5.18+; before, its largest parts
	if !ok {
		kernel = st["kernel_stack"] + st["slab"] + st["percpu"] + st["sock"] + st["pagetables"]
	}
	events := readOptionalStat(filepath.Join(dir, "memory.events"))
	return MemoryStats{
		Usage: usage, MaxUsage: readOptional(filepath.Join(dir, "memory.peak")),
		WorkingSet: WorkingSet(usage, st["inactive_file"]),
		RSS:        st["anon"], Cache: st["file"], MappedFile: st["file_mapped"], Kernel: kernel,
		Swap:       readOptional(filepath.Join(dir, "memory.swap.current")),
		Failcnt:    events["max"],
		PageFaults: st["pgfault"], MajorPageFaults: st["pgmajfault"],
		HierarchyPageFaults: st["pgfault"], HierarchyMajorPageFaults: st["pgmajfault"],
		Reservation: readMax(filepath.Join(dir, "memory.low")),
		OOMKills:    events["oom_kill"],
	}, nil
}
