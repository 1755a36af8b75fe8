package staticpods

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// start runs a Watcher of dir until the test ends.
func start(t *testing.T, dir string, f *fakeApplier, opts Options, notify bool) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	w := New(dir, f, opts)
	w.useNotify = notify
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func write(t *testing.T, dir, name string, pods ...string) time.Time {
	t.Helper()
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "pod: %s\n", p)
	}
	at := time.Now()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return at
}

// barrier writes a file that sorts last and waits for its apply: every
// change made before it has been handled by then.
func barrier(t *testing.T, dir string, f *fakeApplier) {
	t.Helper()
	name := fmt.Sprintf("zz-barrier-%d.yaml", time.Now().UnixNano())
	i := f.count()
	write(t, dir, name, name)
	f.waitCall(t, i, "apply", name, nil)
}

func withoutBarriers(calls []call) []string {
	var out []string
	for _, c := range calls {
		if !strings.HasPrefix(c.file, "zz-barrier") {
			out = append(out, c.op+" "+c.file)
		}
	}
	return out
}

func expectCalls(t *testing.T, f *fakeApplier, from int, want ...string) {
	t.Helper()
	got := withoutBarriers(f.since(from))
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("calls = %q, want %q", got, want)
	}
}

func key(name string) []string { return []string{"default/" + name + "-node1"} }

func TestStartAppliesEveryManifest(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "a")
	write(t, dir, "b.yml", "b")
	write(t, dir, "c.json", "c")
	write(t, dir, ".hidden.yaml", "h")
	write(t, dir, "notes.txt", "n")
	write(t, dir, "a.yaml~", "backup")
	write(t, dir, "d.yaml.swp", "swap")
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := &fakeApplier{}
	start(t, dir, f, Options{}, true)
	barrier(t, dir, f)
	expectCalls(t, f, 0, "apply a.yaml", "apply b.yml", "apply c.json")
}

// TestLifecycle: create, edit (R3: changed spec reapplied), rewrite with the
// same content (no call), drop a pod, remove the file. It measures the time
// from a file change to the ApplyStatic call.
func TestLifecycle(t *testing.T) {
	dir := t.TempDir()
	f := &fakeApplier{}
	start(t, dir, f, Options{}, true)
	barrier(t, dir, f)

	i := f.count()
	at := write(t, dir, "web.yaml", "web")
	c := f.waitCall(t, i, "apply", "web.yaml", key("web"))
	t.Logf("create -> ApplyStatic: %v", c.at.Sub(at).Round(time.Millisecond))

	i = f.count()
	at = write(t, dir, "web.yaml", "web", "db")
	c = f.waitCall(t, i, "apply", "web.yaml", nil)
	t.Logf("edit -> ApplyStatic: %v", c.at.Sub(at).Round(time.Millisecond))

	i = f.count()
	write(t, dir, "web.yaml", "web", "db") // same bytes: nothing to do
	barrier(t, dir, f)
	expectCalls(t, f, i)

	i = f.count()
	write(t, dir, "web.yaml", "db")
	f.waitCall(t, i, "delete", "web.yaml", key("web"))
	expectCalls(t, f, i, "apply web.yaml", "delete web.yaml")

	i = f.count()
	at = time.Now()
	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	c = f.waitCall(t, i, "delete", "web.yaml", key("db"))
	t.Logf("remove -> DeleteStatic: %v", c.at.Sub(at).Round(time.Millisecond))
	barrier(t, dir, f)
	expectCalls(t, f, i, "delete web.yaml")
}

// TestBrokenFile: a broken file is reported once and its pods stay; other
// files are unaffected (R1: invalid input changes nothing); fixing it applies.
func TestBrokenFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "a1", "a2")
	write(t, dir, "b.yaml", "b")
	f := &fakeApplier{}
	start(t, dir, f, Options{Rescan: 100 * time.Millisecond}, true)
	barrier(t, dir, f)

	i := f.count()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("pod: a1\nbroken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.waitCall(t, i, "report", "a.yaml", nil)
	write(t, dir, "b.yaml", "b", "b2")
	f.waitCall(t, i, "apply", "b.yaml", nil)
	// Rescans retry the broken file but do not report the same error again.
	j := f.count()
	for n := 0; n < 3; n++ {
		k := f.count()
		f.waitCall(t, k, "apply", "a.yaml", nil)
	}
	for _, c := range f.since(i) {
		if c.op == "delete" {
			t.Fatalf("broken file deleted pods: %+v", c)
		}
	}
	for _, c := range f.since(j) {
		if c.op == "report" {
			t.Fatalf("same error reported again: %+v", c)
		}
	}

	i = f.count()
	write(t, dir, "a.yaml", "a2", "a3")
	f.waitCall(t, i, "delete", "a.yaml", key("a1"))
	if s := f.since(i); s[0].op != "apply" || s[0].file != "a.yaml" {
		t.Fatalf("first call after the fix = %+v, want apply of a.yaml", s[0])
	}
}

// TestBrokenAtStartKeepsKnownPods: a file broken when podd starts keeps the
// pods it owned before the restart.
func TestBrokenAtStartKeepsKnownPods(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fakeApplier{}
	start(t, dir, f, Options{Known: map[string][]string{
		filepath.Join(dir, "a.yaml"):    key("a"),
		filepath.Join(dir, "gone.yaml"): key("gone"),
	}}, true)
	f.waitCall(t, 0, "delete", "gone.yaml", key("gone"))
	barrier(t, dir, f)
	expectCalls(t, f, 0, "apply a.yaml", "report a.yaml", "delete gone.yaml")
}

// TestEditorPatterns: atomic replace through a dotfile, vim's rename-away
// and rewrite, and create-then-write all end in one apply of the final
// content and no delete.
func TestEditorPatterns(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app.yaml", "app")
	f := &fakeApplier{}
	start(t, dir, f, Options{}, true)
	f.waitCall(t, 0, "apply", "app.yaml", key("app"))
	path := filepath.Join(dir, "app.yaml")

	steps := []struct {
		name string
		edit func(t *testing.T)
		want string
	}{
		{"atomic replace", func(t *testing.T) {
			tmp := filepath.Join(dir, ".app.yaml.tmp")
			if err := os.WriteFile(tmp, []byte("pod: app\n# v2\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, "v2"},
		{"rename away and rewrite", func(t *testing.T) {
			if err := os.Rename(path, path+"~"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("pod: app\n# v3\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Remove(path + "~")
		}, "v3"},
		{"create then write", func(t *testing.T) {
			os.Remove(path)
			fh, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			time.Sleep(20 * time.Millisecond) // a slow writer, inside the debounce
			if _, err := fh.WriteString("pod: app\n# v4\n"); err != nil {
				t.Fatal(err)
			}
		}, "v4"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			i := f.count()
			s.edit(t)
			c := f.waitCall(t, i, "apply", "app.yaml", key("app"))
			if !strings.Contains(c.data, s.want) {
				t.Fatalf("applied %q, want the content with %q", c.data, s.want)
			}
			barrier(t, dir, f)
			// The pod is replaced by the daemon (R3); the watcher deletes nothing.
			expectCalls(t, f, i, "apply app.yaml")
		})
	}
}

// TestEmptyFileIsNotApplied: an empty file (created, not yet written) is
// left alone, and so are the pods it had.
func TestEmptyFileIsNotApplied(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "a")
	f := &fakeApplier{}
	start(t, dir, f, Options{}, true)
	f.waitCall(t, 0, "apply", "a.yaml", nil)
	i := f.count()
	write(t, dir, "a.yaml")
	write(t, dir, "new.yaml")
	barrier(t, dir, f)
	expectCalls(t, f, i)
}

// TestRescanCatchesMissedChanges runs without fsnotify: the periodic rescan
// alone must see a new file, an edit, and a removal.
func TestRescanCatchesMissedChanges(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "init.yaml", "init")
	f := &fakeApplier{}
	start(t, dir, f, Options{Rescan: 200 * time.Millisecond}, false)
	f.waitCall(t, 0, "apply", "init.yaml", nil) // the first scan is done

	at := write(t, dir, "a.yaml", "a")
	c := f.waitCall(t, 0, "apply", "a.yaml", key("a"))
	t.Logf("create -> ApplyStatic by rescan (200ms): %v", c.at.Sub(at).Round(time.Millisecond))
	i := f.count()
	at = write(t, dir, "a.yaml", "b")
	c = f.waitCall(t, i, "delete", "a.yaml", key("a"))
	t.Logf("edit -> ApplyStatic+DeleteStatic by rescan (200ms): %v", c.at.Sub(at).Round(time.Millisecond))
	i = f.count()
	if err := os.Remove(filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	f.waitCall(t, i, "delete", "a.yaml", key("b"))
}

// TestRetries: a failed apply (daemon busy) and a failed delete are retried
// at the next rescan.
func TestRetries(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "a")
	f := &fakeApplier{failApplies: 1, failDeletes: 1}
	start(t, dir, f, Options{Rescan: 100 * time.Millisecond}, true)
	f.waitCall(t, 0, "report", "a.yaml", nil)
	f.waitCall(t, 0, "apply", "a.yaml", key("a")) // succeeded at a rescan

	i := f.count()
	if err := os.Remove(filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	failed := f.waitCall(t, i, "delete", "a.yaml", key("a"))
	if failed.err == nil {
		t.Fatal("first delete did not fail")
	}
	f.waitFor(t, i, "second delete of a.yaml", func(c call) bool {
		return c.op == "delete" && c.file == "a.yaml" && c.err == nil && slices.Equal(c.keys, key("a"))
	})
}

// TestPodMovedToAnotherFile: a pod that moves from one file to another is
// not deleted when the first file drops it.
func TestPodMovedToAnotherFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "shared", "a")
	f := &fakeApplier{}
	start(t, dir, f, Options{}, true)
	f.waitCall(t, 0, "apply", "a.yaml", nil)
	i := f.count()
	write(t, dir, "b.yaml", "shared")
	f.waitCall(t, i, "apply", "b.yaml", nil)
	write(t, dir, "a.yaml", "a")
	barrier(t, dir, f)
	if err := os.Remove(filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	f.waitCall(t, i, "delete", "a.yaml", key("a"))
	barrier(t, dir, f)
	expectCalls(t, f, i, "apply b.yaml", "apply a.yaml", "delete a.yaml")
}

// TestMissingDirectory: the directory is created at start, and a directory
// removed and made again is watched again.
func TestMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc", "manifests")
	f := &fakeApplier{}
	start(t, dir, f, Options{Rescan: 200 * time.Millisecond}, true)
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err = os.Stat(dir); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("directory not created: %v", err)
	}
	write(t, dir, "a.yaml", "a")
	f.waitCall(t, 0, "apply", "a.yaml", nil)

	i := f.count()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	f.waitCall(t, i, "delete", "a.yaml", key("a"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	barrier(t, dir, f)
	at := write(t, dir, "b.yaml", "b")
	c := f.waitCall(t, i, "apply", "b.yaml", nil)
	t.Logf("create in re-made directory -> ApplyStatic: %v", c.at.Sub(at).Round(time.Millisecond))
}

func TestIsManifest(t *testing.T) {
	tests := map[string]bool{
		"/d/a.yaml": true, "/d/a.yml": true, "/d/a.json": true,
		"/d/.a.yaml": false, "/d/a.yaml~": false, "/d/a.yaml.swp": false, "/d/a.txt": false,
		"/d/#a.yaml#": false, "/d/a.YAML": false, "/d/yaml": false,
	}
	for path, want := range tests {
		if got := isManifest(path); got != want {
			t.Errorf("isManifest(%q) = %v, want %v", path, got, want)
		}
	}
}
