package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criPod is a CRI sandbox made over gRPC, with the clients that made it.
type criPod struct {
	t      *testing.T
	rc     runtimeapi.RuntimeServiceClient
	id     string
	config *runtimeapi.PodSandboxConfig
}

// criRunPod runs a CRI sandbox named name; it is stopped and removed (its
// containers with it) when the test ends.
func (e *env) criRunPod(t *testing.T, name string) *criPod {
	t.Helper()
	return e.criRunPodWith(t, name, nil)
}

// criRunPodWith is criRunPod with mut changing the sandbox's config.
func (e *env) criRunPodWith(t *testing.T, name string, mut func(*runtimeapi.PodSandboxConfig)) *criPod {
	t.Helper()
	rc, _ := e.criClients()
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "cri", Uid: name + "-uid"},
		LogDirectory: filepath.Join(e.dir, name+"-logs"),
		Linux:        &runtimeapi.LinuxPodSandboxConfig{},
	}
	if mut != nil {
		mut(cfg)
	}
	resp, err := rc.RunPodSandbox(context.Background(), &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatalf("RunPodSandbox %s: %v", name, err)
	}
	p := &criPod{t: t, rc: rc, id: resp.PodSandboxId, config: cfg}
	t.Cleanup(func() {
		// A connection of its own: the test's may be closed by now (a
		// restarted daemon takes a new one).
		conn, err := grpc.NewClient("unix://"+e.criSocket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Errorf("remove sandbox %s: %v", name, err)
			return
		}
		defer conn.Close()
		rc := runtimeapi.NewRuntimeServiceClient(conn)
		ctx := context.Background()
		if _, err := rc.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.id}); err != nil {
			t.Errorf("StopPodSandbox %s: %v", name, err)
		}
		if _, err := rc.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.id}); err != nil {
			t.Errorf("RemovePodSandbox %s: %v", name, err)
		}
	})
	return p
}

// create makes a container of busybox:latest running sleep (mut changes
// its config) and returns its ID or CreateContainer's error.
func (p *criPod) create(name string, mut func(*runtimeapi.ContainerConfig)) (string, error) {
	p.t.Helper()
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: "busybox:latest"},
		Command:  []string{"sleep", "3600"},
		LogPath:  name + ".log",
		Linux:    &runtimeapi.LinuxContainerConfig{},
	}
	if mut != nil {
		mut(cfg)
	}
	resp, err := p.rc.CreateContainer(context.Background(), &runtimeapi.CreateContainerRequest{
		PodSandboxId: p.id, Config: cfg, SandboxConfig: p.config,
	})
	if err != nil {
		return "", err
	}
	return resp.ContainerId, nil
}

// run creates and starts a container; any error fails the test.
func (p *criPod) run(name string, mut func(*runtimeapi.ContainerConfig)) string {
	p.t.Helper()
	id, err := p.create(name, mut)
	if err != nil {
		p.t.Fatalf("CreateContainer %s: %v", name, err)
	}
	if _, err := p.rc.StartContainer(context.Background(), &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		p.t.Fatalf("StartContainer %s: %v", name, err)
	}
	return id
}

// exec runs cmd in container id and returns its stdout, stderr and exit code.
func (p *criPod) exec(id string, cmd ...string) (stdout, stderr string, code int32) {
	p.t.Helper()
	r, err := p.rc.ExecSync(context.Background(), &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 30})
	if err != nil {
		p.t.Fatalf("ExecSync %v in %s: %v", cmd, id, err)
	}
	return string(r.Stdout), string(r.Stderr), r.ExitCode
}

// hostDirWithTmpfs makes a host directory holding a tmpfs mounted at
// "tmpfs" (critest's layout for recursive read-only mounts), unmounted when
// the test ends.
func hostDirWithTmpfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	sub := filepath.Join(dir, "tmpfs")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("none", sub, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(sub, unix.MNT_DETACH) })
	return dir
}

// Issue 9, critest "Container Mount Readonly": podd advertises recursive
// read-only mounts on this kernel (5.12+); a read-only mount with
// recursive_read_only makes the mounts below it read-only too, while a
// plain read-only mount leaves them writable; recursive_read_only without
// readonly, or with a propagation other than private, is refused.
func TestCRIRecursiveReadOnlyMounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	rc, _ := e.criClients()
	st, err := rc.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h := st.GetRuntimeHandlers(); len(h) != 1 || !h[0].GetFeatures().GetRecursiveReadOnlyMounts() {
		t.Errorf("Status runtime handlers %v: recursive read-only mounts not advertised", h)
	}
	host := hostDirWithTmpfs(t)
	p := e.criRunPod(t, "rro")
	mount := func(m *runtimeapi.Mount) func(*runtimeapi.ContainerConfig) {
		return func(c *runtimeapi.ContainerConfig) { c.Mounts = []*runtimeapi.Mount{m} }
	}
	rro := p.run("rro", mount(&runtimeapi.Mount{HostPath: host, ContainerPath: "/mnt", Readonly: true, RecursiveReadOnly: true}))
	ro := p.run("ro", mount(&runtimeapi.Mount{HostPath: host, ContainerPath: "/mnt", Readonly: true}))
	for _, tc := range []struct {
		id, path, stderr string
		code             int32
	}{
		{rro, "/mnt/f", "touch: /mnt/f: Read-only file system\n", 1},
		{rro, "/mnt/tmpfs/f", "touch: /mnt/tmpfs/f: Read-only file system\n", 1},
		{ro, "/mnt/f", "touch: /mnt/f: Read-only file system\n", 1},
		{ro, "/mnt/tmpfs/g", "", 0},
	} {
		if _, stderr, code := p.exec(tc.id, "touch", tc.path); stderr != tc.stderr || code != tc.code {
			t.Errorf("touch %s in %s: %q exit %d, want %q exit %d", tc.path, tc.id[:12], stderr, code, tc.stderr, tc.code)
		}
	}
	for _, tc := range []struct {
		name string
		m    *runtimeapi.Mount
		want string
	}{
		{"not-readonly", &runtimeapi.Mount{HostPath: host, ContainerPath: "/mnt", RecursiveReadOnly: true}, "must be read-only"},
		{"host-to-container", &runtimeapi.Mount{HostPath: host, ContainerPath: "/mnt", Readonly: true, RecursiveReadOnly: true,
			Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}, "private propagation"},
		{"bidirectional", &runtimeapi.Mount{HostPath: host, ContainerPath: "/mnt", Readonly: true, RecursiveReadOnly: true,
			Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL}, "private propagation"},
	} {
		if _, err := p.create(tc.name, mount(tc.m)); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CreateContainer %s: %v, want InvalidArgument saying %q", tc.name, err, tc.want)
		}
	}
}
