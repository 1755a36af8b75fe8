package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A blob is stored under its name only when its content matches the digest;
// a mismatch leaves neither the blob nor a temp file.
func TestWriteBlobChecksDigestAtomically(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	content := "layer bytes"
	sum := sha256.Sum256([]byte(content))
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	before := countBlobs(t, s)
	err := s.writeBlob(ctx, h, strings.NewReader("other bytes"))
	if err == nil || !strings.Contains(err.Error(), "content has digest") {
		t.Fatalf("mismatch: err = %v", err)
	}
	if n := countBlobs(t, s); n != before {
		t.Fatalf("blob dir holds %d entries after a mismatch, want %d", n, before)
	}
	if err := s.writeBlob(ctx, h, strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(s.blobDir(), h.Hex))
	if err != nil || string(got) != content {
		t.Fatalf("stored blob = %q, %v", got, err)
	}
	if n := countBlobs(t, s); n != before+1 {
		t.Fatalf("blob dir holds %d entries, want %d", n, before+1)
	}
}
