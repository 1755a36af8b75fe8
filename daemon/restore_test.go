package daemon

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/network"
	"github.com/podd-dev/podd/runtime/shim"
)

// restartTestDaemon stops d (pods keep running, as on a daemon stop) and
// starts a daemon on the same root and host, restored.
func restartTestDaemon(t *testing.T, d *testDaemon, dir string) *testDaemon {
	t.Helper()
	d.stop()
	d2 := newTestDaemon(t, dir, d.host)
	if err := d2.restore(); err != nil {
		t.Fatalf("restore: %v", err)
	}
	return d2
}

func (d *testDaemon) sandboxID(t *testing.T, name string) string {
	t.Helper()
	e, ok := d.pods.get("default", name)
	if !ok {
		t.Fatalf("no pod %s", name)
	}
	st := &podworker.State{}
	if q, err := d.store.LoadState(e.worker.UID(), st); err != nil || q != nil || st.Sandbox == nil {
		t.Fatalf("state of %s: sandbox %v, %v %v", name, st.Sandbox, q, err)
	}
	return st.Sandbox.ID
}

// After a daemon restart every pod on disk gets its worker back. A pod is
// lost (a new sandbox, its containers restarted) only on evidence that its
// shim is gone; a shim that does not answer for a while is no evidence.
func TestRestoreAfterRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		// between runs with the daemon stopped.
		between     func(d *testDaemon, uid string)
		newSandbox  bool
		restartsMin int32
		event       string
	}{
		{"shim kept running", func(*testDaemon, string) {}, false, 0, ""},
		{"shim slow to answer (no evidence)", func(d *testDaemon, _ string) {
			d.host.Script("shim.connect", podworkertest.FaultError, 2)
		}, false, 0, ""},
		{"shim gone (evidence)", func(d *testDaemon, uid string) {
			d.host.KillShim(d.deps.Layout.ShimDir(uid))
		}, true, 0, ""},
		{"state file corrupt", func(d *testDaemon, uid string) {
			os.WriteFile(d.deps.Layout.StateFile(uid), []byte("{not json"), 0o600)
		}, true, 0, "StateQuarantined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := newTestDaemon(t, dir, podworkertest.NewHost())
			if err := d.restore(); err != nil {
				t.Fatal(err)
			}
			uid := d.mustApply(t, podYAML("web"))[0].UID
			eventually(t, "web running", 10*time.Second, func() bool { return d.running("web") })
			sb := d.sandboxID(t, "web")
			launches := d.host.Count("shim.launch")
			d.stop()
			tc.between(d, uid)

			d2 := restartTestDaemon(t, d, dir)
			p := d2.pod("web")
			if p == nil || string(p.UID) != uid {
				t.Fatalf("after the restart: %v, want pod web %s", p, uid)
			}
			eventually(t, "web running after the restart", 10*time.Second, func() bool { return d2.running("web") })
			sb2 := d2.sandboxID(t, "web")
			if got := sb2 != sb || d2.host.Count("shim.launch") != launches; got != tc.newSandbox {
				t.Errorf("sandbox %s → %s, launches %d → %d; want a new sandbox: %v", sb, sb2, launches, d2.host.Count("shim.launch"), tc.newSandbox)
			}
			if tc.event != "" && !d2.hasEvent(tc.event) {
				t.Errorf("no %s event", tc.event)
			}
			d2.host.Script("shim.connect", podworkertest.FaultNone, 0)
			if _, err := d2.deletePod(context.Background(), "default", "web", nil, true, false); err != nil {
				t.Fatal(err)
			}
			if l := d2.host.Leaks(); len(l) > 0 {
				t.Errorf("left behind: %v", l)
			}
		})
	}
}

// A pod file that cannot be read back is moved aside, reported, and its
// pod dropped; the other pods are restored.
func TestRestoreQuarantinesUnreadablePod(t *testing.T) {
	dir := t.TempDir()
	d := newTestDaemon(t, dir, podworkertest.NewHost())
	if err := d.restore(); err != nil {
		t.Fatal(err)
	}
	bad := d.mustApply(t, podYAML("bad"))[0].UID
	d.mustApply(t, podYAML("good"))
	eventually(t, "both running", 10*time.Second, func() bool { return d.running("bad") && d.running("good") })
	d.stop()
	if err := os.WriteFile(d.deps.Layout.PodFile(bad), []byte("truncat"), 0o600); err != nil {
		t.Fatal(err)
	}
	d2 := restartTestDaemon(t, d, dir)
	if d2.pod("bad") != nil || d2.pod("good") == nil {
		t.Fatalf("after the restart: bad %v, good %v", d2.pod("bad") != nil, d2.pod("good") != nil)
	}
	if !d2.hasEvent("PodQuarantined") {
		t.Error("no PodQuarantined event")
	}
	if d2.host.HasShim(d2.deps.Layout.ShimDir(bad)) {
		t.Error("the dropped pod's shim still runs")
	}
	if ents, _ := os.ReadDir(d2.deps.Layout.QuarantineDir(bad)); len(ents) != 1 {
		t.Errorf("quarantine of %s holds %d files, want the pod file", bad, len(ents))
	}
}

// Restore replays a replace (R3) cut short by the restart: the old pod is
// torn down before its successor starts.
func TestRestoreFinishesReplace_R3(t *testing.T) {
	dir := t.TempDir()
	d := newTestDaemon(t, dir, podworkertest.NewHost())
	if err := d.restore(); err != nil {
		t.Fatal(err)
	}
	old := d.mustApply(t, podYAML("web"))[0].UID
	eventually(t, "web running", 10*time.Second, func() bool { return d.running("web") })
	d.stop()
	// The successor was persisted, its worker never ran.
	next, _, _ := d.store.LoadPods()
	pod := next[0].DeepCopy()
	pod.UID, pod.CreationTimestamp.Time = "successor", pod.CreationTimestamp.Add(time.Second)
	if err := d.store.SavePod(pod); err != nil {
		t.Fatal(err)
	}
	d2 := restartTestDaemon(t, d, dir)
	eventually(t, "the successor running", 10*time.Second, func() bool {
		p := d2.pod("web")
		return p != nil && p.UID == "successor" && d2.running("web")
	})
	if d2.host.HasShim(d2.deps.Layout.ShimDir(old)) {
		t.Error("the replaced pod's shim still runs")
	}
	if _, err := os.Stat(d2.deps.Layout.PodDir(old)); !os.IsNotExist(err) {
		t.Errorf("the replaced pod's dir: %v", err)
	}
}

// The start-up GC releases what no accepted pod owns (records, shims) and
// hands the network GC every sandbox the records hold.
func TestRestoreCollectsGarbage(t *testing.T) {
	dir := t.TempDir()
	d := newTestDaemon(t, dir, podworkertest.NewHost())
	if err := d.restore(); err != nil {
		t.Fatal(err)
	}
	d.mustApply(t, podYAML("web"))
	eventually(t, "web running", 10*time.Second, func() bool { return d.running("web") })
	sb := d.sandboxID(t, "web")
	d.stop()
	// What a crash left of a pod no record names any more.
	const lost = "lost-uid"
	layout := d.deps.Layout
	for _, p := range []string{layout.PodDir(lost), filepath.Join(layout.ShimDir(lost), "x")} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.host.LaunchShim(context.Background(), shim.LaunchConfig{StateDir: layout.ShimDir(lost)}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.host.Setup(context.Background(), network.SetupRequest{SandboxID: "lost-sandbox"}); err != nil {
		t.Fatal(err)
	}
	d2 := restartTestDaemon(t, d, dir)
	for _, p := range []string{layout.PodDir(lost), layout.ShimDir(lost)} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived the GC: %v", p, err)
		}
	}
	if d2.host.HasShim(layout.ShimDir(lost)) {
		t.Error("the lost pod's shim survived the GC")
	}
	d2.net.mu.Lock()
	calls := d2.net.gcLive
	d2.net.mu.Unlock()
	if len(calls) != 1 || !slices.Equal(calls[0], []string{sb}) {
		t.Errorf("network GC calls %v, want one keeping [%s]", calls, sb)
	}
	if d2.host.HasNetwork("lost-sandbox") {
		t.Error("the network of a sandbox no record holds survived the GC")
	}
	if !d2.running("web") {
		t.Error("web is not running after the GC")
	}
}
