package libct

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketPair is a connected pair of unix sockets, closed at the test's end.
func socketPair(t *testing.T) (send, recv *os.File) {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	send, recv = os.NewFile(uintptr(pair[0]), "send"), os.NewFile(uintptr(pair[1]), "recv")
	t.Cleanup(func() {
		send.Close()
		recv.Close()
	})
	return send, recv
}

// recvConsole takes the one descriptor of libcontainer's console message
// with its name, and refuses (closing all) a message with none or more.
func TestRecvConsole(t *testing.T) {
	for _, tt := range []struct {
		name string
		nfds int
		ok   bool
	}{
		{"one descriptor", 1, true},
		{"none", 0, false},
		{"two", 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			send, recv := socketPair(t)
			var sent []*os.File
			var fds []int
			for range tt.nfds {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				defer w.Close()
				sent = append(sent, r)
				fds = append(fds, int(r.Fd()))
			}
			var oob []byte
			if len(fds) > 0 {
				oob = unix.UnixRights(fds...)
			}
			if err := unix.Sendmsg(int(send.Fd()), []byte("/dev/pts/7"), oob, nil, 0); err != nil {
				t.Fatal(err)
			}
			before := openFds(t)
			f, err := recvConsole(recv)
			if !tt.ok {
				if err == nil {
					t.Fatalf("received %v", f.Name())
				}
				if after := openFds(t); after != before {
					t.Errorf("%d descriptors open after the refusal, %d before: received ones leak", after, before)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Name() != "/dev/pts/7" {
				t.Errorf("name %q", f.Name())
			}
			var a, b unix.Stat_t
			if err := unix.Fstat(int(f.Fd()), &a); err != nil {
				t.Fatal(err)
			}
			if err := unix.Fstat(int(sent[0].Fd()), &b); err != nil {
				t.Fatal(err)
			}
			if a.Ino != b.Ino || a.Dev != b.Dev {
				t.Error("received another file than the one sent")
			}
		})
	}
}

func openFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// The terminal arrives blocking (libcontainer opens /dev/ptmx so); the
// shim gets it pollable, so that its log copy waits in the poller holding
// no buffer and the drain at the container's end can set a deadline.
func TestRecvConsoleIsPollable(t *testing.T) {
	send, recv := socketPair(t)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil { // blocking, as a terminal's master
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	if err := unix.Sendmsg(int(send.Fd()), []byte("/dev/pts/7"), unix.UnixRights(p[0]), nil, 0); err != nil {
		t.Fatal(err)
	}
	f, err := recvConsole(recv)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.SetReadDeadline(time.Now()); err != nil {
		t.Fatalf("the received terminal takes no deadline: %v", err)
	}
	if _, err := f.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
}
