package unmount

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// errMountMet says a removal met a mount point below the dir it removes.
var errMountMet = errors.New("a mount point below the dir")

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
// anything inside; then it detaches every mount below dir (All) and
// removes what is left. A dir with no mount below costs no read of the
// mount table: at hundreds of pods the table has thousands of lines, and
// each pod's removal read all of it (issue 13: a 500-pod delete spent a
// third of the daemon's CPU there, under the kernel's namespace lock that
// the unmounts of the other removals wait for). Anything the walk cannot
// do (no openat2 before Linux 5.6, a file it may not unlink) also takes
// the table's way, whose error is the one returned.
func RemoveAll(dir string) error {
	dir = filepath.Clean(dir)
	if err := removeTree(dir); err == nil {
		return nil
	}
	if err := All(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// walkHow opens a directory below the one at hand, never a symlink, a
// magic link or another mount.
var walkHow = unix.OpenHow{
	Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
	Resolve: unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_BENEATH,
}

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
	return removeAt(parent, filepath.Base(dir))
}

// removeAt removes entry name of directory fd, with what is below it.
func removeAt(fd int, name string) error {
	err := unix.Unlinkat(fd, name, 0)
	switch {
	case err == nil, errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.EBUSY):
		return errMountMet // a file with a mount on it
	case !errors.Is(err, unix.EISDIR):
		return err
	}
	child, err := unix.Openat2(fd, name, &walkHow)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.EXDEV):
		return errMountMet
	case err != nil:
		return err
	}
	if err := removeContents(child); err != nil {
		return err
	}
	err = unix.Unlinkat(fd, name, unix.AT_REMOVEDIR)
	switch {
	case err == nil, errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.EBUSY):
		return errMountMet
	}
	return err
}

// removeContents removes everything in directory fd, and closes fd.
func removeContents(fd int) error {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	for {
		names, err := f.Readdirnames(1024)
		for _, name := range names {
			if err := removeAt(fd, name); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
