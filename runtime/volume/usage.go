package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
)

// DiskUsage sums the blocks allocated to the files under dir (st_blocks ×
// 512, as du counts them), never following symbolic links. It stops when
// ctx ends and returns what it counted so far with ctx's error: a partial
// sum is a lower bound, so a limit it already passes is passed.
func DiskUsage(ctx context.Context, dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		return total, fmt.Errorf("measure disk usage of %s: %w", dir, err)
	}
	return total, nil
}
