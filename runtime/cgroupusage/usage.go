// Package cgroupusage reads what a cgroup uses: its cumulative CPU time,
// its memory (usage, working set as the kubelet and cAdvisor count it, RSS,
// page faults, limit) and its process count, on cgroup v1 and v2 hosts, and
// turns two samples into a CPU rate. Stats reads every counter cAdvisor
// exports (CFS throttling, memory detail, OOM kills, pids, block I/O,
// huge pages, pressure) for the CRI metrics.
package cgroupusage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultRoot is where the cgroup hierarchies are mounted.
const DefaultRoot = "/sys/fs/cgroup"

// Sample is what a cgroup had used at one moment.
type Sample struct {
	// CPU is the cumulative CPU time of the cgroup's processes.
	CPU time.Duration
	// WorkingSet is the memory in use that cannot be reclaimed at once:
	// usage minus inactive file-backed pages, never below zero.
	WorkingSet uint64
	// MemoryUsage is the memory charged to the cgroup, page cache included.
	MemoryUsage uint64
	// RSS is the anonymous memory (and swap cache) of its processes.
	RSS uint64
	// PageFaults and MajorPageFaults count the faults of its processes.
	PageFaults, MajorPageFaults uint64
	// MemoryLimit is the cgroup's memory limit, 0 when unlimited.
	MemoryLimit uint64
	// Processes is the number of its processes (pids.current; 0 without
	// the pids controller).
	Processes uint64
	// At is when the sample was read.
	At time.Time
}

// Reader reads cgroups under Root (DefaultRoot when empty). On a pure
// cgroup v2 host (Root holds cgroup.controllers) it reads the unified
// hierarchy; otherwise the v1 cpuacct and memory hierarchies.
type Reader struct {
	Root string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Read samples cgroup path (absolute from the hierarchy roots, e.g.
// "/podd/pod<uid>").
func (r Reader) Read(path string) (Sample, error) {
	root := r.Root
	if root == "" {
		root = DefaultRoot
	}
	var s Sample
	var err error
	if _, statErr := os.Stat(filepath.Join(root, "cgroup.controllers")); statErr == nil {
		s, err = readV2(filepath.Join(root, path))
	} else {
		s, err = readV1(root, path)
	}
	if err != nil {
		return Sample{}, fmt.Errorf("read usage of cgroup %s: %w", path, err)
	}
	if r.Now != nil {
		s.At = r.Now()
	} else {
		s.At = time.Now()
	}
	return s, nil
}

// readV2 reads cpu.stat's usage_usec, memory.current and memory.stat's
// inactive_file.
func readV2(dir string) (Sample, error) {
	cpu, err := readStat(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return Sample{}, err
	}
	usec, ok := cpu["usage_usec"]
	if !ok {
		return Sample{}, errNoUsage
	}
	usage, err := readUint(filepath.Join(dir, "memory.current"))
	if err != nil {
		return Sample{}, err
	}
	mem, err := readStat(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return Sample{}, err
	}
	limit, err := readLimit(filepath.Join(dir, "memory.max"))
	if err != nil {
		return Sample{}, err
	}
	return Sample{
		CPU: time.Duration(usec) * time.Microsecond, WorkingSet: WorkingSet(usage, mem["inactive_file"]),
		MemoryUsage: usage, RSS: mem["anon"], PageFaults: mem["pgfault"], MajorPageFaults: mem["pgmajfault"],
		MemoryLimit: limit, Processes: readOptional(filepath.Join(dir, "pids.current")),
	}, nil
}

// readV1 reads cpuacct.usage (nanoseconds), memory.usage_in_bytes,
// memory.limit_in_bytes and memory.stat's hierarchical total_* figures (as
// cAdvisor: the cgroup's own ones leave out its children), and
// pids.current when the pids hierarchy is mounted.
func readV1(root, path string) (Sample, error) {
	cpuDir, err := v1Hierarchy(root, "cpuacct", "cpu,cpuacct", "cpuacct,cpu")
	if err != nil {
		return Sample{}, err
	}
	ns, err := readUint(filepath.Join(cpuDir, path, "cpuacct.usage"))
	if err != nil {
		return Sample{}, err
	}
	memDir := filepath.Join(root, "memory", path)
	usage, err := readUint(filepath.Join(memDir, "memory.usage_in_bytes"))
	if err != nil {
		return Sample{}, err
	}
	mem, err := readStat(filepath.Join(memDir, "memory.stat"))
	if err != nil {
		return Sample{}, err
	}
	limit, err := readLimit(filepath.Join(memDir, "memory.limit_in_bytes"))
	if err != nil {
		return Sample{}, err
	}
	return Sample{
		CPU: time.Duration(ns), WorkingSet: WorkingSet(usage, mem["total_inactive_file"]),
		MemoryUsage: usage, RSS: mem["total_rss"], PageFaults: mem["total_pgfault"], MajorPageFaults: mem["total_pgmajfault"],
		MemoryLimit: limit, Processes: readOptional(filepath.Join(root, "pids", path, "pids.current")),
	}, nil
}

// v1Unlimited is the smallest memory.limit_in_bytes v1 reports for "no
// limit" (LONG_MAX rounded down to the page size; 2^63-4096 on x86-64).
const v1Unlimited = 1 << 62

// readLimit reads a memory limit file: "max" (v2) or a v1 figure past
// v1Unlimited is no limit (0); a missing file too (a controller not
// enabled for the cgroup).
func readLimit(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v := string(bytes.TrimSpace(b))
	if v == "max" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	if n >= v1Unlimited {
		return 0, nil
	}
	return n, nil
}

// readOptional reads a number that a host may not have (0 then).
func readOptional(path string) uint64 {
	n, err := readUint(path)
	if err != nil {
		return 0
	}
	return n
}

// v1Hierarchy finds the mount of a v1 controller under one of its names.
func v1Hierarchy(root string, names ...string) (string, error) {
	for _, n := range names {
		d := filepath.Join(root, n)
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, nil
		}
	}
	return "", fmt.Errorf("no %s hierarchy under %s", names[0], root)
}

// WorkingSet is usage minus inactive file pages, floored at zero (the
// kubelet's container_memory_working_set_bytes).
func WorkingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile >= usage {
		return 0
	}
	return usage - inactiveFile
}

// Millicores is the CPU rate between two samples of one cgroup in
// thousandths of a core; 0 when b is not after a or the counter went back
// (the cgroup was re-created).
func Millicores(a, b Sample) int64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 || b.CPU < a.CPU {
		return 0
	}
	return int64(float64(b.CPU-a.CPU) / float64(wall) * 1000)
}

// NanoCores is the CPU rate between two samples of one cgroup in
// billionths of a core (CRI's usage_nano_cores); 0 as for Millicores.
func NanoCores(a, b Sample) uint64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 || b.CPU < a.CPU {
		return 0
	}
	return uint64(float64(b.CPU-a.CPU) / float64(wall) * 1e9)
}

// Available is the memory the cgroup may still take before its limit
// (limit minus working set, as the kubelet counts it), 0 when unlimited or
// at the limit.
func (s Sample) Available() uint64 {
	if s.MemoryLimit == 0 || s.WorkingSet >= s.MemoryLimit {
		return 0
	}
	return s.MemoryLimit - s.WorkingSet
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// readStat parses a flat keyed file ("key value" lines).
func readStat(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(" "))
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil {
			continue
		}
		out[string(k)] = n
	}
	return out, nil
}
