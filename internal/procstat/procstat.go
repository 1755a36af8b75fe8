// Package procstat reads the fields of /proc/<pid>/stat that podd looks
// at: the command name, the state and the parent.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Stat is what podd reads of a process's /proc/<pid>/stat.
type Stat struct {
	// Comm is the command name, without its parentheses.
	Comm string
	// State is the state letter: R, S, D, T, Z (zombie), X (dead), ….
	State byte
	// PPid is the parent's pid.
	PPid int
}

// Ended reports whether the process has exited: a zombie, or dead.
func (s Stat) Ended() bool { return s.State == 'Z' || s.State == 'X' }

// Read reads the stat of process pid; an error wrapping os.ErrNotExist
// when there is no such process.
func Read(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	st, err := parse(b)
	if err != nil {
		return Stat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return st, nil
}

// parse reads "pid (comm) state ppid …". The command name may itself hold
// ") ", so it ends at the last ')'.
func parse(b []byte) (Stat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return Stat{}, fmt.Errorf("no command name in %q", b)
	}
	f := bytes.Fields(b[end+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("no state and parent in %q", b)
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return Stat{}, fmt.Errorf("parent pid in %q: %w", b, err)
	}
	return Stat{Comm: string(b[open+1 : end]), State: f[0][0], PPid: ppid}, nil
}
