package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLayersUnpackOnceForConcurrentCallers(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	imgs, err := s.Import(ctx, busyboxArchive(t, "busybox:latest"), "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([][]string, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.Layers(ctx, imgs[0])
		}()
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if len(results[i]) != 1 || results[i][0] != results[0][0] {
			t.Fatalf("caller %d got %v, caller 0 got %v", i, results[i], results[0])
		}
	}
	dir := results[0][0]
	if filepath.Dir(dir) != s.layersDir() {
		t.Errorf("layer dir %s not under %s", dir, s.layersDir())
	}
	if ents, _ := os.ReadDir(s.layersDir()); len(ents) != 1 {
		t.Errorf("layers dir holds %d entries, want 1", len(ents))
	}
	if l, err := os.Readlink(filepath.Join(dir, "bin", "sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh -> %q, %v", l, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "www", "index.html")); err != nil || !strings.Contains(string(b), "hello from podd") {
		t.Errorf("www/index.html = %q, %v", b, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "tmp"))
	if err != nil || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("tmp mode = %v, %v", fi.Mode(), err)
	}
}

func TestLayersRejectsWrongContent(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	imgs, err := s.Import(ctx, busyboxArchive(t, "busybox:latest"), "")
	if err != nil {
		t.Fatal(err)
	}
	// Replace the layer blob with another valid gzip tar: its diffID differs.
	ents, _ := os.ReadDir(s.blobDir())
	var big os.DirEntry
	for _, e := range ents {
		if fi, _ := e.Info(); fi.Size() > 1<<20 {
			big = e
		}
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(make([]byte, 1024))
	zw.Close()
	if err := os.WriteFile(filepath.Join(s.blobDir(), big.Name()), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Layers(ctx, imgs[0]); err == nil || !strings.Contains(err.Error(), "diffID") {
		t.Fatalf("Layers of tampered blob = %v, want a diffID error", err)
	}
	if ents, _ := os.ReadDir(s.layersDir()); len(ents) != 0 {
		t.Errorf("tampered layer left %d entries in layers dir", len(ents))
	}
}

func TestPruneLayers(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	imgs, err := s.Import(ctx, busyboxArchive(t, "busybox:latest"), "")
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := s.Layers(ctx, imgs[0])
	if err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(s.blobDir(), strings.Repeat("ab", 32))
	if err := os.WriteFile(stray, []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	nblobs := countBlobs(t, s)
	if removed, err := s.PruneLayers(ctx, nil); err != nil || len(removed) != 0 {
		t.Fatalf("prune while the image exists removed %v, %v", removed, err)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("stray blob kept by prune: %v", err)
	}
	if n := countBlobs(t, s); n != nblobs-1 {
		t.Errorf("prune left %d blobs, want %d", n, nblobs-1)
	}
	if _, err := s.Remove(ctx, "busybox"); err != nil {
		t.Fatal(err)
	}
	if removed, err := s.PruneLayers(ctx, dirs); err != nil || len(removed) != 0 {
		t.Fatalf("prune of an in-use layer removed %v, %v", removed, err)
	}
	removed, err := s.PruneLayers(ctx, nil)
	if err != nil || len(removed) != 1 || removed[0] != dirs[0] {
		t.Fatalf("prune = %v, %v; want %v", removed, err, dirs)
	}
	if _, err := os.Stat(dirs[0]); !os.IsNotExist(err) {
		t.Errorf("pruned layer still there: %v", err)
	}
}
