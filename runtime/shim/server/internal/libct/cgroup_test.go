package libct

import (
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

func TestCgroup2SpecAdditions(t *testing.T) {
	tests := []struct {
		name       string
		cgroup2    bool
		privileged bool
		wantNS     bool
		wantGroup  bool
	}{
		{"v1: no cgroup namespace, no oom group", false, false, false, false},
		{"v2: private cgroup namespace and oom group", true, false, true, true},
		{"v2 privileged: host cgroup namespace (as containerd), oom group", true, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Privileged = tt.privileged
			in := testInputs
			in.cgroup2 = tt.cgroup2
			s, err := buildSpec(cfg, in)
			if err != nil {
				t.Fatal(err)
			}
			var ns []specs.LinuxNamespace
			for _, n := range s.Linux.Namespaces {
				if n.Type == specs.CgroupNamespace {
					ns = append(ns, n)
				}
			}
			if got := len(ns) == 1 && ns[0].Path == ""; got != tt.wantNS || len(ns) > 1 {
				t.Errorf("cgroup namespaces %v, want a new one: %v", ns, tt.wantNS)
			}
			if got := s.Linux.Resources.Unified[oomGroup] == "1"; got != tt.wantGroup {
				t.Errorf("unified %v, want %s=1: %v", s.Linux.Resources.Unified, oomGroup, tt.wantGroup)
			}
		})
	}
}

// A cgroup namespace the daemon asks for is kept as is, not doubled.
func TestCgroup2KeepsAGivenCgroupNamespace(t *testing.T) {
	cfg := baseConfig()
	cfg.Namespaces = append(cfg.Namespaces, &shimv1.Namespace{Type: "cgroup", Path: "/proc/1/ns/cgroup"})
	in := testInputs
	in.cgroup2 = true
	s, err := buildSpec(cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.CgroupNamespace {
			n++
			if ns.Path != "/proc/1/ns/cgroup" {
				t.Errorf("cgroup namespace %v, want the given path", ns)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d cgroup namespaces, want 1", n)
	}
}

// What libcontainer writes on v2 for a container's resources: cpu.weight
// by the OCI runtimes' conversion of the shares (1024 -> 100), cpu.max, memory.max,
// pids.max, memory.oom.group, and the device filter's rules (deny all,
// then the default allow-list), never skipped.
func TestCgroup2Resources(t *testing.T) {
	tests := []struct {
		shares, weight uint64
	}{
		// runc >= 1.3.2: weight = ceil(10^((l*l+125*l)/612 - 7/34)), l = log2(shares)
		{2, 1}, {256, 35}, {1024, 100}, {262144, 10000},
	}
	for _, tt := range tests {
		cfg := baseConfig()
		cfg.Resources = &shimv1.Resources{CpuShares: tt.shares, CpuQuotaUs: 25000, CpuPeriodUs: 100000, MemoryLimitBytes: 64 << 20, PidsLimit: 100}
		in := testInputs
		in.cgroup2 = true
		s, err := buildSpec(cfg, in)
		if err != nil {
			t.Fatal(err)
		}
		lc, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: cfg.GetId(), Spec: s})
		if err != nil {
			t.Fatal(err)
		}
		r := lc.Cgroups.Resources
		if cgroups.ConvertCPUSharesToCgroupV2Value(r.CpuShares) != tt.weight {
			t.Errorf("shares %d: cpu.weight %d, want %d", tt.shares, cgroups.ConvertCPUSharesToCgroupV2Value(r.CpuShares), tt.weight)
		}
		if r.CpuQuota != 25000 || r.CpuPeriod != 100000 || r.Memory != 64<<20 || r.PidsLimit == nil || *r.PidsLimit != 100 {
			t.Errorf("quota %d period %d memory %d pids %v", r.CpuQuota, r.CpuPeriod, r.Memory, r.PidsLimit)
		}
		if r.Unified[oomGroup] != "1" {
			t.Errorf("unified %v", r.Unified)
		}
		if r.SkipDevices || len(r.Devices) < 2 || r.Devices[0].Allow || r.Devices[0].Permissions != "rwm" {
			t.Fatalf("device rules (skip %v): %v", r.SkipDevices, r.Devices)
		}
		allowed := map[string]bool{}
		for _, d := range r.Devices[1:] {
			if d.Allow {
				allowed[d.CgroupString()] = true
			}
		}
		for _, want := range []string{"c 1:3 rwm", "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm"} {
			if !allowed[want] {
				t.Errorf("default allow-list lacks %q: %v", want, allowed)
			}
		}
		if allowed["b *:* rwm"] || allowed["b 8:0 rwm"] {
			t.Errorf("a block device is readable: %v", allowed)
		}
	}
}
