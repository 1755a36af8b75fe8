package libct

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

func baseConfig() *shimv1.ContainerConfig {
	return &shimv1.ContainerConfig{
		Id: "web-0", Rootfs: "/run/podd/pods/u/rootfs/web", Args: []string{"sh"},
		CgroupPath: "/podd/podu/web-0",
		Namespaces: []*shimv1.Namespace{{Type: "net", Path: "/run/podd/netns/s1"}, {Type: "ipc", Container: "pause"}, {Type: "uts", Container: "pause"}, {Type: "pid"}},
	}
}

var testInputs = specInputs{
	nsPath: func(id, typ string) (string, error) {
		return fmt.Sprintf("/proc/%d/ns/%s", map[string]int{"pause": 4242}[id], typ), nil
	},
	nofile:         20000,
	minOOMScoreAdj: 0,
}

func mustSpec(t *testing.T, cfg *shimv1.ContainerConfig) *specs.Spec {
	t.Helper()
	s, err := buildSpec(cfg, testInputs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBuildSpecNamespaces(t *testing.T) {
	s := mustSpec(t, baseConfig())
	want := []specs.LinuxNamespace{
		{Type: specs.NetworkNamespace, Path: "/run/podd/netns/s1"},
		{Type: specs.IPCNamespace, Path: "/proc/4242/ns/ipc"},
		{Type: specs.UTSNamespace, Path: "/proc/4242/ns/uts"},
		{Type: specs.PIDNamespace},
		{Type: specs.MountNamespace},
	}
	if !slices.Equal(s.Linux.Namespaces, want) {
		t.Fatalf("namespaces = %v, want %v", s.Linux.Namespaces, want)
	}
}

func TestBuildSpecRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*shimv1.ContainerConfig)
		want   string
	}{
		{"relative rootfs", func(c *shimv1.ContainerConfig) { c.Rootfs = "rootfs" }, "not an absolute path"},
		{"no command", func(c *shimv1.ContainerConfig) { c.Args = nil }, "no command"},
		{"relative cgroup", func(c *shimv1.ContainerConfig) { c.CgroupPath = "podd/x" }, "cgroup path"},
		{"relative mount", func(c *shimv1.ContainerConfig) { c.Mounts = []*shimv1.Mount{{Destination: "data"}} }, "mount destination"},
		{"unknown namespace", func(c *shimv1.ContainerConfig) { c.Namespaces = []*shimv1.Namespace{{Type: "time"}} }, `"time"`},
		{"namespace twice", func(c *shimv1.ContainerConfig) {
			c.Namespaces = []*shimv1.Namespace{{Type: "pid"}, {Type: "pid"}}
		}, "twice"},
		{"joined mount namespace", func(c *shimv1.ContainerConfig) {
			c.Namespaces = []*shimv1.Namespace{{Type: "mount", Path: "/proc/1/ns/mnt"}}
		}, "mount namespace"},
		{"path and container", func(c *shimv1.ContainerConfig) {
			c.Namespaces = []*shimv1.Namespace{{Type: "ipc", Path: "/x", Container: "pause"}}
		}, "both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.mutate(cfg)
			if _, err := buildSpec(cfg, testInputs); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	in := testInputs
	in.nsPath = func(string, string) (string, error) { return "", errors.New("container \"pause\" is not running") }
	if _, err := buildSpec(baseConfig(), in); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("joining a stopped container: err = %v", err)
	}
}

func TestBuildSpecHostnameOnlyWithOwnUTS(t *testing.T) {
	cfg := baseConfig()
	cfg.Hostname = "web"
	if s := mustSpec(t, cfg); s.Hostname != "" {
		t.Fatalf("hostname %q set on a joined UTS namespace", s.Hostname)
	}
	cfg.Namespaces = []*shimv1.Namespace{{Type: "uts"}}
	if s := mustSpec(t, cfg); s.Hostname != "web" {
		t.Fatalf("hostname = %q, want web", s.Hostname)
	}
	cfg.Namespaces = nil // host UTS
	if s := mustSpec(t, cfg); s.Hostname != "" {
		t.Fatalf("hostname %q set on the host UTS namespace", s.Hostname)
	}
}

func TestBuildSpecMounts(t *testing.T) {
	cfg := baseConfig()
	cfg.Mounts = []*shimv1.Mount{
		{Source: "/var/lib/podd/pods/u/volumes/data", Destination: "/data/", Type: "bind", Options: []string{"ro"}},
		{Source: "/run/podd/pods/u/shm", Destination: "/dev/shm", Type: "bind", Options: []string{"rbind"}},
	}
	s := mustSpec(t, cfg)
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
	}
	want := []string{"/proc", "/dev", "/sys", "/data", "/dev/pts", "/dev/mqueue", "/dev/shm", "/sys/fs/cgroup"}
	if !slices.Equal(dests, want) {
		t.Fatalf("mount order %v, want %v", dests, want)
	}
	for _, m := range s.Mounts {
		switch m.Destination {
		case "/data":
			if !slices.Equal(m.Options, []string{"rbind", "ro"}) {
				t.Errorf("/data options %v, want rbind added", m.Options)
			}
		case "/dev/shm":
			if m.Source != "/run/podd/pods/u/shm" {
				t.Errorf("/dev/shm not replaced by the configured mount: %+v", m)
			}
		case "/sys", "/sys/fs/cgroup":
			if !slices.Contains(m.Options, "ro") {
				t.Errorf("%s not read-only: %v", m.Destination, m.Options)
			}
		}
	}
}

func TestBuildSpecProcess(t *testing.T) {
	cfg := baseConfig()
	cfg.Env = []string{"A=1"}
	cfg.OomScoreAdj = -997
	cfg.Capabilities = []string{"net_admin", "CAP_KILL"}
	cfg.User = &shimv1.User{Uid: 1000, Gid: 1000, AdditionalGids: []uint32{5}}
	cfg.NoNewPrivileges = true
	s := mustSpec(t, cfg)
	p := s.Process
	if !slices.Equal(p.Env, []string{"A=1", defaultPath}) || p.Cwd != "/" {
		t.Errorf("env %v cwd %q, want default PATH and /", p.Env, p.Cwd)
	}
	if *p.OOMScoreAdj != 0 {
		t.Errorf("oom_score_adj %d, want it raised to the floor 0", *p.OOMScoreAdj)
	}
	if !slices.Equal(p.Capabilities.Bounding, []string{"CAP_NET_ADMIN", "CAP_KILL"}) {
		t.Errorf("capabilities %v", p.Capabilities.Bounding)
	}
	if p.User.UID != 1000 || !slices.Equal(p.User.AdditionalGids, []uint32{5}) || !p.NoNewPrivileges {
		t.Errorf("user %+v nnp %v", p.User, p.NoNewPrivileges)
	}
	if p.Rlimits[0].Hard != 20000 || p.Rlimits[0].Soft != 20000 {
		t.Errorf("rlimits %+v, want NOFILE 20000", p.Rlimits)
	}
	if len(s.Linux.MaskedPaths) == 0 || len(s.Linux.ReadonlyPaths) == 0 {
		t.Error("unprivileged container without masked/readonly paths")
	}

	// The daemon sends a privileged container the host's bounding set; the
	// shim applies exactly what it is sent (a capability the host lacks
	// would fail the start).
	cfg.Privileged = true
	s = mustSpec(t, cfg)
	if len(s.Linux.MaskedPaths) != 0 || !slices.Equal(s.Process.Capabilities.Bounding, []string{"CAP_NET_ADMIN", "CAP_KILL"}) {
		t.Errorf("privileged: masked %v caps %v", s.Linux.MaskedPaths, s.Process.Capabilities.Bounding)
	}
	if d := s.Linux.Resources.Devices; len(d) != 1 || !d[0].Allow {
		t.Errorf("privileged devices %+v, want allow all", d)
	}
}

func TestBuildSpecResources(t *testing.T) {
	cfg := baseConfig()
	cfg.Resources = &shimv1.Resources{CpuShares: 512, CpuQuotaUs: 50000, MemoryLimitBytes: 64 << 20, PidsLimit: 100}
	r := mustSpec(t, cfg).Linux.Resources
	if *r.CPU.Shares != 512 || *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 || *r.Memory.Limit != 64<<20 || *r.Pids.Limit != 100 {
		t.Fatalf("resources %+v", r)
	}
	if d := r.Devices; d[0].Allow || d[0].Access != "rwm" {
		t.Fatalf("device rules must start with deny-all: %+v", d)
	}
}

// The spec converts with libcontainer's own converter, as Create does.
func TestSpecConvertsToLibcontainerConfig(t *testing.T) {
	cfg := baseConfig()
	cfg.ReadonlyRootfs = true
	cfg.Sysctls = map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}
	cfg.Seccomp = []byte(`{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
		"syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}`)
	s := mustSpec(t, cfg)
	c, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: "web-0", Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cgroups.Path != "/podd/podu/web-0" || !c.Readonlyfs || c.Sysctl["net.ipv4.ip_unprivileged_port_start"] != "0" {
		t.Fatalf("config %+v", c)
	}
	if c.Namespaces.PathOf(configs.NEWIPC) != "/proc/4242/ns/ipc" || !c.Namespaces.IsPrivate(configs.NEWPID) {
		t.Fatalf("namespaces %+v", c.Namespaces)
	}
	for _, m := range c.Mounts {
		if m.Destination == "/dev/shm" && (m.Data != "mode=1777,size=64m" || m.Flags&unix.MS_NODEV == 0) {
			t.Errorf("/dev/shm mount %+v", m)
		}
		if m.Destination == "/sys" && m.Flags&unix.MS_RDONLY == 0 {
			t.Errorf("/sys mount not read-only: %+v", m)
		}
	}
	if len(c.Devices) == 0 {
		t.Error("no default devices")
	}
	if c.Seccomp == nil || len(c.Seccomp.Syscalls) != 2 || c.Seccomp.Syscalls[0].Name != "read" {
		t.Errorf("seccomp %+v, want the sent filter", c.Seccomp)
	}
}

func TestBuildSpecSeccomp(t *testing.T) {
	cfg := baseConfig()
	if s := mustSpec(t, cfg); s.Linux.Seccomp != nil {
		t.Errorf("no filter sent, spec has %+v", s.Linux.Seccomp)
	}
	cfg.Seccomp = []byte(`{"defaultAction": `)
	if _, err := buildSpec(cfg, testInputs); err == nil || !strings.Contains(err.Error(), "seccomp") {
		t.Errorf("broken filter: error %v", err)
	}
}

func TestClassifyAndRunnable(t *testing.T) {
	err := classify(errors.New(`unable to start container process: exec: "nope": executable file not found in $PATH`))
	if !errors.Is(err, ErrCannotRun) || err.Error() != `exec: "nope": executable file not found in $PATH` {
		t.Fatalf("classify = %v", err)
	}
	if err := classify(errors.New("mount /data: no such file or directory")); errors.Is(err, ErrCannotRun) {
		t.Fatal("a mount failure classified as ContainerCannotRun")
	}
	elf := func(machine byte) []byte {
		h := make([]byte, 20)
		copy(h, "\x7fELF\x02\x01")
		h[18] = machine
		return h
	}
	type hdrCase struct {
		hdr  []byte
		want bool
	}
	tests := []hdrCase{{[]byte("#!/bin/sh\n"), true}, {[]byte("hello"), false}, {nil, false}}
	if runtime.GOARCH == "amd64" {
		tests = append(tests, hdrCase{elf(62), true}, hdrCase{elf(183), false}) // arm64 is not runnable
	}
	for _, tt := range tests {
		if got := runnable(tt.hdr); got != tt.want {
			t.Errorf("runnable(%q) = %v, want %v", tt.hdr, got, tt.want)
		}
	}
}

// Host devices become device nodes with cgroup rules allowing them; a
// path that is no device is refused. Paths, when sent, replace the default
// masked and read-only paths.
func TestBuildSpecDevicesAndPaths(t *testing.T) {
	cfg := baseConfig()
	cfg.Devices = []*shimv1.Device{{HostPath: "/dev/null", ContainerPath: "/dev/mynull", Permissions: "rw"}}
	cfg.Paths = &shimv1.Paths{Masked: []string{"/proc/kcore"}}
	s := mustSpec(t, cfg)
	if d := s.Linux.Devices; len(d) != 1 || d[0].Path != "/dev/mynull" || d[0].Type != "c" || d[0].Major != 1 || d[0].Minor != 3 {
		t.Errorf("devices %+v", d)
	}
	r := s.Linux.Resources.Devices
	if last := r[len(r)-1]; !last.Allow || last.Type != "c" || *last.Major != 1 || *last.Minor != 3 || last.Access != "rw" {
		t.Errorf("device rules %+v", r)
	}
	if !slices.Equal(s.Linux.MaskedPaths, []string{"/proc/kcore"}) || len(s.Linux.ReadonlyPaths) != 0 {
		t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	for _, d := range []*shimv1.Device{
		{HostPath: "/etc/hostname", ContainerPath: "/dev/x"},
		{HostPath: "/dev/null", ContainerPath: "dev/x"},
		{HostPath: "/dev/null", ContainerPath: "/dev/x", Permissions: "rwx"},
		{HostPath: "/dev/nonexistent", ContainerPath: "/dev/x"},
	} {
		cfg := baseConfig()
		cfg.Devices = []*shimv1.Device{d}
		if _, err := buildSpec(cfg, testInputs); err == nil {
			t.Errorf("device %v accepted", d)
		}
	}
}

// A bidirectional mount needs a shared root mount (its mounts reach the
// host through it), a host-to-container one a slave root.
func TestBuildSpecRootfsPropagation(t *testing.T) {
	for _, tc := range []struct {
		opts [][]string
		want string
	}{
		{nil, ""},
		{[][]string{{"rbind", "rprivate"}}, ""},
		{[][]string{{"rbind", "rslave"}}, "rslave"},
		{[][]string{{"rbind", "rslave"}, {"rbind", "rshared"}}, "rshared"},
	} {
		cfg := baseConfig()
		for i, o := range tc.opts {
			cfg.Mounts = append(cfg.Mounts, &shimv1.Mount{Source: "/srv", Destination: "/m" + strconv.Itoa(i), Type: "bind", Options: o})
		}
		if got := mustSpec(t, cfg).Linux.RootfsPropagation; got != tc.want {
			t.Errorf("mounts %v: rootfs propagation %q, want %q", tc.opts, got, tc.want)
		}
	}
}
