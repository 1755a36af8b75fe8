package pause

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

// comm returns the process name of pid ("" once it is gone).
func comm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// children returns the pids of pid's children (zombies included).
func children(pid int) []string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
	return strings.Fields(string(b))
}

// exitCode waits for cmd and returns its exit code (128+signal when a
// signal killed it).
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// The pause names itself after basename(argv[0]) (the shim execs it as
// /proc/self/fd/N), runs one thread, and exits 0 on SIGTERM and SIGINT.
func TestPauseNamesItselfAndExitsZeroOnTermAndInt(t *testing.T) {
	bin := build(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := &exec.Cmd{Path: bin, Args: []string{"/some/dir/pause-named"}}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		// The kernel names it podd-pause at exec; the pause renames itself
		// after its signal mask is set: from then on no signal is lost.
		testutil.WaitFor(t, 10*time.Second, "the pause names itself after argv[0]", func() (bool, error) {
			return comm(pid) == "pause-named", nil
		})
		if tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*"); len(tasks) != 1 {
			t.Errorf("the pause runs %d threads, want 1", len(tasks))
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if code := exitCode(t, cmd); code != 0 {
			t.Errorf("after %v the pause exited %d, want 0", sig, code)
		}
	}
}

// The pause reaps the children it inherits: here a shell forks a sleep and
// execs the pause, which inherits it; once the sleep is killed, it must not
// stay a zombie. As root, again with the pause as PID 1 of a PID namespace
// (a pod sharing its PID namespace), where the kernel drops every signal
// the init has no handler for unless it is blocked: SIGTERM must still end
// it with 0.
func TestPauseReapsInheritedChildren(t *testing.T) {
	bin := build(t)
	t.Run("child", func(t *testing.T) { reapsAndExits(t, bin, 0) })
	t.Run("pid1", func(t *testing.T) {
		testutil.RequireRoot(t)
		reapsAndExits(t, bin, syscall.CLONE_NEWPID)
	})
}

func reapsAndExits(t *testing.T, bin string, cloneflags uintptr) {
	cmd := exec.Command("/bin/sh", "-c", `sleep 1000 & exec "$0"`, bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: cloneflags}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	var sleeper int
	testutil.WaitFor(t, 10*time.Second, "the pause runs with its sleep child", func() (bool, error) {
		if comm(pid) != "podd-pause" {
			return false, nil
		}
		for _, c := range children(pid) {
			if n, _ := strconv.Atoi(c); comm(n) == "sleep" {
				sleeper = n
				return true, nil
			}
		}
		return false, nil
	})
	if err := syscall.Kill(sleeper, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the pause reaps its killed child", func() (bool, error) {
		_, err := os.Stat("/proc/" + strconv.Itoa(sleeper))
		return errors.Is(err, os.ErrNotExist), nil
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 0 {
		t.Errorf("after SIGTERM the pause exited %d, want 0", code)
	}
}
