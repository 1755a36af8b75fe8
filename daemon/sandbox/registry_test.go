package sandbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/internal/errdefs"
)

func newRegistry(t *testing.T, h *podworkertest.Host, layout store.Layout) *sandbox.Registry {
	t.Helper()
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 192.0.2.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := sandbox.OpenRegistry(context.Background(), newService(h), layout, resolv)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testLayout(t *testing.T) store.Layout {
	dir := t.TempDir()
	return store.Layout{Root: dir + "/root", RunRoot: dir + "/run", CgroupParent: "/podd"}
}

func spec(name string) sandbox.Spec {
	return sandbox.Spec{Name: name, Namespace: "ns", UID: "uid-" + name, Hostname: name,
		DNS: &sandbox.DNS{Servers: []string{"10.0.0.10"}, Searches: []string{"ns.svc"}, Options: []string{"ndots:5"}}}
}

// Run makes and records a sandbox; Stop releases it (NotReady); Remove
// forgets it; both succeed for unknown IDs and again.
func TestRegistryLifecycle(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	ctx := context.Background()
	rec, err := r.Run(ctx, spec("web"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != sandbox.Ready || rec.IP == "" || !store.IsContainerID(rec.ID) || rec.PodCgroup != "/podd/cri"+rec.ID {
		t.Fatalf("record %+v", rec)
	}
	resolv, _ := os.ReadFile(layout.CRIResolvConfFile(rec.ID))
	if string(resolv) != "search ns.svc\nnameserver 10.0.0.10\noptions ndots:5\n" {
		t.Errorf("resolv.conf %q", resolv)
	}
	if host, _ := os.ReadFile(layout.CRIHostnameFile(rec.ID)); string(host) != "web\n" {
		t.Errorf("hostname %q", host)
	}
	if _, err := r.Run(ctx, spec("web")); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second Run of the same name: %v", err)
	}
	if got := r.List(ctx); len(got) != 1 || got[0].ID != rec.ID {
		t.Errorf("List = %+v", got)
	}
	for i := 0; i < 2; i++ {
		if err := r.Stop(ctx, rec.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := r.Get(ctx, rec.ID); err != nil || got.State != sandbox.NotReady {
		t.Errorf("after Stop: %+v, %v", got, err)
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind after Stop: %v", l)
	}
	for _, id := range []string{rec.ID, rec.ID, "unknown"} {
		if err := r.Remove(ctx, id); err != nil {
			t.Errorf("Remove %s: %v", id, err)
		}
	}
	if err := r.Stop(ctx, "unknown"); err != nil {
		t.Errorf("Stop of an unknown ID: %v", err)
	}
	if _, err := r.Get(ctx, rec.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Get after Remove: %v", err)
	}
	if _, err := os.Stat(layout.CRISandboxDir(rec.ID)); !os.IsNotExist(err) {
		t.Errorf("record dir after Remove: %v", err)
	}
}

// A failed Run leaves no record and nothing on the host.
func TestRegistryRunFailureLeavesNothing(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	h.Script("pause.create", podworkertest.FaultError, 0)
	if _, err := r.Run(context.Background(), spec("web")); err == nil {
		t.Fatal("Run succeeded despite the fault")
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
	if got := r.List(context.Background()); len(got) != 0 {
		t.Errorf("List = %+v", got)
	}
	if ents, _ := os.ReadDir(layout.CRISandboxesDir()); len(ents) != 0 {
		t.Errorf("records left: %v", ents)
	}
}

// After a daemon restart a sandbox whose shim still runs is Ready, one
// whose shim is gone (killed, a reboot) NotReady; a creation cut short is
// NotReady. Nothing is released on the client's behalf.
func TestRegistryRestore(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	ctx := context.Background()
	alive, err := r.Run(ctx, spec("alive"))
	if err != nil {
		t.Fatal(err)
	}
	lost, err := r.Run(ctx, spec("lost"))
	if err != nil {
		t.Fatal(err)
	}
	h.KillShim(layout.CRIShimDir(lost.ID))

	r2 := newRegistry(t, h, layout)
	want := map[string]sandbox.State{alive.ID: sandbox.Ready, lost.ID: sandbox.NotReady}
	got := r2.List(ctx)
	if len(got) != 2 {
		t.Fatalf("restored %+v", got)
	}
	for _, rec := range got {
		if rec.State != want[rec.ID] || rec.IP == "" {
			t.Errorf("restored %s as %s (ip %q), want %s", rec.Spec.Name, rec.State, rec.IP, want[rec.ID])
		}
	}
	if !h.HasNetwork(lost.ID) {
		t.Error("the restore released a lost sandbox's network: that is its client's to do")
	}
	if ids := r2.IDs(); len(ids) != 2 {
		t.Errorf("IDs = %v", ids)
	}
	for _, rec := range got {
		if err := r2.Remove(ctx, rec.ID); err != nil {
			t.Fatal(err)
		}
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A stop that takes its time (a shim or CNI DEL that is slow) does not hold
// up the sandbox's status: the kubelet's PLEG inspects sandboxes while its
// pod worker stops them. The status is the one last recorded.
func TestStatusAnswersWhileAStopWaits(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	ctx := context.Background()
	sb, err := r.Run(ctx, spec("web"))
	if err != nil {
		t.Fatal(err)
	}
	h.Script("network.teardown", podworkertest.FaultHang, 1)
	const hang = 2 * time.Second
	stopCtx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- r.Stop(stopCtx, sb.ID) }()
	deadline := time.Now().Add(hang / 2)
	for h.Count("network.teardown") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stop never reached the network teardown")
		}
		time.Sleep(5 * time.Millisecond)
	}

	start := time.Now()
	rec, err := r.Get(ctx, sb.ID)
	if took := time.Since(start); err != nil || took > hang/4 || rec.State != sandbox.Ready {
		t.Errorf("status during a stop: %v %v after %s, want the last recorded (Ready) at once", rec.State, err, took)
	}
	if err := <-stopped; err == nil {
		t.Fatal("the stop whose teardown hung succeeded")
	}
	// Stopping again finishes the job.
	if err := r.Stop(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if rec, err := r.Get(ctx, sb.ID); err != nil || rec.State != sandbox.NotReady {
		t.Errorf("after the stop: %v %v, want NotReady", rec.State, err)
	}
}
