package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/atomicfile"
	"github.com/podd-dev/podd/runtime/image/archive"
)

// Layers unpacks the layers of img, each once for all images (by diffID,
// into <root>/layers/<hex>), and returns their directories in image order,
// oldest (base) layer first. Whiteouts are in overlayfs form, so the
// directories are ready to be overlay lower dirs; layers holding
// whiteouts need root to unpack. Device nodes are left out, sparse entries
// refused, and a layer bigger than Options.MaxLayerSize refused
// (archive.ErrTooLarge).
// Concurrent calls share the work: a layer is unpacked by one caller while
// the others wait for it.
func (s *Store) Layers(ctx context.Context, img Image) ([]string, error) {
	h, err := v1.NewHash(img.Digest)
	if err != nil {
		return nil, fmt.Errorf("layers of image %q: %w", img.Digest, err)
	}
	vimg, err := s.content.Image(h)
	if err != nil {
		return nil, fmt.Errorf("layers of image %s: %w", img.Digest, err)
	}
	blobs, err := imageBlobs(vimg)
	if err != nil {
		return nil, fmt.Errorf("layers of image %s: %w", img.Digest, err)
	}
	release := s.hold(blobs)
	defer release()
	layers, err := vimg.Layers()
	if err != nil {
		return nil, fmt.Errorf("layers of image %s: %w", img.Digest, err)
	}
	// The config's diffIDs are the authority; a layer's DiffID method may
	// hash whatever its blob holds.
	cf, err := vimg.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("layers of image %s: %w", img.Digest, err)
	}
	if len(cf.RootFS.DiffIDs) != len(layers) {
		return nil, fmt.Errorf("layers of image %s: config lists %d diffIDs for %d layers", img.Digest, len(cf.RootFS.DiffIDs), len(layers))
	}
	dirs := make([]string, 0, len(layers))
	for i, l := range layers {
		dir, err := s.unpackLayer(ctx, l, cf.RootFS.DiffIDs[i], dirs)
		if err != nil {
			return nil, fmt.Errorf("layers of image %s: %w", img.Digest, err)
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

// unpackLayer returns the directory of layer l with the given diffID, unpacking it first if
// needed: into a temp directory, checked against the diffID, synced, then
// renamed, so a layer directory that exists is always whole.
func (s *Store) unpackLayer(ctx context.Context, l v1.Layer, diffID v1.Hash, parents []string) (string, error) {
	if diffID.Algorithm != "sha256" {
		return "", fmt.Errorf("layer %s: unsupported digest algorithm", diffID)
	}
	dir := filepath.Join(s.layersDir(), diffID.Hex)
	unlock, err := s.lockLayer(ctx, diffID.Hex)
	if err != nil {
		return "", fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	defer unlock()
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(s.layersDir(), ".tmp-"+diffID.Hex[:12]+"-")
	if err != nil {
		return "", fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	if err := s.applyLayer(ctx, l, diffID, tmp, parents); err != nil {
		return "", fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	done = true
	if err := atomicfile.SyncDir(s.layersDir()); err != nil {
		return "", fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	return dir, nil
}

// applyLayer unpacks l into dir, checks the uncompressed stream against
// diffID and syncs the filesystem.
func (s *Store) applyLayer(ctx context.Context, l v1.Layer, diffID v1.Hash, dir string, parents []string) error {
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	sum := sha256.New()
	// Apply reads the stream to its end, padding after the end marker
	// included, so the hash covers all of it.
	tee := io.TeeReader(rc, sum)
	opts := archive.Options{Parents: parents, MaxSize: s.opts.MaxLayerSize, MaxEntries: maxLayerEntries}
	if err := archive.Apply(ctx, dir, tee, opts); err != nil {
		return err
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != diffID.Hex {
		return fmt.Errorf("content has diffID sha256:%s", got)
	}
	return syncFS(dir)
}

func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}

// lockLayer takes the per-diffID lock, waiting at most until ctx ends.
func (s *Store) lockLayer(ctx context.Context, key string) (unlock func(), err error) {
	s.layerMu.Lock()
	ch, ok := s.layerLocks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		s.layerLocks[key] = ch
	}
	s.layerMu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// PruneLayers removes unpacked layer directories that no stored image uses
// and that are not in inUse (layer directories of existing containers, as
// Layers returned them or as their mounts name them: only the base name
// counts), and the blobs no stored image uses (an interrupted write's). It
// returns the directories removed.
func (s *Store) PruneLayers(ctx context.Context, inUse []string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.gcBlobsLocked(); err != nil {
		return nil, fmt.Errorf("prune layers: %w", err)
	}
	keep := map[string]bool{}
	for _, d := range inUse {
		keep[filepath.Base(d)] = true
	}
	for _, d := range s.digestsLocked() {
		ids, err := s.diffIDsLocked(d)
		if err != nil {
			return nil, fmt.Errorf("prune layers: %w", err)
		}
		for _, id := range ids {
			keep[id] = true
		}
	}
	ents, err := os.ReadDir(s.layersDir())
	if err != nil {
		return nil, fmt.Errorf("prune layers: %w", err)
	}
	var removed []string
	for _, e := range ents {
		if keep[e.Name()] || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("prune layers: %w", err)
		}
		dir := filepath.Join(s.layersDir(), e.Name())
		unlock, err := s.lockLayer(ctx, e.Name())
		if err != nil {
			return removed, fmt.Errorf("prune layers: %w", err)
		}
		err = os.RemoveAll(dir)
		unlock()
		if err != nil {
			return removed, fmt.Errorf("prune layers: %w", err)
		}
		removed = append(removed, dir)
	}
	sort.Strings(removed)
	return removed, nil
}

// diffIDsLocked returns the hex diffIDs of a stored image's layers.
func (s *Store) diffIDsLocked(d string) ([]string, error) {
	h, err := v1.NewHash(d)
	if err != nil {
		return nil, err
	}
	img, err := s.content.Image(h)
	if err != nil {
		return nil, fmt.Errorf("open image %s: %w", d, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config of %s: %w", d, err)
	}
	out := make([]string, 0, len(cf.RootFS.DiffIDs))
	for _, id := range cf.RootFS.DiffIDs {
		out = append(out, id.Hex)
	}
	return out, nil
}
