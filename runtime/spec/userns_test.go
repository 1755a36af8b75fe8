package spec

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/idmap"
)

func podIDs(size uint32) *idmap.Mappings {
	return &idmap.Mappings{UIDs: []idmap.Range{{ContainerID: 0, HostID: 100000, Size: size}},
		GIDs: []idmap.Range{{ContainerID: 0, HostID: 200000, Size: size}}}
}

// The pause of a pod with its own user namespace creates it with the
// pod's mappings, and the network namespace inside it.
func TestPauseConfigCreatesUserNamespace(t *testing.T) {
	ns := func(typ string) *shimv1.Namespace { return &shimv1.Namespace{Type: typ} }
	for _, tc := range []struct {
		name    string
		size    uint32
		wantUID uint32
	}{
		{"65536 IDs: the pause runs as PauseUID", 65536, PauseUID},
		{"fewer IDs: the pause runs as the namespace's highest", 1000, 999},
	} {
		cfg, err := PauseConfig(PauseInput{Pod: pausePod(corev1.PodSpec{}),
			Binary: "/usr/bin/podd-pause", CgroupParent: "/podd/podu1", UserNS: podIDs(tc.size)})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := []*shimv1.Namespace{ns("net"), ns("uts"), ns("ipc"), ns("user")}
		if !reflect.DeepEqual(cfg.Namespaces, want) {
			t.Errorf("%s: namespaces %v, want %v", tc.name, cfg.Namespaces, want)
		}
		wantU := []*shimv1.IDMapping{{ContainerId: 0, HostId: 100000, Size: tc.size}}
		wantG := []*shimv1.IDMapping{{ContainerId: 0, HostId: 200000, Size: tc.size}}
		if !reflect.DeepEqual(cfg.UidMappings, wantU) || !reflect.DeepEqual(cfg.GidMappings, wantG) {
			t.Errorf("%s: mappings %v %v, want %v %v", tc.name, cfg.UidMappings, cfg.GidMappings, wantU, wantG)
		}
		if cfg.GetUser().GetUid() != tc.wantUID || cfg.GetUser().GetGid() != tc.wantUID {
			t.Errorf("%s: pause user %v, want %d", tc.name, cfg.GetUser(), tc.wantUID)
		}
	}
}

func TestPauseConfigUserNamespaceRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		spec corev1.PodSpec
		ids  *idmap.Mappings
		want string
	}{
		"host network":     {corev1.PodSpec{HostNetwork: true}, podIDs(65536), "host's network, IPC or PID"},
		"host PID":         {corev1.PodSpec{HostPID: true}, podIDs(65536), "host's network, IPC or PID"},
		"only root mapped": {corev1.PodSpec{}, podIDs(1), "maps only ID 0"},
		"two ranges": {corev1.PodSpec{}, &idmap.Mappings{UIDs: append(podIDs(10).UIDs, idmap.Range{ContainerID: 10, HostID: 1, Size: 1}),
			GIDs: podIDs(10).GIDs}, "exactly one mapping"},
	} {
		_, err := PauseConfig(PauseInput{Pod: pausePod(tc.spec), Binary: "/b", CgroupParent: "/podd/p",
			NetnsPath: "/run/podd/netns/x", UserNS: tc.ids})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

// A container of such a pod joins the pause's user namespace; a mount
// the client idmaps is idmapped with its mappings, the others are not.
func TestBuildCRIInUserNamespace(t *testing.T) {
	in := criInput(t)
	in.Sandbox.UserNS = podIDs(65536)
	in.Mounts = []CRIMount{{HostPath: "/srv/a", ContainerPath: "/a", IDMap: podIDs(65536)}, {HostPath: "/srv/b", ContainerPath: "/b"}}
	cfg, err := BuildCRI(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &shimv1.Namespace{Type: "user", Container: PauseID}
	found := false
	for _, ns := range cfg.Namespaces {
		found = found || reflect.DeepEqual(ns, want)
	}
	if !found || len(cfg.UidMappings)+len(cfg.GidMappings) > 0 {
		t.Errorf("namespaces %v, mappings %v %v: want to join the pause's user namespace, no mappings", cfg.Namespaces, cfg.UidMappings, cfg.GidMappings)
	}
	for _, m := range cfg.Mounts {
		mapped := len(m.UidMappings) == 1 && m.UidMappings[0].HostId == 100000 && len(m.GidMappings) == 1 && m.GidMappings[0].HostId == 200000
		switch m.Destination {
		case "/a":
			if !mapped {
				t.Errorf("/a: mappings %v %v, want the pod's", m.UidMappings, m.GidMappings)
			}
		default:
			if len(m.UidMappings)+len(m.GidMappings) > 0 {
				t.Errorf("%s is idmapped: %v %v", m.Destination, m.UidMappings, m.GidMappings)
			}
		}
	}
}

// A user or group the pod's user namespace does not map is refused when
// the config is built, not when runc fails to start it.
func TestBuildCRIUnmappedUser(t *testing.T) {
	for name, mut := range map[string]func(*CRIInput){
		"user":                func(in *CRIInput) { u := int64(70000); in.RunAsUser = &u },
		"supplementary group": func(in *CRIInput) { in.SupplementalGroups = []int64{65536} },
	} {
		in := criInput(t)
		in.Sandbox.UserNS = podIDs(65536)
		mut(&in)
		if _, err := BuildCRI(in); err == nil || !strings.Contains(err.Error(), "is not mapped in the pod's user namespace") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
