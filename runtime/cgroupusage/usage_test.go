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
		"podd/podx/memory.stat":     "anon 4194304\nfile 6291456\nactive_file 2097152\ninactive_file 4194304\n",
		"podd/podx/memory.max":      "max\n",
		"podd/podx/cgroup.procs":    "",
		"podd/podx/cgroup.type":     "domain\n",
		"podd/podx/memory.swap.max": "0\n",
	})
	at := time.Unix(100, 0)
	s, err := Reader{Root: root, Now: fixedClock(at)}.Read("/podd/podx")
	if err != nil {
		t.Fatal(err)
	}
	want := Sample{CPU: 2500 * time.Millisecond, WorkingSet: 10485760 - 4194304, At: at}
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
				"memory/podd/podx/memory.stat":           "cache 4096\ninactive_file 0\ntotal_inactive_file 3145728\ntotal_active_file 1048576\n",
			})
			at := time.Unix(200, 0)
			s, err := Reader{Root: root, Now: fixedClock(at)}.Read("/podd/podx")
			if err != nil {
				t.Fatal(err)
			}
			want := Sample{CPU: 1500 * time.Millisecond, WorkingSet: 8388608 - 3145728, At: at}
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
