package daemon

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 7.10: a file that is not a socket at --socket is an error and stays
// as it was; the socket is root-only.
func TestListenRefusesANonSocketAndIsRootOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "podd.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if lis, err := listen(path); err == nil {
		lis.Close()
		t.Fatal("listen over a regular file succeeded")
	} else if !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("error %q does not say the file is not a socket", err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "precious" {
		t.Fatalf("the regular file was changed: %q, %v", data, err)
	}

	sock := filepath.Join(dir, "api", "podd.sock")
	lis, err := listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	lis.Close()
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after close: %v", err)
	}
	// A stale socket (nobody serving) is replaced.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	lis2, err := listen(sock)
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	lis2.Close()
}

// holdListener stands for what a podd killed a moment ago leaves at its
// socket: a copy of its listener in a child it had forked and not yet
// exec'd (a CNI plugin, a shim, iptables), which accepts connections until
// the child's exec closes it. This one closes once it has accepted one.
func holdListener(t *testing.T, path string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	go func() {
		defer l.Close()
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
}

// A socket that answers a dial and then refuses is a dead podd's (seen in
// TestDaemonKill9DuringSandboxSetupLeaksNoCNIState): the new podd replaces
// it instead of exiting with "another podd is serving it". One that keeps
// answering is a live podd's, and stays.
func TestListenReplacesASocketOnlyACopyOfADeadListenerAnswers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podd.sock")
	holdListener(t, path)
	lis, err := listen(path)
	if err != nil {
		t.Fatalf("listen over a dead podd's socket: %v", err)
	}
	lis.Close()

	live, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if lis, err := listen(path); err == nil {
		lis.Close()
		t.Fatal("listen over a live podd's socket succeeded")
	} else if !strings.Contains(err.Error(), "another podd is serving it") {
		t.Errorf("error %q does not say another podd serves the socket", err)
	}
}
