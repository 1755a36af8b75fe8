package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/image/archive"
	testimage "github.com/podd-dev/podd/test/image"
)

// The busybox layer (over 1 MiB uncompressed) does not fit a 64 KiB cap: it
// is refused and leaves nothing in the layers dir.
func TestLayersCappedByMaxLayerSize(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "images"), Options{MaxLayerSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := s.Import(ctx, busyboxArchive(t, "busybox:latest"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Layers(ctx, imgs[0]); !errors.Is(err, archive.ErrTooLarge) {
		t.Fatalf("Layers = %v, want archive.ErrTooLarge", err)
	}
	if ents, _ := os.ReadDir(s.layersDir()); len(ents) != 0 {
		t.Errorf("refused layer left %d entries in the layers dir", len(ents))
	}
}

// importWithin runs Import and fails the test if it does not return in
// time: a FIFO would block an open or a read forever.
func importWithin(t *testing.T, s *Store, path string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := s.Import(ctx, path, "x:latest")
		errc <- err
	}()
	select {
	case err := <-errc:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("Import(%s) still blocked after 30s", path)
		return nil
	}
}

func TestImportRefusesSpecialFiles(t *testing.T) {
	s := openStore(t)
	fifo := filepath.Join(t.TempDir(), "image.tar")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero", "/dev/null"} {
		err := importWithin(t, s, p)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Import(%s) = %v, want a 'not a regular file' error", p, err)
		}
	}
}

// An OCI layout directory whose blob is a FIFO, or a symlink to a device,
// is refused before any blob is read.
func TestImportRefusesLayoutWithSpecialBlobs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replace func(p string) error
	}{
		{"fifo", func(p string) error { return unix.Mkfifo(p, 0o600) }},
		{"symlink to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			dir := filepath.Join(t.TempDir(), "layout")
			if err := testimage.BuildOCILayout(dir, "busybox:latest"); err != nil {
				t.Fatal(err)
			}
			blobs := filepath.Join(dir, "blobs", "sha256")
			ents, err := os.ReadDir(blobs)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				p := filepath.Join(blobs, e.Name())
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				if err := tc.replace(p); err != nil {
					t.Fatal(err)
				}
			}
			err = importWithin(t, s, dir)
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("Import = %v, want a 'not a regular file' error", err)
			}
		})
	}
}
