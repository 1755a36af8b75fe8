package manifest

import (
	"strings"
	"testing"
)

// hostUsers: false is accepted where the daemon gives pods user
// namespaces, and never with the host's network, PID or IPC namespace.
func TestHostUsersFalse(t *testing.T) {
	const base = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostUsers: false\n%s  containers: [{name: c, image: busybox}]\n"
	for _, tc := range []struct {
		name, extra string
		pol         Policy
		want        string
	}{
		{"supported", "", Policy{UserNamespaces: true}, ""},
		{"unsupported", "", Policy{}, "spec.hostUsers: Forbidden: this podd gives pods no user namespace"},
		{"hostNetwork", "  hostNetwork: true\n", Policy{UserNamespaces: true}, "spec.hostNetwork: Forbidden: not allowed with hostUsers: false"},
		{"hostPID", "  hostPID: true\n", Policy{UserNamespaces: true}, "spec.hostPID: Forbidden"},
		{"hostIPC", "  hostIPC: true\n", Policy{UserNamespaces: true}, "spec.hostIPC: Forbidden"},
	} {
		_, _, err := Parse([]byte(strings.Replace(base, "%s", tc.extra, 1)), "a.yaml", tc.pol)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
