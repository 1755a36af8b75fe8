package libct

import (
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

var podMapping = []*shimv1.IDMapping{{ContainerId: 0, HostId: 100000, Size: 65536}}

// The pause creates the pod's user namespace with the pod's mappings,
// and its network namespace inside it.
func TestBuildSpecCreatesUserNamespace(t *testing.T) {
	cfg := baseConfig()
	cfg.Namespaces = []*shimv1.Namespace{{Type: "user"}, {Type: "net"}, {Type: "ipc"}, {Type: "uts"}}
	cfg.UidMappings, cfg.GidMappings = podMapping, []*shimv1.IDMapping{{ContainerId: 0, HostId: 200000, Size: 65536}}
	s := mustSpec(t, cfg)
	if want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}; !slices.Equal(s.Linux.UIDMappings, want) {
		t.Errorf("uid mappings = %v, want %v", s.Linux.UIDMappings, want)
	}
	if want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}; !slices.Equal(s.Linux.GIDMappings, want) {
		t.Errorf("gid mappings = %v, want %v", s.Linux.GIDMappings, want)
	}
	c, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: "pause", Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Namespaces.IsPrivate(configs.NEWUSER) || !c.Namespaces.IsPrivate(configs.NEWNET) {
		t.Errorf("namespaces %+v: want new user and net", c.Namespaces)
	}
	if root, err := c.HostRootUID(); err != nil || root != 100000 {
		t.Errorf("host root uid = %d, %v; want 100000", root, err)
	}
}

// A container joins the pause's user namespace without mappings of its
// own; a bind mount with mappings is idmapped.
func TestBuildSpecJoinsUserNamespaceWithIdmappedMount(t *testing.T) {
	cfg := baseConfig()
	cfg.Namespaces = append(cfg.Namespaces, &shimv1.Namespace{Type: "user", Container: "pause"})
	cfg.Mounts = []*shimv1.Mount{{Source: "/var/lib/vol", Destination: "/data", Type: "bind",
		Options: []string{"rbind"}, UidMappings: podMapping, GidMappings: podMapping}}
	s := mustSpec(t, cfg)
	if len(s.Linux.UIDMappings)+len(s.Linux.GIDMappings) != 0 {
		t.Errorf("a joining container has mappings %v %v", s.Linux.UIDMappings, s.Linux.GIDMappings)
	}
	if !slices.Contains(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/4242/ns/user"}) {
		t.Errorf("namespaces %v: want the pause's user namespace", s.Linux.Namespaces)
	}
	for _, m := range s.Mounts {
		if m.Destination == "/data" && (len(m.UIDMappings) != 1 || m.UIDMappings[0].HostID != 100000 || len(m.GIDMappings) != 1) {
			t.Errorf("/data mount %+v is not idmapped", m)
		}
	}
}

func TestBuildSpecRejectsBadUserNamespaces(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(*shimv1.ContainerConfig)
		want   string
	}{
		"new user namespace without mappings": {func(c *shimv1.ContainerConfig) {
			c.Namespaces = append(c.Namespaces, &shimv1.Namespace{Type: "user"})
			c.UidMappings = podMapping
		}, "needs uid and gid mappings"},
		"mappings when joining": {func(c *shimv1.ContainerConfig) {
			c.Namespaces = append(c.Namespaces, &shimv1.Namespace{Type: "user", Container: "pause"})
			c.UidMappings, c.GidMappings = podMapping, podMapping
		}, "without a new user namespace"},
		"mappings without user namespace": {func(c *shimv1.ContainerConfig) {
			c.UidMappings, c.GidMappings = podMapping, podMapping
		}, "without a new user namespace"},
		"idmapped tmpfs": {func(c *shimv1.ContainerConfig) {
			c.Mounts = []*shimv1.Mount{{Destination: "/t", Type: "tmpfs", UidMappings: podMapping, GidMappings: podMapping}}
		}, "only a bind mount"},
		"idmapped mount with uids only": {func(c *shimv1.ContainerConfig) {
			c.Mounts = []*shimv1.Mount{{Source: "/v", Destination: "/v", Type: "bind", UidMappings: podMapping}}
		}, "needs uid and gid mappings"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := baseConfig()
			tc.mutate(cfg)
			if _, err := buildSpec(cfg, testInputs); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}
