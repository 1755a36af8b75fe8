package atomicdir

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func read(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

func mustWrite(t *testing.T, dir string, payload map[string]File) bool {
	t.Helper()
	changed, err := Write(dir, payload)
	if err != nil {
		t.Fatal(err)
	}
	return changed
}

// The kubelet's layout: files in a timestamped directory, ..data pointing
// at it, user-visible names linking through ..data.
func TestWriteLayout(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o400}})
	data, err := os.Readlink(filepath.Join(dir, DataLink))
	if err != nil || !strings.HasPrefix(data, "..") || strings.Contains(data, "/") {
		t.Fatalf("..data -> %q, %v; want a timestamped sibling", data, err)
	}
	for name, want := range map[string]string{"a": "..data/a", "sub": "..data/sub"} {
		if got, err := os.Readlink(filepath.Join(dir, name)); err != nil || got != want {
			t.Errorf("%s -> %q (%v), want %q", name, got, err, want)
		}
	}
	if read(t, dir, "a") != "1" || read(t, dir, "sub/b") != "2" {
		t.Error("contents differ")
	}
	fi, err := os.Stat(filepath.Join(dir, "sub/b"))
	if err != nil || fi.Mode().Perm() != 0o400 {
		t.Errorf("mode of sub/b: %v %v, want 0400", fi.Mode(), err)
	}
}

// An update swaps ..data, adds new names, drops removed ones and the old
// payload directory; an identical payload changes nothing.
func TestWriteUpdate(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "gone": {Data: []byte("x"), Mode: 0o644}})
	first, _ := os.Readlink(filepath.Join(dir, DataLink))
	if mustWrite(t, dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "gone": {Data: []byte("x"), Mode: 0o644}}) {
		t.Error("an identical payload reported a change")
	}
	if !mustWrite(t, dir, map[string]File{"a": {Data: []byte("2"), Mode: 0o644}, "new": {Data: []byte("n"), Mode: 0o644}}) {
		t.Error("a new payload reported no change")
	}
	if read(t, dir, "a") != "2" || read(t, dir, "new") != "n" {
		t.Error("the update is not visible")
	}
	if _, err := os.Lstat(filepath.Join(dir, "gone")); !os.IsNotExist(err) {
		t.Errorf("removed key still visible: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("old payload directory %s kept: %v", first, err)
	}
	if !mustWrite(t, dir, map[string]File{"a": {Data: []byte("2"), Mode: 0o600}, "new": {Data: []byte("n"), Mode: 0o644}}) {
		t.Error("a mode change reported no change")
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 4 { // ..<ts>, ..data, a, new
		t.Errorf("entries after updates: %v", names)
	}
}

// A reader never sees a mix of two payloads.
func TestWriteIsAtomicForReaders(t *testing.T) {
	dir := t.TempDir()
	payload := func(v string) map[string]File {
		return map[string]File{"x": {Data: []byte(v), Mode: 0o644}, "y": {Data: []byte(v), Mode: 0o644}}
	}
	mustWrite(t, dir, payload("0"))
	var stop atomic.Bool
	var torn atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			// Read both through one resolution of ..data, as a reader
			// holding the directory would.
			target, err := os.Readlink(filepath.Join(dir, DataLink))
			if err != nil {
				torn.Add(1)
				continue
			}
			x, errx := os.ReadFile(filepath.Join(dir, target, "x"))
			y, erry := os.ReadFile(filepath.Join(dir, target, "y"))
			if errx == nil && erry == nil && string(x) != string(y) {
				torn.Add(1)
			}
		}
	}()
	for i := 1; i <= 50; i++ {
		mustWrite(t, dir, payload(strings.Repeat("v", i)))
	}
	stop.Store(true)
	wg.Wait()
	if n := torn.Load(); n > 0 {
		t.Errorf("%d reads saw no ..data or a torn payload", n)
	}
}

func TestWriteRefusesBadPaths(t *testing.T) {
	for _, p := range []string{"", "/abs", "../up", "a/../../b", "..data", "a//b", "./a"} {
		if _, err := Write(t.TempDir(), map[string]File{p: {Mode: 0o644}}); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	if _, err := Write(t.TempDir(), map[string]File{"a": {Mode: 0o644}, "a/b": {Mode: 0o644}}); err == nil {
		t.Error("a file that is also a directory accepted")
	}
}
