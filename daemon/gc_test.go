package daemon

import (
	"reflect"
	"testing"

	"github.com/podd-dev/podd/daemon/podworker"
)

func set(uids ...string) map[string]bool {
	m := map[string]bool{}
	for _, u := range uids {
		m[u] = true
	}
	return m
}

// Issue 7 item 4: start-up GC releases only what this daemon's records
// name, and pod cgroups only under a cgroup parent its root owns.
func TestOrphansTouchOnlyWhatTheDaemonOwns(t *testing.T) {
	for _, tc := range []struct {
		name             string
		known            map[string]bool
		tr               podTraces
		release, foreign []string
	}{
		{
			name:    "records and shims of unknown pods are released, known pods kept",
			known:   set("k"),
			tr:      podTraces{Records: set("k", "lost-record"), Shims: set("k", "lost-shim"), Cgroups: set("k"), OwnsCgroups: true},
			release: []string{"lost-record", "lost-shim"},
		},
		{
			name:    "a cgroup under an owned parent with no record is this root's leak",
			tr:      podTraces{Cgroups: set("leak"), OwnsCgroups: true},
			release: []string{"leak"},
		},
		{
			name:    "a cgroup under a parent another daemon shares is never touched",
			tr:      podTraces{Cgroups: set("other-daemons-pod"), OwnsCgroups: false},
			foreign: []string{"other-daemons-pod"},
		},
		{
			name:    "a cgroup that a record also names is released even under a foreign parent",
			tr:      podTraces{Records: set("mine"), Cgroups: set("mine", "theirs")},
			release: []string{"mine"},
			foreign: []string{"theirs"},
		},
		{
			name:  "nothing found, nothing done",
			known: set("k"),
			tr:    podTraces{Cgroups: set("k")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release, foreign := orphans(tc.known, tc.tr)
			if !reflect.DeepEqual(release, tc.release) || !reflect.DeepEqual(foreign, tc.foreign) {
				t.Errorf("orphans = release %v foreign %v; want %v %v", release, foreign, tc.release, tc.foreign)
			}
		})
	}
}

// Issue 7 item 9: a sandbox whose creation a crash cut short stays live for
// the network GC, so that its pin is still there when its worker's CNI DEL
// runs.
func TestLiveSandboxesIncludeInterruptedCreations(t *testing.T) {
	states := []*podworker.State{
		{Sandbox: &podworker.Sandbox{ID: "cur"}},
		{SandboxCreating: "half"},
		{Sandbox: &podworker.Sandbox{ID: "old"}, SandboxCreating: "new"},
		{},
	}
	if got, want := liveSandboxes(states), []string{"cur", "half", "old", "new"}; !reflect.DeepEqual(got, want) {
		t.Errorf("liveSandboxes = %v, want %v", got, want)
	}
}
