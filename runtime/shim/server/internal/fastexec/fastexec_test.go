package fastexec

import (
	"errors"
	"io"
	"os"
	"path/filepath"
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

// spawn starts a helper that is closed when the test ends.
func spawn(t *testing.T, exe *os.File, tmpl *Template, ns []Namespace) *Helper {
	t.Helper()
	h, err := Spawn(exe, tmpl, ns)
	if err != nil {
		t.Fatalf("spawn the helper: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

// runIn starts cmd through h and returns its output and status.
func runIn(t *testing.T, h *Helper, cmd Command) (string, unix.WaitStatus, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd.Stdout, cmd.Stderr = w, w
	pid, _, err := h.Start(cmd)
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

// run starts cmd through a helper of its own.
func run(t *testing.T, tmpl *Template, ns []Namespace, cmd Command) (string, unix.WaitStatus, error) {
	t.Helper()
	h, err := Spawn(self(t), tmpl, ns)
	if err != nil {
		return "", 0, err
	}
	defer h.Close()
	return runIn(t, h, cmd)
}

// noChildLeft fails the test if the test process has a child, ended or not.
func noChildLeft(t *testing.T) {
	t.Helper()
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); !errors.Is(err, unix.ECHILD) {
		t.Errorf("a child is left (waitid: %v, signal %d)", err, info.Signo)
	}
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
// helper is reaped once closed, the process it forked once it failed.
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
			noChildLeft(t)
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
	h := spawn(t, low, hostTemplate(t), nil)
	pid, _, err := h.Start(Command{Args: []string{"sh", "-c", "echo ran"}, Env: []string{"PATH=/usr/bin:/bin"}, Cwd: "/", Stdout: w, Stderr: w})
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

// One helper runs many commands, each with its own arguments, environment,
// directory and output; a command that cannot run leaves it serving.
func TestHelperServesCommandAfterCommand(t *testing.T) {
	testutil.RequireRoot(t)
	h := spawn(t, self(t), hostTemplate(t), nil)
	helperPid := h.proc.Pid
	for i, dir := range []string{"/tmp", "/", "/usr"} {
		out, ws, err := runIn(t, h, Command{Args: []string{"sh", "-c", "echo $N; pwd; exit $N"},
			Env: []string{"PATH=/usr/bin:/bin", "N=" + strconv.Itoa(i)}, Cwd: dir})
		if want := strconv.Itoa(i) + "\n" + dir + "\n"; err != nil || out != want || ws.ExitStatus() != i {
			t.Fatalf("command %d: %q, status %v, %v; want %q, exit %d", i, out, ws, err, want, i)
		}
		_, _, err = runIn(t, h, Command{Args: []string{"no-such-command"}, Env: []string{"PATH=/bin"}, Cwd: "/"})
		var cr *CannotRunError
		if !errors.As(err, &cr) {
			t.Fatalf("a command not on PATH: %v, want CannotRunError", err)
		}
	}
	if err := h.proc.Signal(unix.Signal(0)); err != nil || h.proc.Pid != helperPid {
		t.Fatalf("the helper did not serve every command: %v", err)
	}
	h.Close()
	noChildLeft(t)
}

// A helper that ended (its container's cgroup was killed) starts nothing
// and says so: the caller spawns another.
func TestStartOnAnEndedHelper(t *testing.T) {
	testutil.RequireRoot(t)
	h := spawn(t, self(t), hostTemplate(t), nil)
	if err := h.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	// Ended, not yet reaped (as the shim's reaper would leave it a while):
	// its end of the socket is closed.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, h.proc.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err := runIn(t, h, Command{Args: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, Cwd: "/"})
	if !errors.Is(err, ErrHelperGone) {
		t.Fatalf("start through an ended helper: %v, want ErrHelperGone", err)
	}
	if _, _, err := runIn(t, h, Command{Args: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, Cwd: "/"}); !errors.Is(err, ErrHelperGone) {
		t.Fatalf("start again: %v, want ErrHelperGone", err)
	}
	noChildLeft(t)
}

// A process the helper cannot fork (the cgroup's pids limit) fails that
// exec with the reason; the helper serves the next.
func TestHelperOutlivesAFailedFork(t *testing.T) {
	testutil.RequireRoot(t)
	tmpl := hostTemplate(t)
	dir := pidsCgroup(t, tmpl)
	h := spawn(t, self(t), tmpl, nil)
	// The helper is the one process the cgroup may have.
	if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := Command{Args: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, Cwd: "/"}
	_, _, err := runIn(t, h, cmd)
	if err == nil || !strings.Contains(err.Error(), "clone into the PID namespace: resource temporarily unavailable") {
		t.Fatalf("exec beyond the pids limit: %v, want the failed clone", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte("max"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ws, err := runIn(t, h, cmd); err != nil || ws.ExitStatus() != 0 {
		t.Fatalf("exec once the limit is lifted: status %v, %v", ws, err)
	}
}

// pidsCgroup makes a cgroup with the pids controller for tmpl's processes,
// removed when the test ends (after the helper's Close, registered later).
func pidsCgroup(t *testing.T, tmpl *Template) string {
	t.Helper()
	name := "podd-fastexec-test-" + strconv.Itoa(os.Getpid())
	dir := filepath.Join("/sys/fs/cgroup/pids", name)
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		dir = filepath.Join("/sys/fs/cgroup", name)
		tmpl.CgroupDir = dir
	} else {
		tmpl.CgroupPaths = []string{dir}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove the test cgroup: %v", err)
		}
	})
	if _, err := os.Stat(filepath.Join(dir, "pids.max")); err != nil {
		t.Fatalf("no pids controller in %s: %v", dir, err)
	}
	return dir
}
