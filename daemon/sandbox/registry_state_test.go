package sandbox_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/sandbox"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	podspec "github.com/podd-dev/podd/runtime/spec"
)

func readRecord(t *testing.T, path string) sandbox.Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rec sandbox.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// A sandbox whose pause ends turns NotReady at the next Get, on disk too
// (a restarted daemon reads it so); its host state stays until its client
// stops it.
func TestRegistryGetSeesThePauseEnd(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	ctx := context.Background()
	rec, err := r.Run(ctx, spec("web"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(ctx, rec.ID); err != nil || got.State != sandbox.Ready {
		t.Fatalf("Get with the pause running: %+v, %v", got, err)
	}
	h.ExitContainers(layout.CRIShimDir(rec.ID), func(c *shimv1.ContainerState) bool { return c.GetId() == podspec.PauseID }, 0)
	if got, err := r.Get(ctx, rec.ID); err != nil || got.State != sandbox.NotReady {
		t.Fatalf("Get after the pause ended: %+v, %v", got, err)
	}
	if disk := readRecord(t, layout.CRISandboxFile(rec.ID)); disk.State != sandbox.NotReady || disk.Released {
		t.Errorf("record on disk %+v, want NotReady, not released", disk)
	}
	if !h.HasNetwork(rec.ID) {
		t.Error("the network went with the pause: it is the client's to release")
	}
	if err := r.Remove(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A Stop whose release fails says which sandbox, records nothing as
// released, and a later Stop finishes the job.
func TestRegistryStopRetriesAFailedRelease(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	ctx := context.Background()
	rec, err := r.Run(ctx, spec("web"))
	if err != nil {
		t.Fatal(err)
	}
	h.Script("network.teardown", podworkertest.FaultError, 1)
	if err := r.Stop(ctx, rec.ID); err == nil || !strings.Contains(err.Error(), "stop sandbox "+rec.ID) {
		t.Fatalf("Stop with a failing network teardown: %v", err)
	}
	if disk := readRecord(t, layout.CRISandboxFile(rec.ID)); disk.Released {
		t.Fatal("a failed release was recorded as done")
	}
	if err := r.Stop(ctx, rec.ID); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if disk := readRecord(t, layout.CRISandboxFile(rec.ID)); !disk.Released || disk.State != sandbox.NotReady {
		t.Errorf("record after the retry %+v", disk)
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// Without DNS config a sandbox gets the node's resolver file.
func TestRegistryResolvConfFromTheNode(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	sp := spec("web")
	sp.DNS = nil
	rec, err := r.Run(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(layout.CRIResolvConfFile(rec.ID)); string(got) != "nameserver 192.0.2.53\n" {
		t.Errorf("resolv.conf %q, want the node's", got)
	}
}

// A restore turns a creation a crash cut short NotReady, on disk too, and
// leaves alone (neither loads nor deletes) a directory without a readable
// record of its own ID.
func TestOpenRegistryRecords(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	cut := sandbox.Record{ID: strings.Repeat("a", 64), Spec: spec("cut"), State: sandbox.Creating, CreatedAt: time.Unix(100, 0)}
	other := sandbox.Record{ID: strings.Repeat("b", 64), Spec: spec("other"), State: sandbox.Ready}
	for id, data := range map[string]string{
		cut.ID:                  mustJSON(t, cut),
		strings.Repeat("c", 64): "{not json",
		strings.Repeat("d", 64): mustJSON(t, other), // a record under another ID
	} {
		if err := os.MkdirAll(layout.CRISandboxDir(id), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(layout.CRISandboxFile(id), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	noRecord := strings.Repeat("e", 64)
	if err := os.MkdirAll(layout.CRISandboxDir(noRecord), 0o700); err != nil {
		t.Fatal(err)
	}

	r := newRegistry(t, h, layout)
	if ids := r.IDs(); len(ids) != 1 || ids[0] != cut.ID {
		t.Fatalf("restored %v, want only %s", ids, cut.ID)
	}
	got := r.List(context.Background())
	if len(got) != 1 || got[0].State != sandbox.NotReady {
		t.Fatalf("List %+v, want the cut creation NotReady", got)
	}
	if disk := readRecord(t, layout.CRISandboxFile(cut.ID)); disk.State != sandbox.NotReady {
		t.Errorf("record on disk %s, want NotReady", disk.State)
	}
	ents, _ := os.ReadDir(layout.CRISandboxesDir())
	if len(ents) != 4 {
		t.Errorf("%d sandbox dirs after the restore, want all 4 left", len(ents))
	}
	var nilRegistry *sandbox.Registry
	if ids := nilRegistry.IDs(); ids != nil {
		t.Errorf("IDs of a nil registry: %v", ids)
	}
}

// List returns the sandboxes oldest first.
func TestRegistryListOldestFirst(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	ctx := context.Background()
	var want []string
	for _, name := range []string{"c", "a", "b"} {
		rec, err := r.Run(ctx, spec(name))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rec.Spec.Name)
	}
	var got []string
	for _, rec := range r.List(ctx) {
		got = append(got, rec.Spec.Name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("List order %v, want %v", got, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
