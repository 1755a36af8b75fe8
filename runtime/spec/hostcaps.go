package spec

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// HostBoundingSet reads the capability bounding set of the calling process
// (the daemon, whose shims and containers inherit it), in number order. A
// host may lack capabilities (this project's CI lacks CAP_SYS_RESOURCE);
// privileged containers get what is there.
func HostBoundingSet() ([]string, error) {
	caps, err := capability.NewPid2(0)
	if err != nil {
		return nil, fmt.Errorf("read capability bounding set: %w", err)
	}
	if err := caps.Load(); err != nil {
		return nil, fmt.Errorf("read capability bounding set: %w", err)
	}
	supported, err := capability.ListSupported()
	if err != nil {
		return nil, fmt.Errorf("list supported capabilities: %w", err)
	}
	have := map[string]bool{}
	for _, c := range supported {
		if caps.Get(capability.BOUNDING, c) {
			have["CAP_"+strings.ToUpper(c.String())] = true
		}
	}
	return inOrder(have), nil
}

// RecursiveReadOnlyMounts reports whether this kernel makes bind mounts
// recursively read-only (mount_setattr with AT_RECURSIVE, Linux 5.12+),
// what the "rro" mount option needs. Probed once: a call that changes
// nothing answers ENOSYS only where the syscall is missing (or EPERM where
// a seccomp filter refuses it).
var RecursiveReadOnlyMounts = sync.OnceValue(func() bool {
	err := unix.MountSetattr(-1, "", unix.AT_EMPTY_PATH, &unix.MountAttr{})
	return !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM)
})
