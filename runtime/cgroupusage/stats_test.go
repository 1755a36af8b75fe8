package cgroupusage

import (
	"reflect"
	"testing"
	"time"
)

// The fixture trees under testdata are a container cgroup (/podd/podabc/c1)
// as a hybrid v1 host and a v2 host lay it out, with the same figures.
func TestStatsFromFixtureTrees(t *testing.T) {
	at := time.Unix(300, 0)
	sameCPU := CPUStats{
		Usage: 2500 * time.Millisecond, User: 1800 * time.Millisecond, System: 700 * time.Millisecond,
		Periods: 120, ThrottledPeriods: 30, Throttled: 1500 * time.Millisecond,
	}
	pressure := &Pressure{
		CPU:    PressureTotals{Some: 4916074 * time.Microsecond, Full: 2808822 * time.Microsecond},
		Memory: PressureTotals{Some: 1500 * time.Millisecond, Full: time.Second},
		IO:     PressureTotals{Some: 2 * time.Second, Full: 500 * time.Millisecond},
	}
	io := []DeviceIO{
		{Major: 8, Minor: 0, ReadBytes: 40960, WriteBytes: 8192, Reads: 10, Writes: 2},
		{Major: 253, Minor: 1, ReadBytes: 4096, Reads: 1},
	}
	for _, tc := range []struct {
		root string
		want Stats
	}{
		{"testdata/v1", Stats{
			// cpuacct.stat counts USER_HZ ticks: 180 and 45 of 10ms.
			CPU: CPUStats{Usage: 2500 * time.Millisecond, User: 1800 * time.Millisecond, System: 450 * time.Millisecond,
				Periods: 120, ThrottledPeriods: 30, Throttled: 1500 * time.Millisecond},
			Memory: MemoryStats{
				Usage: 8388608, MaxUsage: 9437184, WorkingSet: 8388608 - 3145728, RSS: 2097152, Cache: 4194304,
				MappedFile: 1048576, Kernel: 131072, Swap: 65536, Failcnt: 2,
				PageFaults: 640, MajorPageFaults: 2, HierarchyPageFaults: 700, HierarchyMajorPageFaults: 3,
				OOMKills: 1,
			},
			Pids:    PidsStats{Current: 3, Limit: 1024},
			IO:      io,
			Hugetlb: []HugetlbUsage{{PageSize: "1GB", HasMax: true}, {PageSize: "2MB", Usage: 2097152, MaxUsage: 4194304, HasMax: true}},
			// A hybrid host keeps the pressure in the unified twin.
			Pressure: pressure,
			Procs:    []int{4242, 4250},
			At:       at,
		}},
		{"testdata/v2", Stats{
			CPU: sameCPU,
			Memory: MemoryStats{
				Usage: 8388608, MaxUsage: 9437184, WorkingSet: 8388608 - 3145728, RSS: 2097152, Cache: 4194304,
				MappedFile: 1048576, Kernel: 196608, Swap: 65536, Failcnt: 5,
				PageFaults: 700, MajorPageFaults: 3, HierarchyPageFaults: 700, HierarchyMajorPageFaults: 3,
				OOMKills: 1,
			},
			Pids: PidsStats{Current: 3},
			IO:   io,
			// hugetlb.2MB.rsvd.current is reservations, not a page size.
			Hugetlb:  []HugetlbUsage{{PageSize: "1GB"}, {PageSize: "2MB", Usage: 2097152}},
			Pressure: pressure,
			Procs:    []int{4242, 4250},
			At:       at,
		}},
	} {
		t.Run(tc.root, func(t *testing.T) {
			s, err := Reader{Root: tc.root, Now: fixedClock(at)}.Stats("/podd/podabc/c1")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s, tc.want) {
				t.Errorf("stats\n%+v\nwant\n%+v", s, tc.want)
			}
		})
	}
}

// What an older kernel or a cgroup without the optional controllers lacks
// reads as zero; what every cgroup has must be there.
func TestStatsOptionalFiles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		check func(t *testing.T, s Stats)
	}{
		{"v2 before 5.18 and without the cpu, pids and io controllers", map[string]string{
			"cgroup.controllers": "memory\n",
			"p/cpu.stat":         "usage_usec 10\nuser_usec 6\nsystem_usec 4\n",
			"p/memory.current":   "4096\n",
			"p/memory.stat":      "anon 1024\nkernel_stack 100\nslab 200\npercpu 10\nsock 1\npagetables 5\n",
			"p/cgroup.procs":     "7\n",
		}, func(t *testing.T, s Stats) {
			if s.CPU.Periods != 0 || s.Memory.MaxUsage != 0 || s.Pids != (PidsStats{}) || s.IO != nil || s.Hugetlb != nil || s.Pressure != nil {
				t.Errorf("stats %+v, want the optional figures zero", s)
			}
			if s.Memory.Kernel != 316 {
				t.Errorf("kernel %d, want the sum of its parts 316", s.Memory.Kernel)
			}
		}},
		{"v1 with cpu and cpuacct together and no other hierarchy", map[string]string{
			"cpu,cpuacct/p/cpuacct.usage":    "1000000000\n",
			"cpu,cpuacct/p/cpuacct.stat":     "user 60\nsystem 40\n",
			"cpu,cpuacct/p/cpu.stat":         "nr_periods 4\nnr_throttled 1\nthrottled_time 5000\n",
			"memory/p/memory.usage_in_bytes": "4096\n",
			"memory/p/memory.stat":           "total_inactive_file 1024\n",
			"memory/p/cgroup.procs":          "",
		}, func(t *testing.T, s Stats) {
			want := CPUStats{Usage: time.Second, User: 600 * time.Millisecond, System: 400 * time.Millisecond, Periods: 4, ThrottledPeriods: 1, Throttled: 5000}
			if s.CPU != want {
				t.Errorf("cpu %+v, want %+v", s.CPU, want)
			}
			if s.Memory.WorkingSet != 3072 || s.Procs != nil || s.IO != nil || s.Hugetlb != nil || s.Pressure != nil {
				t.Errorf("stats %+v", s)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tc.files)
			s, err := Reader{Root: root}.Stats("/p")
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
	for name, files := range map[string]map[string]string{
		"v2 gone":            {"cgroup.controllers": "cpu memory\n"},
		"v2 no memory.stat":  {"cgroup.controllers": "cpu memory\n", "p/cpu.stat": "usage_usec 1\n", "p/memory.current": "1\n", "p/cgroup.procs": ""},
		"v2 no usage_usec":   {"cgroup.controllers": "cpu memory\n", "p/cpu.stat": "nr_periods 1\n"},
		"v1 gone":            {"cpuacct/x": "", "memory/x": ""},
		"v1 no memory usage": {"cpuacct/p/cpuacct.usage": "1\n", "memory/p/memory.stat": "\n"},
	} {
		root := t.TempDir()
		writeFiles(t, root, files)
		if _, err := (Reader{Root: root}).Stats("/p"); err == nil {
			t.Errorf("%s: Stats succeeded", name)
		}
	}
}

func TestParseBlkioSkipsTotalsAndOtherOps(t *testing.T) {
	got := parseBlkio([]byte("8:0 Read 1\n8:0 Write 2\n8:0 Total 3\n8:16 Write 4\nTotal 7\nbad line here x\n"),
		[]byte("8:16 Read 9\n8:0 Read 5\n8:0 Async 1\n"))
	want := []DeviceIO{{Major: 8, ReadBytes: 1, WriteBytes: 2, Reads: 5}, {Major: 8, Minor: 16, WriteBytes: 4, Reads: 9}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("blkio %+v, want %+v", got, want)
	}
}

func TestParsePressure(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want PressureTotals
	}{
		{"some avg10=1.00 avg60=0.50 avg300=0.10 total=250\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=100\n",
			PressureTotals{Some: 250 * time.Microsecond, Full: 100 * time.Microsecond}},
		// cpu.pressure before Linux 5.13 has no full line.
		{"some avg10=0.00 avg60=0.00 avg300=0.00 total=42\n", PressureTotals{Some: 42 * time.Microsecond}},
		{"", PressureTotals{}},
	} {
		if got := parsePressure([]byte(tc.in)); got != tc.want {
			t.Errorf("parsePressure(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
