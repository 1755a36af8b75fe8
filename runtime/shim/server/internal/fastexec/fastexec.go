package fastexec

// #include "fastexec.h"
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Capability sets, indexes of Template.Caps.
const (
	CapBounding    = C.FE_CAP_BOUNDING
	CapEffective   = C.FE_CAP_EFFECTIVE
	CapPermitted   = C.FE_CAP_PERMITTED
	CapInheritable = C.FE_CAP_INHERITABLE
	CapAmbient     = C.FE_CAP_AMBIENT
)

// The helper's replies: the pid of the process it forked, the master of
// that process's terminal.
const (
	replyPID     = C.FE_REPLY_PID
	replyConsole = C.FE_REPLY_CONSOLE
)

// Template is what every exec into one container shares: computed once per
// container, it is sent with each exec's command.
type Template struct {
	// CgroupDir is the container's cgroup v2 directory, which the helper is
	// cloned into; CgroupPaths are its cgroup v1 directories, which the
	// helper enters itself. One of them is set.
	CgroupDir   string
	CgroupPaths []string
	UID, GID    uint32
	Groups      []uint32
	// Caps holds the bounding, effective, permitted, inheritable and
	// ambient sets as bit masks; LastCap is the host's highest capability.
	Caps       [C.FE_CAP_SETS]uint64
	LastCap    uint32
	NoNewPrivs bool
	// OOMScoreAdj, when set, is written to the process's oom_score_adj.
	OOMScoreAdj *int
	Rlimits     []Rlimit
	// Umask, when set, is the process's umask.
	Umask *uint32
	// SigIgnore are the signals the process starts ignoring (bit n-1 for
	// signal n); every other one has its default action.
	SigIgnore uint64
	// Keyring names the session keyring the process joins ("": keep).
	Keyring string
	// Seccomp is the BPF program loaded with SeccompFlags (none if empty).
	Seccomp      []unix.SockFilter
	SeccompFlags uint32
}

// Rlimit is one resource limit.
type Rlimit struct {
	Resource uint32
	Cur, Max uint64
}

// Namespace is an open namespace file to join and its CLONE_NEW* type.
type Namespace struct {
	Type int
	File *os.File
}

// Command is one exec: the program, its environment (complete), working
// directory and standard I/O.
type Command struct {
	Args, Env []string
	Cwd       string
	// Stdin, Stdout and Stderr are the process's; nil is /dev/null. They
	// are ignored with Console.
	Stdin, Stdout, Stderr *os.File
	// Console gives the process a new terminal of Width x Height.
	Console       bool
	Width, Height uint16
}

// CannotRunError is a command the container cannot run: not found, not
// executable. Its text is what the helper reported.
type CannotRunError struct{ Msg string }

func (e *CannotRunError) Error() string { return e.Msg }

// replyTimeout bounds how long the shim waits for the helper: it only
// sets up, it never waits for anything but the kernel.
const replyTimeout = 30 * time.Second

// Start starts cmd in the container whose namespaces ns are, through the
// helper binary exe (the shim's sealed copy), and returns the process's
// pid (a child of the caller's process) and the master of its terminal
// when it has one. It returns once the program has been exec'd, so a
// signal can no longer reach the helper's code instead.
func Start(exe *os.File, t *Template, ns []Namespace, cmd Command) (pid int, console *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, fmt.Errorf("exec socket: %w", err)
	}
	sock, child := os.NewFile(uintptr(fds[0]), "fastexec"), os.NewFile(uintptr(fds[1]), "fastexec-child")
	defer sock.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		child.Close()
		return 0, nil, fmt.Errorf("exec error pipe: %w", err)
	}
	defer errR.Close()
	helper, err := startHelper(exe, t, ns, cmd, child, errW)
	child.Close()
	errW.Close()
	if err != nil {
		return 0, nil, err
	}
	if err := sendRequest(sock, encode(t, ns, cmd)); err != nil {
		_ = helper.Kill()
		_, _ = helper.Wait()
		return 0, nil, err
	}
	pid, console, err = collect(sock, errR, helper, cmd.Console)
	if err != nil && pid > 0 {
		// The process reported a failure and exits, or is stuck: reap it.
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
	}
	if err != nil {
		if console != nil {
			console.Close()
		}
		return 0, nil, err
	}
	return pid, console, nil
}

// devNull is the standard I/O of a terminal's process until it has its
// terminal, and of a missing stream.
var devNull = sync.OnceValues(func() (*os.File, error) { return os.OpenFile(os.DevNull, os.O_RDWR, 0) })

func startHelper(exe *os.File, t *Template, ns []Namespace, cmd Command, sock, errW *os.File) (*os.Process, error) {
	null, err := devNull()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	stdio := []*os.File{cmd.Stdin, cmd.Stdout, cmd.Stderr}
	for i, f := range stdio {
		if f == nil || cmd.Console {
			stdio[i] = null
		}
	}
	files := append(stdio, sock, errW)
	for _, n := range ns {
		files = append(files, n.File)
	}
	sys := &syscall.SysProcAttr{}
	if t.CgroupDir != "" {
		dir, err := os.Open(t.CgroupDir)
		if err != nil {
			return nil, fmt.Errorf("open cgroup %s: %w", t.CgroupDir, err)
		}
		defer dir.Close()
		sys.UseCgroupFD, sys.CgroupFD = true, int(dir.Fd())
	}
	// The helper is exec'd through a descriptor above the ones it gets:
	// the child's fds 0..len(files)-1 are files by the time it execs, and
	// exe's own number may be one of them.
	exeFd, err := unix.FcntlInt(exe.Fd(), unix.F_DUPFD_CLOEXEC, len(files))
	if err != nil {
		return nil, fmt.Errorf("start exec helper: duplicate the binary's descriptor: %w", err)
	}
	defer unix.Close(exeFd)
	p, err := os.StartProcess("/proc/self/fd/"+strconv.Itoa(exeFd), []string{"podd-shim", C.FE_MARKER},
		&os.ProcAttr{Env: []string{}, Files: files, Sys: sys})
	if err != nil {
		return nil, fmt.Errorf("start exec helper: %w", err)
	}
	return p, nil
}

func sendRequest(sock *os.File, req []byte) error {
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	if err := rc.Control(func(fd uintptr) { _, werr = unix.Write(int(fd), req) }); err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("send exec request: %w", werr)
	}
	return nil
}

// collect reads the replies, the pid (from the helper) and the terminal
// (from the process it forked: the two arrive in either order), then the
// error pipe to end-of-file once the program runs (or a message when
// anything failed).
func collect(sock, errR *os.File, helper *os.Process, wantConsole bool) (pid int, console *os.File, err error) {
	deadline := time.Now().Add(replyTimeout)
	_ = errR.SetReadDeadline(deadline)
	var rerr error
	for rerr == nil && (pid <= 0 || wantConsole && console == nil) {
		typ, v, fd, err := recvReply(sock, deadline)
		switch {
		case err != nil:
			rerr = err
		case typ == replyPID && fd < 0 && pid <= 0:
			pid = int(v)
		case typ == replyConsole && fd >= 0 && wantConsole && console == nil:
			if console, err = pollable(fd); err != nil {
				rerr = fmt.Errorf("receive terminal: %w", err)
			}
		default:
			if fd >= 0 {
				unix.Close(fd)
			}
			rerr = fmt.Errorf("unexpected reply %d", typ)
		}
	}
	if rerr != nil && pid <= 0 {
		// No pid within the timeout (or the helper failed): never wait
		// for a helper that hangs.
		_ = helper.Kill()
	}
	st, werr := helper.Wait()
	msg, err := io.ReadAll(errR)
	switch {
	case err != nil:
		return pid, console, fmt.Errorf("exec helper: %w", err)
	case len(msg) > 1 && msg[0] == C.FE_ERR_RUN:
		return pid, console, &CannotRunError{Msg: string(msg[1:])}
	case len(msg) > 1:
		return pid, console, errors.New(string(msg[1:]))
	case werr != nil:
		return pid, console, fmt.Errorf("wait for exec helper: %w", werr)
	case !st.Success():
		return pid, console, fmt.Errorf("exec helper: %s", st)
	case pid <= 0:
		return 0, console, fmt.Errorf("exec helper sent no pid: %v", rerr)
	case wantConsole && console == nil:
		return pid, nil, fmt.Errorf("exec helper sent no terminal: %v", rerr)
	}
	return pid, console, nil
}

// recvReply receives one reply before deadline: its type, value and passed
// fd (or -1). A receive with a timeout (SO_RCVTIMEO) is never restarted
// after a signal (signal(7)), and the shim gets many (SIGCHLD, the Go
// runtime's preemption): an interrupted receive is tried again with the
// time left, never taken for a failed helper.
func recvReply(sock *os.File, deadline time.Time) (typ, v int32, fd int, err error) {
	buf := make([]byte, 8)
	oob := make([]byte, unix.CmsgSpace(4))
	var n, oobn int
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return 0, 0, -1, fmt.Errorf("no reply within %s: %w", replyTimeout, unix.ETIMEDOUT)
		}
		tv := unix.NsecToTimeval(left.Nanoseconds())
		if err := unix.SetsockoptTimeval(int(sock.Fd()), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return 0, 0, -1, err
		}
		n, oobn, _, _, err = unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return 0, 0, -1, err
	}
	if n != len(buf) {
		return 0, 0, -1, io.ErrUnexpectedEOF
	}
	fd = -1
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err == nil && len(msgs) == 1 {
			if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
				fd = fds[0]
			}
		}
	}
	return int32(binary.NativeEndian.Uint32(buf)), int32(binary.NativeEndian.Uint32(buf[4:])), fd, nil
}

// pollable makes terminal fd a non-blocking *os.File that the runtime
// poller serves, so reads can time out.
func pollable(fd int) (*os.File, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "console"), nil
}

// encode lays the request out as fastexec.c's read_request reads it.
func encode(t *Template, ns []Namespace, cmd Command) []byte {
	// Sized once: the request is mostly the seccomp program (~8 KiB for
	// the default profile), which appending from nothing copied over and
	// over.
	size := 256 + 4*len(t.Groups) + 24*len(t.Rlimits) + 8*len(ns) + len(t.Seccomp)*int(unsafe.Sizeof(t.Seccomp[0])) +
		len(cmd.Cwd) + len(t.Keyring)
	for _, v := range [][]string{t.CgroupPaths, cmd.Args, cmd.Env} {
		for _, s := range v {
			size += 5 + len(s)
		}
	}
	b := make([]byte, 0, size)
	u32 := func(v uint32) { b = binary.NativeEndian.AppendUint32(b, v) }
	u64 := func(v uint64) { b = binary.NativeEndian.AppendUint64(b, v) }
	str := func(s string) { u32(uint32(len(s) + 1)); b = append(append(b, s...), 0) }
	strs := func(v []string) {
		u32(uint32(len(v)))
		for _, s := range v {
			str(s)
		}
	}
	var flags uint32
	if cmd.Console {
		flags |= C.FE_FLAG_TTY
	}
	if t.NoNewPrivs {
		flags |= C.FE_FLAG_NO_NEW_PRIVS
	}
	oom := 0
	if t.OOMScoreAdj != nil {
		flags |= C.FE_FLAG_OOM
		oom = *t.OOMScoreAdj
	}
	u32(C.FE_MAGIC)
	u32(flags)
	u32(uint32(int32(oom)))
	u32(t.UID)
	u32(t.GID)
	u32(uint32(len(t.Groups)))
	for _, g := range t.Groups {
		u32(g)
	}
	for _, c := range t.Caps {
		u64(c)
	}
	u32(t.LastCap)
	u32(uint32(len(t.Rlimits)))
	for _, r := range t.Rlimits {
		// struct { uint32_t; uint64_t; uint64_t }: 4 bytes of padding.
		u32(r.Resource)
		u32(0)
		u64(r.Cur)
		u64(r.Max)
	}
	strs(t.CgroupPaths)
	u32(uint32(len(ns)))
	for i, n := range ns {
		u32(uint32(n.Type))
		u32(uint32(C.FE_FD_FIRST_FREE + i))
	}
	u32(t.SeccompFlags)
	u32(uint32(len(t.Seccomp)))
	if len(t.Seccomp) > 0 {
		b = append(b, unsafe.Slice((*byte)(unsafe.Pointer(&t.Seccomp[0])), len(t.Seccomp)*int(unsafe.Sizeof(t.Seccomp[0])))...)
	}
	umask := uint32(C.FE_NO_UMASK)
	if t.Umask != nil {
		umask = *t.Umask
	}
	u32(umask)
	u64(t.SigIgnore)
	u32(uint32(cmd.Height))
	u32(uint32(cmd.Width))
	str(cmd.Cwd)
	str(t.Keyring)
	strs(cmd.Args)
	strs(cmd.Env)
	return b
}
