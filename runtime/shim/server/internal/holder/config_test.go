package holder

import (
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

func holderConfig() *shimv1.ContainerConfig {
	return &shimv1.ContainerConfig{
		Id: "pause", Holder: true, Args: []string{"/usr/bin/podd-pause"}, Env: []string{"PATH=/bin"},
		User: &shimv1.User{Uid: 65535, Gid: 65535}, Hostname: "web",
		Namespaces: []*shimv1.Namespace{{Type: "net", Path: "/run/podd/netns/sb1"}, {Type: "uts"}, {Type: "ipc"}},
		CgroupPath: "/podd/podu1/pause", Resources: &shimv1.Resources{CpuShares: 2},
		LogPath: "/run/podd/pods/u1/pause.log", OomScoreAdj: -998,
		Sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "kernel.shm_rmid_forced": "1"},
	}
}

func TestFromContainerConfig(t *testing.T) {
	got, err := FromContainerConfig(holderConfig(), -500)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		ID: "pause", Args: []string{"/usr/bin/podd-pause"}, Env: []string{"PATH=/bin"},
		NetnsPath: "/run/podd/netns/sb1", NewUTS: true, NewIPC: true, Hostname: "web",
		Sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "kernel.shm_rmid_forced": "1"},
		UID:     65535, GID: 65535, CgroupPath: "/podd/podu1/pause", CPUShares: 2,
		OOMScoreAdj: -500, // clamped to what the shim can give
		LogPath:     "/run/podd/pods/u1/pause.log",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config\n got %+v\nwant %+v", got, want)
	}

	shared := holderConfig()
	shared.Namespaces = append(shared.Namespaces, &shimv1.Namespace{Type: "pid"}, &shimv1.Namespace{Type: "mount"})
	if got, err := FromContainerConfig(shared, -1000); err != nil || !got.NewPID || got.OOMScoreAdj != -998 {
		t.Errorf("shared PID namespace: %+v, %v; want NewPID and oom_score_adj -998", got, err)
	}
}

func TestFromContainerConfigRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*shimv1.ContainerConfig)
		want   string
	}{
		{"relative program", func(c *shimv1.ContainerConfig) { c.Args = []string{"pause"} }, "absolute host path"},
		{"no program", func(c *shimv1.ContainerConfig) { c.Args = nil }, "absolute host path"},
		{"relative cgroup", func(c *shimv1.ContainerConfig) { c.CgroupPath = "podd/pause" }, "not absolute"},
		{"joins a container", func(c *shimv1.ContainerConfig) {
			c.Namespaces[1] = &shimv1.Namespace{Type: "uts", Container: "other"}
		}, "joins no container"},
		{"new network namespace", func(c *shimv1.ContainerConfig) { c.Namespaces[0] = &shimv1.Namespace{Type: "net"} }, "pinned network namespace"},
		{"ipc by path", func(c *shimv1.ContainerConfig) {
			c.Namespaces[2] = &shimv1.Namespace{Type: "ipc", Path: "/proc/1/ns/ipc"}
		}, "but the network's by path"},
		{"user namespace without mappings", func(c *shimv1.ContainerConfig) {
			c.Namespaces = append(c.Namespaces, &shimv1.Namespace{Type: "user"})
		}, "needs uid and gid mappings"},
		{"cgroup namespace", func(c *shimv1.ContainerConfig) {
			c.Namespaces = append(c.Namespaces, &shimv1.Namespace{Type: "cgroup"})
		}, "only user, net, uts, ipc and pid"},
		{"net sysctl on the host network", func(c *shimv1.ContainerConfig) { c.Namespaces = c.Namespaces[1:] }, "host's network namespace"},
		{"ipc sysctl on the host IPC", func(c *shimv1.ContainerConfig) { c.Namespaces = c.Namespaces[:2] }, "no IPC namespace"},
		{"domainname on the host UTS", func(c *shimv1.ContainerConfig) {
			c.Namespaces = []*shimv1.Namespace{c.Namespaces[0], c.Namespaces[2]}
			c.Sysctls = map[string]string{"kernel.domainname": "x"}
		}, "no UTS namespace"},
		{"hostname as a sysctl", func(c *shimv1.ContainerConfig) { c.Sysctls = map[string]string{"kernel.hostname": "x"} }, "set the hostname"},
		{"host-wide sysctl", func(c *shimv1.ContainerConfig) { c.Sysctls = map[string]string{"kernel.core_pattern": "x"} }, "not in a namespace"},
		{"escaping /proc/sys/net", func(c *shimv1.ContainerConfig) {
			c.Sysctls = map[string]string{"net.//.kernel.core_pattern": "x"}
		}, "not a sysctl name"},
	} {
		cfg := holderConfig()
		tc.change(cfg)
		_, err := FromContainerConfig(cfg, -1000)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `holder "pause"`) {
			t.Errorf("%s: error %v, want one naming the holder and containing %q", tc.name, err, tc.want)
		}
	}
}

func usernsHolderConfig() *shimv1.ContainerConfig {
	cfg := holderConfig()
	cfg.Namespaces = []*shimv1.Namespace{{Type: "net"}, {Type: "uts"}, {Type: "ipc"}, {Type: "pid"}, {Type: "user"}}
	cfg.UidMappings = []*shimv1.IDMapping{{ContainerId: 0, HostId: 100000, Size: 65536}}
	cfg.GidMappings = []*shimv1.IDMapping{{ContainerId: 0, HostId: 200000, Size: 65536}}
	return cfg
}

// A holder in a user namespace of its own makes it with its mappings, and
// its network namespace inside it; its net sysctls go there.
func TestFromContainerConfigUserNamespace(t *testing.T) {
	got, err := FromContainerConfig(usernsHolderConfig(), -1000)
	if err != nil {
		t.Fatal(err)
	}
	wantU := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	wantG := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 200000, Size: 65536}}
	if !got.NewUser || got.NetnsPath != "" || !got.NewUTS || !got.NewIPC || !got.NewPID ||
		!reflect.DeepEqual(got.UIDMappings, wantU) || !reflect.DeepEqual(got.GIDMappings, wantG) || len(got.Sysctls) != 2 {
		t.Errorf("config %+v", got)
	}
}

func TestFromContainerConfigUserNamespaceRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*shimv1.ContainerConfig)
		want   string
	}{
		{"no gid mappings", func(c *shimv1.ContainerConfig) { c.GidMappings = nil }, "needs uid and gid mappings"},
		{"mappings without a user namespace", func(c *shimv1.ContainerConfig) {
			c.Namespaces = []*shimv1.Namespace{{Type: "net", Path: "/run/podd/netns/sb1"}, {Type: "uts"}, {Type: "ipc"}}
		}, "without a new user namespace"},
		{"joins a pinned netns", func(c *shimv1.ContainerConfig) { c.Namespaces[0].Path = "/run/podd/netns/sb1" }, "not joins one"},
		{"host network", func(c *shimv1.ContainerConfig) { c.Namespaces = c.Namespaces[1:] }, "not joins one"},
		{"root user", func(c *shimv1.ContainerConfig) { c.User = &shimv1.User{Uid: 0, Gid: 65535} }, "root of its user namespace"},
		{"root group", func(c *shimv1.ContainerConfig) { c.User = &shimv1.User{Uid: 65535, Gid: 0} }, "root of its user namespace"},
		{"unmapped user", func(c *shimv1.ContainerConfig) { c.User = &shimv1.User{Uid: 70000, Gid: 70000} }, "not mapped"},
	} {
		cfg := usernsHolderConfig()
		tc.change(cfg)
		_, err := FromContainerConfig(cfg, -1000)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `holder "pause"`) {
			t.Errorf("%s: error %v, want one naming the holder and containing %q", tc.name, err, tc.want)
		}
	}
}

func TestSysctlPath(t *testing.T) {
	for name, want := range map[string]string{
		"net.ipv4.ip_forward":            "/proc/sys/net/ipv4/ip_forward",
		"net.ipv4.conf.eth0/1.rp_filter": "/proc/sys/net/ipv4/conf/eth0.1/rp_filter",
		"fs.mqueue.msg_max":              "/proc/sys/fs/mqueue/msg_max",
	} {
		if got := sysctlPath(name); got != want {
			t.Errorf("sysctlPath(%q) = %q, want %q", name, got, want)
		}
	}
}

// A holder joins the pins of the types it makes a namespace of, outside a
// user namespace of its own; the shim reads which from its config.
func TestJoinPins(t *testing.T) {
	pins := &Pins{files: map[string]*os.File{"uts": os.Stdin, "ipc": os.Stdout}}
	for _, tc := range []struct {
		name     string
		ns       []*shimv1.Namespace
		cfg      Config
		uts, ipc bool
	}{
		{"own uts and ipc", []*shimv1.Namespace{{Type: "net", Path: "/run/netns/x"}, {Type: "uts"}, {Type: "ipc"}, {Type: "pid"}},
			Config{NewUTS: true, NewIPC: true}, true, true},
		{"host's uts (hostNetwork)", []*shimv1.Namespace{{Type: "ipc"}}, Config{NewIPC: true}, false, true},
		{"host's ipc (hostIPC)", []*shimv1.Namespace{{Type: "net", Path: "/run/netns/x"}, {Type: "uts"}}, Config{NewUTS: true}, true, false},
		{"in its own user namespace", []*shimv1.Namespace{{Type: "user"}, {Type: "net"}, {Type: "uts"}, {Type: "ipc"}},
			Config{NewUser: true, NewUTS: true, NewIPC: true}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			if tc.uts {
				want = append(want, "uts")
			}
			if tc.ipc {
				want = append(want, "ipc")
			}
			hc := holderConfig()
			hc.Namespaces, hc.Sysctls = tc.ns, nil
			if got := PinsJoined(hc); !reflect.DeepEqual(got, want) {
				t.Errorf("PinsJoined = %v, want %v", got, want)
			}
			cfg := tc.cfg
			cfg.JoinPins(pins)
			if (cfg.UTSPath != "") != tc.uts || (cfg.IPCPath != "") != tc.ipc {
				t.Errorf("JoinPins paths uts %q ipc %q, want uts %v ipc %v", cfg.UTSPath, cfg.IPCPath, tc.uts, tc.ipc)
			}
			if tc.uts && cfg.UTSPath != pins.Path("uts") {
				t.Errorf("uts path %q, want the pin's %q", cfg.UTSPath, pins.Path("uts"))
			}
		})
	}
	var none *Pins
	cfg := Config{NewUTS: true}
	if cfg.JoinPins(none); cfg.UTSPath != "" {
		t.Fatalf("no pins: uts path %q", cfg.UTSPath)
	}
}
