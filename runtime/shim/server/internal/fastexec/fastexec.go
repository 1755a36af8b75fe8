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
// that process's terminal, its set-up done.
const (
	replyPID     = C.FE_REPLY_PID
	replyConsole = C.FE_REPLY_CONSOLE
	replyReady   = C.FE_REPLY_READY
)

// The first byte of a message on the error pipe: the command cannot be run
// (not found, not executable), or the set-up before it failed.
const (
	errKindRun   = C.FE_ERR_RUN
	errKindSetup = C.FE_ERR_SETUP
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

// ErrHelperGone is a helper that had ended when a command was sent to it:
// the command was not started. A helper ends when its container's cgroup
// is killed (a stop, a signal to every process of the container) and when
// it fails to read a command.
var ErrHelperGone = errors.New("the exec helper has ended")

// Helper is the exec helper of one container: a child of the shim that has
// joined the container's cgroup and namespaces once, and forks each command
// into them (as the shim's child). A fork from it is all an exec costs: no
// process start, no namespace or cgroup to join. It lives in the
// container's cgroup (one pid of its pids limit, its little memory) until
// Close, which must come before the cgroup is removed.
type Helper struct {
	// mu serialises the commands: the helper runs one at a time, and a
	// command's replies and error pipe are its alone.
	mu     sync.Mutex
	proc   *os.Process
	sock   *os.File
	closed bool
}

// Spawn starts the helper for the container whose namespaces ns are, from
// the helper binary exe (the shim's sealed copy), and returns once it has
// joined the container.
func Spawn(exe *os.File, t *Template, ns []Namespace) (*Helper, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("exec socket: %w", err)
	}
	sock, child := os.NewFile(uintptr(fds[0]), "fastexec"), os.NewFile(uintptr(fds[1]), "fastexec-child")
	errR, errW, err := os.Pipe()
	if err != nil {
		sock.Close()
		child.Close()
		return nil, fmt.Errorf("exec error pipe: %w", err)
	}
	defer errR.Close()
	proc, err := startHelper(exe, t, ns, child, errW)
	child.Close()
	errW.Close()
	if err != nil {
		sock.Close()
		return nil, err
	}
	h := &Helper{proc: proc, sock: sock}
	if err := sendRequest(sock, encodeSetup(t, ns), nil); err != nil {
		h.Close()
		return nil, err
	}
	typ, _, fd, rerr := recvReply(sock, time.Now().Add(replyTimeout))
	if fd >= 0 {
		unix.Close(fd)
	}
	if rerr == nil && typ == replyReady {
		return h, nil
	}
	// The set-up failed: the helper has reported why and exited, or
	// hangs (killed by Close before the message is read).
	h.Close()
	msg, _ := io.ReadAll(errR)
	switch {
	case len(msg) > 1:
		return nil, errors.New(string(msg[1:]))
	case rerr != nil:
		return nil, fmt.Errorf("exec helper set-up: %w", rerr)
	}
	return nil, fmt.Errorf("exec helper set-up: unexpected reply %d", typ)
}

// Close ends the helper and reaps it. Commands it started go on.
func (h *Helper) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closeLocked()
}

func (h *Helper) closeLocked() {
	if h.closed {
		return
	}
	h.closed = true
	h.sock.Close()
	// Through its pidfd: never another process that took its pid.
	_ = h.proc.Kill()
	// The shim's reaper may have reaped it, if it had ended.
	_, _ = h.proc.Wait()
}

// Start starts cmd and returns its process's pid (a child of the caller's
// process) and the master of its terminal when it has one. It returns once
// the program has been exec'd, so a signal can no longer reach the
// helper's code instead. An error wrapping ErrHelperGone started nothing.
func (h *Helper) Start(cmd Command) (pid int, console *os.File, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, nil, ErrHelperGone
	}
	null, err := devNull()
	if err != nil {
		return 0, nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	stdio := []*os.File{cmd.Stdin, cmd.Stdout, cmd.Stderr}
	for i, f := range stdio {
		if f == nil || cmd.Console {
			stdio[i] = null
		}
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return 0, nil, fmt.Errorf("exec error pipe: %w", err)
	}
	defer errR.Close()
	err = sendRequest(h.sock, encodeCommand(cmd), append(stdio, errW))
	errW.Close()
	if err != nil {
		h.closeLocked()
		if errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET) {
			return 0, nil, fmt.Errorf("%w: %w", ErrHelperGone, err)
		}
		return 0, nil, err
	}
	pid, console, ok, err := collect(h.sock, errR, cmd.Console, time.Now().Add(replyTimeout))
	if !ok {
		// It ended, hangs or said what it should not: its next command
		// would fare no better.
		h.closeLocked()
	}
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
// terminal, of a missing stream, and of the helper.
var devNull = sync.OnceValues(func() (*os.File, error) { return os.OpenFile(os.DevNull, os.O_RDWR, 0) })

func startHelper(exe *os.File, t *Template, ns []Namespace, sock, errW *os.File) (*os.Process, error) {
	null, err := devNull()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	files := []*os.File{null, null, null, sock, errW}
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

// sendRequest sends req as one datagram, with files' descriptors.
func sendRequest(sock *os.File, req []byte, files []*os.File) error {
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	if err := rc.Control(func(fd uintptr) { werr = unix.Sendmsg(int(fd), req, oob, nil, unix.MSG_NOSIGNAL) }); err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("send exec request: %w", werr)
	}
	return nil
}

// errNotForked is the helper's answer to a command it could not fork a
// process for (its message is in the error pipe).
var errNotForked = errors.New("no process forked")

// collect reads the replies, the pid (from the helper) and the terminal
// (from the process it forked: the two arrive in either order), then the
// error pipe to end-of-file once the program runs (or a message when
// anything failed).
//
// ok reports whether the helper is still of use: it forked the process, or
// said why it could not. Nothing is waited for past deadline.
func collect(sock, errR *os.File, wantConsole bool, deadline time.Time) (pid int, console *os.File, ok bool, err error) {
	_ = errR.SetReadDeadline(deadline)
	var rerr error
	for rerr == nil && (pid <= 0 || wantConsole && console == nil) {
		typ, v, fd, err := recvReply(sock, deadline)
		switch {
		case err != nil:
			rerr = err
		case typ == replyPID && fd < 0 && pid <= 0 && v <= 0:
			rerr = errNotForked
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
	if rerr != nil && pid <= 0 && !errors.Is(rerr, io.ErrUnexpectedEOF) && rerr != errNotForked {
		// No pid within the timeout: the helper hangs, and the error pipe
		// would never end. (At end-of-file the helper has ended, its
		// message is in the pipe.)
		return 0, console, false, fmt.Errorf("exec helper: %w", rerr)
	}
	ok = pid > 0 || rerr == errNotForked
	msg, err := io.ReadAll(errR)
	switch {
	case err != nil:
		return pid, console, ok, fmt.Errorf("exec helper: %w", err)
	case len(msg) > 1 && msg[0] == errKindRun:
		return pid, console, ok, &CannotRunError{Msg: string(msg[1:])}
	case len(msg) > 1:
		return pid, console, ok, errors.New(string(msg[1:]))
	case pid <= 0:
		return 0, console, ok, fmt.Errorf("exec helper sent no pid: %v", rerr)
	case wantConsole && console == nil:
		return pid, nil, ok, fmt.Errorf("exec helper sent no terminal: %v", rerr)
	}
	return pid, console, ok, nil
}

// recvReply receives one reply before deadline: its type, value and passed
// fd (or -1); after it, an error wrapping ETIMEDOUT. A receive with a
// timeout (SO_RCVTIMEO) is never restarted after a signal (signal(7)), and
// the shim gets many (SIGCHLD, the Go runtime's preemption): an
// interrupted receive is tried again with the time left, never taken for
// a failed helper. One whose timeout ran out fails with EAGAIN, which is
// the deadline's, not the helper's.
func recvReply(sock *os.File, deadline time.Time) (typ, v int32, fd int, err error) {
	buf := make([]byte, 8)
	oob := make([]byte, unix.CmsgSpace(4))
	var n, oobn int
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return 0, 0, -1, fmt.Errorf("no reply in time: %w", unix.ETIMEDOUT)
		}
		tv := unix.NsecToTimeval(left.Nanoseconds())
		if tv.Sec == 0 && tv.Usec == 0 {
			// A zero timeout is none: the receive would wait forever.
			tv.Usec = 1
		}
		if err := unix.SetsockoptTimeval(int(sock.Fd()), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return 0, 0, -1, err
		}
		n, oobn, _, _, err = unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR && err != unix.EAGAIN {
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

// encoder appends native-endian integers and strings as fastexec.c's
// reader takes them.
type encoder struct{ b []byte }

func (e *encoder) u32(v uint32) { e.b = binary.NativeEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.NativeEndian.AppendUint64(e.b, v) }
func (e *encoder) str(s string) { e.u32(uint32(len(s) + 1)); e.b = append(append(e.b, s...), 0) }
func (e *encoder) strs(v []string) {
	e.u32(uint32(len(v)))
	for _, s := range v {
		e.str(s)
	}
}

func strsSize(v []string) int {
	n := 4
	for _, s := range v {
		n += 5 + len(s)
	}
	return n
}

// encodeSetup lays the set-up request out as fe_read_setup reads it.
func encodeSetup(t *Template, ns []Namespace) []byte {
	// Sized once: the request is mostly the seccomp program (~8 KiB for
	// the default profile), which appending from nothing copied over and
	// over.
	e := &encoder{b: make([]byte, 0, 128+4*len(t.Groups)+24*len(t.Rlimits)+8*len(ns)+
		len(t.Seccomp)*int(unsafe.Sizeof(unix.SockFilter{}))+len(t.Keyring)+strsSize(t.CgroupPaths))}
	var flags uint32
	if t.NoNewPrivs {
		flags |= C.FE_FLAG_NO_NEW_PRIVS
	}
	oom := 0
	if t.OOMScoreAdj != nil {
		flags |= C.FE_FLAG_OOM
		oom = *t.OOMScoreAdj
	}
	e.u32(C.FE_MAGIC)
	e.u32(flags)
	e.u32(uint32(int32(oom)))
	e.u32(t.UID)
	e.u32(t.GID)
	e.u32(uint32(len(t.Groups)))
	for _, g := range t.Groups {
		e.u32(g)
	}
	for _, c := range t.Caps {
		e.u64(c)
	}
	e.u32(t.LastCap)
	e.u32(uint32(len(t.Rlimits)))
	for _, r := range t.Rlimits {
		// struct { uint32_t; uint64_t; uint64_t }: 4 bytes of padding.
		e.u32(r.Resource)
		e.u32(0)
		e.u64(r.Cur)
		e.u64(r.Max)
	}
	e.strs(t.CgroupPaths)
	e.u32(uint32(len(ns)))
	for i, n := range ns {
		e.u32(uint32(n.Type))
		e.u32(uint32(C.FE_FD_FIRST_FREE + i))
	}
	e.u32(t.SeccompFlags)
	e.u32(uint32(len(t.Seccomp)))
	if len(t.Seccomp) > 0 {
		e.b = append(e.b, unsafe.Slice((*byte)(unsafe.Pointer(&t.Seccomp[0])), len(t.Seccomp)*int(unsafe.Sizeof(t.Seccomp[0])))...)
	}
	umask := uint32(C.FE_NO_UMASK)
	if t.Umask != nil {
		umask = *t.Umask
	}
	e.u32(umask)
	e.u64(t.SigIgnore)
	e.str(t.Keyring)
	return e.b
}

// encodeCommand lays a command out as fe_read_command reads it.
func encodeCommand(cmd Command) []byte {
	e := &encoder{b: make([]byte, 0, 32+len(cmd.Cwd)+strsSize(cmd.Args)+strsSize(cmd.Env))}
	var flags uint32
	if cmd.Console {
		flags |= C.FE_FLAG_TTY
	}
	e.u32(C.FE_CMD_MAGIC)
	e.u32(flags)
	e.u32(uint32(cmd.Height))
	e.u32(uint32(cmd.Width))
	e.str(cmd.Cwd)
	e.strs(cmd.Args)
	e.strs(cmd.Env)
	return e.b
}
