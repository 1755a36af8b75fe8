package shim

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// fakeShimDir is a state directory with a socket that something listens on
// and a pid file naming a live process whose command line names a
// podd-shim of that directory.
func fakeShimDir(t *testing.T) (dir string, lis *net.UnixListener, proc *exec.Cmd) {
	t.Helper()
	dir = t.TempDir()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: shimdir.SocketPath(dir), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	proc = exec.Command("sh", "-c", "sleep 1000; :", "podd-shim", "--state-dir", dir)
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Process.Kill(); proc.Wait() })
	// Start returns after the fork; until the exec, the child's command
	// line is still this test's (a real shim writes its pid file itself).
	deadline := time.Now().Add(10 * time.Second)
	for {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(proc.Process.Pid) + "/cmdline")
		if strings.Contains(string(cmdline), "podd-shim") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake shim %d never exec'd", proc.Process.Pid)
		}
		time.Sleep(time.Millisecond)
	}
	if err := os.WriteFile(shimdir.PidFile(dir), []byte(strconv.Itoa(proc.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, l, proc
}

// A shim is gone only on evidence; a running one that serves its socket is
// not, however slowly it would answer a call.
func TestGoneOnlyOnEvidence(t *testing.T) {
	ctx := context.Background()
	t.Run("serving shim is not gone", func(t *testing.T) {
		dir, _, _ := fakeShimDir(t)
		if err := Gone(ctx, dir); err != nil {
			t.Fatalf("Gone = %v, want nil", err)
		}
	})
	t.Run("missing socket", func(t *testing.T) {
		dir, lis, _ := fakeShimDir(t)
		lis.Close() // removes the socket file
		if err := Gone(ctx, dir); !errors.Is(err, ErrGone) {
			t.Fatalf("Gone = %v, want ErrGone", err)
		}
	})
	t.Run("shim process exited", func(t *testing.T) {
		dir, _, proc := fakeShimDir(t)
		proc.Process.Kill()
		proc.Wait()
		if err := Gone(ctx, dir); !errors.Is(err, ErrGone) {
			t.Fatalf("Gone = %v, want ErrGone", err)
		}
	})
	t.Run("pid reused by another program", func(t *testing.T) {
		dir, _, _ := fakeShimDir(t)
		os.WriteFile(shimdir.PidFile(dir), []byte(strconv.Itoa(os.Getpid())), 0o600)
		if err := Gone(ctx, dir); !errors.Is(err, ErrGone) {
			t.Fatalf("Gone = %v, want ErrGone", err)
		}
	})
	t.Run("socket refuses connections", func(t *testing.T) {
		dir, lis, _ := fakeShimDir(t)
		os.Remove(shimdir.PidFile(dir))
		lis.SetUnlinkOnClose(false)
		lis.Close()
		if err := Gone(ctx, dir); !errors.Is(err, ErrGone) {
			t.Fatalf("Gone = %v, want ErrGone", err)
		}
	})
	t.Run("busy shim with a full backlog is not gone", func(t *testing.T) {
		dir, _, _ := fakeShimDir(t)
		// Nobody accepts: connections queue in the backlog and then block,
		// which is what an overloaded shim looks like.
		var conns []net.Conn
		t.Cleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		for i := 0; i < 300; i++ {
			c, err := net.Dial("unix", shimdir.SocketPath(dir))
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
		if err := Gone(ctx, dir); err != nil {
			t.Fatalf("Gone = %v, want nil", err)
		}
	})
}
