package unmount

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/treewalk"
)

// errMountMet says a removal met a mount point below the dir it removes
// (as treewalk.OpenBelow says so).
var errMountMet = treewalk.ErrMount

// Detach detaches whatever is mounted on mountpoint, stacked mounts
// included, made private first as All does, without reading the mount
// table; a mount point with nothing mounted, or missing, is fine. It does
// not look below mountpoint for other mounts: the detach takes the mounts
// below a detached one along.
func Detach(mountpoint string) error {
	fi, err := os.Lstat(mountpoint)
	if errors.Is(err, os.ErrNotExist) || (err == nil && !fi.IsDir()) {
		return nil // nothing mounted on a symlink or a missing dir
	}
	if err != nil {
		return fmt.Errorf("detach %s: %w", mountpoint, err)
	}
	for range maxRounds {
		err := unix.Mount("", mountpoint, "", unix.MS_REC|unix.MS_PRIVATE, "")
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil // not (or no longer) a mount point
		}
		if err != nil {
			return fmt.Errorf("make %s private: %w", mountpoint, err)
		}
		if err := unix.Unmount(mountpoint, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil &&
			!errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("detach %s: %w", mountpoint, err)
		}
	}
	return fmt.Errorf("detach %s: still mounted after %d rounds", mountpoint, maxRounds)
}

// RemoveAll removes dir and everything below it, as os.RemoveAll does,
// and never deletes across a mount. It walks dir opening each directory
// with RESOLVE_NO_XDEV, so that it stops at the first mount point it
// meets (dir itself, a directory or a file below it) before touching
// anything inside; then it detaches every mount below dir (All) and walks
// again. A dir with no mount below costs no read of the mount table: at
// hundreds of pods the table has thousands of lines, and each pod's
// removal read all of it (issue 13: a 500-pod delete spent a third of the
// daemon's CPU there, under the kernel's namespace lock that the unmounts
// of the other removals wait for). The walk holds three descriptors and no
// stack frame per level whatever the depth: a container can nest
// directories as deep as its disk allows, and a walk that held a
// descriptor per level (as os.RemoveAll does) failed at the process's
// limit, removal after removal, taking the daemon's other descriptors
// meanwhile. Only a kernel without openat2 (before 5.6) takes
// os.RemoveAll.
func RemoveAll(dir string) error {
	dir = filepath.Clean(dir)
	if err := removeTree(dir); err == nil {
		return nil
	}
	if err := All(dir); err != nil {
		return err
	}
	err := removeTree(dir)
	if errors.Is(err, unix.ENOSYS) {
		err = os.RemoveAll(dir)
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// errRefilled says a directory had entries again once emptied.
var errRefilled = errors.New("a directory had entries again once emptied")

// removeTree removes dir without crossing a mount; errMountMet (or another
// error) leaves the rest for the table's way.
func removeTree(dir string) error {
	parent, err := unix.Open(filepath.Dir(dir), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	name := filepath.Base(dir)
	gone, err := removeEntry(parent, name)
	if gone || err != nil {
		return err
	}
	top, _, err := treewalk.OpenBelow(parent, name)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case err != nil:
		return err
	}
	if err := emptyDir(top); err != nil {
		return err
	}
	gone, err = removeEntry(parent, name)
	if err == nil && !gone {
		err = errRefilled
	}
	return err
}

// removeEntry removes entry name of directory fd if it is not a directory,
// or an empty one; gone is false for a directory with something in it.
func removeEntry(fd int, name string) (gone bool, err error) {
	err = unix.Unlinkat(fd, name, 0)
	switch {
	case err == nil, errors.Is(err, unix.ENOENT):
		return true, nil
	case errors.Is(err, unix.EBUSY):
		return false, errMountMet // a file with a mount on it
	case !errors.Is(err, unix.EISDIR):
		return false, err
	}
	err = unix.Unlinkat(fd, name, unix.AT_REMOVEDIR)
	switch {
	case err == nil, errors.Is(err, unix.ENOENT):
		return true, nil
	case errors.Is(err, unix.ENOTEMPTY), errors.Is(err, unix.EEXIST):
		return false, nil
	case errors.Is(err, unix.EBUSY):
		return false, errMountMet
	}
	return false, err
}

// emptyDir removes everything in directory top, and closes top. It goes
// down into one directory at a time, holding only the descriptor of the
// one at hand, and back up through the checked ".." (treewalk): none of it
// can be moved out of the tree by then (the containers that could are
// gone, and a rename never crosses a mount).
func emptyDir(top int) error {
	cur := top
	id, err := treewalk.IDOf(cur)
	if err != nil {
		unix.Close(cur)
		return err
	}
	// path is the directories from top down to cur.
	path := []treewalk.ID{id}
	buf := make([]byte, 16<<10)
	for {
		sub, err := nextSubdir(cur, buf)
		if err != nil {
			unix.Close(cur)
			return err
		}
		if sub != "" {
			down, id, err := treewalk.OpenBelow(cur, sub)
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			unix.Close(cur)
			if err != nil {
				return err
			}
			cur, path = down, append(path, id)
			continue
		}
		if len(path) == 1 {
			unix.Close(cur)
			return nil
		}
		// cur is empty: its parent removes it in its next pass.
		up, err := treewalk.OpenParent(cur, path[len(path)-2])
		unix.Close(cur)
		if err != nil {
			return err
		}
		cur, path = up, path[:len(path)-1]
	}
}

// nextSubdir removes what it can of directory fd's entries, from the
// first: files, symlinks and empty directories. It returns the name of
// the first directory with something in it, "" when nothing is left.
func nextSubdir(fd int, buf []byte) (string, error) {
	if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
		return "", err
	}
	var names []string
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return "", err
		}
		if n == 0 {
			return "", nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names[:0])
		for _, name := range names {
			gone, err := removeEntry(fd, name)
			if err != nil {
				return "", err
			}
			if !gone {
				return name, nil
			}
		}
	}
}
