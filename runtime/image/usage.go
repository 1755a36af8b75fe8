package image

import (
	"context"
	"fmt"

	"github.com/podd-dev/podd/runtime/diskusage"
)

// Usage is the disk space the store takes: blobs, names and unpacked
// layers, as du counts them (allocated blocks, each inode once).
type Usage = diskusage.Usage

// Usage walks the store and adds up what it takes on disk.
func (s *Store) Usage(ctx context.Context) (Usage, error) {
	u, err := diskusage.Walk(ctx, s.root)
	if err != nil {
		return Usage{}, fmt.Errorf("image store usage: %w", err)
	}
	return u, nil
}
