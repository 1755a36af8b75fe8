// Package diskusage adds up what a directory tree takes on disk, as du
// counts it: allocated blocks and inodes, each inode once; and tells the
// filesystem a directory is on (size, free space, inodes, device name).
package diskusage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/treewalk"
)

// Usage is the disk space a tree takes.
type Usage struct {
	Bytes  uint64
	Inodes uint64
}

// Walk adds up the tree under dir, as du -x counts it: each inode once (a
// file's hard links count once), never following a symbolic link nor
// entering another mount below dir. It goes down one directory at a time
// by descriptors (package treewalk), so a tree of any depth is counted to
// its bottom: a container can nest directories deeper than a path may be
// long, and a walk by paths stopped there (ENAMETOOLONG), leaving what lay
// below uncounted. Entries removed while it walks are skipped; a missing
// dir is an error wrapping fs.ErrNotExist. When ctx ends, or a step fails,
// it returns what it counted so far with the error: a lower bound, so a
// limit it already passes is passed.
func Walk(ctx context.Context, dir string) (Usage, error) {
	c := counter{links: map[treewalk.ID]bool{}}
	if err := c.walk(ctx, dir); err != nil {
		return c.u, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	return c.u, nil
}

// counter adds up inodes; links are the files of more than one link
// counted so far.
type counter struct {
	u     Usage
	links map[treewalk.ID]bool
}

func (c *counter) add(st *unix.Stat_t) {
	if st.Nlink > 1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		id := treewalk.ID{Dev: st.Dev, Ino: st.Ino}
		if c.links[id] {
			return
		}
		c.links[id] = true
	}
	c.u.Inodes++
	c.u.Bytes += uint64(st.Blocks) * 512
}

// level is a directory the walk went down through: its ID, and where its
// entries go on once the walk is back up in it.
type level struct {
	id  treewalk.ID
	off int64
}

func (c *counter) walk(ctx context.Context, dir string) error {
	top, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		// Not a directory: counted alone.
		var st unix.Stat_t
		if err := unix.Lstat(dir, &st); err != nil {
			return err
		}
		c.add(&st)
		return nil
	}
	if err != nil {
		return err
	}
	cur := top
	defer func() { unix.Close(cur) }()
	var st unix.Stat_t
	if err := unix.Fstat(cur, &st); err != nil {
		return err
	}
	c.add(&st)
	path := []level{{id: treewalk.ID{Dev: st.Dev, Ino: st.Ino}}}
	buf := make([]byte, 16<<10)
	for {
		sub, after, err := c.scan(ctx, cur, path[len(path)-1].off, buf)
		if err != nil {
			return err
		}
		if sub != "" {
			path[len(path)-1].off = after
			down, id, err := treewalk.OpenBelow(cur, sub)
			if errors.Is(err, unix.ENOENT) || errors.Is(err, treewalk.ErrMount) {
				continue // removed meanwhile; another mount is not this tree's
			}
			if err != nil {
				return err
			}
			unix.Close(cur)
			cur, path = down, append(path, level{id: id})
			continue
		}
		if len(path) == 1 {
			return nil
		}
		up, err := treewalk.OpenParent(cur, path[len(path)-2].id)
		if err != nil {
			return err
		}
		unix.Close(cur)
		cur, path = up, path[:len(path)-1]
	}
}

// scan counts the entries of directory fd from offset off on, up to the
// first directory: it returns that directory's name and the offset of the
// entry after it, or "" at the end.
func (c *counter) scan(ctx context.Context, fd int, off int64, buf []byte) (sub string, after int64, err error) {
	if _, err := unix.Seek(fd, off, io.SeekStart); err != nil {
		return "", 0, err
	}
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return "", 0, err
		}
		if n == 0 {
			return "", 0, nil
		}
		for b := buf[:n]; len(b) >= direntName; {
			reclen := int(binary.NativeEndian.Uint16(b[direntReclen:]))
			if reclen < direntName || reclen > len(b) {
				return "", 0, errors.New("bad directory entry")
			}
			next := int64(binary.NativeEndian.Uint64(b[direntOff:]))
			name := b[direntName:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			if string(name) == "." || string(name) == ".." {
				continue
			}
			if err := ctx.Err(); err != nil {
				return "", 0, err
			}
			var st unix.Stat_t
			if err := unix.Fstatat(fd, string(name), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue
				}
				return "", 0, err
			}
			c.add(&st)
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				return string(name), next, nil
			}
		}
	}
}

// Where the fields of a struct linux_dirent64 are.
const (
	direntOff    = 8
	direntReclen = 16
	direntName   = 19
)
