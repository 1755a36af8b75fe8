package daemon

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/test/testutil"
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

// A shim of an unknown pod that ends while the GC stops it (here: as the
// GC connects to it) is not killed by its pid afterwards: that pid may be
// another process's by then (pids wrap), here a process of the test.
func TestGCNeverKillsAShimsPidOnceTheShimEnded(t *testing.T) {
	testutil.RequireRoot(t)
	for attempt := 1; ; attempt++ {
		dir := t.TempDir()
		h := podworkertest.NewHost()
		td := newTestDaemon(t, dir, h)
		uid := fmt.Sprintf("0d0e0a0d-0000-4000-8000-%012d", attempt)
		// A process the /proc scan takes for the shim of pod uid.
		shim := testutil.FakeShim(t, td.deps.Layout.ShimDir(uid))
		var killed func() bool
		h.OnStep("shim.connect", func() {
			if killed != nil {
				return
			}
			// The shim ends as it is stopped; another process takes its pid.
			_ = shim.Process.Kill()
			_ = shim.Wait()
			killed = testutil.ProcessAtPid(t, shim.Process.Pid)
		})
		if err := td.restore(); err != nil {
			t.Fatal(err)
		}
		if killed == nil {
			if attempt < 5 {
				td.stop()
				continue
			}
			t.Fatalf("no process of the test took pid %d in %d attempts", shim.Process.Pid, attempt)
		}
		if killed() {
			t.Fatalf("the GC killed pid %d, the ended shim's, now another process's", shim.Process.Pid)
		}
		return
	}
}
