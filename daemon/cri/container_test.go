package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/internal/errdefs"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// fakeContainers records what the CRI edge asks of the container service.
type fakeContainers struct {
	mu       sync.Mutex
	cs       []Container
	specs    []ContainerSpec
	stops    []string
	execs    []ExecOptions
	execCode int32
	execErr  error
	updates  []*shimv1.Resources
}

func (f *fakeContainers) Create(_ context.Context, sp ContainerSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.specs = append(f.specs, sp)
	c := Container{ID: fmt.Sprintf("%d%063d", len(f.cs)+1, 0), SandboxID: sp.SandboxID, Image: sp.Image, ImageID: idA,
		ImageRef: "docker.io/library/busybox@sha256:1111", State: runtimeapi.ContainerState_CONTAINER_CREATED,
		CreatedAt: time.Unix(200, int64(len(f.cs))), LogPath: sp.LogPath, Config: sp.Config}
	f.cs = append(f.cs, c)
	return c.ID, nil
}

func (f *fakeContainers) set(id string, mut func(*Container)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.cs {
		if f.cs[i].ID == id {
			mut(&f.cs[i])
			return nil
		}
	}
	return errdefs.Classed(errdefs.ErrNotFound, "container %q not found", id)
}

func (f *fakeContainers) Start(_ context.Context, id string) error {
	return f.set(id, func(c *Container) {
		c.State, c.StartedAt, c.Pid = runtimeapi.ContainerState_CONTAINER_RUNNING, time.Unix(300, 0), 42
	})
}

func (f *fakeContainers) Stop(_ context.Context, id string, timeout time.Duration) error {
	f.mu.Lock()
	f.stops = append(f.stops, fmt.Sprintf("%s %s", id, timeout))
	f.mu.Unlock()
	f.set(id, func(c *Container) {
		c.State, c.FinishedAt, c.ExitCode, c.Reason = runtimeapi.ContainerState_CONTAINER_EXITED, time.Unix(400, 0), 137, "Error"
	})
	return nil
}

func (f *fakeContainers) Remove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.cs {
		if f.cs[i].ID == id {
			f.cs = append(f.cs[:i], f.cs[i+1:]...)
			break
		}
	}
	return nil
}

func (f *fakeContainers) Update(_ context.Context, id string, res *shimv1.Resources, config []byte) error {
	f.mu.Lock()
	f.updates = append(f.updates, res)
	f.mu.Unlock()
	return f.set(id, func(c *Container) { c.Config = config })
}

func (f *fakeContainers) ReopenLog(_ context.Context, id string) error {
	c, err := f.Get(context.Background(), id)
	if err != nil {
		return err
	}
	if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return errdefs.Classed(errdefs.ErrFailedPrecondition, "container %s is not running", id)
	}
	return nil
}

func (f *fakeContainers) Get(_ context.Context, id string) (Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.cs {
		if c.ID == id {
			return c, nil
		}
	}
	return Container{}, errdefs.Classed(errdefs.ErrNotFound, "container %q not found", id)
}

func (f *fakeContainers) List(context.Context) ([]Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Container(nil), f.cs...), nil
}

func (f *fakeContainers) Exec(_ context.Context, id string, opts ExecOptions) (int32, error) {
	c, err := f.Get(context.Background(), id)
	if err != nil {
		return 0, err
	}
	if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return 0, errdefs.Classed(errdefs.ErrFailedPrecondition, "container %s is not running", id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execs = append(f.execs, opts)
	if opts.Stdout != nil {
		io.WriteString(opts.Stdout, "out:"+strings.Join(opts.Cmd, " "))
	}
	if opts.Stderr != nil {
		io.WriteString(opts.Stderr, "err")
	}
	return f.execCode, f.execErr
}

func containerConfig(name string, mut func(*runtimeapi.ContainerConfig)) *runtimeapi.ContainerConfig {
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name, Attempt: 2},
		Image:    &runtimeapi.ImageSpec{Image: "busybox"},
		LogPath:  name + "/2.log", Labels: map[string]string{"c": name}, Annotations: map[string]string{"a": "1"},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{}},
	}
	if mut != nil {
		mut(cfg)
	}
	return cfg
}

func ctrSec(c *runtimeapi.ContainerConfig) *runtimeapi.LinuxContainerSecurityContext {
	return c.Linux.SecurityContext
}

// The translation of a CreateContainer request: what podd honours reaches
// the container service; what it cannot is InvalidArgument or
// Unimplemented naming the field.
func TestContainerSpecTranslation(t *testing.T) {
	sbCfg, _ := proto.Marshal(sandboxConfig("web", nil))
	sb := Sandbox{ID: "sb1", Ready: true, Config: sbCfg}
	for _, tc := range []struct {
		name     string
		mut      func(*runtimeapi.ContainerConfig)
		check    func(*testing.T, ContainerSpec)
		wantCode codes.Code
		wantErr  string
		// noRRO is a host whose kernel cannot make recursive read-only mounts.
		noRRO bool
	}{
		{name: "metadata, image, log path under the sandbox's log directory, process", mut: func(c *runtimeapi.ContainerConfig) {
			c.Command, c.Args, c.WorkingDir = []string{"/bin/sh"}, []string{"-c", "true"}, "/w"
			c.Envs = []*runtimeapi.KeyValue{{Key: "A", Value: []byte("1")}, {Key: "B", Value: []byte("2")}}
			c.Tty, c.Stdin = true, true
		}, check: func(t *testing.T, cs ContainerSpec) {
			p := cs.Process
			if cs.SandboxID != "sb1" || cs.Name != "app" || cs.Attempt != 2 || cs.Image != "busybox" ||
				cs.LogPath != "/var/log/pods/ns_web/app/2.log" || cs.Labels["c"] != "app" || cs.Annotations["a"] != "1" ||
				!reflect.DeepEqual(p.Command, []string{"/bin/sh"}) || !reflect.DeepEqual(p.Args, []string{"-c", "true"}) ||
				p.WorkingDir != "/w" || len(p.Env) != 2 || p.Env[1].Name != "B" || p.Env[1].Value != "2" || !p.TTY || !p.Stdin ||
				!p.Sandbox.ShareProcessNamespace || p.Sandbox.HostPID {
				t.Errorf("spec %+v", cs)
			}
			got := &runtimeapi.ContainerConfig{}
			if err := proto.Unmarshal(cs.Config, got); err != nil || got.GetMetadata().GetName() != "app" {
				t.Errorf("kept config %v, %v", got, err)
			}
		}},
		{name: "no log path: no log; no seccomp profile: unconfined", mut: func(c *runtimeapi.ContainerConfig) { c.LogPath = "" },
			check: func(t *testing.T, cs ContainerSpec) {
				if cs.LogPath != "" || cs.Process.Seccomp != "Unconfined" {
					t.Errorf("log path %q seccomp %q", cs.LogPath, cs.Process.Seccomp)
				}
			}},
		{name: "run_as_group without a user", mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).RunAsGroup = &runtimeapi.Int64Value{Value: 5}
		}, wantCode: codes.InvalidArgument, wantErr: "run_as_group"},
		{name: "mounts with propagation", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{
				{ContainerPath: "/a", HostPath: "/srv/a", Readonly: true, SelinuxRelabel: true},
				{ContainerPath: "/b", HostPath: "/srv/b", Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
				{ContainerPath: "/c", HostPath: "/srv/c", Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
			}
		}, check: func(t *testing.T, cs ContainerSpec) {
			m := cs.Process.Mounts
			if len(m) != 3 || m[0].Propagation != "private" || !m[0].ReadOnly || m[1].Propagation != "rslave" ||
				m[2].Propagation != "rshared" || m[2].HostPath != "/srv/c" || m[2].ContainerPath != "/c" {
				t.Errorf("mounts %+v", m)
			}
		}},
		{name: "recursive read-only mount", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "/srv/a", Readonly: true, RecursiveReadOnly: true}}
		}, check: func(t *testing.T, cs ContainerSpec) {
			if m := cs.Process.Mounts; len(m) != 1 || !m[0].RecursiveReadOnly || !m[0].ReadOnly || m[0].Propagation != "private" {
				t.Errorf("mounts %+v", m)
			}
		}},
		{name: "recursive read-only without readonly", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "/srv/a", RecursiveReadOnly: true}}
		}, wantCode: codes.InvalidArgument, wantErr: "config.mounts[0].recursive_read_only: a recursive read-only mount must be read-only"},
		{name: "recursive read-only with host-to-container propagation", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "/srv/a", Readonly: true, RecursiveReadOnly: true,
				Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}}
		}, wantCode: codes.InvalidArgument, wantErr: "must have private propagation, not PROPAGATION_HOST_TO_CONTAINER"},
		{name: "recursive read-only with bidirectional propagation", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "/srv/a", Readonly: true, RecursiveReadOnly: true,
				Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL}}
		}, wantCode: codes.InvalidArgument, wantErr: "must have private propagation, not PROPAGATION_BIDIRECTIONAL"},
		{name: "recursive read-only on a kernel without mount_setattr", noRRO: true, mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "/srv/a", Readonly: true, RecursiveReadOnly: true}}
		}, wantCode: codes.Unimplemented, wantErr: "config.mounts[0].recursive_read_only"},
		{name: "resources and OOM score", mut: func(c *runtimeapi.ContainerConfig) {
			c.Linux.Resources = &runtimeapi.LinuxContainerResources{CpuShares: 512, CpuQuota: 50000, CpuPeriod: 100000,
				MemoryLimitInBytes: 64 << 20, OomScoreAdj: 999, HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB"}}}
		}, check: func(t *testing.T, cs ContainerSpec) {
			r := cs.Process.Resources
			if r.CpuShares != 512 || r.CpuQuotaUs != 50000 || r.CpuPeriodUs != 100000 || r.MemoryLimitBytes != 64<<20 || cs.Process.OOMScoreAdj != 999 {
				t.Errorf("resources %v oom %d", r, cs.Process.OOMScoreAdj)
			}
		}},
		{name: "security context", mut: func(c *runtimeapi.ContainerConfig) {
			sc := ctrSec(c)
			sc.RunAsUser, sc.RunAsGroup = &runtimeapi.Int64Value{Value: 1000}, &runtimeapi.Int64Value{Value: 2000}
			sc.SupplementalGroups = []int64{5, 6}
			sc.Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"NET_ADMIN"}, DropCapabilities: []string{"ALL"}}
			sc.ReadonlyRootfs, sc.NoNewPrivs, sc.Privileged = true, true, true
			sc.MaskedPaths, sc.ReadonlyPaths = []string{"/proc/kcore"}, []string{"/proc/sys"}
			sc.NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}
			sc.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
			sc.Apparmor = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
		}, check: func(t *testing.T, cs ContainerSpec) {
			p := cs.Process
			if *p.RunAsUser != 1000 || *p.RunAsGroup != 2000 || !reflect.DeepEqual(p.SupplementalGroups, []int64{5, 6}) ||
				!reflect.DeepEqual(p.CapAdd, []string{"NET_ADMIN"}) || !reflect.DeepEqual(p.CapDrop, []string{"ALL"}) ||
				!p.ReadonlyRootfs || !p.NoNewPrivs || !p.Privileged || p.Seccomp != "RuntimeDefault" || p.Sandbox.ShareProcessNamespace ||
				!reflect.DeepEqual(p.MaskedPaths, []string{"/proc/kcore"}) || !reflect.DeepEqual(p.ReadonlyPaths, []string{"/proc/sys"}) {
				t.Errorf("process %+v", p)
			}
		}},
		{name: "supplemental groups policy: Merge by default", check: func(t *testing.T, cs ContainerSpec) {
			if cs.Process.SupplementalGroupsPolicy != "Merge" {
				t.Errorf("policy %q", cs.Process.SupplementalGroupsPolicy)
			}
		}},
		{name: "supplemental groups policy Strict", mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).SupplementalGroupsPolicy = runtimeapi.SupplementalGroupsPolicy_Strict
		}, check: func(t *testing.T, cs ContainerSpec) {
			if cs.Process.SupplementalGroupsPolicy != "Strict" {
				t.Errorf("policy %q", cs.Process.SupplementalGroupsPolicy)
			}
		}},
		{name: "unknown supplemental groups policy", mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).SupplementalGroupsPolicy = 7
		}, wantCode: codes.InvalidArgument, wantErr: "supplemental_groups_policy 7"},
		{name: "run as username, PID NODE", mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).RunAsUsername = "nobody"
			ctrSec(c).NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_NODE}
		}, check: func(t *testing.T, cs ContainerSpec) {
			if cs.Process.RunAsUsername != "nobody" || cs.Process.RunAsUser != nil || !cs.Process.Sandbox.HostPID {
				t.Errorf("process %+v", cs.Process)
			}
		}},
		{name: "seccomp Localhost", mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "/etc/p.json"}
		}, check: func(t *testing.T, cs ContainerSpec) {
			if cs.Process.Seccomp != "Localhost" || cs.Process.SeccompProfile != "/etc/p.json" {
				t.Errorf("seccomp %q %q", cs.Process.Seccomp, cs.Process.SeccompProfile)
			}
		}},
		{name: "name required", mut: func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = "" }, wantCode: codes.InvalidArgument, wantErr: "config.metadata.name"},
		{name: "image required", mut: func(c *runtimeapi.ContainerConfig) { c.Image.Image = "" }, wantCode: codes.InvalidArgument, wantErr: "config.image.image"},
		{name: "devices", mut: func(c *runtimeapi.ContainerConfig) {
			c.Devices = []*runtimeapi.Device{{ContainerPath: "/dev/x", HostPath: "/dev/null", Permissions: "rw"}}
		}, check: func(t *testing.T, cs ContainerSpec) {
			if d := cs.Process.Devices; len(d) != 1 || d[0].HostPath != "/dev/null" || d[0].ContainerPath != "/dev/x" || d[0].Permissions != "rw" {
				t.Errorf("devices %v", d)
			}
		}},
		{name: "bad device permissions", mut: func(c *runtimeapi.ContainerConfig) {
			c.Devices = []*runtimeapi.Device{{ContainerPath: "/dev/x", HostPath: "/dev/null", Permissions: "rwx"}}
		}, wantCode: codes.InvalidArgument, wantErr: "config.devices[0].permissions"},
		{name: "relative host path", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "srv/a"}}
		}, wantCode: codes.InvalidArgument, wantErr: "config.mounts[0].host_path"},
		{name: "image volumes, whole and a sub path", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "sha256:abc"}},
				{ContainerPath: "/b", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "sha256:abc"}, ImageSubPath: "etc/"}}
		}, check: func(t *testing.T, cs ContainerSpec) {
			m := cs.Process.Mounts
			if len(m) != 2 || m[0].Image != "sha256:abc" || m[0].ImageSubPath != "" || m[0].HostPath != "" || !m[0].ReadOnly ||
				m[0].Propagation != "private" || m[1].ImageSubPath != "etc" || m[1].ContainerPath != "/b" {
				t.Errorf("mounts %+v", m)
			}
		}},
		{name: "image volume not read-only", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", Image: &runtimeapi.ImageSpec{Image: "sha256:abc"}}}
		}, wantCode: codes.InvalidArgument, wantErr: "config.mounts[0].readonly: an image volume is read-only"},
		{name: "image volume with a host path", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "/srv", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "sha256:abc"}}}
		}, wantCode: codes.InvalidArgument, wantErr: "config.mounts[0].host_path"},
		{name: "image volume sub path out of the image", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "sha256:abc"}, ImageSubPath: "etc/../../x"}}
		}, wantCode: codes.InvalidArgument, wantErr: "config.mounts[0].image_sub_path"},
		{name: "image volume sub path absolute", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "sha256:abc"}, ImageSubPath: "/etc"}}
		}, wantCode: codes.InvalidArgument, wantErr: "config.mounts[0].image_sub_path"},
		{name: "image volume with propagation", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "sha256:abc"}, Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL}}
		}, wantCode: codes.InvalidArgument, wantErr: "config.mounts[0].propagation"},
		{name: "image volume of another runtime handler", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "x", RuntimeHandler: "kata"}}}
		}, wantCode: codes.InvalidArgument, wantErr: "config.mounts[0].image.runtime_handler"},
		{name: "image sub path without an image", mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "/srv", ImageSubPath: "etc"}}
		}, wantCode: codes.InvalidArgument, wantErr: "config.mounts[0].image_sub_path"},
		{name: "cpuset", mut: func(c *runtimeapi.ContainerConfig) {
			c.Linux.Resources = &runtimeapi.LinuxContainerResources{CpusetCpus: "0"}
		}, wantCode: codes.Unimplemented, wantErr: "cpuset_cpus"},
		{name: "network and IPC modes are the sandbox's, whatever the container says", mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).NamespaceOptions = &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Ipc: runtimeapi.NamespaceMode_NODE}
		}, check: func(t *testing.T, cs ContainerSpec) {
			if sb := cs.Process.Sandbox; sb.HostNetwork || sb.HostIPC {
				t.Errorf("sandbox namespaces %+v", sb)
			}
		}},
		{name: "target PID namespace", mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: "x"}
		}, wantCode: codes.Unimplemented, wantErr: "namespace_options.pid"},
		{name: "SELinux", mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).SelinuxOptions = &runtimeapi.SELinuxOption{Type: "spc_t"}
		}, wantCode: codes.InvalidArgument, wantErr: "selinux_options"},
		{name: "AppArmor Localhost", mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).Apparmor = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "p"}
		}, wantCode: codes.InvalidArgument, wantErr: "apparmor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := Features{RecursiveReadOnlyMounts: !tc.noRRO}
			cs, err := containerSpec(&runtimeapi.CreateContainerRequest{PodSandboxId: "sb1", Config: containerConfig("app", tc.mut)}, sb, host)
			if tc.wantErr != "" {
				if code(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %s naming %q", err, tc.wantCode, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cs)
		})
	}
}

func containerTestConfig() (Config, *fakeSandboxes, *fakeContainers) {
	cfg, _, _ := testConfig()
	sbs, cs := &fakeSandboxes{}, &fakeContainers{}
	cfg.Sandboxes, cfg.Containers = sbs, cs
	return cfg, sbs, cs
}

// The container calls through a CRI client: create in a sandbox, start,
// list with filters, status (also verbose), exec, stop, remove.
func TestContainerCalls(t *testing.T) {
	cfg, _, fc := containerTestConfig()
	rc, _ := clients(t, cfg)
	ctx := context.Background()
	sb, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("web", nil)})
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string) string {
		t.Helper()
		r, err := rc.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, Config: containerConfig(name, nil)})
		if err != nil {
			t.Fatal(err)
		}
		return r.ContainerId
	}
	a, b := create("a"), create("b")
	if _, err := rc.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: "nope", Config: containerConfig("c", nil)}); code(err) != codes.NotFound {
		t.Errorf("CreateContainer in an unknown sandbox: %v", err)
	}
	if _, err := rc.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: a}); err != nil {
		t.Fatal(err)
	}
	list := func(f *runtimeapi.ContainerFilter) []string {
		t.Helper()
		r, err := rc.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range r.Containers {
			out = append(out, c.Metadata.Name+" "+c.State.String())
		}
		return out
	}
	for _, tc := range []struct {
		f    *runtimeapi.ContainerFilter
		want []string
	}{
		{nil, []string{"a CONTAINER_RUNNING", "b CONTAINER_CREATED"}},
		{&runtimeapi.ContainerFilter{Id: a[:3]}, []string{"a CONTAINER_RUNNING"}},
		{&runtimeapi.ContainerFilter{PodSandboxId: sb.PodSandboxId[:5]}, []string{"a CONTAINER_RUNNING", "b CONTAINER_CREATED"}},
		{&runtimeapi.ContainerFilter{PodSandboxId: "f"}, nil},
		{&runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_CREATED}}, []string{"b CONTAINER_CREATED"}},
		{&runtimeapi.ContainerFilter{LabelSelector: map[string]string{"c": "b"}}, []string{"b CONTAINER_CREATED"}},
		{&runtimeapi.ContainerFilter{LabelSelector: map[string]string{"c": "x"}}, nil},
	} {
		if got := list(tc.f); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ListContainers %v = %v, want %v", tc.f, got, tc.want)
		}
	}

	st, err := rc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: a, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	s := st.Status
	if s.Id != a || s.Metadata.Name != "a" || s.State != runtimeapi.ContainerState_CONTAINER_RUNNING || s.StartedAt != 300e9 ||
		s.FinishedAt != 0 || s.Image.Image != "docker.io/library/busybox:latest" || s.ImageRef != "docker.io/library/busybox@sha256:1111" ||
		s.ImageId != idA || s.LogPath != "/var/log/pods/ns_web/a/2.log" || s.Labels["c"] != "a" || s.Annotations["a"] != "1" {
		t.Errorf("ContainerStatus = %v", s)
	}
	var info containerInfo
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info.Pid != 42 || info.SandboxID != sb.PodSandboxId {
		t.Errorf("verbose info %q: %v", st.Info["info"], err)
	}
	if _, err := rc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: "nope"}); code(err) != codes.NotFound {
		t.Errorf("ContainerStatus of an unknown ID: %v", err)
	}

	r, err := rc.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: a, Cmd: []string{"echo", "hi"}, Timeout: 3})
	if err != nil || string(r.Stdout) != "out:echo hi" || string(r.Stderr) != "err" || r.ExitCode != 0 {
		t.Errorf("ExecSync = %v, %v", r, err)
	}
	if fc.execs[0].Timeout != 3*time.Second {
		t.Errorf("exec timeout %s", fc.execs[0].Timeout)
	}
	fc.execCode, fc.execErr = 137, ErrExecTimeout
	if _, err := rc.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: a, Cmd: []string{"sleep", "9"}, Timeout: 1}); code(err) != codes.DeadlineExceeded {
		t.Errorf("ExecSync past its timeout: %v", err)
	}
	fc.execCode, fc.execErr = 0, nil
	if _, err := rc.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: b, Cmd: []string{"true"}}); code(err) != codes.FailedPrecondition {
		t.Errorf("ExecSync in a created container: %v", err)
	}
	if _, err := rc.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: a}); code(err) != codes.InvalidArgument {
		t.Errorf("ExecSync without a command: %v", err)
	}

	if _, err := rc.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: a}); err != nil {
		t.Errorf("ReopenContainerLog of a running container: %v", err)
	}
	if _, err := rc.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: b}); code(err) != codes.FailedPrecondition {
		t.Errorf("ReopenContainerLog of a created container: %v", err)
	}
	if _, err := rc.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: a, Timeout: 5}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fc.stops, []string{a + " 5s"}) {
		t.Errorf("stops %v", fc.stops)
	}
	st, _ = rc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: a})
	if s := st.Status; s.State != runtimeapi.ContainerState_CONTAINER_EXITED || s.ExitCode != 137 || s.Reason != "Error" || s.FinishedAt != 400e9 {
		t.Errorf("after stop: %v", s)
	}
	if _, err := rc.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: a}); err != nil {
		t.Fatal(err)
	}
	if got := list(nil); !reflect.DeepEqual(got, []string{"b CONTAINER_CREATED"}) {
		t.Errorf("after remove: %v", got)
	}
	if _, err := rc.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: b,
		Linux: &runtimeapi.LinuxContainerResources{CpuShares: 256, MemoryLimitInBytes: 32 << 20}}); err != nil {
		t.Fatal(err)
	}
	if len(fc.updates) != 1 || fc.updates[0].CpuShares != 256 || fc.updates[0].MemoryLimitBytes != 32<<20 {
		t.Errorf("updates %v", fc.updates)
	}
	st, _ = rc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: b})
	if r := st.Status.GetResources().GetLinux(); r.GetCpuShares() != 256 || r.GetMemoryLimitInBytes() != 32<<20 {
		t.Errorf("status resources after update: %v", r)
	}
	if _, err := rc.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: b,
		Linux: &runtimeapi.LinuxContainerResources{CpusetCpus: "0-1"}}); code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "linux.cpuset_cpus") {
		t.Errorf("UpdateContainerResources with a cpuset: %v", err)
	}
	if _, err := rc.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: "nope",
		Linux: &runtimeapi.LinuxContainerResources{CpuShares: 2}}); code(err) != codes.NotFound {
		t.Errorf("UpdateContainerResources of an unknown container: %v", err)
	}
}
