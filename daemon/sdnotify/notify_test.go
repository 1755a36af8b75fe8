package sdnotify

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSystemd listens where NOTIFY_SOCKET points, as systemd does for a
// Type=notify unit.
func fakeSystemd(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", path, err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

// recv returns the next message, or "" when none arrives within d.
func recv(t *testing.T, conn *net.UnixConn, d time.Duration) string {
	t.Helper()
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(d))
	n, err := conn.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ""
	}
	if err != nil {
		t.Fatalf("read notify socket: %v", err)
	}
	return string(buf[:n])
}

func TestMessages(t *testing.T) {
	conn := fakeSystemd(t)
	tests := []struct {
		name string
		send func()
		want string
	}{
		{"ready with status", func() { Ready("3 pods running") }, "READY=1\nSTATUS=3 pods running"},
		{"ready", func() { Ready("") }, "READY=1"},
		{"status", func() { Status("reconciling") }, "STATUS=reconciling"},
		{"stopping", Stopping, "STOPPING=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.send()
			if got := recv(t, conn, 2*time.Second); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNoSocketIsNoop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	Ready("x")
	Status("y")
	Stopping()
	t.Setenv("WATCHDOG_USEC", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() { Watchdog(ctx, func() bool { return true }); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Watchdog did not return without WATCHDOG_USEC")
	}
}

func TestWatchdogPingsOnlyWhileHealthy(t *testing.T) {
	conn := fakeSystemd(t)
	t.Setenv("WATCHDOG_USEC", "100000") // 100 ms: pings every 50 ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	var healthy atomic.Bool
	healthy.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Watchdog(ctx, healthy.Load); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	for i := 0; i < 3; i++ {
		if got := recv(t, conn, 2*time.Second); got != "WATCHDOG=1" {
			t.Fatalf("ping %d: got %q, want WATCHDOG=1", i, got)
		}
	}
	healthy.Store(false)
	// At most one ping already on its way when health flipped.
	recv(t, conn, 120*time.Millisecond)
	if got := recv(t, conn, 300*time.Millisecond); got != "" {
		t.Fatalf("unhealthy: got %q, want no ping", got)
	}
	healthy.Store(true)
	if got := recv(t, conn, 2*time.Second); got != "WATCHDOG=1" {
		t.Fatalf("healthy again: got %q, want WATCHDOG=1", got)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Watchdog did not return after cancel")
	}
}

func TestWatchdogOtherPID(t *testing.T) {
	conn := fakeSystemd(t)
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()+1))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	Watchdog(ctx, func() bool { return true }) // returns at once: not our watchdog
	if ctx.Err() != nil {
		t.Fatal("Watchdog ran for another process's WATCHDOG_PID")
	}
	if got := recv(t, conn, 100*time.Millisecond); got != "" {
		t.Fatalf("got %q, want no ping", got)
	}
}

func TestListenersNotActivated(t *testing.T) {
	t.Setenv("LISTEN_PID", "")
	t.Setenv("LISTEN_FDS", "")
	ls, err := Listeners()
	if err != nil || len(ls) != 0 {
		t.Fatalf("Listeners() = %v, %v; want none", ls, err)
	}
}

const childEnv = "PODD_SDNOTIFY_LISTENERS_CHILD"

// TestListenersActivated passes a listening socket as fd 3 to a child, the
// way systemd does for podd.socket, and checks the child serves on it.
func TestListenersActivated(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		return // the child's half runs in TestMain
	}
	path := filepath.Join(t.TempDir(), "podd.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("listen %s: %v", path, err)
	}
	defer l.Close()
	f, err := l.File()
	if err != nil {
		t.Fatalf("listener file: %v", err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestListenersActivated$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "LISTEN_FDS=1", "LISTEN_FDNAMES=podd.sock")
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if want := "listener " + path; !strings.Contains(string(out), want) {
		t.Fatalf("child output %q lacks %q", out, want)
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		// systemd sets LISTEN_PID to the pid it execs; a test child can only
		// know its own pid after it starts.
		os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
		ls, err := Listeners()
		if err != nil || len(ls) != 1 {
			println("Listeners:", len(ls), err)
			os.Exit(1)
		}
		if os.Getenv("LISTEN_FDS") != "" {
			println("LISTEN_FDS still set")
			os.Exit(1)
		}
		os.Stdout.WriteString("listener " + ls[0].Addr().String() + "\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}
