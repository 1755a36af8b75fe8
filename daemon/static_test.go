package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/staticpods"
)

// runStaticWatch runs the static pod watcher of dir over d, as Run does,
// until the test ends.
func runStaticWatch(t *testing.T, d *testDaemon, dir string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := staticpods.New(dir, staticApplier{d: d.Daemon}, staticpods.Options{Rescan: 50 * time.Millisecond, Known: d.knownStatic()})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("static watch: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// Static pods load from the manifest directory named with the node suffix
// (lower case, as the kubelet names them), follow their file, survive a
// broken edit, and go with it.
func TestStaticPodsFollowTheirFiles(t *testing.T) {
	d := startTestDaemon(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(file, []byte(podYAML("web")), 0o644); err != nil {
		t.Fatal(err)
	}
	runStaticWatch(t, d, dir)
	eventually(t, "web-node1 running", 10*time.Second, func() bool { return d.running("web-node1") })
	p := d.pod("web-node1")
	if p.Annotations[podworker.AnnotationStaticSource] != file {
		t.Errorf("static source %q, want %q", p.Annotations[podworker.AnnotationStaticSource], file)
	}
	uid := p.UID

	if err := os.WriteFile(file, []byte("apiVersion: v1\nkind: Pod\nmetadata: ["), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "FailedStaticPod event", 10*time.Second, func() bool { return d.hasEvent("FailedStaticPod") })
	if p := d.pod("web-node1"); p == nil || p.UID != uid || p.DeletionTimestamp != nil {
		t.Fatalf("a broken file changed its pod: %v", p)
	}

	if err := os.WriteFile(file, []byte(podYAML("web", "busybox:latest", "busybox:latest")), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "web-node1 replaced", 10*time.Second, func() bool {
		p := d.pod("web-node1")
		return p != nil && p.UID != uid && len(p.Spec.Containers) == 2 && d.running("web-node1")
	})

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	eventually(t, "web-node1 removed", 10*time.Second, func() bool { return d.pod("web-node1") == nil })
	if l := d.host.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A manifest removed while the daemon was down removes its pod at the next
// start: the watcher learns what each file owned from the restored pods.
func TestStaticPodRemovedWhileDown(t *testing.T) {
	dir, manifests := t.TempDir(), t.TempDir()
	file := filepath.Join(manifests, "web.yaml")
	if err := os.WriteFile(file, []byte(podYAML("web")), 0o644); err != nil {
		t.Fatal(err)
	}
	d := newTestDaemon(t, dir, podworkertest.NewHost())
	if err := d.restore(); err != nil {
		t.Fatal(err)
	}
	if _, err := (staticApplier{d: d.Daemon}).ApplyStatic(context.Background(), file, []byte(podYAML("web"))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "web-node1 running", 10*time.Second, func() bool { return d.running("web-node1") })
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	d2 := restartTestDaemon(t, d, dir)
	if got := d2.knownStatic()[file]; strings.Join(got, ",") != "default/web-node1" {
		t.Fatalf("known static pods of %s: %v", file, got)
	}
	runStaticWatch(t, d2, manifests)
	eventually(t, "web-node1 removed", 10*time.Second, func() bool { return d2.pod("web-node1") == nil })
}

// ApplyStatic names pods with the node suffix and refuses a name the
// suffix makes invalid; DeleteStatic deletes only the pods of its file.
func TestStaticApplier(t *testing.T) {
	d := startTestDaemon(t)
	s := staticApplier{d: d.Daemon}
	ctx := context.Background()
	keys, err := s.ApplyStatic(ctx, "/m/a.yaml", []byte(podYAML("a")+"---\n"+podYAML("b")))
	if err != nil || strings.Join(keys, ",") != "default/a-node1,default/b-node1" {
		t.Fatalf("apply a.yaml: %v %v", keys, err)
	}
	long := strings.Repeat("x", 250)
	if _, err := s.ApplyStatic(ctx, "/m/long.yaml", []byte(podYAML(long))); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("a name too long with its suffix: %v", err)
	}
	if err := s.DeleteStatic(ctx, "/m/other.yaml", []string{"default/a-node1"}); err != nil {
		t.Fatal(err)
	}
	if p := d.pod("a-node1"); p == nil || p.DeletionTimestamp != nil {
		t.Error("another file's delete touched a-node1")
	}
	if err := s.DeleteStatic(ctx, "/m/a.yaml", []string{"default/a-node1", "default/gone"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a-node1 removed", 10*time.Second, func() bool { return d.pod("a-node1") == nil })
	if d.pod("b-node1") == nil {
		t.Error("b-node1 went with a-node1")
	}
}
