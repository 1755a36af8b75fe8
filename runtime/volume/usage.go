package volume

import (
	"context"

	"github.com/podd-dev/podd/runtime/diskusage"
)

// DiskUsage is what the tree under dir takes on disk (diskusage.Walk: the
// blocks allocated, st_blocks × 512, as du counts them; each inode once;
// never following a symbolic link nor entering another mount). When ctx
// ends it returns what it counted so far with ctx's error: a partial sum is
// a lower bound, so a limit it already passes is passed.
func DiskUsage(ctx context.Context, dir string) (int64, error) {
	u, err := diskusage.Walk(ctx, dir)
	return int64(u.Bytes), err
}
