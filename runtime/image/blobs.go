package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podd-dev/podd/runtime/atomicfile"
)

// describe reads the manifest and config of a stored image.
func (s *Store) describe(d string) (Image, error) {
	h, err := v1.NewHash(d)
	if err != nil {
		return Image{}, fmt.Errorf("image digest %q: %w", d, err)
	}
	img, err := s.content.Image(h)
	if err != nil {
		return Image{}, fmt.Errorf("open image %s: %w", d, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return Image{}, fmt.Errorf("read manifest of %s: %w", d, err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return Image{}, fmt.Errorf("read manifest of %s: %w", d, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Image{}, fmt.Errorf("read config of %s: %w", d, err)
	}
	out := Image{
		Digest:       d,
		ID:           m.Config.Digest.String(),
		Size:         int64(len(raw)) + m.Config.Size,
		Created:      cf.Created.Time,
		OS:           cf.OS,
		Architecture: cf.Architecture,
		Config: Config{
			Entrypoint: cf.Config.Entrypoint,
			Cmd:        cf.Config.Cmd,
			Env:        cf.Config.Env,
			WorkingDir: cf.Config.WorkingDir,
			User:       cf.Config.User,
			StopSignal: cf.Config.StopSignal,
		},
		Labels: cf.Config.Labels,
	}
	for _, l := range m.Layers {
		out.Size += l.Size
	}
	for p := range cf.Config.ExposedPorts {
		out.ExposedPorts = append(out.ExposedPorts, p)
	}
	sort.Strings(out.ExposedPorts)
	return out, nil
}

// hold marks blobs as in use by a write in progress, so that a concurrent
// Remove does not collect them before their names are committed.
func (s *Store) hold(digests []string) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range digests {
		s.pending[d]++
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, d := range digests {
			if s.pending[d]--; s.pending[d] <= 0 {
				delete(s.pending, d)
			}
		}
	}
}

// imageBlobs lists the manifest, config and layer digests of img.
func imageBlobs(img v1.Image) ([]string, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	out := []string{d.String(), m.Config.Digest.String()}
	for _, l := range m.Layers {
		out = append(out, l.Digest.String())
	}
	return out, nil
}

// writeImage stores every blob of img, each verified against its digest,
// and returns the manifest digest; progress, if set, hears about each
// layer. The caller holds the blobs.
func (s *Store) writeImage(ctx context.Context, img v1.Image, progress ProgressFunc) (string, error) {
	layers, err := img.Layers()
	if err != nil {
		return "", fmt.Errorf("list layers: %w", err)
	}
	if progress == nil {
		progress = func(LayerProgress) {}
	}
	states := make([]LayerProgress, len(layers))
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return "", fmt.Errorf("layer digest: %w", err)
		}
		size, err := l.Size()
		if err != nil {
			return "", fmt.Errorf("layer %s size: %w", d, err)
		}
		states[i] = LayerProgress{Digest: d.String(), Size: size, State: LayerWaiting}
		progress(states[i])
	}
	for i, l := range layers {
		p := states[i]
		d, _ := l.Digest()
		if s.hasBlob(d) {
			p.Done, p.State = p.Size, LayerExists
			progress(p)
			continue
		}
		rc, err := l.Compressed()
		if err != nil {
			return "", fmt.Errorf("read layer %s: %w", d, err)
		}
		p.State = LayerDownloading
		progress(p)
		pr := &progressReader{r: rc, p: p, fn: progress, last: time.Now()}
		err = s.writeBlob(ctx, d, pr)
		rc.Close()
		if err != nil {
			return "", err
		}
		p.Done, p.State = pr.p.Done, LayerDone
		progress(p)
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return "", fmt.Errorf("config digest: %w", err)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return "", fmt.Errorf("read config: %w", err)
	}
	if err := s.writeBlob(ctx, cfgName, bytes.NewReader(cfg)); err != nil {
		return "", err
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("manifest digest: %w", err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return "", fmt.Errorf("read manifest: %w", err)
	}
	if err := s.writeBlob(ctx, d, bytes.NewReader(raw)); err != nil {
		return "", err
	}
	return d.String(), nil
}

func (s *Store) hasBlob(h v1.Hash) bool {
	_, err := os.Stat(filepath.Join(s.blobDir(), h.Hex))
	return err == nil && h.Algorithm == "sha256"
}

// writeBlob copies r into the blob store under h with atomicfile.Write,
// checked against the digest before it is renamed into place, so that a
// blob present under its name is always whole and correct.
func (s *Store) writeBlob(ctx context.Context, h v1.Hash, r io.Reader) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("write blob %s: unsupported digest algorithm", h)
	}
	if s.hasBlob(h) {
		return nil
	}
	err := atomicfile.Write(filepath.Join(s.blobDir(), h.Hex), 0o600, func(w io.Writer) error {
		sum := sha256.New()
		if _, err := io.Copy(io.MultiWriter(w, sum), ctxReader{ctx, r}); err != nil {
			return err
		}
		if got := hex.EncodeToString(sum.Sum(nil)); got != h.Hex {
			return fmt.Errorf("content has digest sha256:%s", got)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write blob %s: %w", h, err)
	}
	return nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// gcBlobsLocked deletes every blob that no named image and no write in
// progress uses.
func (s *Store) gcBlobsLocked() error {
	keep := map[string]bool{}
	for d := range s.pending {
		keep[d] = true
	}
	for _, d := range s.indexDigestsLocked() {
		keep[d] = true
	}
	for _, d := range s.digestsLocked() {
		h, err := v1.NewHash(d)
		if err != nil {
			return fmt.Errorf("collect blobs: %w", err)
		}
		img, err := s.content.Image(h)
		if err != nil {
			return fmt.Errorf("collect blobs: open image %s: %w", d, err)
		}
		blobs, err := imageBlobs(img)
		if err != nil {
			return fmt.Errorf("collect blobs: read image %s: %w", d, err)
		}
		for _, b := range blobs {
			keep[b] = true
		}
	}
	ents, err := os.ReadDir(s.blobDir())
	if err != nil {
		return fmt.Errorf("collect blobs: %w", err)
	}
	for _, e := range ents {
		if keep["sha256:"+e.Name()] || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := os.Remove(filepath.Join(s.blobDir(), e.Name())); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("collect blobs: %w", err)
		}
	}
	return nil
}
