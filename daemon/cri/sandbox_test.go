package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/internal/errdefs"
)

// fakeSandboxes records what the CRI edge asks of the sandbox service.
type fakeSandboxes struct {
	mu     sync.Mutex
	sbs    []Sandbox
	specs  []SandboxSpec
	runErr error
}

func (f *fakeSandboxes) Run(_ context.Context, sp SandboxSpec) (Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.runErr != nil {
		return Sandbox{}, f.runErr
	}
	f.specs = append(f.specs, sp)
	sb := Sandbox{ID: fmt.Sprintf("%d%063d", len(f.sbs)+1, 0), Ready: true, CreatedAt: time.Unix(100, int64(len(f.sbs))),
		NetnsPath: "/run/podd/netns/x", IP: "10.88.0.5", IPs: []string{"10.88.0.5", "fd00::5"}, Config: sp.Config}
	f.sbs = append(f.sbs, sb)
	return sb, nil
}

func (f *fakeSandboxes) Stop(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.sbs {
		if f.sbs[i].ID == id {
			f.sbs[i].Ready = false
		}
	}
	return nil
}

func (f *fakeSandboxes) Remove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.sbs {
		if f.sbs[i].ID == id {
			f.sbs = append(f.sbs[:i], f.sbs[i+1:]...)
			break
		}
	}
	return nil
}

func (f *fakeSandboxes) Get(_ context.Context, id string) (Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sb := range f.sbs {
		if sb.ID == id {
			return sb, nil
		}
	}
	return Sandbox{}, errdefs.Classed(errdefs.ErrNotFound, "sandbox %q not found", id)
}

func (f *fakeSandboxes) List(context.Context) ([]Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Sandbox(nil), f.sbs...), nil
}

func sandboxConfig(name string, mut func(*runtimeapi.PodSandboxConfig)) *runtimeapi.PodSandboxConfig {
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "ns", Uid: "uid-" + name, Attempt: 1},
		Hostname: name, LogDirectory: "/var/log/pods/ns_" + name,
		Labels: map[string]string{"app": name}, Annotations: map[string]string{"note": "x"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{},
	}
	if mut != nil {
		mut(cfg)
	}
	return cfg
}

func nsOpts(cfg *runtimeapi.PodSandboxConfig) *runtimeapi.NamespaceOption {
	if cfg.Linux.SecurityContext == nil {
		cfg.Linux.SecurityContext = &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{}}
	}
	return cfg.Linux.SecurityContext.NamespaceOptions
}

// The translation of a RunPodSandbox request: what podd honours reaches
// the sandbox service; what it cannot is InvalidArgument naming the field.
func TestSandboxSpecTranslation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler string
		mut     func(*runtimeapi.PodSandboxConfig)
		check   func(*testing.T, SandboxSpec)
		wantErr string
	}{
		{name: "defaults: own namespaces (PID mode POD is CRI's zero value), node resolv.conf, containerd's pause OOM score", check: func(t *testing.T, sp SandboxSpec) {
			if sp.Name != "web" || sp.Namespace != "ns" || sp.UID != "uid-web" || sp.Attempt != 1 || sp.Hostname != "web" ||
				sp.HostNetwork || sp.HostPID || sp.HostIPC || !sp.SharePID || sp.DNS != nil || sp.OOMScoreAdj != -998 ||
				sp.LogDirectory != "/var/log/pods/ns_web" || sp.Labels["app"] != "web" || sp.Annotations["note"] != "x" {
				t.Errorf("spec %+v", sp)
			}
		}},
		{name: "namespaces NODE", mut: func(c *runtimeapi.PodSandboxConfig) {
			o := nsOpts(c)
			o.Network, o.Pid, o.Ipc = runtimeapi.NamespaceMode_NODE, runtimeapi.NamespaceMode_NODE, runtimeapi.NamespaceMode_NODE
			c.PortMappings = []*runtimeapi.PortMapping{{HostPort: 8080, ContainerPort: 80}}
		}, check: func(t *testing.T, sp SandboxSpec) {
			if !sp.HostNetwork || !sp.HostPID || !sp.HostIPC || len(sp.Ports) != 0 {
				t.Errorf("spec %+v", sp)
			}
		}},
		{name: "PID CONTAINER: one namespace per container", mut: func(c *runtimeapi.PodSandboxConfig) { nsOpts(c).Pid = runtimeapi.NamespaceMode_CONTAINER },
			check: func(t *testing.T, sp SandboxSpec) {
				if sp.SharePID || sp.HostPID {
					t.Errorf("spec %+v", sp)
				}
			}},
		{name: "DNS, sysctls, cgroup parent, host ports", mut: func(c *runtimeapi.PodSandboxConfig) {
			c.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"10.0.0.10"}, Searches: []string{"ns.svc"}, Options: []string{"ndots:5"}}
			c.Linux.Sysctls = map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}
			c.Linux.CgroupParent = "/kubepods/besteffort/poduid-web"
			c.PortMappings = []*runtimeapi.PortMapping{
				{Protocol: runtimeapi.Protocol_UDP, ContainerPort: 53, HostPort: 5353, HostIp: "127.0.0.1"},
				{ContainerPort: 80}, // no host port: informational
			}
		}, check: func(t *testing.T, sp SandboxSpec) {
			want := []PortMapping{{HostPort: 5353, ContainerPort: 53, Protocol: "UDP", HostIP: "127.0.0.1"}}
			if !reflect.DeepEqual(sp.Ports, want) || sp.CgroupParent != "/kubepods/besteffort/poduid-web" ||
				!reflect.DeepEqual(sp.DNS, &DNSConfig{Servers: []string{"10.0.0.10"}, Searches: []string{"ns.svc"}, Options: []string{"ndots:5"}}) ||
				sp.Sysctls["net.ipv4.ip_unprivileged_port_start"] != "0" {
				t.Errorf("spec %+v", sp)
			}
		}},
		{name: "runtime handler", handler: "kata", wantErr: "runtime_handler"},
		{name: "no name", mut: func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = "" }, wantErr: "config.metadata.name"},
		{name: "network CONTAINER", mut: func(c *runtimeapi.PodSandboxConfig) { nsOpts(c).Network = runtimeapi.NamespaceMode_CONTAINER }, wantErr: "namespace_options.network"},
		{name: "PID TARGET", mut: func(c *runtimeapi.PodSandboxConfig) { nsOpts(c).Pid = runtimeapi.NamespaceMode_TARGET }, wantErr: "namespace_options.pid"},
		{name: "IPC CONTAINER", mut: func(c *runtimeapi.PodSandboxConfig) { nsOpts(c).Ipc = runtimeapi.NamespaceMode_CONTAINER }, wantErr: "namespace_options.ipc"},
		{name: "net sysctl with host network", mut: func(c *runtimeapi.PodSandboxConfig) {
			nsOpts(c).Network = runtimeapi.NamespaceMode_NODE
			c.Linux.Sysctls = map[string]string{"net.core.somaxconn": "1024"}
		}, wantErr: "config.linux.sysctls"},
		{name: "IPC sysctl with host IPC", mut: func(c *runtimeapi.PodSandboxConfig) {
			nsOpts(c).Ipc = runtimeapi.NamespaceMode_NODE
			c.Linux.Sysctls = map[string]string{"kernel.shm_rmid_forced": "1"}
		}, wantErr: "config.linux.sysctls"},
		{name: "systemd cgroup parent", mut: func(c *runtimeapi.PodSandboxConfig) { c.Linux.CgroupParent = "kubepods-besteffort.slice" }, wantErr: "config.linux.cgroup_parent"},
		{name: "windows", mut: func(c *runtimeapi.PodSandboxConfig) { c.Windows = &runtimeapi.WindowsPodSandboxConfig{} }, wantErr: "config.windows"},
		{name: "port out of range", mut: func(c *runtimeapi.PodSandboxConfig) {
			c.PortMappings = []*runtimeapi.PortMapping{{HostPort: 70000, ContainerPort: 80}}
		}, wantErr: "config.port_mappings[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, err := sandboxSpec(&runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("web", tc.mut), RuntimeHandler: tc.handler}, Features{})
			if tc.wantErr != "" {
				if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want InvalidArgument naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, sp)
		})
	}
}

func sandboxClient(t *testing.T) (runtimeapi.RuntimeServiceClient, *fakeSandboxes) {
	cfg, _, _ := testConfig()
	sbs := &fakeSandboxes{}
	cfg.Sandboxes = sbs
	rc, _ := clients(t, cfg)
	return rc, sbs
}

// RunPodSandbox, then status (verbose), list with every filter, stop and
// remove; Stop and Remove of an unknown ID succeed.
func TestSandboxCalls(t *testing.T) {
	rc, sbs := sandboxClient(t)
	ctx := context.Background()
	var ids []string
	for _, name := range []string{"web", "db"} {
		resp, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig(name, nil)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.PodSandboxId)
	}
	st, err := rc.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: ids[0], Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	s := st.Status
	if s.Id != ids[0] || s.State != runtimeapi.PodSandboxState_SANDBOX_READY || s.Metadata.GetName() != "web" ||
		s.CreatedAt != time.Unix(100, 0).UnixNano() || s.Network.GetIp() != "10.88.0.5" ||
		len(s.Network.GetAdditionalIps()) != 1 || s.Network.AdditionalIps[0].Ip != "fd00::5" ||
		s.Labels["app"] != "web" || s.Annotations["note"] != "x" || s.Linux.GetNamespaces() == nil {
		t.Errorf("status %v", s)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info["netNamespacePath"] != "/run/podd/netns/x" || info["config"] == nil {
		t.Errorf("verbose info %v (%v)", st.Info, err)
	}
	if _, err := rc.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: "nope"}); code(err) != codes.NotFound {
		t.Errorf("status of an unknown ID: %v", err)
	}
	if _, err := rc.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: ids[1]}); err != nil {
		t.Fatal(err)
	}
	list := func(f *runtimeapi.PodSandboxFilter) []string {
		t.Helper()
		resp, err := rc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, it := range resp.Items {
			names = append(names, it.Metadata.Name)
		}
		return names
	}
	for _, tc := range []struct {
		name   string
		filter *runtimeapi.PodSandboxFilter
		want   []string
	}{
		{"none", nil, []string{"web", "db"}},
		{"id", &runtimeapi.PodSandboxFilter{Id: ids[1]}, []string{"db"}},
		{"id prefix", &runtimeapi.PodSandboxFilter{Id: ids[0][:60]}, []string{"web"}},
		{"ready", &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}}, []string{"web"}},
		{"not ready", &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}}, []string{"db"}},
		{"labels", &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "db"}}, []string{"db"}},
		{"labels no match", &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "db", "x": "y"}}, nil},
	} {
		if got := list(tc.filter); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("filter %s: %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, id := range []string{ids[0], ids[1], "unknown"} {
		if _, err := rc.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Errorf("stop %s: %v", id, err)
		}
		if _, err := rc.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Errorf("remove %s: %v", id, err)
		}
	}
	if got := list(nil); len(got) != 0 || len(sbs.sbs) != 0 {
		t.Errorf("after removal: %v", got)
	}
	// A failure of the service maps to its class.
	sbs.runErr = errdefs.Classed(errdefs.ErrAlreadyExists, "sandbox ns/web exists")
	if _, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("web", nil)}); code(err) != codes.AlreadyExists {
		t.Errorf("RunPodSandbox of an existing name: %v", err)
	}
}

// A host-network sandbox reports no IP of its own (the client knows the
// node's), as containerd does.
func TestSandboxStatusHostNetworkHasNoIP(t *testing.T) {
	rc, _ := sandboxClient(t)
	ctx := context.Background()
	resp, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("h", func(c *runtimeapi.PodSandboxConfig) {
		nsOpts(c).Network = runtimeapi.NamespaceMode_NODE
	})})
	if err != nil {
		t.Fatal(err)
	}
	st, err := rc.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: resp.PodSandboxId})
	if err != nil || st.Status.Network.GetIp() != "" || st.Status.Linux.Namespaces.Options.Network != runtimeapi.NamespaceMode_NODE {
		t.Errorf("status %v, %v", st, err)
	}
}
