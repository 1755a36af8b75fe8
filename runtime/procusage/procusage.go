// Package procusage counts what a container's processes hold, as cAdvisor
// reads it from /proc: their threads, open file descriptors and sockets,
// and the soft limit on open files of one of them.
package procusage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultRoot is where procfs is mounted.
const DefaultRoot = "/proc"

// Bounds on one Read, so that a container with many processes or file
// descriptors cannot make a metrics call slow: threads and descriptors are
// counted in the first MaxProcesses processes only, and sockets among the
// first MaxLinks descriptors (each takes a readlink).
const (
	MaxProcesses = 1024
	MaxLinks     = 16384
)

// Usage is what a set of processes holds.
type Usage struct {
	// Processes is the number of processes asked about.
	Processes uint64
	// Threads, FileDescriptors and Sockets add up the processes' (see the
	// bounds above); a process that is gone is left out.
	Threads, FileDescriptors, Sockets uint64
}

// Reader reads processes under Root (DefaultRoot when empty).
type Reader struct {
	Root string
}

func (r Reader) root() string {
	if r.Root == "" {
		return DefaultRoot
	}
	return r.Root
}

// Read counts what the processes pids hold.
func (r Reader) Read(pids []int) Usage {
	u := Usage{Processes: uint64(len(pids))}
	links := MaxLinks
	for _, pid := range pids[:min(len(pids), MaxProcesses)] {
		dir := filepath.Join(r.root(), strconv.Itoa(pid))
		u.Threads += threads(filepath.Join(dir, "status"))
		fds, sockets := descriptors(filepath.Join(dir, "fd"), &links)
		u.FileDescriptors += fds
		u.Sockets += sockets
	}
	return u
}

// threads reads the Threads line of a status file (0 when it is gone).
func threads(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// descriptors counts the entries of an fd directory, and the sockets among
// them while *links lasts (each readlink spends one).
func descriptors(dir string, links *int) (fds, sockets uint64) {
	f, err := os.Open(dir)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	for _, n := range names {
		fds++
		if *links <= 0 {
			continue
		}
		*links--
		if target, err := os.Readlink(filepath.Join(dir, n)); err == nil && strings.HasPrefix(target, "socket:") {
			sockets++
		}
	}
	return fds, sockets
}

// MaxOpenFiles is the soft limit on open files of process pid
// (math.MaxUint64 for unlimited).
func (r Reader) MaxOpenFiles(pid int) (uint64, error) {
	path := filepath.Join(r.root(), strconv.Itoa(pid), "limits")
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		if f[0] == "unlimited" {
			return math.MaxUint64, nil
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s: %w", path, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("parse %s: %w", path, errNoOpenFiles)
}

var errNoOpenFiles = errors.New("no Max open files line")
