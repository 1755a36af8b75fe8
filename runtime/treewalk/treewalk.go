// Package treewalk has the steps of a walk of a directory tree by
// descriptors, one directory at a time, holding a few descriptors and no
// path whatever the tree's depth: a container can nest directories as deep
// as its disk allows (mkdir and chdir in a loop), deeper than the daemon
// may open descriptors and than a path may be long (PATH_MAX), so a walk
// that holds a descriptor per level, or names each entry by its path, fails
// or stops there. A walk goes down with OpenBelow, which never follows a
// link nor enters another mount, and back up with OpenParent, which checks
// that ".." is the directory it came from.
package treewalk

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrMount is the error of OpenBelow for a directory that is another
// mount's root.
var ErrMount = errors.New("a mount point below the dir")

// ErrMoved is the error of OpenParent when ".." is not the directory the
// walk came from (the directory at hand was moved meanwhile).
var ErrMoved = errors.New("a directory moved during the walk")

// ID tells one directory from another.
type ID struct{ Dev, Ino uint64 }

// IDOf is the ID of the open directory fd.
func IDOf(fd int) (ID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return ID{}, err
	}
	return ID{Dev: st.Dev, Ino: st.Ino}, nil
}

// below opens a directory below the one at hand, never a symlink, a magic
// link or another mount.
var below = unix.OpenHow{
	Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
	Resolve: unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_BENEATH,
}

// up opens the parent of the directory at hand (".."), never across a
// mount: the walk came down without crossing one.
var up = unix.OpenHow{
	Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
	Resolve: unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
}

// OpenBelow opens directory name of directory fd (one component) and
// returns it with its ID, with ErrMount for another mount's root. A kernel
// without openat2 (before 5.6) gives an error wrapping unix.ENOSYS.
func OpenBelow(fd int, name string) (int, ID, error) {
	child, err := unix.Openat2(fd, name, &below)
	if errors.Is(err, unix.EXDEV) {
		return -1, ID{}, ErrMount
	}
	if err != nil {
		return -1, ID{}, err
	}
	id, err := IDOf(child)
	if err != nil {
		unix.Close(child)
		return -1, ID{}, err
	}
	return child, id, nil
}

// OpenParent opens the parent of directory fd and checks that it is
// directory want, the one the walk came down from (ErrMoved otherwise).
func OpenParent(fd int, want ID) (int, error) {
	parent, err := unix.Openat2(fd, "..", &up)
	if err != nil {
		return -1, fmt.Errorf("open the parent directory: %w", err)
	}
	got, err := IDOf(parent)
	if err == nil && got != want {
		err = ErrMoved
	}
	if err != nil {
		unix.Close(parent)
		return -1, err
	}
	return parent, nil
}
