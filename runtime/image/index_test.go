package image

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// compressedSize is manifest + config + layers, as stored.
func compressedSize(t *testing.T, img v1.Image) int64 {
	t.Helper()
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// The size of an image pulled through an index counts the index, as
// containerd's CRI reports it; the index blob lives as long as the image.
func TestPulledIndexCountsInSizeAndLivesWithTheImage(t *testing.T) {
	ctx := context.Background()
	host := startRegistry(t)
	native := labelled(t, "native")
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: native,
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: hostPlatform().Architecture}}})
	if err := remote.WriteIndex(mustRef(t, host+"/multi:1"), idx); err != nil {
		t.Fatal(err)
	}
	plain := labelled(t, "plain")
	if err := remote.Write(mustRef(t, host+"/plain:1"), plain); err != nil {
		t.Fatal(err)
	}
	rawIdx, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	s := openStore(t)
	got, err := s.Pull(ctx, host+"/multi:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := compressedSize(t, native) + int64(len(rawIdx)); got.Size != want {
		t.Errorf("size of an image pulled through an index = %d, want %d (index %d bytes)", got.Size, want, len(rawIdx))
	}
	p, err := s.Pull(ctx, host+"/plain:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := compressedSize(t, plain); p.Size != want {
		t.Errorf("size of a plain image = %d, want %d", p.Size, want)
	}
	// Another image's removal collects blobs; the index stays.
	if _, err := s.Remove(ctx, host+"/plain:1"); err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(s.blobDir(), idxDigest.Hex)
	if _, err := os.Stat(blob); err != nil {
		t.Errorf("the index blob went with another image: %v", err)
	}
	if again, _ := s.Get(ctx, host+"/multi:1"); again.Size != got.Size {
		t.Errorf("size after a collection = %d, want %d", again.Size, got.Size)
	}
	if _, err := s.Remove(ctx, host+"/multi:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Errorf("the index blob outlived its image: %v", err)
	}
}
