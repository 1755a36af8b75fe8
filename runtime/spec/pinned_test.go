package spec

import (
	"testing"

	"github.com/podd-dev/podd/runtime/idmap"
)

// A container can be made before the pause when it joins the pause only in
// namespaces the shim pinned (uts and ipc).
func TestJoinsOnlyPinned(t *testing.T) {
	pinned := []string{"uts", "ipc"}
	for _, tc := range []struct {
		name   string
		sb     Sandbox
		pinned []string
		joins  bool
	}{
		{"pod network", Sandbox{NetnsPath: "/run/netns/x"}, pinned, true},
		{"hostNetwork", Sandbox{HostNetwork: true}, pinned, true},
		{"hostIPC", Sandbox{NetnsPath: "/run/netns/x", HostIPC: true}, pinned, true},
		{"only uts pinned", Sandbox{NetnsPath: "/run/netns/x"}, []string{"uts"}, false},
		{"only uts pinned, hostIPC", Sandbox{NetnsPath: "/run/netns/x", HostIPC: true}, []string{"uts"}, true},
		{"a shim without pins", Sandbox{NetnsPath: "/run/netns/x"}, nil, false},
		{"a shim without pins, host namespaces", Sandbox{HostNetwork: true, HostIPC: true}, nil, true},
		{"shared PID namespace", Sandbox{NetnsPath: "/run/netns/x", ShareProcessNamespace: true}, pinned, false},
		{"hostPID and shared", Sandbox{NetnsPath: "/run/netns/x", HostPID: true, ShareProcessNamespace: true}, pinned, true},
		{"own user namespace", Sandbox{NetnsPath: "/run/netns/x", UserNS: &idmap.Mappings{}}, pinned, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if j := JoinsOnlyPinned(tc.sb, tc.pinned); j != tc.joins {
				t.Errorf("JoinsOnlyPinned = %v, want %v", j, tc.joins)
			}
		})
	}
}
