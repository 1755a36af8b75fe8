package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/podd-dev/podd/runtime/atomicfile"
)

const refsVersion = 1

// refsDoc is the on-disk form of refs.json, the store's source of truth for
// which images exist: an image is kept while at least one name points to it.
type refsDoc struct {
	Version int               `json:"version"`
	Refs    map[string]string `json:"refs"`
}

// OCI annotations that name an image in an index.json.
const (
	annotRefName        = "org.opencontainers.image.ref.name"
	annotContainerdName = "io.containerd.image.name"
)

func loadRefs(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read refs: %w", err)
	}
	var doc refsDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse refs %s: %w", path, err)
	}
	if doc.Version != refsVersion {
		return nil, fmt.Errorf("refs %s: unsupported version %d", path, doc.Version)
	}
	if doc.Refs == nil {
		doc.Refs = map[string]string{}
	}
	return doc.Refs, nil
}

func copyRefs(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// dropImage removes every name of the image with manifest digest d.
func dropImage(refs map[string]string, d string) {
	for k, v := range refs {
		if v == d {
			delete(refs, k)
		}
	}
}

// dropUntagged removes the images among digests that have lost their last
// tag: a name moved to other content leaves no dangling images behind.
// Images that never had a tag (pulled by digest) are not in digests.
func dropUntagged(refs map[string]string, digests []string) {
	for _, d := range digests {
		tagged := false
		for k, v := range refs {
			if v == d && !isDigestRef(k) {
				tagged = true
				break
			}
		}
		if !tagged {
			dropImage(refs, d)
		}
	}
}

// commitRefsLocked makes next the store's names: refs.json first (the
// truth), then the layout's index.json, which Open rebuilds if a crash
// falls between the two.
func (s *Store) commitRefsLocked(next map[string]string) error {
	b, err := json.MarshalIndent(refsDoc{Version: refsVersion, Refs: next}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode refs: %w", err)
	}
	if err := atomicfile.WriteFile(s.refsPath(), b, 0o600); err != nil {
		return err
	}
	s.refs = next
	for d := range s.cache {
		if !containsValue(next, d) {
			delete(s.cache, d)
		}
	}
	return s.writeLayoutFiles()
}

func containsValue(m map[string]string, v string) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}

// writeLayoutFiles writes oci-layout and an index.json listing every stored
// image (one descriptor per name), so that go-containerregistry's layout
// reader, and other OCI tools, can open the content directory.
func (s *Store) writeLayoutFiles() error {
	ociLayout := filepath.Join(string(s.content), "oci-layout")
	if _, err := os.Stat(ociLayout); err != nil {
		if err := atomicfile.WriteFile(ociLayout, []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(s.refs))
	for k := range s.refs {
		names = append(names, k)
	}
	sort.Strings(names)
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	for _, n := range names {
		desc, err := s.manifestDescriptor(s.refs[n])
		if err != nil {
			return err
		}
		desc.Annotations = map[string]string{annotContainerdName: n}
		if !isDigestRef(n) {
			desc.Annotations[annotRefName] = n[strings.LastIndex(n, ":")+1:]
		}
		idx.Manifests = append(idx.Manifests, desc)
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("encode index.json: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(string(s.content), "index.json"), b, 0o644)
}

// manifestDescriptor builds the index descriptor of a stored manifest blob.
func (s *Store) manifestDescriptor(d string) (v1.Descriptor, error) {
	h, err := v1.NewHash(d)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("manifest digest %q: %w", d, err)
	}
	b, err := s.content.Bytes(h)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("read manifest %s: %w", d, err)
	}
	var m struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return v1.Descriptor{}, fmt.Errorf("parse manifest %s: %w", d, err)
	}
	if m.MediaType == "" {
		m.MediaType = types.OCIManifestSchema1
	}
	return v1.Descriptor{MediaType: m.MediaType, Digest: h, Size: int64(len(b))}, nil
}
