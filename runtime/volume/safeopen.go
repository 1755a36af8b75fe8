package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// beneath resolves inside the directory fd it starts from: a link or ".."
// that leads out, an absolute link and /proc magic links fail instead of
// being followed, whatever the path is renamed to meanwhile (CVE-2021-25741).
const beneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS

// openRetries bounds the retries of a resolution the kernel aborted
// (EAGAIN) because a rename or mount raced with a ".." in it.
const openRetries = 32

// errEscape is a subPath that leads out of its volume through a link.
var errEscape = errors.New("leads out of the volume through a symlink")

// openat2 opens path beneath dirfd, retrying resolutions that a concurrent
// rename aborted.
func openat2(dirfd int, path string, flags uint64, resolve uint64) (int, error) {
	how := unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: resolve}
	for i := 0; ; i++ {
		fd, err := unix.Openat2(dirfd, path, &how)
		if errors.Is(err, unix.EAGAIN) && i < openRetries {
			continue
		}
		if errors.Is(err, unix.EXDEV) {
			return -1, errEscape
		}
		return fd, err
	}
}

// splitSubPath checks that sub is relative and has no "..", and returns its
// components.
func splitSubPath(sub string) ([]string, error) {
	if filepath.IsAbs(sub) {
		return nil, fmt.Errorf("subPath %q must be a relative path", sub)
	}
	var out []string
	for _, el := range strings.Split(filepath.ToSlash(sub), "/") {
		switch el {
		case "", ".":
			continue
		case "..":
			return nil, fmt.Errorf("subPath %q must not contain '..'", sub)
		}
		out = append(out, el)
	}
	return out, nil
}

// openSubPath opens sub inside the volume directory root as an O_PATH fd
// without ever leaving root: links inside the volume are followed, a link
// that leads out is an error. A missing subPath is created as directories
// with the volume root's permissions, each one made by mkdirat relative to
// an fd of its parent and opened without following links, as the kubelet's
// doSafeMakeDir does. The caller closes the fd.
func openSubPath(root int, sub string) (int, error) {
	parts, err := splitSubPath(sub)
	if err != nil {
		return -1, err
	}
	if len(parts) == 0 {
		return openat2(root, ".", unix.O_PATH, beneath)
	}
	rel := strings.Join(parts, "/")
	fd, err := openat2(root, rel, unix.O_PATH, beneath)
	if !errors.Is(err, unix.ENOENT) {
		if err != nil {
			return -1, fmt.Errorf("subPath %q: %w", sub, err)
		}
		return fd, nil
	}
	if err := mkdirBeneath(root, parts); err != nil {
		return -1, fmt.Errorf("create subPath %q: %w", sub, err)
	}
	if fd, err = openat2(root, rel, unix.O_PATH, beneath); err != nil {
		return -1, fmt.Errorf("subPath %q: %w", sub, err)
	}
	return fd, nil
}

// mkdirBeneath creates the missing directories of parts inside root.
// Existing ones are resolved from root again each step (links inside the
// volume allowed); new ones are made relative to their parent's fd and
// opened with O_NOFOLLOW, so a name swapped for a link fails.
func mkdirBeneath(root int, parts []string) error {
	var st unix.Stat_t
	if err := unix.Fstat(root, &st); err != nil {
		return fmt.Errorf("stat volume root: %w", err)
	}
	perm := st.Mode & 0o7777
	parent, err := unix.Dup(root)
	if err != nil {
		return err
	}
	defer func() { unix.Close(parent) }()
	for i, name := range parts {
		fd, err := openat2(root, strings.Join(parts[:i+1], "/"), unix.O_PATH|unix.O_DIRECTORY, beneath)
		if errors.Is(err, unix.ENOENT) {
			fd, err = mkdirAt(parent, name, perm)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(parts[:i+1], "/"), err)
		}
		unix.Close(parent)
		parent = fd
	}
	return nil
}

// mkdirAt makes dir name in parent (an existing one is fine if it is a
// directory, not a link) and returns an fd of it; what it makes gets mode
// perm, exactly.
func mkdirAt(parent int, name string, perm uint32) (int, error) {
	err := unix.Mkdirat(parent, name, perm)
	made := err == nil
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, err
	}
	fd, err := openat2(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, beneath|unix.RESOLVE_NO_SYMLINKS)
	if err != nil || !made {
		return fd, err
	}
	// mkdirat is subject to the umask; the fd is the directory made, so
	// the chmod cannot land anywhere else.
	if err := unix.Fchmod(fd, perm); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// openVolumeRoot opens a volume's host path as an O_PATH fd. The path is
// the daemon's own (emptyDir, downwardAPI) or the admin-given hostPath, so
// links in it are followed, as the kubelet does for hostPath.
func openVolumeRoot(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return fd, nil
}
