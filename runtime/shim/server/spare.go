package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/shim/server/internal/libct"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// IsSpare reports whether podd-shim was started as a spare (see
// shim.Spares); its main package then calls AwaitBinding first.
func IsSpare() bool { return len(os.Args) > 1 && os.Args[1] == shimdir.SpareArg }

// Exit codes of a spare that ends before it is bound.
const (
	spareDropped  = 0 // the daemon closed its end: nothing to do
	spareBadArgs  = 2 // what the daemon wrote is not a JSON array of strings
	spareNoTitle  = 3 // its command line cannot be rewritten
	spareNoStatus = 4 // fd 3 is not its status pipe
)

// AwaitBinding runs a spare shim until the daemon binds it: it reports
// that it waits, reads the shim's arguments from stdin, takes them as its
// command line, and returns them with the status pipe (for
// Options.SpareStatus). A spare the daemon drops (EOF on stdin with
// nothing read: the daemon closed it, died or was killed) exits 0 here.
func AwaitBinding() ([]string, *os.File) {
	if _, err := unix.FcntlInt(shimdir.SpareStatusFd, unix.F_GETFD, 0); err != nil {
		os.Exit(spareNoStatus)
	}
	// Never handed on: not to the pause nor to any container.
	unix.CloseOnExec(shimdir.SpareStatusFd)
	status := os.NewFile(shimdir.SpareStatusFd, "spare-status")
	room, err := argvRoom()
	if err != nil {
		fmt.Fprintln(os.Stderr, "podd-shim:", err)
		os.Exit(spareNoTitle)
	}
	tuneRuntime()
	// Its pod's first container will need a create child: it starts long
	// before the pod (limitInitProcs' GOMAXPROCS is the spare's own), once
	// the daemon has placed the spare in its cgroup. Forked before, the
	// child stayed in the daemon's cgroup, where the pod's shim could not
	// use it (a fast host forks before the daemon's move ends).
	var first [1]byte
	if n, _ := os.Stdin.Read(first[:]); n == 0 {
		os.Exit(spareDropped)
	}
	var head []byte
	if first[0] == shimdir.SparePlaced {
		libct.PrepareEarly()
	} else {
		head = first[:] // a daemon from before SparePlaced: its arguments
	}
	if _, err := status.Write([]byte{shimdir.SpareWaiting}); err != nil {
		os.Exit(spareDropped) // the daemon is gone
	}
	data, err := io.ReadAll(os.Stdin)
	data = append(head, data...)
	if len(data) == 0 {
		os.Exit(spareDropped)
	}
	var args []string
	if err != nil || json.Unmarshal(data, &args) != nil {
		os.Exit(spareBadArgs)
	}
	if err := retitle(room, args); err != nil {
		os.Exit(spareNoTitle)
	}
	if _, err := status.Write([]byte{shimdir.SpareBound}); err != nil {
		// The daemon gave up on this launch (and kills us); nothing was
		// done for the pod yet.
		os.Exit(spareDropped)
	}
	return args, status
}

// argvRoom is the memory the kernel shows as the process's command line
// (the argument strings, each NUL terminated, one after the other at the
// top of the stack), which os.Args's strings point into.
func argvRoom() ([]byte, error) {
	start := unsafe.StringData(os.Args[0])
	n := 0
	for _, a := range os.Args {
		if len(a) > 0 && unsafe.StringData(a) != (*byte)(unsafe.Add(unsafe.Pointer(start), n)) {
			return nil, errors.New("spare: the arguments are not where the kernel put them")
		}
		n += len(a) + 1
	}
	room := unsafe.Slice(start, n)
	cmdline, err := os.ReadFile("/proc/self/cmdline")
	if err != nil {
		return nil, fmt.Errorf("spare: %w", err)
	}
	if !bytes.Equal(cmdline, room) {
		return nil, errors.New("spare: the arguments are not the command line the kernel shows")
	}
	return room, nil
}

// retitle writes the program name and args over room, NUL padded, so that
// /proc/self/cmdline (ps, pgrep, shimdir.Kill, the daemon's GC) shows what an
// exec'd shim's shows, and makes os.Args the same.
func retitle(room []byte, args []string) error {
	argv := append([]string{strings.Clone(os.Args[0])}, args...)
	line := strings.Join(argv, "\x00") + "\x00"
	if len(line) > len(room) {
		return fmt.Errorf("spare: command line of %d bytes is longer than its room of %d", len(line), len(room))
	}
	n := copy(room, line)
	clear(room[n:])
	os.Args = argv
	return nil
}

// bindStdio points a bound spare's stdin at /dev/null and its stdout and
// stderr at the shim log, as an exec'd shim's are (a panic lands in the log).
func bindStdio(logf *os.File) error {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer null.Close()
	for fd, f := range []*os.File{null, logf, logf} {
		if err := unix.Dup3(int(f.Fd()), fd, 0); err != nil {
			return fmt.Errorf("bind fd %d: %w", fd, err)
		}
	}
	return nil
}

// reportServing tells the daemon that binds a spare that it serves.
func reportServing(status *os.File) {
	if status == nil {
		return
	}
	_, _ = status.Write([]byte{shimdir.SpareServing})
	status.Close()
}
