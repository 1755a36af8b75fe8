package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
)

// Usage is the disk space the store takes: blobs, names and unpacked
// layers, as du counts them (allocated blocks, each inode once).
type Usage struct {
	Bytes  uint64
	Inodes uint64
}

// Usage walks the store and adds up what it takes on disk.
func (s *Store) Usage(ctx context.Context) (Usage, error) {
	var u Usage
	seen := map[uint64]bool{}
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != s.root && errorsIsNotExist(err) {
				return nil // removed while walking (a prune, a temp file)
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			if errorsIsNotExist(err) {
				return nil
			}
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		u.Inodes++
		u.Bytes += uint64(st.Blocks) * 512
		return nil
	})
	if err != nil {
		return Usage{}, fmt.Errorf("image store usage: %w", err)
	}
	return u, nil
}

func errorsIsNotExist(err error) bool { return err != nil && errors.Is(err, fs.ErrNotExist) }
