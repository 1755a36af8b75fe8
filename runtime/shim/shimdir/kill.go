package shimdir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/internal/pidsignal"
)

// cgroupRoot is where the cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// afterShimCheck runs between the check that the pid file names this pod's
// shim and the kill (a test's hook).
var afterShimCheck = func() {}

// Kill is the last resort for a pod whose shim does not answer: it kills the
// shim named by the pid file of stateDir (only if that process really is
// this pod's podd-shim), then every process left in the pod cgroup (the
// pause and the containers, in every hierarchy), removes the cgroup
// directories, the sockets and the containers' runc state. Already gone is
// success.
func Kill(stateDir, podCgroup string) error {
	if _, fd, ok := pinShim(stateDir); ok {
		afterShimCheck()
		// Through the pidfd: if the shim ended since the check, its pid
		// may be another process's (pids wrap).
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		unix.Close(fd)
	}
	var errs []error
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := killCgroupProcs(podCgroup)
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			errs = append(errs, fmt.Errorf("kill pod cgroup %s: %d processes left", podCgroup, left))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, dir := range cgroupDirs(podCgroup) {
		if err := removeTree(dir); err != nil {
			errs = append(errs, err)
		}
	}
	for _, sock := range []string{SocketPath(stateDir), TTRPCSocketPath(stateDir)} {
		if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	// The killed shim left its containers' libcontainer state; a new shim
	// of the pod would find "container with given ID already exists".
	if err := os.RemoveAll(RuncDir(stateDir)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ShimPid returns the pid in stateDir's pid file if that process is this
// pod's podd-shim (its command line names podd-shim and stateDir).
func ShimPid(stateDir string) (int, bool) {
	pid, fd, ok := pinShim(stateDir)
	if !ok {
		return 0, false
	}
	unix.Close(fd)
	return pid, true
}

// pinShim returns the pid and a pidfd of the process stateDir's pid file
// names if that process is this pod's podd-shim, pinned before its command
// line was read (pidsignal.Pin). The caller closes the pidfd.
func pinShim(stateDir string) (pid, pidfd int, ok bool) {
	pid, ok = RecordedPid(stateDir)
	if !ok {
		return 0, -1, false
	}
	fd, cmdline, err := pidsignal.Pin(pid)
	if err != nil {
		return 0, -1, false
	}
	if !bytes.Contains(cmdline, []byte("podd-shim")) || !bytes.Contains(cmdline, []byte(stateDir)) {
		unix.Close(fd)
		return 0, -1, false
	}
	return pid, fd, true
}

// RecordedPid reads stateDir's pid file: the shim's pid when it started,
// whoever runs under that pid now.
func RecordedPid(stateDir string) (int, bool) {
	data, err := os.ReadFile(PidFile(stateDir))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	return pid, true
}

// killCgroupProcs SIGKILLs every process in the cgroup trees and returns how
// many it found (a pid the listing gave that has become another process's
// since is not killed: see package pidsignal).
func killCgroupProcs(cg string) int {
	n, _ := pidsignal.Listed(func() ([]int, error) { return cgroupProcs(cg), nil }, syscall.SIGKILL)
	return n
}

// cgroupProcs lists the processes in the cgroup trees (once per hierarchy
// on cgroup v1).
func cgroupProcs(cg string) []int {
	var pids []int
	for _, dir := range cgroupDirs(cg) {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			data, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			if err != nil {
				return nil
			}
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// removeTree removes a cgroup directory bottom-up (cgroupfs needs rmdir).
func removeTree(root string) error {
	var dirs []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	var errs []error
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := removeCgroupDir(dirs[i]); err != nil {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", dirs[i], err))
		}
	}
	return errors.Join(errs...)
}
