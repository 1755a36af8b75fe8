package cgroupusage

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// A v2 host: CPU from cpu.stat usage_usec, working set memory.current minus
// memory.stat inactive_file.
func TestReadV2(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"cgroup.controllers":        "cpuset cpu io memory pids\n",
		"podd/podx/cpu.stat":        "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
		"podd/podx/memory.current":  "10485760\n",
		"podd/podx/memory.stat":     "anon 4194304\nfile 6291456\nactive_file 2097152\ninactive_file 4194304\npgfault 812\npgmajfault 3\n",
		"podd/podx/memory.max":      "max\n",
		"podd/podx/pids.current":    "4\n",
		"podd/podx/cgroup.procs":    "",
		"podd/podx/cgroup.type":     "domain\n",
		"podd/podx/memory.swap.max": "0\n",
	})
	at := time.Unix(100, 0)
	s, err := Reader{Root: root, Now: fixedClock(at)}.Read("/podd/podx")
	if err != nil {
		t.Fatal(err)
	}
	want := Sample{
		CPU: 2500 * time.Millisecond, WorkingSet: 10485760 - 4194304, MemoryUsage: 10485760, RSS: 4194304,
		PageFaults: 812, MajorPageFaults: 3, Processes: 4, At: at,
	}
	if s != want {
		t.Errorf("sample %+v, want %+v", s, want)
	}
}

// A v1 (or hybrid) host: CPU from cpuacct.usage in ns, working set
// memory.usage_in_bytes minus memory.stat total_inactive_file (not the
// cgroup's own inactive_file, which leaves out its children).
func TestReadV1(t *testing.T) {
	for _, cpuDir := range []string{"cpuacct", "cpu,cpuacct"} {
		t.Run(cpuDir, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, map[string]string{
				"unified/cgroup.controllers":             "\n",
				cpuDir + "/podd/podx/cpuacct.usage":      "1500000000\n",
				"memory/podd/podx/memory.usage_in_bytes": "8388608\n",
				"memory/podd/podx/memory.stat":           "cache 4096\ninactive_file 0\ntotal_inactive_file 3145728\ntotal_active_file 1048576\nrss 1\ntotal_rss 2097152\npgfault 1\ntotal_pgfault 640\ntotal_pgmajfault 2\n",
				"memory/podd/podx/memory.limit_in_bytes": "9223372036854771712\n",
				"pids/podd/podx/pids.current":            "3\n",
			})
			at := time.Unix(200, 0)
			s, err := Reader{Root: root, Now: fixedClock(at)}.Read("/podd/podx")
			if err != nil {
				t.Fatal(err)
			}
			want := Sample{
				CPU: 1500 * time.Millisecond, WorkingSet: 8388608 - 3145728, MemoryUsage: 8388608, RSS: 2097152,
				PageFaults: 640, MajorPageFaults: 2, Processes: 3, At: at,
			}
			if s != want {
				t.Errorf("sample %+v, want %+v", s, want)
			}
		})
	}
}

func TestReadMissingCgroup(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"cgroup.controllers": "cpu memory\n"})
	if _, err := (Reader{Root: root}).Read("/podd/gone"); err == nil {
		t.Error("read of a missing cgroup succeeded")
	}
}

func TestWorkingSet(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		usage, inactive, want uint64
	}{
		{"usage minus inactive file", 1000, 300, 700},
		{"no inactive file", 1000, 0, 1000},
		{"inactive above usage (racy reads) floors at zero", 1000, 1200, 0},
	} {
		if got := WorkingSet(tc.usage, tc.inactive); got != tc.want {
			t.Errorf("%s: WorkingSet(%d, %d) = %d, want %d", tc.name, tc.usage, tc.inactive, got, tc.want)
		}
	}
}

func TestMillicores(t *testing.T) {
	t0 := time.Unix(0, 0)
	for _, tc := range []struct {
		name string
		a, b Sample
		want int64
	}{
		{"one busy core", Sample{CPU: time.Second, At: t0}, Sample{CPU: 3 * time.Second, At: t0.Add(2 * time.Second)}, 1000},
		{"quarter core", Sample{CPU: 0, At: t0}, Sample{CPU: 250 * time.Millisecond, At: t0.Add(time.Second)}, 250},
		{"two cores", Sample{CPU: 0, At: t0}, Sample{CPU: 1 * time.Second, At: t0.Add(500 * time.Millisecond)}, 2000},
		{"idle", Sample{CPU: time.Second, At: t0}, Sample{CPU: time.Second, At: t0.Add(time.Second)}, 0},
		{"counter went back (cgroup re-created)", Sample{CPU: 5 * time.Second, At: t0}, Sample{CPU: time.Second, At: t0.Add(time.Second)}, 0},
		{"no time passed", Sample{CPU: 0, At: t0}, Sample{CPU: time.Second, At: t0}, 0},
	} {
		if got := Millicores(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: %d millicores, want %d", tc.name, got, tc.want)
		}
	}
}

// A memory limit is read as the cgroup has it; "max" (v2) and v1's
// page-rounded LONG_MAX mean none, and the available memory is the limit
// minus the working set, as the kubelet counts it.
func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name         string
		files        map[string]string
		limit, avail uint64
	}{
		{"v2 limited", map[string]string{
			"cgroup.controllers": "cpu memory\n", "p/cpu.stat": "usage_usec 1\n", "p/memory.current": "3000\n",
			"p/memory.stat": "inactive_file 1000\n", "p/memory.max": "10000\n",
		}, 10000, 8000},
		{"v2 unlimited", map[string]string{
			"cgroup.controllers": "cpu memory\n", "p/cpu.stat": "usage_usec 1\n", "p/memory.current": "3000\n",
			"p/memory.stat": "inactive_file 1000\n", "p/memory.max": "max\n",
		}, 0, 0},
		{"v1 limited, no pids hierarchy", map[string]string{
			"cpuacct/p/cpuacct.usage": "1\n", "memory/p/memory.usage_in_bytes": "3000\n",
			"memory/p/memory.stat": "total_inactive_file 1000\n", "memory/p/memory.limit_in_bytes": "4096\n",
		}, 4096, 2096},
		{"v1 unlimited", map[string]string{
			"cpuacct/p/cpuacct.usage": "1\n", "memory/p/memory.usage_in_bytes": "3000\n",
			"memory/p/memory.stat": "total_inactive_file 1000\n", "memory/p/memory.limit_in_bytes": "9223372036854771712\n",
		}, 0, 0},
		{"over the limit (racy reads): nothing available", map[string]string{
			"cgroup.controllers": "cpu memory\n", "p/cpu.stat": "usage_usec 1\n", "p/memory.current": "3000\n",
			"p/memory.stat": "inactive_file 0\n", "p/memory.max": "2000\n",
		}, 2000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tc.files)
			s, err := Reader{Root: root}.Read("/p")
			if err != nil {
				t.Fatal(err)
			}
			if s.MemoryLimit != tc.limit || s.Available() != tc.avail {
				t.Errorf("limit %d available %d, want %d and %d", s.MemoryLimit, s.Available(), tc.limit, tc.avail)
			}
			if s.Processes != 0 {
				t.Errorf("processes %d without a pids file, want 0", s.Processes)
			}
		})
	}
}

func TestNanoCores(t *testing.T) {
	t0 := time.Unix(0, 0)
	for _, tc := range []struct {
		name string
		a, b Sample
		want uint64
	}{
		{"one busy core", Sample{CPU: time.Second, At: t0}, Sample{CPU: 3 * time.Second, At: t0.Add(2 * time.Second)}, 1e9},
		{"a tenth of a core", Sample{CPU: 0, At: t0}, Sample{CPU: 100 * time.Millisecond, At: t0.Add(time.Second)}, 1e8},
		{"counter went back", Sample{CPU: 5 * time.Second, At: t0}, Sample{CPU: time.Second, At: t0.Add(time.Second)}, 0},
		{"no time passed", Sample{CPU: 0, At: t0}, Sample{CPU: time.Second, At: t0}, 0},
	} {
		if got := NanoCores(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: %d nanocores, want %d", tc.name, got, tc.want)
		}
	}
}
