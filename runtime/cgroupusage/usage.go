// Package cgroupusage reads what a cgroup uses: its cumulative CPU time and
// its memory working set (usage minus inactive file pages, as the kubelet
// and cAdvisor count it), on cgroup v1 and v2 hosts, and turns two samples
// into millicores.
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
		return Sample{}, errors.New("cpu.stat has no usage_usec")
	}
	usage, err := readUint(filepath.Join(dir, "memory.current"))
	if err != nil {
		return Sample{}, err
	}
	mem, err := readStat(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return Sample{}, err
	}
	return Sample{CPU: time.Duration(usec) * time.Microsecond, WorkingSet: WorkingSet(usage, mem["inactive_file"])}, nil
}

// readV1 reads cpuacct.usage (nanoseconds), memory.usage_in_bytes and
// memory.stat's total_inactive_file (the hierarchical figure, as cAdvisor).
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
	return Sample{CPU: time.Duration(ns), WorkingSet: WorkingSet(usage, mem["total_inactive_file"])}, nil
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
