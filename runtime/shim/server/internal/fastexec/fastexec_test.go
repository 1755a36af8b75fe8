package fastexec

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// The test binary links this package, constructor included: it is its
// own exec helper. These tests run the helper on the host (no namespace
// to join unless given), as root.

// hostTemplate keeps root's credentials and the test's capabilities.
func hostTemplate(t *testing.T) *Template {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Fatal(err)
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	capSet := func(name string) uint64 {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
		t.Fatalf("no %s in /proc/self/status", name)
		return 0
	}
	prm := capSet("CapPrm")
	return &Template{LastCap: uint32(last), Caps: [5]uint64{capSet("CapBnd"), prm, prm, 0, 0}}
}

func self(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// run starts cmd through the helper and returns its output and status.
func run(t *testing.T, tmpl *Template, ns []Namespace, cmd Command) (string, unix.WaitStatus, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd.Stdout, cmd.Stderr = w, w
	pid, _, err := Start(self(t), tmpl, ns, cmd)
	w.Close()
	if err != nil {
		return "", 0, err
	}
	out, _ := io.ReadAll(r)
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	return string(out), ws, nil
}

func TestStartRunsTheCommand(t *testing.T) {
	testutil.RequireRoot(t)
	out, ws, err := run(t, hostTemplate(t), nil, Command{Args: []string{"sh", "-c", "echo $X; pwd; exit 3"},
		Env: []string{"PATH=/usr/bin:/bin", "X=1"}, Cwd: "/tmp"})
	if err != nil || out != "1\n/tmp\n" || ws.ExitStatus() != 3 {
		t.Fatalf("sh: %q, status %v, %v; want 1, /tmp, exit 3", out, ws, err)
	}
}

// A failure reports what failed, and leaves no process behind: the
// helper is waited for, the process it forked is reaped.
func TestStartFailures(t *testing.T) {
	testutil.RequireRoot(t)
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, tc := range []struct {
		name      string
		ns        []Namespace
		cmd       Command
		cannotRun bool
		want      string
	}{
		{name: "not a namespace", ns: []Namespace{{Type: unix.CLONE_NEWNET, File: null}},
			cmd: Command{Args: []string{"true"}, Cwd: "/"}, want: "join net namespace: invalid argument"},
		{name: "not on PATH", cmd: Command{Args: []string{"no-such-command"}, Env: []string{"PATH=/bin"}, Cwd: "/"},
			cannotRun: true, want: `exec: "no-such-command": executable file not found in $PATH`},
		{name: "no such directory", cmd: Command{Args: []string{"true"}, Env: []string{"PATH=/bin"}, Cwd: "/no/such/dir"},
			want: `chdir to cwd ("/no/such/dir"): no such file or directory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, hostTemplate(t), tc.ns, tc.cmd)
			var cr *CannotRunError
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.As(err, &cr) != tc.cannotRun {
				t.Fatalf("error %v; want one with %q (cannot run: %v)", err, tc.want, tc.cannotRun)
			}
			var info unix.Siginfo
			if err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); !errors.Is(err, unix.ECHILD) {
				t.Errorf("a child is left (waitid: %v, signal %d)", err, info.Signo)
			}
		})
	}
}

// The binary's descriptor may have a number the helper's own descriptors
// take in the child (stdio, its socket, the namespaces): the helper still
// runs from the binary. A shim that opens its binary early has it at 9
// or so, where an exec joining five namespaces puts one of them.
func TestStartWithTheBinaryAtALowDescriptor(t *testing.T) {
	testutil.RequireRoot(t)
	exe := self(t)
	// Our descriptor 4 becomes the binary; in the child, 4 is the error
	// pipe (0-2 stdio, 3 the socket).
	saved, err := unix.Dup(4)
	if err == nil {
		t.Cleanup(func() { unix.Dup3(saved, 4, unix.O_CLOEXEC); unix.Close(saved) })
	} else {
		t.Cleanup(func() { unix.Close(4) })
	}
	if err := unix.Dup3(int(exe.Fd()), 4, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	low := os.NewFile(4, "exe")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pid, _, err := Start(low, hostTemplate(t), nil, Command{Args: []string{"sh", "-c", "echo ran"}, Env: []string{"PATH=/usr/bin:/bin"}, Cwd: "/", Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		t.Fatalf("start with the binary at descriptor 4: %v", err)
	}
	out, _ := io.ReadAll(r)
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	if out := string(out); out != "ran\n" || ws.ExitStatus() != 0 {
		t.Errorf("sh: %q, status %v; want ran, 0", out, ws)
	}
}
