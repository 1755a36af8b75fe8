package idmap

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Userns returns a user namespace with m's mappings, to idmap mounts
// with: an idmapped mount depends on the mappings only, not on which
// namespace has them. The namespace is a child's that never runs (it is
// traced and stops at its exec, as runc does it) and is killed once the
// namespace is open; it lives as long as the returned file.
func Userns(m Mappings) (*os.File, error) {
	p, err := os.StartProcess("/proc/self/exe", []string{"podd-userns"}, &os.ProcAttr{Sys: &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER,
		UidMappings: sysMappings(m.UIDs),
		GidMappings: sysMappings(m.GIDs),
		// The child stops with SIGTRAP at its exec: none of its code runs.
		Ptrace: true,
	}})
	if err != nil {
		return nil, fmt.Errorf("user namespace for %v: %w", m, err)
	}
	defer func() {
		_ = p.Kill()
		_, _ = p.Wait()
	}()
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", p.Pid))
	if err != nil {
		return nil, fmt.Errorf("user namespace for %v: %w", m, err)
	}
	return f, nil
}

func sysMappings(rs []Range) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(rs))
	for i, r := range rs {
		out[i] = syscall.SysProcIDMap{ContainerID: int(r.ContainerID), HostID: int(r.HostID), Size: int(r.Size)}
	}
	return out
}

// Bind bind-mounts src (not what is mounted below it) at dst, an existing
// directory, as an idmapped mount with userns's mappings: a file a host ID
// owns shows as owned by the ID it maps to, and writes go the other way.
func Bind(src, dst string, userns *os.File) error {
	fd, err := detachedIDMapped(src, userns)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("idmapped mount of %s at %s: %w", src, dst, err)
	}
	return nil
}

// detachedIDMapped returns a detached idmapped copy of the mount at src.
func detachedIDMapped(src string, userns *os.File) (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("idmapped mount of %s: open_tree: %w", src, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("idmapped mount of %s: mount_setattr: %w", src, err)
	}
	return fd, nil
}

// probeMappings are what Supported idmaps with: any will do.
var probeMappings = Mappings{UIDs: []Range{{ContainerID: 0, HostID: 65536, Size: 65536}}, GIDs: []Range{{ContainerID: 0, HostID: 65536, Size: 65536}}}

// Supported returns nil when this kernel makes idmapped mounts of dir's
// filesystem (Linux 5.12+; each filesystem opts in), else why not. The
// probe mounts nothing: its idmapped copy stays detached.
func Supported(dir string) error {
	userns, err := Userns(probeMappings)
	if err != nil {
		return err
	}
	defer userns.Close()
	fd, err := detachedIDMapped(dir, userns)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("%w (the kernel has no mount_setattr)", err)
		}
		return err
	}
	return unix.Close(fd)
}
