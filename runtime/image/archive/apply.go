// Package archive applies an image layer tarball to a directory that
// overlayfs will use as a lower layer. It refuses entries that would land
// outside the directory, never follows a symlink it is replacing, turns
// OCI whiteouts into overlayfs whiteouts (containerd's pkg/archive is the
// model), leaves device nodes out, refuses sparse entries and bounds what
// a layer may write.
package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueWhiteout = ".wh..wh..opq"
)

// Options tune Apply.
type Options struct {
	// Parents are the unpacked directories of the layers below this one,
	// oldest first. A directory the tar creates only implicitly (it holds
	// entries but has no entry of its own) takes its mode and owner from the
	// newest parent that has it, so overlayfs does not show it with defaults.
	Parents []string
	// MaxSize caps the layer's uncompressed stream, in bytes, and so what
	// its files can hold; 0 is no cap. Past it Apply fails with ErrTooLarge,
	// refusing a file that would pass it before writing any of it.
	MaxSize int64
	// MaxEntries caps the number of entries (inodes) of the layer; 0 is no
	// cap.
	MaxEntries int
}

// ErrUnsafePath is returned (wrapped) for an entry whose name or link target
// would escape the layer directory, or for an invalid whiteout name.
var ErrUnsafePath = errors.New("unsafe path in layer")

// Apply unpacks the uncompressed layer tar r into dir, which must exist,
// and reads r to its end (a caller hashing r sees the whole stream).
// Whiteouts become 0/0 character devices and opaque markers become the
// trusted.overlay.opaque xattr, so only root can apply layers that hold
// them; without root, ownership is not set. Device nodes are never
// created (see mknod); sparse entries are refused (ErrSparse).
func Apply(ctx context.Context, dir string, r io.Reader, opts Options) error {
	root, err := filepath.Abs(dir)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return fmt.Errorf("apply layer to %s: %w", dir, err)
	}
	a := &applier{
		root: root, parents: opts.Parents, isRoot: os.Geteuid() == 0,
		budget:  budget{maxSize: opts.MaxSize, maxEntries: opts.MaxEntries},
		skipped: map[string]bool{},
	}
	stream := &cappedReader{r: r, max: opts.MaxSize}
	tr := tar.NewReader(stream)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("apply layer to %s: %w", dir, err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("apply layer to %s: read tar: %w", dir, err)
		}
		if err := a.entry(hdr, tr); err != nil {
			return fmt.Errorf("apply layer to %s: entry %q: %w", dir, hdr.Name, err)
		}
	}
	// The tar reader stops at the end marker; the padding after it counts
	// against the cap too, so a stream that never ends is cut.
	if _, err := io.Copy(io.Discard, stream); err != nil {
		return fmt.Errorf("apply layer to %s: read past the end marker: %w", dir, err)
	}
	return a.setDirTimes()
}

// applier holds the state of one Apply call.
type applier struct {
	root     string
	parents  []string
	isRoot   bool
	dirTimes []dirTime
	budget   budget
	// skipped holds the clean names of device nodes left out, so that
	// hardlinks to them are left out too.
	skipped map[string]bool
}

type dirTime struct {
	path         string
	atime, mtime unix.Timespec
}

// cleanName turns a tar entry name into a clean path relative to the root,
// refusing absolute names and names that climb out with "..".
func cleanName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty name", ErrUnsafePath)
	}
	if path.IsAbs(name) {
		return "", fmt.Errorf("%w: absolute name", ErrUnsafePath)
	}
	c := path.Clean(name)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%w: name leaves the layer", ErrUnsafePath)
	}
	return c, nil
}

func (a *applier) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if isSparse(hdr) {
		return ErrSparse
	}
	if err := a.budget.admit(hdr); err != nil {
		return err
	}
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		// The layer root belongs to the store, not to the tar.
		return nil
	}
	parentRel, base := path.Dir(rel), path.Base(rel)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(hdr, parentRel, base)
	}
	parent, err := a.mkparent(parentRel)
	if err != nil {
		return err
	}
	target := filepath.Join(parent, base)
	kept, err := a.clear(target, hdr.Typeflag == tar.TypeDir)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if !kept {
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
		}
	case tar.TypeReg: // tar.Reader reports the legacy TypeRegA as TypeReg
		if err := CreateFile(target, r); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := os.Symlink(hdr.Linkname, target); err != nil {
			return err
		}
	case tar.TypeLink:
		// The inode already carries the mode, owner and times.
		return a.hardlink(hdr.Linkname, target)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		made, err := a.mknod(hdr, rel, target)
		if err != nil || !made {
			return err
		}
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	return a.setMetadata(hdr, target)
}

// relInside returns p relative to root and whether p is root or below it.
func relInside(root, p string) (string, bool) {
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}

// mkparent resolves the parent directory rel inside the root, following
// symlinks only as if the root were "/", and creates what is missing.
func (a *applier) mkparent(rel string) (string, error) {
	p, err := securejoin.SecureJoin(a.root, rel)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", rel, err)
	}
	inner, ok := relInside(a.root, p)
	if !ok {
		return "", fmt.Errorf("%w: %q resolves outside the layer", ErrUnsafePath, rel)
	}
	if inner == "." {
		return a.root, nil
	}
	cur := a.root
	for i, part := range strings.Split(inner, "/") {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if err == nil {
			if !fi.IsDir() {
				return "", fmt.Errorf("parent %q is not a directory", rel)
			}
			continue
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if err := os.Mkdir(cur, 0o755); err != nil {
			return "", err
		}
		sub := strings.Join(strings.Split(inner, "/")[:i+1], "/")
		if err := a.inheritDir(cur, sub); err != nil {
			return "", err
		}
	}
	return p, nil
}

// inheritDir gives an implicitly created directory the mode and owner that
// the same directory has in the newest parent layer that holds it.
func (a *applier) inheritDir(dir, rel string) error {
	for i := len(a.parents) - 1; i >= 0; i-- {
		p, err := securejoin.SecureJoin(a.parents[i], rel)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		if a.isRoot {
			if err := unix.Lchown(dir, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		return unix.Chmod(dir, st.Mode&0o7777)
	}
	return nil
}

// clear removes whatever sits at target (a symlink is removed, never
// followed), unless both it and the new entry are directories.
func (a *applier) clear(target string, newIsDir bool) (kept bool, err error) {
	fi, err := os.Lstat(target)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if newIsDir && fi.IsDir() {
		return true, nil
	}
	return false, os.RemoveAll(target)
}

// CreateFile creates target, mode 0600, with r's content. target must not
// exist: a file or a link already there is refused, never followed.
func CreateFile(target string, r io.Reader) error {
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// hardlink links target to linkname, which is resolved inside the root: an
// absolute link name counts from the root, one that climbs out is refused,
// and a symlink at its last component is linked, not followed.
func (a *applier) hardlink(linkname, target string) error {
	c := path.Clean(linkname)
	if c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Errorf("%w: hardlink target %q leaves the layer", ErrUnsafePath, linkname)
	}
	rel := strings.TrimPrefix(path.Clean("/"+linkname), "/")
	if rel == "" {
		return fmt.Errorf("%w: hardlink to the layer root", ErrUnsafePath)
	}
	if a.skipped[rel] {
		slog.Debug("skip hardlink to a skipped device node", "path", target, "target", linkname)
		return nil
	}
	parent, err := securejoin.SecureJoin(a.root, path.Dir(rel))
	if err != nil {
		return fmt.Errorf("resolve hardlink target %q: %w", linkname, err)
	}
	src := filepath.Join(parent, path.Base(rel))
	if _, ok := relInside(a.root, src); !ok {
		return fmt.Errorf("%w: hardlink target %q resolves outside the layer", ErrUnsafePath, linkname)
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", linkname, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("hardlink target %q is a directory", linkname)
	}
	return unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, target, 0)
}
