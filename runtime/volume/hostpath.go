package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/internal/undo"
)

// prepareHostPath checks (or creates) a hostPath per its type and returns
// the path itself: a hostPath is used in place, never copied or removed.
// What this call creates (DirectoryOrCreate, FileOrCreate) is removed again
// if a later volume fails.
func prepareHostPath(h *corev1.HostPathVolumeSource, rollback *undo.Stack) (string, error) {
	p := filepath.Clean(h.Path)
	typ := corev1.HostPathUnset
	if h.Type != nil {
		typ = *h.Type
	}
	if err := checkHostPath(p, typ, rollback); err != nil {
		return "", err
	}
	return p, nil
}

// checkHostPath applies a hostPath type to path: "" checks nothing,
// DirectoryOrCreate and FileOrCreate create what is missing (mode 0755 and
// 0644; FileOrCreate needs the parent directory), the others require that
// kind of file. Links are followed, as the kubelet does.
func checkHostPath(path string, typ corev1.HostPathType, rollback *undo.Stack) error {
	fi, err := os.Stat(path)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		return fmt.Errorf("path %q: %w", path, err)
	}
	switch typ {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if missing {
			return mkdirAllOwned(path, rollback)
		}
	case corev1.HostPathFileOrCreate:
		if missing {
			return createFile(path, rollback)
		}
	}
	if missing {
		return fmt.Errorf("path %q does not exist (type %s)", path, typ)
	}
	return checkKind(path, typ, fileType(fi))
}

// fileType is the S_IFMT bits of fi's mode.
func fileType(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Mode & unix.S_IFMT
	}
	return 0
}

// checkKind checks a file of type ifmt (S_IFMT bits) against a hostPath
// type; the *OrCreate types only need a directory or a file by then.
func checkKind(path string, typ corev1.HostPathType, ifmt uint32) error {
	isDir := ifmt == unix.S_IFDIR
	switch typ {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectory, corev1.HostPathDirectoryOrCreate:
		return want(path, typ, isDir, "a directory")
	case corev1.HostPathFile, corev1.HostPathFileOrCreate:
		// As in the kubelet, a "file" is anything but a directory.
		return want(path, typ, !isDir, "a file")
	case corev1.HostPathSocket:
		return want(path, typ, ifmt == unix.S_IFSOCK, "a socket")
	case corev1.HostPathCharDev:
		return want(path, typ, ifmt == unix.S_IFCHR, "a character device")
	case corev1.HostPathBlockDev:
		return want(path, typ, ifmt == unix.S_IFBLK, "a block device")
	}
	return fmt.Errorf("unsupported hostPath type %q", typ)
}

func want(path string, typ corev1.HostPathType, ok bool, what string) error {
	if ok {
		return nil
	}
	return fmt.Errorf("path %q is not %s (type %s)", path, what, typ)
}

// mkdirAllOwned creates path and any missing parents (0755); the undo
// removes the directories it made, deepest first, if they are still empty.
func mkdirAllOwned(path string, rollback *undo.Stack) error {
	var created []string
	for p := path; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || p == filepath.Dir(p) {
			break
		}
		created = append(created, p)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return fmt.Errorf("create directory %q (type DirectoryOrCreate): %w", path, err)
	}
	rollback.Push(fmt.Sprintf("remove created hostPath directories %q", created), func(context.Context) error {
		for _, d := range created {
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove created hostPath directory %s: %w", d, err)
			}
		}
		return nil
	})
	return nil
}

func createFile(path string, rollback *undo.Stack) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create file %q (type FileOrCreate): %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create file %q (type FileOrCreate): %w", path, err)
	}
	rollback.Push("remove created hostPath file "+path, func(context.Context) error {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove created hostPath file %s: %w", path, err)
		}
		return nil
	})
	return nil
}
