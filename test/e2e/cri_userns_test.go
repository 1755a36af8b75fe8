package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// usernsHostID is the host ID of the user namespace's root in these tests.
const usernsHostID = 300000

func usernsOptions() *runtimeapi.UserNamespace {
	m := []*runtimeapi.IDMapping{{ContainerId: 0, HostId: usernsHostID, Length: 65536}}
	return &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: m, Gids: m}
}

func hostOwner(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid
}

// Issue 9, critest "Security Context UserNamespaces": podd advertises user
// namespaces; a sandbox with userns_options POD and one mapping runs its
// pause and containers in one user namespace with that mapping. The
// container's root owns its rootfs (idmapped layers), sysfs is mounted
// (the netns belongs to the namespace) and a net sysctl of the sandbox is
// set in it. A file written to a plain volume belongs to the host IDs the
// writer maps to; through an idmapped volume (the kubelet sends the pod's
// mappings on every mount) to the writer's IDs as the container sees them.
// Nothing is left once the sandbox is removed; modes CONTAINER and TARGET
// are refused.
func TestCRIUserNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	rc, _ := e.criClients()
	st, err := rc.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h := st.GetRuntimeHandlers(); len(h) != 1 || !h[0].GetFeatures().GetUserNamespaces() {
		t.Fatalf("Status runtime handlers %v: user namespaces not advertised", h)
	}
	plain, mapped := t.TempDir(), t.TempDir()
	// The plain volume is the pod root's, as a kubelet would prepare it;
	// the idmapped one stays the host root's.
	if err := os.Chown(plain, usernsHostID, usernsHostID); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{plain, mapped} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ns := &runtimeapi.NamespaceOption{UsernsOptions: usernsOptions()}
	p := e.criRunPodWith(t, "userns", func(c *runtimeapi.PodSandboxConfig) {
		c.Linux.SecurityContext = &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: ns}
		c.Linux.Sysctls = map[string]string{"net.ipv4.ip_unprivileged_port_start": "80"}
	})
	id := p.run("c", func(c *runtimeapi.ContainerConfig) {
		c.Linux.SecurityContext = &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: ns}
		c.Mounts = []*runtimeapi.Mount{
			{HostPath: plain, ContainerPath: "/plain"},
			{HostPath: mapped, ContainerPath: "/mapped", UidMappings: ns.UsernsOptions.Uids, GidMappings: ns.UsernsOptions.Gids},
		}
	})
	for _, f := range []string{"uid_map", "gid_map"} {
		out, _, code := p.exec(id, "cat", "/proc/self/"+f)
		if got := strings.Fields(out); code != 0 || strings.Join(got, " ") != "0 300000 65536" {
			t.Errorf("/proc/self/%s in the container: %q (exit %d), want 0 300000 65536", f, out, code)
		}
	}
	for _, tc := range []struct{ cmd, want string }{
		{"id -u; stat -c '%u:%g' / /bin/busybox", "0\n0:0\n0:0\n"},
		{"touch /etc/podd-was-here && echo ok", "ok\n"},
		{"grep -c ' /sys ro,[^ ]* - sysfs ' /proc/self/mountinfo", "1\n"},
		{"cat /proc/sys/net/ipv4/ip_unprivileged_port_start", "80\n"},
		{"for d in plain mapped; do echo x > /$d/f && chown 1000:2000 /$d/f || exit 1; done; echo ok", "ok\n"},
	} {
		if out, stderr, code := p.exec(id, "sh", "-c", tc.cmd); out != tc.want || code != 0 {
			t.Errorf("%s: %q %q exit %d, want %q", tc.cmd, out, stderr, code, tc.want)
		}
	}
	if u, g := hostOwner(t, filepath.Join(plain, "f")); u != usernsHostID+1000 || g != usernsHostID+2000 {
		t.Errorf("plain volume: the file is %d:%d on the host, want %d:%d", u, g, usernsHostID+1000, usernsHostID+2000)
	}
	if u, g := hostOwner(t, filepath.Join(mapped, "f")); u != 1000 || g != 2000 {
		t.Errorf("idmapped volume: the file is %d:%d on the host, want 1000:2000", u, g)
	}

	for _, mode := range []runtimeapi.NamespaceMode{runtimeapi.NamespaceMode_CONTAINER, runtimeapi.NamespaceMode_TARGET} {
		_, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
			Metadata: &runtimeapi.PodSandboxMetadata{Name: "bad", Namespace: "cri", Uid: "bad-uid"},
			Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: mode}}}},
		}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "userns_options") {
			t.Errorf("RunPodSandbox with userns mode %s: %v, want InvalidArgument naming userns_options", mode, err)
		}
	}

	if _, err := rc.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.id}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.id}); err != nil {
		t.Fatal(err)
	}
	if c := e.census(t); !c.empty() {
		t.Errorf("left on the host after RemovePodSandbox: %+v", c)
	}
}
