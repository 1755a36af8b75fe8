// Package pidsignal signals the processes a listing names (a cgroup's
// cgroup.procs) without ever hitting a process that took a listed pid after
// the listed process ended: pids wrap (at 32768 on many hosts), and on a
// busy host the pid a listing gave may be another process's, outside the
// cgroup, by the time kill(2) runs.
package pidsignal

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Listed sends sig to every process list names, and returns how many
// processes the second of its two listings named. Each pid of the first
// listing is pinned with a pidfd (the process that has it now), list is
// asked again, and only pinned processes it names again are signalled,
// through their pidfds: one still alive then is the one that listing saw.
// A process started between the listings is left for the next call (it
// counts in the number returned). list's errors are returned as they are.
func Listed(list func() ([]int, error), sig unix.Signal) (int, error) {
	pids, err := list()
	if err != nil {
		return 0, err
	}
	pinned := make(map[int]int, len(pids))
	defer func() {
		for _, fd := range pinned {
			unix.Close(fd)
		}
	}()
	for _, pid := range pids {
		if _, ok := pinned[pid]; ok {
			continue
		}
		fd, err := unix.PidfdOpen(pid, 0)
		switch {
		case errors.Is(err, unix.ESRCH):
			continue // ended since the listing
		case err != nil:
			return 0, fmt.Errorf("pidfd of process %d: %w", pid, err)
		}
		pinned[pid] = fd
	}
	still, err := list()
	if err != nil {
		return 0, err
	}
	for _, pid := range still {
		fd, ok := pinned[pid]
		if !ok {
			continue
		}
		if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			return len(still), fmt.Errorf("signal process %d: %w", pid, err)
		}
	}
	return len(still), nil
}

// Pin opens a pidfd of process pid and reads its command line (arguments
// separated by NULs). The pidfd still answering after the read proves the
// command line was that process's, and a signal through the pidfd never
// reaches a process that took the pid since. The caller closes the pidfd.
func Pin(pid int) (pidfd int, cmdline []byte, err error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, nil, fmt.Errorf("pidfd of process %d: %w", pid, err)
	}
	cmdline, err = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err == nil {
		err = unix.PidfdSendSignal(fd, 0, nil, 0)
	}
	if err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("command line of process %d: %w", pid, err)
	}
	return fd, cmdline, nil
}
