// Package diskusage adds up what a directory tree takes on disk, as du
// counts it: allocated blocks and inodes, each inode once; and tells the
// filesystem a directory is on (size, free space, inodes, device name).
package diskusage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
)

// Usage is the disk space a tree takes.
type Usage struct {
	Bytes  uint64
	Inodes uint64
}

// Walk adds up the tree under dir. Entries removed while it walks are
// skipped; a missing dir is an error wrapping fs.ErrNotExist.
func Walk(ctx context.Context, dir string) (Usage, error) {
	var u Usage
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		u.Inodes++
		u.Bytes += uint64(st.Blocks) * 512
		return nil
	})
	if err != nil {
		return Usage{}, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	return u, nil
}
