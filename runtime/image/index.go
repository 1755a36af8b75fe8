package image

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A pull through a multi-platform index records the image under
// "repo@<index digest>"; the index blob is kept with the image so that its
// size counts in the image's, as containerd (and so the kubelet) counts it.

// writeIndex stores the index blob raw with digest h, held against a
// concurrent blob collection until release.
func (s *Store) writeIndex(ctx context.Context, h v1.Hash, raw []byte) (release func(), err error) {
	release = s.hold([]string{h.String()})
	if err := s.writeBlob(ctx, h, bytes.NewReader(raw)); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// indexDigestsLocked lists the digests that repo digests name besides
// manifests: the indexes a pull resolved through.
func (s *Store) indexDigestsLocked() []string {
	var out []string
	for k, d := range s.refs {
		if i := strings.Index(k, "@"); i >= 0 && k[i+1:] != d {
			out = append(out, k[i+1:])
		}
	}
	return out
}

// indexSizeLocked is the size of the first stored index among the repo
// digests of the image with manifest digest d (0 when none).
func (s *Store) indexSizeLocked(d string, repoDigests []string) int64 {
	for _, rd := range repoDigests {
		h, err := v1.NewHash(rd[strings.Index(rd, "@")+1:])
		if err != nil || h.String() == d || h.Algorithm != "sha256" {
			continue
		}
		if fi, err := os.Stat(filepath.Join(s.blobDir(), h.Hex)); err == nil {
			return fi.Size()
		}
	}
	return 0
}
