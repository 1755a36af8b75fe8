package cgroupusage

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

var errNoUsage = errors.New("cpu.stat has no usage_usec")

// readOptionalStat reads a flat keyed file a host may not have (empty
// then).
func readOptionalStat(path string) map[string]uint64 {
	st, err := readStat(path)
	if err != nil {
		return map[string]uint64{}
	}
	return st
}

// readMax reads a limit a host may not have: missing, "max" or v1's
// unlimited is 0.
func readMax(path string) uint64 {
	n, err := readLimit(path)
	if err != nil {
		return 0
	}
	return n
}

// readProcs reads the process IDs of cgroup.procs.
func readProcs(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// parseBlkio parses v1's blkio byte and operation counters ("8:0 Read
// 4096" lines, and a "Total" line that is left out), devices in the order
// the bytes file lists them.
func parseBlkio(bytesFile, opsFile []byte) []DeviceIO {
	var out []DeviceIO
	at := map[[2]uint64]int{}
	add := func(data []byte, set func(d *DeviceIO, op string, v uint64)) {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 {
				continue
			}
			major, minor, ok := parseDevice(f[0])
			v, err := strconv.ParseUint(f[2], 10, 64)
			if !ok || err != nil {
				continue
			}
			k := [2]uint64{major, minor}
			i, seen := at[k]
			if !seen {
				i = len(out)
				at[k] = i
				out = append(out, DeviceIO{Major: major, Minor: minor})
			}
			set(&out[i], f[1], v)
		}
	}
	add(bytesFile, func(d *DeviceIO, op string, v uint64) {
		switch op {
		case "Read":
			d.ReadBytes = v
		case "Write":
			d.WriteBytes = v
		}
	})
	add(opsFile, func(d *DeviceIO, op string, v uint64) {
		switch op {
		case "Read":
			d.Reads = v
		case "Write":
			d.Writes = v
		}
	})
	return out
}

// parseIOStat parses v2's io.stat ("259:0 rbytes=1 wbytes=2 rios=3 wios=4
// dbytes=0 dios=0" lines).
func parseIOStat(data []byte) []DeviceIO {
	var out []DeviceIO
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		major, minor, ok := parseDevice(f[0])
		if !ok {
			continue
		}
		d := DeviceIO{Major: major, Minor: minor}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			switch k {
			case "rbytes":
				d.ReadBytes = n
			case "wbytes":
				d.WriteBytes = n
			case "rios":
				d.Reads = n
			case "wios":
				d.Writes = n
			}
		}
		out = append(out, d)
	}
	return out
}

// parseDevice parses "major:minor".
func parseDevice(s string) (major, minor uint64, ok bool) {
	a, b, found := strings.Cut(s, ":")
	if !found {
		return 0, 0, false
	}
	major, err1 := strconv.ParseUint(a, 10, 64)
	minor, err2 := strconv.ParseUint(b, 10, 64)
	return major, minor, err1 == nil && err2 == nil
}

// hugetlbUsage reads hugetlb.<size>.<usage> (and .<peak> when peak is not
// "") for every page size dir has files of, in the order of the names.
func hugetlbUsage(dir, usage, peak string) []HugetlbUsage {
	names, err := filepath.Glob(filepath.Join(dir, "hugetlb.*."+usage))
	if err != nil {
		return nil
	}
	var out []HugetlbUsage
	for _, n := range names {
		size := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(n), "hugetlb."), "."+usage)
		if strings.Contains(size, ".") { // hugetlb.2MB.rsvd.current: reservations, not usage
			continue
		}
		v, err := readUint(n)
		if err != nil {
			continue
		}
		h := HugetlbUsage{PageSize: size, Usage: v}
		if peak != "" {
			h.MaxUsage, h.HasMax = readOptional(filepath.Join(dir, "hugetlb."+size+"."+peak)), true
		}
		out = append(out, h)
	}
	return out
}

// readPressure reads the "some" and "full" totals of cpu.pressure,
// memory.pressure and io.pressure in dir; nil when dir has none of them.
func readPressure(dir string) *Pressure {
	var p Pressure
	found := false
	for name, into := range map[string]*PressureTotals{"cpu.pressure": &p.CPU, "memory.pressure": &p.Memory, "io.pressure": &p.IO} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		found = true
		*into = parsePressure(b)
	}
	if !found {
		return nil
	}
	return &p
}

// parsePressure parses a PSI file ("some avg10=0.00 avg60=0.00
// avg300=0.00 total=12345" and a "full" line; totals in microseconds).
func parsePressure(data []byte) PressureTotals {
	var t PressureTotals
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var total time.Duration
		for _, kv := range f[1:] {
			if v, ok := strings.CutPrefix(kv, "total="); ok {
				if n, err := strconv.ParseUint(v, 10, 64); err == nil {
					total = time.Duration(n) * time.Microsecond
				}
			}
		}
		switch f[0] {
		case "some":
			t.Some = total
		case "full":
			t.Full = total
		}
	}
	return t
}
