package cgroupusage

import (
	"os"
	"path/filepath"
	"time"
)

// userHZ is the unit of cpuacct.stat (USER_HZ, 100 on every Linux ABI).
const userHZ = 100

// statsV1 reads a cgroup on a v1 (or hybrid) host: cpuacct, cpu, memory,
// pids, blkio and hugetlb hierarchies, and on a hybrid host the pressure
// totals of the cgroup's twin in the unified hierarchy. cpuacct.usage and
// the memory usage and memory.stat must be there; the rest is optional.
func statsV1(root, path string) (Stats, error) {
	acct, err := v1Hierarchy(root, "cpuacct", "cpu,cpuacct", "cpuacct,cpu")
	if err != nil {
		return Stats{}, err
	}
	var s Stats
	if s.CPU, err = cpuV1(filepath.Join(acct, path), v1Dir(root, path, "cpu", "cpu,cpuacct", "cpuacct,cpu")); err != nil {
		return Stats{}, err
	}
	memDir := filepath.Join(root, "memory", path)
	if s.Memory, err = memoryV1(memDir); err != nil {
		return Stats{}, err
	}
	if s.Procs, err = readProcs(filepath.Join(memDir, "cgroup.procs")); err != nil {
		return Stats{}, err
	}
	if d := v1Dir(root, path, "pids"); d != "" {
		s.Pids = PidsStats{Current: readOptional(filepath.Join(d, "pids.current")), Limit: readMax(filepath.Join(d, "pids.max"))}
	}
	if d := v1Dir(root, path, "blkio"); d != "" {
		s.IO = blkioV1(d)
	}
	unified := filepath.Join(root, "unified", path)
	if d := v1Dir(root, path, "hugetlb"); d != "" {
		s.Hugetlb = hugetlbUsage(d, "usage_in_bytes", "max_usage_in_bytes")
	} else {
		s.Hugetlb = hugetlbUsage(unified, "current", "")
	}
	s.Pressure = readPressure(unified)
	return s, nil
}

// v1Dir is cgroup path in the first of the named v1 hierarchies that is
// mounted under root, "" when none is.
func v1Dir(root, path string, names ...string) string {
	d, err := v1Hierarchy(root, names...)
	if err != nil {
		return ""
	}
	return filepath.Join(d, path)
}

// cpuV1 reads cpuacct.usage (ns) and cpuacct.stat (USER_HZ ticks) in
// acctDir, and cpu.stat's CFS figures in cpuDir ("" or missing: none).
func cpuV1(acctDir, cpuDir string) (CPUStats, error) {
	ns, err := readUint(filepath.Join(acctDir, "cpuacct.usage"))
	if err != nil {
		return CPUStats{}, err
	}
	c := CPUStats{Usage: time.Duration(ns)}
	ticks := readOptionalStat(filepath.Join(acctDir, "cpuacct.stat"))
	c.User = time.Duration(ticks["user"]) * time.Second / userHZ
	c.System = time.Duration(ticks["system"]) * time.Second / userHZ
	if cpuDir != "" {
		st := readOptionalStat(filepath.Join(cpuDir, "cpu.stat"))
		c.Periods, c.ThrottledPeriods = st["nr_periods"], st["nr_throttled"]
		c.Throttled = time.Duration(st["throttled_time"])
	}
	return c, nil
}

// memoryV1 reads the memory hierarchy's files of a cgroup: memory.stat's
// hierarchical total_* figures (a cgroup's own ones leave out its
// children), the usage and its peak, failcnt, kernel memory, the soft
// limit and memory.oom_control's oom_kill.
func memoryV1(dir string) (MemoryStats, error) {
	usage, err := readUint(filepath.Join(dir, "memory.usage_in_bytes"))
	if err != nil {
		return MemoryStats{}, err
	}
	st, err := readStat(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return MemoryStats{}, err
	}
	return MemoryStats{
		Usage: usage, MaxUsage: readOptional(filepath.Join(dir, "memory.max_usage_in_bytes")),
		WorkingSet: WorkingSet(usage, st["total_inactive_file"]),
		RSS:        st["total_rss"], Cache: st["total_cache"], MappedFile: st["total_mapped_file"], Swap: st["total_swap"],
		Kernel:     readOptional(filepath.Join(dir, "memory.kmem.usage_in_bytes")),
		Failcnt:    readOptional(filepath.Join(dir, "memory.failcnt")),
		PageFaults: st["pgfault"], MajorPageFaults: st["pgmajfault"],
		HierarchyPageFaults: st["total_pgfault"], HierarchyMajorPageFaults: st["total_pgmajfault"],
		Reservation: readMax(filepath.Join(dir, "memory.soft_limit_in_bytes")),
		OOMKills:    readOptionalStat(filepath.Join(dir, "memory.oom_control"))["oom_kill"],
	}, nil
}

// blkioV1 reads the throttle policy's recursive counters (kept whatever
// the I/O scheduler), falling back on the CFQ/BFQ ones.
func blkioV1(dir string) []DeviceIO {
	for _, prefix := range []string{"blkio.throttle.", "blkio.", "blkio.bfq."} {
		b, err := os.ReadFile(filepath.Join(dir, prefix+"io_service_bytes_recursive"))
		if err != nil {
			continue
		}
		ops, _ := os.ReadFile(filepath.Join(dir, prefix+"io_serviced_recursive"))
		if io := parseBlkio(b, ops); len(io) > 0 {
			return io
		}
	}
	return nil
}
