package image

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/podd-dev/podd/runtime/image/archive"
)

// namedImage is one image found in an archive, with its canonical names.
type namedImage struct {
	img   v1.Image
	names []string
}

// Import stores the images of the archive at path: a docker-archive tar
// ("docker save", possibly several tags, possibly gzipped), an OCI image
// layout directory, or an OCI layout packed as a tar. The kind is detected
// from the content. name, if not empty, adds a tag; it is required when the
// archive does not name its image, and refused when it holds several.
func (s *Store) Import(ctx context.Context, path, name string) ([]Image, error) {
	var tag string
	if name != "" {
		n, err := Normalize(name)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", path, err)
		}
		if isDigestRef(n) {
			return nil, fmt.Errorf("import %s: name %q must be a tag, not a digest", path, name)
		}
		tag = n
	}
	found, cleanup, err := s.readArchive(ctx, path)
	defer cleanup()
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("import %s: archive holds no image", path)
	}
	if tag != "" {
		if len(found) != 1 {
			return nil, fmt.Errorf("import %s: name %q given but the archive holds %d images", path, name, len(found))
		}
		found[0].names = append(found[0].names, tag)
	}
	for i, f := range found {
		if len(f.names) == 0 {
			return nil, fmt.Errorf("import %s: image %d of the archive has no name: give one", path, i+1)
		}
	}
	out := make([]Image, 0, len(found))
	for _, f := range found {
		img, err := s.store(ctx, f.img, f.names, nil)
		if err != nil {
			return out, fmt.Errorf("import %s: %w", path, err)
		}
		out = append(out, img)
	}
	return out, nil
}

// store writes img's blobs and points names at it.
func (s *Store) store(ctx context.Context, img v1.Image, names []string, progress ProgressFunc) (Image, error) {
	blobs, err := imageBlobs(img)
	if err != nil {
		return Image{}, fmt.Errorf("read image: %w", err)
	}
	release := s.hold(blobs)
	defer release()
	d, err := s.writeImage(ctx, img, progress)
	if err != nil {
		return Image{}, err
	}
	return s.commit(d, names)
}

// commit points names at manifest digest d; images that lose their last
// tag to it are removed.
func (s *Store) commit(d string, names []string) (Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := copyRefs(s.refs)
	var moved []string
	for _, n := range names {
		if old, ok := next[n]; ok && old != d {
			moved = append(moved, old)
		}
		next[n] = d
	}
	dropUntagged(next, moved)
	if err := s.commitRefsLocked(next); err != nil {
		return Image{}, err
	}
	if len(moved) > 0 {
		if err := s.gcBlobsLocked(); err != nil {
			return Image{}, err
		}
	}
	return s.imageLocked(d)
}

// readArchive opens the images in path. cleanup removes temp files and is
// safe to call whatever the error.
func (s *Store) readArchive(ctx context.Context, p string) (found []namedImage, cleanup func(), err error) {
	var temps []string
	cleanup = func() {
		for _, t := range temps {
			os.RemoveAll(t)
		}
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, cleanup, err
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(p, "oci-layout")); err != nil {
			return nil, cleanup, fmt.Errorf("directory is not an OCI image layout (no oci-layout file)")
		}
		if err := checkLayoutFiles(p); err != nil {
			return nil, cleanup, err
		}
		found, err := fromLayout(p)
		return found, cleanup, err
	}
	if !fi.Mode().IsRegular() {
		return nil, cleanup, notRegular(p, fi.Mode())
	}
	if gz, err := isGzip(p); err != nil {
		return nil, cleanup, err
	} else if gz {
		plain, err := s.gunzip(ctx, p)
		if plain != "" {
			temps = append(temps, plain)
		}
		if err != nil {
			return nil, cleanup, err
		}
		p = plain
	}
	hasLayout, hasManifest, err := tarKind(p)
	if err != nil {
		return nil, cleanup, err
	}
	switch {
	case hasLayout:
		dir, err := os.MkdirTemp(s.tmpDir(), "layout-*")
		if err != nil {
			return nil, cleanup, err
		}
		temps = append(temps, dir)
		if err := extractLayout(ctx, p, dir); err != nil {
			return nil, cleanup, err
		}
		found, err := fromLayout(dir)
		return found, cleanup, err
	case hasManifest:
		found, err := fromDockerArchive(p)
		return found, cleanup, err
	}
	return nil, cleanup, errors.New("not a docker archive or OCI image layout (no manifest.json or oci-layout)")
}

func isGzip(p string) (bool, error) {
	f, err := openRegular(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	magic := make([]byte, 2)
	if _, err := io.ReadFull(f, magic); err != nil {
		return false, nil
	}
	return magic[0] == 0x1f && magic[1] == 0x8b, nil
}

// gunzip decompresses p into a temp file of the store and returns its path.
func (s *Store) gunzip(ctx context.Context, p string) (string, error) {
	in, err := openRegular(p)
	if err != nil {
		return "", err
	}
	defer in.Close()
	zr, err := gzip.NewReader(bufio.NewReader(in))
	if err != nil {
		return "", fmt.Errorf("gunzip: %w", err)
	}
	out, err := os.CreateTemp(s.tmpDir(), "archive-*.tar")
	if err != nil {
		return "", err
	}
	defer out.Close()
	if _, err := io.Copy(out, ctxReader{ctx, zr}); err != nil {
		return out.Name(), fmt.Errorf("gunzip: %w", err)
	}
	return out.Name(), out.Close()
}

// tarKind reports which marker files the tar at p holds at its top level.
func tarKind(p string) (hasLayout, hasManifest bool, err error) {
	f, err := openRegular(p)
	if err != nil {
		return false, false, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hasLayout, hasManifest, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("read tar: %w", err)
		}
		switch path.Clean(hdr.Name) {
		case "oci-layout":
			hasLayout = true
		case "manifest.json":
			hasManifest = true
		}
	}
}

// extractLayout unpacks an OCI layout tar into dir: regular files and
// directories only, names that stay inside dir only. No symlink is ever
// created, so no later entry can be redirected through one.
func extractLayout(ctx context.Context, src, dir string) error {
	f, err := openRegular(src)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := path.Clean(hdr.Name)
		if path.IsAbs(hdr.Name) || rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("layout tar entry %q leaves the layout", hdr.Name)
		}
		target := filepath.Join(dir, rel)
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o700)
		case tar.TypeReg:
			err = extractFile(target, tr)
		}
		if err != nil {
			return fmt.Errorf("extract %q: %w", hdr.Name, err)
		}
	}
}

func extractFile(target string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return err
	}
	return archive.CreateFile(target, r)
}

// fromDockerArchive opens each image of a "docker save" tar.
func fromDockerArchive(p string) ([]namedImage, error) {
	opener := func() (io.ReadCloser, error) { return openRegular(p) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("read manifest.json: %w", err)
	}
	var out []namedImage
	for i, d := range m {
		var tag *name.Tag
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return nil, fmt.Errorf("image %d: tag %q: %w", i+1, d.RepoTags[0], err)
			}
			tag = &t
		} else if len(m) != 1 {
			return nil, fmt.Errorf("image %d of %d has no tag: an archive of several images must tag each", i+1, len(m))
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i+1, err)
		}
		ni := namedImage{img: img}
		for _, rt := range d.RepoTags {
			n, err := Normalize(rt)
			if err != nil {
				return nil, fmt.Errorf("image %d: %w", i+1, err)
			}
			ni.names = append(ni.names, n)
		}
		out = append(out, ni)
	}
	return out, nil
}
