// Package atomicfile writes files so that a reader (or a crash) sees either
// the old content or the new, never a torn mix: write to a temp file in the
// same directory, fsync it, rename it over the target, fsync the directory.
// It is podd's one atomic-write helper. It does not protect against a disk
// that lies about fsync.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// tempMark is in the name of every temp file Write makes.
const tempMark = ".tmp-"

// WriteFile atomically replaces path with data, created with perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Replace replaces path with data, created with perm, atomically for
// readers but not durably (no fsync): for a file that matters only while
// the host is up and is made anew after a reboot (a pid file, a pod's
// /etc/hosts), where an fsync would only make its writer wait on the disk.
func Replace(path string, data []byte, perm os.FileMode) error {
	return write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, false)
}

// Write atomically replaces path, created with perm, with what fill writes.
// If fill fails (a stream that does not match its digest, say), path is
// left as it was and no temp file remains.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) error {
	return write(path, perm, fill, true)
}

func write(path string, perm os.FileMode, fill func(io.Writer) error, durable bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+tempMark+"*")
	if err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if err := fill(tmp); err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("atomic write %s: fsync: %w", path, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	ok = true
	if !durable {
		return nil
	}
	return SyncDir(dir)
}

// IsTemp reports whether name (a base name) is a temp file of Write: one
// that a crash during a write left behind, which nothing refers to.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempMark)
}

// SyncDir fsyncs a directory so that a rename or create inside it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
