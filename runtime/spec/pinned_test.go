package spec

import (
	"slices"
	"testing"

	"github.com/podd-dev/podd/runtime/idmap"
)

// The shim pins the UTS and IPC namespaces the pause would make; its
// containers can be made before the pause when they join it only in those.
func TestPinnedNamespaces(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sb     Sandbox
		pinned []string
		joins  bool
	}{
		{"pod network", Sandbox{NetnsPath: "/run/netns/x"}, []string{"uts", "ipc"}, true},
		{"hostNetwork", Sandbox{HostNetwork: true}, []string{"ipc"}, true},
		{"hostIPC", Sandbox{NetnsPath: "/run/netns/x", HostIPC: true}, []string{"uts"}, true},
		{"hostNetwork and hostIPC", Sandbox{HostNetwork: true, HostIPC: true}, nil, true},
		{"shared PID namespace", Sandbox{NetnsPath: "/run/netns/x", ShareProcessNamespace: true}, []string{"uts", "ipc"}, false},
		{"hostPID and shared", Sandbox{NetnsPath: "/run/netns/x", HostPID: true, ShareProcessNamespace: true}, []string{"uts", "ipc"}, true},
		{"own user namespace", Sandbox{NetnsPath: "/run/netns/x", UserNS: &idmap.Mappings{}}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PinnedNamespaces(tc.sb)
			if !slices.Equal(got, tc.pinned) {
				t.Errorf("PinnedNamespaces = %v, want %v", got, tc.pinned)
			}
			if j := JoinsOnlyPinned(tc.sb, got); j != tc.joins {
				t.Errorf("JoinsOnlyPinned = %v, want %v", j, tc.joins)
			}
		})
	}
	if JoinsOnlyPinned(Sandbox{NetnsPath: "/run/netns/x"}, nil) {
		t.Error("a shim without pins: containers joining the pause's namespaces were said to need no pause")
	}
}
