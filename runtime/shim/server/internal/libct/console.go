package libct

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// recvConsole receives the pseudo-terminal master that libcontainer's init
// sends over sock for a container with a terminal: one message whose data
// is the terminal's name and whose only descriptor is the master. Any
// other descriptor that arrives is closed. The master comes back
// non-blocking, in the runtime's poller.
func recvConsole(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	var n, oobn, flags int
	var err error
	for {
		n, oobn, flags, _, err = unix.Recvmsg(int(sock.Fd()), name, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, os.NewSyscallError("recvmsg", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		if got, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 || flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("%d descriptors (message flags %#x), want one", len(fds), flags)
	}
	// Non-blocking, so that the runtime's poller waits on it: the log
	// copy then holds no buffer while the container is quiet, and the
	// drain at its end can set a deadline.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("terminal %s: %w", name[:n], err)
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
