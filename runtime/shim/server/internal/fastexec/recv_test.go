package fastexec

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recvmsg on a socket with SO_RCVTIMEO is never restarted after a signal
// handler, SA_RESTART or not (signal(7)): the shim's SIGCHLDs and the Go
// runtime's preemption signals interrupt the wait for the helper's reply.
// That EINTR was taken for a failed helper, which was killed: an exec
// probe of a healthy container failed with "exec helper: signal: killed".
func TestRecvReplySurvivesSignals(t *testing.T) {
	sock, peer := replyPair(t)
	type reply struct {
		typ, v int32
		err    error
	}
	tids, done := make(chan int, 1), make(chan reply, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		typ, v, _, err := recvReply(sock, time.Now().Add(time.Minute))
		done <- reply{typ, v, err}
	}()
	tid := <-tids
	// Interrupt the receiving thread inside recvmsg a few times, then answer.
	for range 5 {
		inRecvmsg(t, tid, done)
		if err := unix.Tgkill(unix.Getpid(), tid, unix.SIGURG); err != nil {
			t.Fatal(err)
		}
	}
	inRecvmsg(t, tid, done)
	msg := binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, 7), 42)
	if _, err := unix.Write(peer, msg); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.typ != 7 || r.v != 42 {
		t.Fatalf("recvReply = %d %d %v, want 7 42 <nil>", r.typ, r.v, r.err)
	}
}

// inRecvmsg waits until thread tid blocks in recvmsg (its
// /proc/<pid>/task/<tid>/syscall names the call), failing if the receive
// ended (done) first.
func inRecvmsg[T any](t *testing.T, tid int, done <-chan T) {
	t.Helper()
	path := "/proc/self/task/" + strconv.Itoa(tid) + "/syscall"
	want := strconv.Itoa(unix.SYS_RECVMSG) + " "
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case r := <-done:
			t.Fatalf("recvReply returned before the reply: %+v", r)
		default:
		}
		if b, err := os.ReadFile(path); err == nil && strings.HasPrefix(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the receiving thread never blocked in recvmsg")
		}
		runtime.Gosched()
	}
}

// A helper that never answers still meets the deadline.
func TestRecvReplyKeepsItsDeadline(t *testing.T) {
	sock, _ := replyPair(t)
	if _, _, _, err := recvReply(sock, time.Now().Add(50*time.Millisecond)); !errors.Is(err, unix.ETIMEDOUT) {
		t.Fatalf("recvReply with no reply: %v, want a timeout (ETIMEDOUT)", err)
	}
}

// replyPair is the shim's end of a helper's socket and the helper's (a
// raw fd), both closed when the test ends.
func replyPair(t *testing.T) (*os.File, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sock := os.NewFile(uintptr(fds[0]), "sock")
	t.Cleanup(func() { sock.Close(); unix.Close(fds[1]) })
	return sock, fds[1]
}

// The pid comes from the helper and the terminal from the process it
// forked: two processes writing to one socket, in either order. A terminal
// that came first was taken for a bad pid reply and closed, the process's
// terminal hung up under it, and the exec failed with "make the terminal
// the controlling one: input/output error" (seen in CI).
func TestCollectTakesTheTerminalBeforeThePid(t *testing.T) {
	for _, terminalFirst := range []bool{true, false} {
		t.Run("terminal first "+strconv.FormatBool(terminalFirst), func(t *testing.T) {
			sock, peer := replyPair(t)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			reply := func(typ, v int32) []byte {
				return binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, uint32(typ)), uint32(v))
			}
			sendPid := func() {
				if _, err := unix.Write(peer, reply(replyPID, 4242)); err != nil {
					t.Fatal(err)
				}
			}
			if !terminalFirst {
				sendPid()
			}
			if err := unix.Sendmsg(peer, reply(replyConsole, 0), unix.UnixRights(int(w.Fd())), nil, 0); err != nil {
				t.Fatal(err)
			}
			w.Close()
			if terminalFirst {
				sendPid()
			}
			errR, errW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer errR.Close()
			errW.Close() // the program ran
			pid, console, ok, err := collect(sock, errR, true, time.Now().Add(time.Minute))
			if err != nil || !ok {
				t.Fatalf("collect: %v", err)
			}
			defer console.Close()
			if pid != 4242 {
				t.Errorf("pid = %d, want 4242", pid)
			}
			// The terminal received is the one sent, and open.
			if _, err := console.Write([]byte("x")); err != nil {
				t.Fatalf("write to the terminal received: %v", err)
			}
			console.Close()
			if b, err := io.ReadAll(r); err != nil || string(b) != "x" {
				t.Fatalf("read what went through the terminal = %q, %v; want \"x\"", b, err)
			}
		})
	}
}
