package image

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// RawConfig returns the config blob (the OCI image config JSON, as stored)
// of the image with manifest digest d, for callers that show it whole.
func (s *Store) RawConfig(ctx context.Context, d string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := v1.NewHash(d)
	if err != nil {
		return nil, fmt.Errorf("image config of %q: %w", d, err)
	}
	img, err := s.content.Image(h)
	if err != nil {
		return nil, fmt.Errorf("image config of %s: %w", d, ErrNotFound)
	}
	b, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config of %s: %w", d, err)
	}
	return b, nil
}
