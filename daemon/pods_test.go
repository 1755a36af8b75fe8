package daemon

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
)

// R1: a manifest is validated whole before anything changes; a bad one
// leaves no pod in the table and none on disk.
func TestApplyRejectsBadManifestWithoutChanges_R1(t *testing.T) {
	for _, tc := range []struct {
		name, manifest string
		want           error
		msg            string
	}{
		{"not YAML", "apiVersion: v1\nkind: Pod\nmetadata: [", ErrInvalidArgument, ""},
		{"no image", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: c\n", ErrInvalidArgument, "image"},
		{"second pod bad", podYAML("good") + "---\n" + "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers:\n  - name: c\n    image: busybox\n", ErrInvalidArgument, "Bad_Name"},
		{"unknown field", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containerz: []\n", ErrInvalidArgument, "containerz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startTestDaemon(t)
			_, _, err := d.apply(context.Background(), []byte(tc.manifest), "test.yaml", "")
			if !errorsIs(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("apply: %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
			if n := len(d.pods.list()); n != 0 {
				t.Errorf("%d pods accepted from a bad manifest", n)
			}
			pods, _, err := d.store.LoadPods()
			if err != nil || len(pods) != 0 {
				t.Errorf("on disk after a bad manifest: %d pods, %v", len(pods), err)
			}
		})
	}
}

// An accepted pod is persisted with its UID, creation time, node name and
// spec hash before its worker starts; applying the same spec again leaves
// it alone (R3), a changed spec replaces it with a new UID.
func TestApplyPersistsAndReplaces_R3(t *testing.T) {
	d := startTestDaemon(t)
	first := d.mustApply(t, podYAML("web"))
	if len(first) != 1 || first[0].Action != "created" || first[0].UID == "" {
		t.Fatalf("first apply: %+v", first)
	}
	pods, _, err := d.store.LoadPods()
	if err != nil || len(pods) != 1 {
		t.Fatalf("on disk: %d pods, %v", len(pods), err)
	}
	p := pods[0]
	if string(p.UID) != first[0].UID || p.Spec.NodeName != "Node1" || p.CreationTimestamp.IsZero() || p.Annotations[podworker.AnnotationSpecHash] == "" {
		t.Errorf("persisted pod: uid %s node %q created %v annotations %v", p.UID, p.Spec.NodeName, p.CreationTimestamp, p.Annotations)
	}
	eventually(t, "web running", 10*time.Second, func() bool { return d.running("web") })

	again := d.mustApply(t, podYAML("web"))
	if again[0].Action != "unchanged" || again[0].UID != first[0].UID {
		t.Errorf("same spec again: %+v, want unchanged %s", again[0], first[0].UID)
	}
	changed := d.mustApply(t, podYAML("web", "busybox:latest", "busybox:latest"))
	if changed[0].Action != "configured" || changed[0].UID == first[0].UID {
		t.Fatalf("changed spec: %+v, want configured with a new UID", changed[0])
	}
	eventually(t, "the new web running", 10*time.Second, func() bool {
		p := d.pod("web")
		return p != nil && string(p.UID) == changed[0].UID && d.running("web")
	})
	pods, _, _ = d.store.LoadPods()
	if len(pods) != 1 || string(pods[0].UID) != changed[0].UID {
		t.Errorf("on disk after the replace: %d pods (want only %s)", len(pods), changed[0].UID)
	}
}

// Apply and delete refuse what they may not touch, with the class the API
// maps to a code, and change nothing.
func TestApplyAndDeleteRefusals(t *testing.T) {
	d := startTestDaemon(t)
	if _, err := (staticApplier{d: d.Daemon}).ApplyStatic(context.Background(), "/etc/podd/manifests/s.yaml", []byte(podYAML("s"))); err != nil {
		t.Fatal(err)
	}
	d.mustApply(t, podYAML("api"))
	negative := int64(-1)
	for _, tc := range []struct {
		name string
		do   func() error
		want error
	}{
		{"apply over a static pod", func() error {
			_, _, err := d.apply(context.Background(), []byte(podYAML("s-node1")), "x.yaml", "")
			return err
		}, ErrFailedPrecondition},
		{"static file over an API pod", func() error {
			_, err := (staticApplier{d: d.Daemon}).ApplyStatic(context.Background(), "/etc/podd/manifests/o.yaml", []byte(podYAML("api")))
			return err
		}, nil}, // the node suffix keeps them apart
		{"delete a missing pod", func() error {
			_, err := d.deletePod(context.Background(), "default", "nope", nil, false, false)
			return err
		}, ErrNotFound},
		{"delete a static pod", func() error {
			_, err := d.deletePod(context.Background(), "default", "s-node1", nil, false, false)
			return err
		}, ErrFailedPrecondition},
		{"negative grace", func() error {
			_, err := d.deletePod(context.Background(), "default", "api", &negative, false, false)
			return err
		}, ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errorsIs(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	for _, name := range []string{"api", "s-node1"} {
		if p := d.pod(name); p == nil || p.DeletionTimestamp != nil {
			t.Errorf("pod %s after the refusals: %v", name, p)
		}
	}
}

// A pod deleted while its sandbox is being made is removed with nothing
// left on the host, from the table, the disk and the watchers' view.
func TestDeleteDuringCreate(t *testing.T) {
	for _, step := range []string{"volumes.prepare", "network.setup", "shim.launch", "pause.create", "container.hold", "container.start"} {
		t.Run(step, func(t *testing.T) {
			d := startTestDaemon(t)
			d.deps.RuntimeTimeout = 300 * time.Millisecond
			d.host.Script(step, podworkertest.FaultHang, 1)
			ch, stop := d.pods.watch()
			defer stop()
			res := d.mustApply(t, podYAML("web"))
			eventually(t, step+" reached", 10*time.Second, func() bool { return d.host.Count(step) > 0 })
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			uid, err := d.deletePod(ctx, "default", "web", nil, true, false)
			if err != nil || uid != res[0].UID {
				t.Fatalf("delete: %s %v", uid, err)
			}
			eventually(t, "the entry dropped", 10*time.Second, func() bool { return d.pod("web") == nil })
			if l := d.host.Leaks(); len(l) > 0 {
				t.Errorf("left behind: %v", l)
			}
			if pods, _, _ := d.store.LoadPods(); len(pods) != 0 {
				t.Errorf("%d pods still on disk", len(pods))
			}
			waitChange(t, ch, "DELETED", "web")
		})
	}
}

// waitChange waits for a change of typ to pod name.
func waitChange(t *testing.T, ch <-chan podChange, typ, name string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case c := <-ch:
			if c.typ == typ && c.pub.Pod.Name == name {
				return
			}
		case <-timeout:
			t.Fatalf("no %s of %s", typ, name)
		}
	}
}

// A manifest's pods are accepted as one batch: every pod is persisted
// before the first worker starts, so a large apply's fsyncs do not compete
// with sandbox starts (issue 13: apply of 200 pods returns in < 1 s) and a
// kill during the apply never leaves some pods running and others lost.
func TestApplyPersistsEveryPodBeforeAnyStarts(t *testing.T) {
	d := startTestDaemon(t)
	const n = 30
	var mu sync.Mutex
	fewest := n + 1
	d.net.mu.Lock()
	d.net.onSetup = func() {
		pods, _, err := d.store.LoadPods()
		mu.Lock()
		defer mu.Unlock()
		if err == nil && len(pods) < fewest {
			fewest = len(pods)
		}
	}
	d.net.mu.Unlock()
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.WriteString(podYAML(fmt.Sprintf("web-%d", i)))
	}
	res := d.mustApply(t, b.String())
	if len(res) != n {
		t.Fatalf("apply: %d results, want %d", len(res), n)
	}
	eventually(t, "every pod running", 30*time.Second, func() bool {
		for i := range n {
			if !d.running(fmt.Sprintf("web-%d", i)) {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	if fewest != n {
		t.Errorf("a sandbox started when only %d of the %d pods were persisted", fewest, n)
	}
}

// A probe update finds its pod's worker by UID (routeProbeUpdates).
func TestPodsByUID(t *testing.T) {
	d := startTestDaemon(t)
	a := d.mustApply(t, podYAML("a"))
	b := d.mustApply(t, podYAML("b"))
	for _, r := range []ApplyResult{a[0], b[0]} {
		e := d.pods.byUID(r.UID)
		if e == nil || e.worker.UID() != r.UID || e.worker.Published().Pod.Name != r.Name {
			t.Errorf("byUID(%s) = %v, want pod %s", r.UID, e, r.Name)
		}
	}
	if e := d.pods.byUID("no-such-uid"); e != nil {
		t.Errorf("byUID of an unknown UID = %v, want nil", e)
	}
}
