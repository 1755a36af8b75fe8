package ownership

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// RootLockName is the lock file in a state root, held (flock) by the daemon
// using the root for as long as it runs.
const RootLockName = "podd.lock"

// RootLock is the held lock of a state root.
type RootLock struct {
	f *os.File
}

// LockRoot takes the exclusive lock of root, creating root if needed. A
// root locked by a running daemon is an error naming that daemon's pid.
// The kernel drops the lock when the process dies, so a crash never leaves
// a root locked.
func LockRoot(root string) (*RootLock, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("lock root %s: %w", root, err)
	}
	path := filepath.Join(root, RootLockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock root %s: %w", root, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("another podd (pid %s) is running with --root %s", strings.TrimSpace(string(pid)), root)
		}
		return nil, fmt.Errorf("lock root %s: %w", root, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &RootLock{f: f}, nil
}

// Unlock releases the lock.
func (l *RootLock) Unlock() error {
	return l.f.Close()
}

// Running reports whether a podd holds the lock of root: the process whose
// pid the lock file records is alive and is podd. (flock has no query; a
// probe LOCK_SH would make that daemon's own start fail if it raced.)
func Running(root string) bool {
	data, err := os.ReadFile(filepath.Join(root, RootLockName))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && filepath.Base(exe) == "podd"
}
