package ownership

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
// a root locked for long: a daemon killed while it started a child (a
// shim, a CNI plugin) leaves the lock to that child until its exec closes
// it, so a lock whose recorded daemon is gone is waited for, up to
// orphanLockWait.
func LockRoot(root string) (*RootLock, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("lock root %s: %w", root, err)
	}
	path := filepath.Join(root, RootLockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock root %s: %w", root, err)
	}
	deadline := time.Now().Add(orphanLockWait)
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) {
			break
		}
		pid, _ := os.ReadFile(path)
		if alive(strings.TrimSpace(string(pid))) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("another podd (pid %s) is running with --root %s", strings.TrimSpace(string(pid)), root)
		}
		time.Sleep(orphanLockRetry)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock root %s: %w", root, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &RootLock{f: f}, nil
}

// orphanLockWait bounds the wait for a lock held after its daemon died (by
// a child it had forked and not yet exec'd); orphanLockRetry is the pause
// between tries. Variables for tests.
var (
	orphanLockWait  = 5 * time.Second
	orphanLockRetry = 20 * time.Millisecond
)

// alive reports whether the process with the given pid (as written in a
// lock file) exists; an unreadable pid counts as alive, the safe side.
func alive(pid string) bool {
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return true
	}
	return !errors.Is(unix.Kill(n, 0), unix.ESRCH)
}

// Unlock releases the lock.
func (l *RootLock) Unlock() error {
	return l.f.Close()
}

// Running reports whether a process holds the lock of root. flock has no
// query call, and probing with a lock of our own would make that daemon's
// start fail if it raced with us, so the kernel's lock table is read.
func Running(root string) bool {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(root, RootLockName), &st); err != nil {
		return false
	}
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return true // cannot tell: assume it runs, the safe side
	}
	return heldInLockTable(string(data), unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
}

// heldInLockTable reports whether /proc/locks text lists a flock on the
// file (major:minor:inode). Lines read
// "1: FLOCK  ADVISORY  WRITE 4242 00:2d:1234 0 EOF" (blocked waiters have
// "->" after the number and are skipped).
func heldInLockTable(table string, major, minor uint32, ino uint64) bool {
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, ino)
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && f[1] == "FLOCK" && f[5] == want {
			return true
		}
	}
	return false
}
