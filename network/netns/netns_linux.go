package netns

import (
	"errors"
	"fmt"
	"github.com/moby/sys/mountinfo"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// sharedDirs remembers pin directories already made shared mounts by this
// process, so that the mountinfo scan runs once per directory.
var sharedDirs sync.Map

// Create makes a new network namespace with its loopback up and pins it at
// dir/name. The directory is first made a shared bind mount of itself. It
// returns the pin's path. A pin that already exists is an error.
func Create(dir, name string) (string, error) {
	return pin(dir, name, pinNewNetns)
}

// Adopt pins the network namespace at src (a process's, /proc/<pid>/ns/net:
// one made in a pod's user namespace) at dir/name as Create pins a new
// one, and sets its loopback up.
func Adopt(dir, name, src string) (string, error) {
	return pin(dir, name, func(path string) error {
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mount %s onto %q: %w", src, path, err)
		}
		return loopbackUpAt(path)
	})
}

// pin makes the pin file dir/name and mounts a netns on it with mount.
func pin(dir, name string, mount func(path string) error) (string, error) {
	if err := validName(name); err != nil {
		return "", err
	}
	if err := EnsureSharedDir(dir); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return "", fmt.Errorf("create netns pin %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("close netns pin %q: %w", path, err)
	}
	if err := mount(path); err != nil {
		// Remove unmounts too, in case the bind mount succeeded and the
		// loopback step failed.
		if rmErr := Remove(path); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
		return "", err
	}
	return path, nil
}

// pinNewNetns unshares a network namespace on a dedicated OS thread, brings
// its loopback up and bind-mounts it onto path. The thread is never unlocked:
// it is in the wrong namespace for any other goroutine, so it dies with this
// one.
func pinNewNetns(path string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("unshare network namespace for %q: %w", path, err)
			}
			src := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
			if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("bind-mount %s onto %q: %w", src, path, err)
			}
			return loopbackUp()
		}()
	}()
	return <-errc
}

// loopbackUp sets lo up in the calling thread's network namespace.
func loopbackUp() error {
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("open netlink in new netns: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in new netns: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up in new netns: %w", err)
	}
	return nil
}

// loopbackUpAt sets lo up in the network namespace pinned at path,
// through a netlink socket opened in it.
func loopbackUpAt(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open netns %q: %w", path, err)
	}
	defer f.Close()
	h, err := netlink.NewHandleAt(vnetns.NsHandle(f.Fd()))
	if err != nil {
		return fmt.Errorf("netlink in netns %q: %w", path, err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in netns %q: %w", path, err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up in netns %q: %w", path, err)
	}
	return nil
}

// Remove unmounts and deletes a pin. A pin that is already gone, or a file
// that is not mounted, counts as success.
func Remove(path string) error {
	if _, err := os.Lstat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("stat netns pin %q: %w", path, err)
	}
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil &&
		!errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount netns pin %q: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove netns pin %q: %w", path, err)
	}
	return nil
}

// List returns the names of the pins in dir, sorted. A missing dir holds none.
func List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list netns pins in %q: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// EnsureSharedDir creates dir and makes it a shared bind mount of itself, as
// iproute2 and containerd do, so that pins made under it propagate to mount
// namespaces cloned later and can be unmounted from here. Idempotent.
func EnsureSharedDir(dir string) error {
	dir = filepath.Clean(dir)
	if _, done := sharedDirs.Load(dir); done {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create netns dir %q: %w", dir, err)
	}
	mounted, err := isMountPoint(dir)
	if err != nil {
		return err
	}
	if !mounted {
		if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount netns dir %q onto itself: %w", dir, err)
		}
	}
	if err := unix.Mount("none", dir, "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make netns dir %q shared: %w", dir, err)
	}
	sharedDirs.Store(dir, struct{}{})
	return nil
}

// isMountPoint reports whether dir is a mount point.
func isMountPoint(dir string) (bool, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false, fmt.Errorf("resolve netns dir %q: %w", dir, err)
	}
	mounted, err := mountinfo.Mounted(real)
	if err != nil {
		return false, fmt.Errorf("check netns dir %q: %w", dir, err)
	}
	return mounted, nil
}

func validName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("invalid netns pin name %q", name)
	}
	return nil
}

// Pinned reports whether path holds a network namespace (an nsfs bind
// mount), not merely the file a pin is made on.
func Pinned(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// Interface is one network interface's counters.
type Interface struct {
	Name                                    string
	RxBytes, RxPackets, RxErrors, RxDropped uint64
	TxBytes, TxPackets, TxErrors, TxDropped uint64
}

// Interfaces reads the counters of every interface but loopback in the
// network namespace pinned at path, through a netlink socket opened in it
// (the calling thread does not move).
func Interfaces(path string) ([]Interface, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open netns %q: %w", path, err)
	}
	defer f.Close()
	h, err := netlink.NewHandleAt(vnetns.NsHandle(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("netlink in netns %q: %w", path, err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links in netns %q: %w", path, err)
	}
	var out []Interface
	for _, l := range links {
		a := l.Attrs()
		if a.Flags&net.FlagLoopback != 0 || a.Statistics == nil {
			continue
		}
		s := a.Statistics
		out = append(out, Interface{
			Name: a.Name, RxBytes: s.RxBytes, RxPackets: s.RxPackets, RxErrors: s.RxErrors, RxDropped: s.RxDropped,
			TxBytes: s.TxBytes, TxPackets: s.TxPackets, TxErrors: s.TxErrors, TxDropped: s.TxDropped,
		})
	}
	return out, nil
}
