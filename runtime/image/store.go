package image

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/podd-dev/podd/runtime/atomicfile"
)

// ErrNotFound is returned (wrapped) when no stored image matches a reference.
var ErrNotFound = errors.New("image not found")

// Image describes a stored image: its names, identity and the parts of its
// config that podd needs to run it.
type Image struct {
	// Refs are the canonical tag references, e.g. "docker.io/library/busybox:latest".
	Refs []string
	// RepoDigests are canonical "repo@sha256:..." references recorded by pulls.
	RepoDigests []string
	// Digest is the manifest digest ("sha256:...").
	Digest string
	// ID is the config digest, the image ID docker and crictl print.
	ID string
	// Size is the stored size: manifest, config and compressed layers, and
	// the index a pull resolved through, if any (as containerd counts it).
	Size int64
	// Created is the creation time from the image config (zero if absent).
	Created time.Time

	// The fields below come from the image config.
	OS           string
	Architecture string
	Config
	// ExposedPorts are "port/proto" strings, sorted.
	ExposedPorts []string
	Labels       map[string]string
}

// Config is the part of an image's config that shapes a container's
// process: runtime/spec builds the process from it.
type Config struct {
	Entrypoint []string
	Cmd        []string
	// Env holds "KEY=value" entries.
	Env        []string
	WorkingDir string
	// User is "", "uid", "uid:gid", "name", "name:group" or a mix.
	User       string
	StopSignal string
}

// DefaultMaxLayerSize is the default cap on one layer's uncompressed size:
// large enough for the biggest layers real images ship (CUDA and ML
// framework layers run to a few GiB), small enough that a gzip bomb (about
// 1000:1) cannot fill a disk from a small blob.
const DefaultMaxLayerSize = 10 << 30

// maxLayerEntries caps the entries (inodes) of one layer; the largest
// real layers hold a few hundred thousand files.
const maxLayerEntries = 1 << 20

// Options tune a Store.
type Options struct {
	// MaxLayerSize caps one layer's uncompressed tar stream, in bytes; a
	// layer past it is refused (archive.ErrTooLarge). 0 means
	// DefaultMaxLayerSize.
	MaxLayerSize int64
	// Mirrors are tried before a registry on every pull from it.
	Mirrors Mirrors
}

// Store is the content store under one root directory. It is safe for
// concurrent use within one process; only one process may use a root.
type Store struct {
	root    string
	content layout.Path
	opts    Options
	mirrors map[string][]endpoint // canonical registry host -> mirrors

	mu      sync.Mutex
	refs    map[string]string // canonical reference -> manifest digest
	pending map[string]int    // blobs being written by imports and pulls
	cache   map[string]Image  // manifest digest -> image, names left empty

	layerMu    sync.Mutex
	layerLocks map[string]chan struct{} // diffID -> lock held while unpacking
}

// Open opens (creating if needed) the store rooted at root: blobs in an OCI
// image layout under root/content, names in root/refs.json, unpacked layers
// under root/layers. Leftovers of interrupted writes are removed.
func Open(root string, opts Options) (*Store, error) {
	if opts.MaxLayerSize < 0 {
		return nil, fmt.Errorf("open image store %s: max layer size %d is negative", root, opts.MaxLayerSize)
	}
	if opts.MaxLayerSize == 0 {
		opts.MaxLayerSize = DefaultMaxLayerSize
	}
	mirrors, err := parseMirrors(opts.Mirrors)
	if err != nil {
		return nil, fmt.Errorf("open image store %s: %w", root, err)
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open image store %s: %w", root, err)
	}
	s := &Store{
		root:       root,
		opts:       opts,
		mirrors:    mirrors,
		content:    layout.Path(filepath.Join(root, "content")),
		pending:    map[string]int{},
		cache:      map[string]Image{},
		layerLocks: map[string]chan struct{}{},
	}
	for _, d := range []string{root, string(s.content), s.blobDir(), s.layersDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open image store %s: %w", root, err)
		}
	}
	if err := s.removeLeftovers(); err != nil {
		return nil, fmt.Errorf("open image store %s: %w", root, err)
	}
	if s.refs, err = loadRefs(s.refsPath()); err != nil {
		return nil, fmt.Errorf("open image store %s: %w", root, err)
	}
	if err := s.writeLayoutFiles(); err != nil {
		return nil, fmt.Errorf("open image store %s: %w", root, err)
	}
	return s, nil
}

func (s *Store) refsPath() string  { return filepath.Join(s.root, "refs.json") }
func (s *Store) blobDir() string   { return filepath.Join(string(s.content), "blobs", "sha256") }
func (s *Store) layersDir() string { return filepath.Join(s.root, "layers") }
func (s *Store) tmpDir() string    { return filepath.Join(s.root, "tmp") }

// removeLeftovers deletes temp files, half-written blobs and half-unpacked
// layers that a crash left behind; nothing refers to them.
func (s *Store) removeLeftovers() error {
	for _, dir := range []string{s.tmpDir(), s.layersDir(), s.blobDir()} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if dir == s.layersDir() && !strings.HasPrefix(e.Name(), ".tmp-") ||
				dir == s.blobDir() && !atomicfile.IsTemp(e.Name()) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// List returns every stored image, sorted by first name.
func (s *Store) List(ctx context.Context) ([]Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Image
	for _, d := range s.digestsLocked() {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list images: %w", err)
		}
		img, err := s.imageLocked(d)
		if err != nil {
			return nil, fmt.Errorf("list images: %w", err)
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return sortKey(out[i]) < sortKey(out[j]) })
	return out, nil
}

func sortKey(img Image) string {
	if len(img.Refs) > 0 {
		return img.Refs[0]
	}
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0]
	}
	return img.Digest
}

// Get returns the image that ref names. ref may be a name in any spelling
// that normalises to a stored one ("busybox", "busybox:latest",
// "docker.io/library/busybox:latest"), a "repo@sha256:..." reference, or a
// manifest digest or image ID, whole or as a unique prefix ("sha256:ab12",
// "ab12"). A missing image gives an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, ref string) (Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	digest, _, err := s.resolveLocked(ref)
	if err != nil {
		return Image{}, fmt.Errorf("get image %q: %w", ref, err)
	}
	img, err := s.imageLocked(digest)
	if err != nil {
		return Image{}, fmt.Errorf("get image %q: %w", ref, err)
	}
	return img, nil
}

// Removed says what Remove did.
type Removed struct {
	// Untagged are the names removed, canonical and sorted.
	Untagged []string
	// Deleted is the manifest digest of the image removed, "" when the
	// image keeps other tags.
	Deleted string
}

// Remove removes what ref names. A tag only untags, and the image goes when
// its last tag does; a digest, an ID or a repo digest removes the image with
// all its names. Blobs no remaining image uses are deleted; unpacked layer
// directories stay until PruneLayers, since running containers use them.
func (s *Store) Remove(ctx context.Context, ref string) (Removed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	digest, key, err := s.resolveLocked(ref)
	if err != nil {
		return Removed{}, fmt.Errorf("remove image %q: %w", ref, err)
	}
	next := copyRefs(s.refs)
	if key != "" && !isDigestRef(key) {
		delete(next, key)
		dropUntagged(next, []string{digest})
	} else {
		dropImage(next, digest)
	}
	var out Removed
	for k := range s.refs {
		if _, kept := next[k]; !kept {
			out.Untagged = append(out.Untagged, k)
		}
	}
	sort.Strings(out.Untagged)
	if !containsValue(next, digest) {
		out.Deleted = digest
	}
	if err := s.commitRefsLocked(next); err != nil {
		return Removed{}, fmt.Errorf("remove image %q: %w", ref, err)
	}
	if err := s.gcBlobsLocked(); err != nil {
		return out, fmt.Errorf("remove image %q: %w", ref, err)
	}
	return out, nil
}

// digestsLocked returns the manifest digests of stored images, sorted.
func (s *Store) digestsLocked() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range s.refs {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// imageLocked describes the stored image with manifest digest d, names included.
func (s *Store) imageLocked(d string) (Image, error) {
	img, ok := s.cache[d]
	if !ok {
		var err error
		if img, err = s.describe(d); err != nil {
			return Image{}, err
		}
		s.cache[d] = img
	}
	img.Refs, img.RepoDigests = nil, nil
	for ref, rd := range s.refs {
		if rd != d {
			continue
		}
		if isDigestRef(ref) {
			img.RepoDigests = append(img.RepoDigests, ref)
		} else {
			img.Refs = append(img.Refs, ref)
		}
	}
	sort.Strings(img.Refs)
	sort.Strings(img.RepoDigests)
	img.Size += s.indexSizeLocked(d, img.RepoDigests)
	// The cached slices and map must not be shared with callers.
	img.Entrypoint, img.Cmd, img.Env = slices.Clone(img.Entrypoint), slices.Clone(img.Cmd), slices.Clone(img.Env)
	img.ExposedPorts = slices.Clone(img.ExposedPorts)
	img.Labels = maps.Clone(img.Labels)
	return img, nil
}

// resolveLocked finds the manifest digest ref names, and the refs key it
// matched ("" when matched by digest or ID).
func (s *Store) resolveLocked(ref string) (digest, key string, err error) {
	if idRef.MatchString(ref) {
		d, err := s.matchIDLocked(strings.TrimPrefix(ref, "sha256:"))
		return d, "", err
	}
	if r, perr := parseRef(ref, false); perr == nil {
		key = refString(r)
		if d, ok := s.refs[key]; ok {
			return d, key, nil
		}
		if isDigestRef(key) {
			// Content pulled by tag is also known as repo@<manifest digest>.
			repo, want := refRepo(key), key[strings.Index(key, "@")+1:]
			for k, d := range s.refs {
				if d == want && refRepo(k) == repo {
					return d, "", nil
				}
			}
		}
	}
	if hexPrefix.MatchString(ref) {
		d, err := s.matchIDLocked(ref)
		return d, "", err
	}
	return "", "", ErrNotFound
}

// matchIDLocked finds the image whose manifest digest or config digest
// (image ID) starts with hex.
func (s *Store) matchIDLocked(hex string) (string, error) {
	var found []string
	for _, d := range s.digestsLocked() {
		img, err := s.imageLocked(d)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(strings.TrimPrefix(d, "sha256:"), hex) ||
			strings.HasPrefix(strings.TrimPrefix(img.ID, "sha256:"), hex) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return "", ErrNotFound
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("digest prefix %q is ambiguous: %d images match", hex, len(found))
}
