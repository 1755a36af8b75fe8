package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/podd-dev/podd/runtime/unmount"
)

// Cleanup removes a pod's volumes: it unmounts everything mounted below
// <podDir>/volumes (tmpfs emptyDirs, anything else that got there), then
// deletes the directory without ever crossing into another filesystem or
// following a link, so a hostPath is never touched. It is idempotent.
func Cleanup(ctx context.Context, podDir string) error {
	dir := VolumesDir(podDir)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("clean up volumes in %s: %w", dir, err)
	}
	if err := unmount.All(dir); err != nil {
		return fmt.Errorf("clean up volumes in %s: %w", dir, err)
	}
	if err := removeTree(dir); err != nil {
		return fmt.Errorf("clean up volumes in %s: %w", dir, err)
	}
	return nil
}

// removeTree deletes root and everything below it on root's filesystem.
// Links are removed, not followed; a directory on another device (a mount
// that is still there) stops it with an error instead of being emptied.
func removeTree(root string) error {
	fi, err := os.Lstat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return removeOnDevice(root, fi, deviceOf(fi))
}

func removeOnDevice(p string, fi os.FileInfo, dev uint64) error {
	if fi.IsDir() {
		if deviceOf(fi) != dev {
			return fmt.Errorf("refuse to remove %s: it is another filesystem (still mounted)", p)
		}
		entries, err := os.ReadDir(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		for _, e := range entries {
			child := filepath.Join(p, e.Name())
			cfi, err := os.Lstat(child)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if err := removeOnDevice(child, cfi, dev); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func deviceOf(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Dev
	}
	return 0
}
