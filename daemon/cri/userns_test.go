package cri

import (
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/idmap"
)

func idMappings(c, h, l uint32) []*runtimeapi.IDMapping {
	return []*runtimeapi.IDMapping{{ContainerId: c, HostId: h, Length: l}}
}

func podUserns(mut func(*runtimeapi.UserNamespace)) func(*runtimeapi.PodSandboxConfig) {
	return func(c *runtimeapi.PodSandboxConfig) {
		u := &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: idMappings(0, 1000, 100000), Gids: idMappings(0, 1000, 100000)}
		if mut != nil {
			mut(u)
		}
		nsOpts(c).UsernsOptions = u
	}
}

// The user namespace of a RunPodSandbox request, as critest's
// "Security Context UserNamespaces" specs and containerd have it: POD with
// one mapping of container ID 0 each gives the sandbox its own; NODE (or
// none) is the node's; the rest is refused naming userns_options.
func TestSandboxUserNamespace(t *testing.T) {
	userns := Features{UserNamespaces: true}
	for _, tc := range []struct {
		name     string
		host     Features
		mut      func(*runtimeapi.PodSandboxConfig)
		want     *idmap.Mappings
		wantCode codes.Code
		wantErr  string
	}{
		{name: "none: the node's", host: userns},
		{name: "NODE: the node's", host: userns, mut: func(c *runtimeapi.PodSandboxConfig) {
			nsOpts(c).UsernsOptions = &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}
		}},
		{name: "POD with one mapping each", host: userns, mut: podUserns(func(u *runtimeapi.UserNamespace) { u.Gids = idMappings(0, 5000, 65536) }),
			want: &idmap.Mappings{UIDs: []idmap.Range{{ContainerID: 0, HostID: 1000, Size: 100000}}, GIDs: []idmap.Range{{ContainerID: 0, HostID: 5000, Size: 65536}}}},
		{name: "more than one mapping", host: userns, mut: podUserns(func(u *runtimeapi.UserNamespace) {
			u.Uids = append(u.Uids, idMappings(0, 2000, 100000)...)
			u.Gids = u.Uids
		}), wantCode: codes.InvalidArgument, wantErr: "userns_options.uids: a pod's user namespace needs exactly one mapping, not 2"},
		{name: "container ID 0 not mapped", host: userns, mut: podUserns(func(u *runtimeapi.UserNamespace) {
			u.Uids, u.Gids = idMappings(1, 1000, 100000), idMappings(1, 1000, 100000)
		}), wantCode: codes.InvalidArgument, wantErr: "userns_options.uids: the mapping must map container ID 0"},
		{name: "no gid mapping", host: userns, mut: podUserns(func(u *runtimeapi.UserNamespace) { u.Gids = nil }),
			wantCode: codes.InvalidArgument, wantErr: "userns_options.gids"},
		{name: "CONTAINER", host: userns, mut: func(c *runtimeapi.PodSandboxConfig) {
			nsOpts(c).UsernsOptions = &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_CONTAINER}
		}, wantCode: codes.InvalidArgument, wantErr: "userns_options.mode CONTAINER"},
		{name: "TARGET", host: userns, mut: func(c *runtimeapi.PodSandboxConfig) {
			nsOpts(c).UsernsOptions = &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_TARGET}
		}, wantCode: codes.InvalidArgument, wantErr: "userns_options.mode TARGET"},
		{name: "NODE with mappings", host: userns, mut: func(c *runtimeapi.PodSandboxConfig) {
			nsOpts(c).UsernsOptions = &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE, Uids: idMappings(0, 1000, 10)}
		}, wantCode: codes.InvalidArgument, wantErr: "userns_options: mode NODE"},
		{name: "POD with the node's network", host: userns, mut: func(c *runtimeapi.PodSandboxConfig) {
			podUserns(nil)(c)
			nsOpts(c).Network = runtimeapi.NamespaceMode_NODE
		}, wantCode: codes.InvalidArgument, wantErr: "the node's network, IPC or PID namespace"},
		{name: "POD on a host without idmapped mounts", mut: podUserns(nil), wantCode: codes.Unimplemented, wantErr: "userns_options.mode POD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, err := sandboxSpec(&runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("web", tc.mut)}, tc.host)
			if tc.wantErr != "" {
				if code(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %s naming %q", err, tc.wantCode, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sp.UserNS, tc.want) {
				t.Errorf("user namespace %+v, want %+v", sp.UserNS, tc.want)
			}
		})
	}
}

// A container of a sandbox with its own user namespace repeats the
// sandbox's options (as critest and the kubelet send them) or says
// nothing; its mounts carry the client's idmappings.
func TestContainerUserNamespace(t *testing.T) {
	sbCfg, _ := proto.Marshal(sandboxConfig("web", podUserns(nil)))
	sb := Sandbox{ID: "sb1", Ready: true, Config: sbCfg}
	nodeCfg, _ := proto.Marshal(sandboxConfig("web", nil))
	nodeSb := Sandbox{ID: "sb2", Ready: true, Config: nodeCfg}
	same := &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: idMappings(0, 1000, 100000), Gids: idMappings(0, 1000, 100000)}
	for _, tc := range []struct {
		name    string
		sb      Sandbox
		mut     func(*runtimeapi.ContainerConfig)
		wantErr string
		check   func(*testing.T, ContainerSpec)
	}{
		{name: "the sandbox's options", sb: sb, mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).NamespaceOptions = &runtimeapi.NamespaceOption{UsernsOptions: same}
		}},
		{name: "no options", sb: sb},
		{name: "NODE in a node-namespace sandbox", sb: nodeSb, mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).NamespaceOptions = &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}}
		}},
		{name: "other mappings", sb: sb, mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).NamespaceOptions = &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{
				Mode: runtimeapi.NamespaceMode_POD, Uids: idMappings(0, 2000, 100000), Gids: idMappings(0, 1000, 100000)}}
		}, wantErr: "userns_options (mode POD"},
		{name: "NODE in a sandbox with its own", sb: sb, mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).NamespaceOptions = &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}}
		}, wantErr: "a container is in its sandbox's user namespace"},
		{name: "POD in a node-namespace sandbox", sb: nodeSb, mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).NamespaceOptions = &runtimeapi.NamespaceOption{UsernsOptions: same}
		}, wantErr: "a container is in its sandbox's user namespace"},
		{name: "node PID namespace", sb: sb, mut: func(c *runtimeapi.ContainerConfig) {
			ctrSec(c).NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_NODE}
		}, wantErr: "namespace_options.pid NODE"},
		{name: "idmapped mount", sb: sb, mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "/srv/a", UidMappings: same.Uids, GidMappings: same.Gids},
				{ContainerPath: "/b", HostPath: "/srv/b"}}
		}, check: func(t *testing.T, cs ContainerSpec) {
			want := &idmap.Mappings{UIDs: []idmap.Range{{ContainerID: 0, HostID: 1000, Size: 100000}}, GIDs: []idmap.Range{{ContainerID: 0, HostID: 1000, Size: 100000}}}
			if m := cs.Process.Mounts; len(m) != 2 || !reflect.DeepEqual(m[0].IDMap, want) || m[1].IDMap != nil {
				t.Errorf("mounts %+v", m)
			}
		}},
		{name: "idmapped mount with uids only", sb: sb, mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "/srv/a", UidMappings: same.Uids}}
		}, wantErr: "config.mounts[0].uidMappings and gidMappings"},
		{name: "idmapped mount in a node-namespace sandbox", sb: nodeSb, mut: func(c *runtimeapi.ContainerConfig) {
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/a", HostPath: "/srv/a", UidMappings: same.Uids, GidMappings: same.Gids}}
		}, wantErr: "config.mounts[0].uidMappings: only a mount of a sandbox with its own user namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := containerSpec(&runtimeapi.CreateContainerRequest{PodSandboxId: tc.sb.ID, Config: containerConfig("app", tc.mut)}, tc.sb, Features{})
			if tc.wantErr != "" {
				if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want InvalidArgument naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, cs)
			}
		})
	}
}
