package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

const paxXattrPrefix = "SCHILY.xattr."

// whiteout turns an OCI whiteout entry into its overlayfs form: ".wh.<name>"
// becomes a 0/0 character device named <name>, ".wh..wh..opq" marks the
// directory opaque.
func (a *applier) whiteout(hdr *tar.Header, parentRel, base string) error {
	parent, err := a.mkparent(parentRel)
	if err != nil {
		return err
	}
	if base == opaqueWhiteout {
		if err := unix.Lsetxattr(parent, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
			return fmt.Errorf("mark %s opaque: %w", parentRel, err)
		}
		return nil
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		// Other aufs metadata (.wh..wh.plnk, ...) means nothing to overlayfs.
		return nil
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("%w: invalid whiteout %q", ErrUnsafePath, base)
	}
	target := filepath.Join(parent, name)
	if _, err := a.clear(target, false); err != nil {
		return err
	}
	if err := unix.Mknod(target, unix.S_IFCHR, int(unix.Mkdev(0, 0))); err != nil {
		return fmt.Errorf("create whiteout for %q: %w", name, err)
	}
	if a.isRoot {
		return unix.Lchown(target, hdr.Uid, hdr.Gid)
	}
	return nil
}

// mknod creates a fifo, or the overlayfs whiteout a 0/0 character device
// stands for. Other device nodes are skipped (made is false), as root too:
// layer directories are shared by every container of the image, and a node
// shipped by an image (say, world-writable, for the host's disk) would be a
// way around the device cgroup. A container's /dev is a tmpfs the runtime
// fills, so images need none of their own.
func (a *applier) mknod(hdr *tar.Header, rel, target string) (made bool, err error) {
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		if hdr.Devmajor == 0 && hdr.Devminor == 0 {
			return a.whiteoutNode(hdr, target)
		}
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	case tar.TypeFifo:
		return true, unix.Mknod(target, mode|unix.S_IFIFO, 0)
	}
	slog.Debug("skip device node from layer", "path", hdr.Name, "mode", fmt.Sprintf("%o", mode),
		"major", hdr.Devmajor, "minor", hdr.Devminor)
	a.skipped[rel] = true
	return false, nil
}

// whiteoutNode creates a 0/0 character device: overlayfs's whiteout, which
// opens nothing. Without root it cannot be made and is skipped.
func (a *applier) whiteoutNode(hdr *tar.Header, target string) (made bool, err error) {
	if !a.isRoot {
		slog.Debug("skip whiteout device: not root", "path", hdr.Name)
		return false, nil
	}
	if err := unix.Mknod(target, unix.S_IFCHR|uint32(hdr.Mode&0o7777), 0); err != nil {
		return false, err
	}
	return true, nil
}

// setMetadata applies owner, xattrs, mode and times in that order: chown
// clears set-id bits, so chmod comes after it. Directory times wait until
// every entry is written, since creating children changes them.
func (a *applier) setMetadata(hdr *tar.Header, target string) error {
	if a.isRoot {
		if err := unix.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if err := setXattrs(hdr, target); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeSymlink {
		if err := unix.Chmod(target, uint32(hdr.Mode&0o7777)); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	mtime := unix.NsecToTimespec(hdr.ModTime.UnixNano())
	atime := mtime
	if !hdr.AccessTime.IsZero() {
		atime = unix.NsecToTimespec(hdr.AccessTime.UnixNano())
	}
	if hdr.Typeflag == tar.TypeDir {
		a.dirTimes = append(a.dirTimes, dirTime{path: target, atime: atime, mtime: mtime})
		return nil
	}
	ts := []unix.Timespec{atime, mtime}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// setXattrs copies the entry's extended attributes. Overlay attributes are
// never taken from a tar: they would let a layer redirect lookups.
// Attributes the filesystem or our privileges do not allow are skipped.
func setXattrs(hdr *tar.Header, target string) error {
	for k, v := range hdr.PAXRecords {
		key, ok := strings.CutPrefix(k, paxXattrPrefix)
		if !ok {
			continue
		}
		if strings.HasPrefix(key, "trusted.overlay.") || strings.HasPrefix(key, "user.overlay.") {
			slog.Debug("skip overlay xattr from layer", "path", hdr.Name, "xattr", key)
			continue
		}
		err := unix.Lsetxattr(target, key, []byte(v), 0)
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) {
			slog.Debug("skip xattr", "path", hdr.Name, "xattr", key, "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("set xattr %s: %w", key, err)
		}
	}
	return nil
}

// setDirTimes applies the recorded directory times, skipping directories a
// later entry replaced.
func (a *applier) setDirTimes() error {
	for _, d := range a.dirTimes {
		fi, err := os.Lstat(d.path)
		if err != nil || !fi.IsDir() {
			continue
		}
		ts := []unix.Timespec{d.atime, d.mtime}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, d.path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set times of %s: %w", d.path, err)
		}
	}
	return nil
}
