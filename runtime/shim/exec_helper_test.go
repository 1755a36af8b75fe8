package shim_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/podd-dev/podd/internal/procstat"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// execErr runs proc like exec but returns the stream's error instead of
// failing the test.
func (p *testPod) execErr(proc *shimv1.ExecProcess) (execResult, error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := p.c.Exec(ctx)
	if err != nil {
		return execResult{}, err
	}
	if err := stream.Send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Start{Start: proc}}); err != nil {
		return execResult{}, err
	}
	var r execResult
	for r.exit == nil {
		resp, err := stream.Recv()
		if err != nil {
			return r, err
		}
		r.stdout += string(resp.GetStdout())
		r.stderr += string(resp.GetStderr())
		r.exit = resp.GetExit()
	}
	return r, nil
}

// execRootfs is a busybox rootfs with what the exec tests run: a file that
// is not executable, one the kernel cannot run, and more applets.
func (p *testPod) execRootfs() string {
	p.t.Helper()
	root := p.rootfs("x")
	for _, applet := range []string{"id", "pwd", "mkdir", "env", "kill", "setsid"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			p.t.Fatal(err)
		}
	}
	for name, f := range map[string]struct {
		data string
		mode os.FileMode
	}{"bin/plain": {"#!/bin/sh\necho hi\n", 0o644}, "bin/garbage": {"not a program\n", 0o755}} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(f.data), f.mode); err != nil {
			p.t.Fatal(err)
		}
	}
	return root
}

// Issue 13: the exec path that sets the process up in C before the Go
// runtime reports what a shell would when it cannot run the command (127
// not found, 126 found but not runnable, with the reason on stderr), fails
// the RPC for a setup error, and gives the command its standard I/O, exit
// status, working directory, environment and terminal.
func TestExecHelperOutcomes(t *testing.T) {
	p := startPod(t)
	p.create(p.config("c", p.execRootfs(), "sleep", "1000"))
	for _, tc := range []struct {
		name     string
		proc     *shimv1.ExecProcess
		code     int32
		stdout   string
		inStderr string
	}{
		{name: "missing command on PATH", proc: &shimv1.ExecProcess{Args: []string{"nope"}}, code: 127,
			inStderr: `exec: "nope": executable file not found in $PATH`},
		{name: "missing path", proc: &shimv1.ExecProcess{Args: []string{"/bin/nope"}}, code: 127, inStderr: "no such file"},
		{name: "not executable", proc: &shimv1.ExecProcess{Args: []string{"/bin/plain"}}, code: 126, inStderr: "permission denied"},
		{name: "directory", proc: &shimv1.ExecProcess{Args: []string{"/bin"}}, code: 126, inStderr: "is a directory"},
		{name: "not a program", proc: &shimv1.ExecProcess{Args: []string{"garbage"}}, code: 126, inStderr: "exec format error"},
		{name: "exit status", proc: &shimv1.ExecProcess{Args: []string{"sh", "-c", "exit 3"}}, code: 3},
		{name: "killed by a signal", proc: &shimv1.ExecProcess{Args: []string{"sh", "-c", "kill -TERM $$"}}, code: 128 + 15},
		{name: "stdout and stderr apart", proc: &shimv1.ExecProcess{Args: []string{"sh", "-c", "echo out; echo err >&2"}}, stdout: "out\n", inStderr: "err\n"},
		{name: "working directory", proc: &shimv1.ExecProcess{Args: []string{"pwd"}, Cwd: "/bin"}, stdout: "/bin\n"},
		{name: "environment", proc: &shimv1.ExecProcess{Args: []string{"sh", "-c", "echo $PATH $HOME $X"}, Env: []string{"X=1", "X=2"}}, stdout: "/bin / 2\n"},
		{name: "pid 1 is the container's", proc: &shimv1.ExecProcess{Args: []string{"cat", "/proc/1/cmdline"}}, stdout: "sleep\x001000\x00"},
		{name: "session leader without a terminal", proc: &shimv1.ExecProcess{Args: []string{"sh", "-c", `read -r pid comm st ppid pgrp sid tty rest < /proc/self/stat; [ "$$" = "$sid" ] && echo $tty`}}, stdout: "0\n"},
		{name: "terminal is the controlling one", proc: &shimv1.ExecProcess{Tty: true, Width: 80, Height: 24, Args: []string{"sh", "-c", `read -r pid comm st ppid pgrp sid tty rest < /proc/self/stat; [ "$$" = "$sid" ] && [ "$tty" != 0 ] && tty`}}, stdout: "/dev/pts/0\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.proc.Container = "c"
			r, err := p.execErr(tc.proc)
			if err != nil {
				t.Fatalf("exec %q: %v", tc.proc.GetArgs(), err)
			}
			if r.exit.GetExitCode() != tc.code || r.stdout != tc.stdout || !strings.Contains(r.stderr, tc.inStderr) {
				t.Errorf("exec %q: exit %d, stdout %q, stderr %q; want %d, %q, stderr with %q",
					tc.proc.GetArgs(), r.exit.GetExitCode(), r.stdout, r.stderr, tc.code, tc.stdout, tc.inStderr)
			}
		})
	}
	t.Run("bad working directory", func(t *testing.T) {
		_, err := p.execErr(&shimv1.ExecProcess{Container: "c", Args: []string{"true"}, Cwd: "/nowhere"})
		if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), `chdir to cwd ("/nowhere")`) {
			t.Errorf("exec with cwd /nowhere: %v, want Internal naming the chdir", err)
		}
	})
	// The helper runs from an overlay clone of the shim binary, not a
	// copy of it in memory (exeseal's fallback: ~30 MiB per shim).
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", p.c.Pid()))
	for _, fd := range fds {
		if l, _ := os.Readlink(fd); strings.Contains(l, "memfd:") || strings.Contains(l, "(deleted)") {
			t.Errorf("the shim holds %s: %s, a copy of its binary", fd, l)
		}
	}
	// Every exec above, failed or not, left no process behind but the
	// container's one exec helper: no zombie, no command, no second helper.
	testutil.WaitFor(t, 5*time.Second, "only the container's init and its exec helper left", func() (bool, error) {
		return len(childrenOf(int32(p.c.Pid()))) == 2 && len(cgroupProcs(t, p.cgroup+"/c")) == 2 && len(execHelpers(p)) == 1, nil
	})
}

// execHelpers returns the pids of the shim's children that are exec
// helpers.
func execHelpers(p *testPod) []string { return shimChildrenWith(p, "podd-fastexec") }

// The exec helper joins the container once, at its first exec, and forks
// every later one; it ends with the container's init, before the cgroup
// it is in is removed (a helper left in it would keep the cgroup, and the
// container's mount namespace, alive).
func TestExecHelperEndsWithTheContainer(t *testing.T) {
	p := startPod(t)
	p.create(p.config("c", p.execRootfs(), "sleep", "1000"))
	if len(execHelpers(p)) != 0 {
		t.Fatalf("an exec helper before the first exec")
	}
	var helper []string
	for i := range 3 {
		if r := p.exec(&shimv1.ExecProcess{Container: "c", Args: []string{"true"}}); r.exit.GetExitCode() != 0 {
			t.Fatalf("exec %d: exit %d, stderr %q", i, r.exit.GetExitCode(), r.stderr)
		}
		h := execHelpers(p)
		if len(h) != 1 || helper != nil && h[0] != helper[0] {
			t.Fatalf("exec %d: exec helpers %v, want the one of the first exec %v", i, h, helper)
		}
		helper = h
	}
	p.signal("c", int32(syscall.SIGKILL))
	p.waitStopped("c", 10*time.Second)
	if _, err := os.Stat("/proc/" + helper[0]); err == nil {
		t.Errorf("exec helper %s outlived the container", helper[0])
	}
	for _, dir := range []string{"/sys/fs/cgroup/pids", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(dir, p.cgroup, "c")); err == nil {
			t.Errorf("the container's cgroup %s is left", filepath.Join(dir, p.cgroup, "c"))
		}
	}
}

// A signal to every process of the container reaches its exec helper too
// (it is in the cgroup): the next exec spawns another, and works.
func TestExecAfterTheHelperWasSignalled(t *testing.T) {
	p := startPod(t)
	// The container's processes ignore SIGTERM; the helper does not.
	p.create(p.config("c", p.execRootfs(), "sh", "-c", "trap '' TERM; sleep 1000 & wait"))
	if r := p.exec(&shimv1.ExecProcess{Container: "c", Args: []string{"true"}}); r.exit.GetExitCode() != 0 {
		t.Fatalf("first exec: exit %d, stderr %q", r.exit.GetExitCode(), r.stderr)
	}
	first := execHelpers(p)
	if len(first) != 1 {
		t.Fatalf("exec helpers %v after the first exec, want one", first)
	}
	if _, err := p.c.Signal(context.Background(), &shimv1.SignalRequest{Id: "c", Signal: int32(syscall.SIGTERM), All: true}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "the exec helper ended", func() (bool, error) {
		return isGone(first[0]), nil
	})
	r := p.exec(&shimv1.ExecProcess{Container: "c", Args: []string{"echo", "again"}})
	if r.exit.GetExitCode() != 0 || r.stdout != "again\n" {
		t.Fatalf("exec after the helper ended: exit %d, stdout %q, stderr %q", r.exit.GetExitCode(), r.stdout, r.stderr)
	}
	if st := p.state("c"); st.GetStatus() != shimv1.Status_STATUS_RUNNING {
		t.Fatalf("container %v after the signal, want running", st.GetStatus())
	}
}

// isGone reports whether process pid has ended (reaped or a zombie).
func isGone(pid string) bool {
	n, _ := strconv.Atoi(pid)
	st, err := procstat.Read(n)
	return err != nil || st.Ended()
}

// The process exec'd into a confined container is confined alike: the
// user and groups, capabilities, no_new_privs and seccomp filter of the
// container (e2e TestExecRunsWithTheContainersSecurity compares every
// field with the main process's).
func TestExecHelperConfinement(t *testing.T) {
	p := startPod(t)
	cfg := p.config("c", p.execRootfs(), "sleep", "1000")
	cfg.User = &shimv1.User{Uid: 1000, Gid: 1000, AdditionalGids: []uint32{5}}
	cfg.Capabilities = []string{"NET_BIND_SERVICE"}
	cfg.NoNewPrivileges = true
	cfg.OomScoreAdj = 500
	cfg.Seccomp = []byte(`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
		"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`)
	p.create(cfg)
	r := p.exec(&shimv1.ExecProcess{Container: "c", Args: []string{"sh", "-c",
		"id; grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status; cat /proc/self/oom_score_adj; mkdir /tmp/x"}})
	want := "uid=1000 gid=1000 groups=5\nNoNewPrivs:\t1\nSeccomp:\t2\n500\n"
	if strings.Contains(r.stdout, "CapEff:\t0000000000000000\nCapBnd:\t0000000000000400\n") {
		r.stdout = strings.Replace(r.stdout, "CapEff:\t0000000000000000\nCapBnd:\t0000000000000400\n", "", 1)
	} else {
		t.Errorf("capabilities: %q, want none effective, NET_BIND_SERVICE bounding", r.stdout)
	}
	if r.stdout != want || r.exit.GetExitCode() == 0 || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("exec in a confined container: exit %d, stdout %q, stderr %q; want stdout %q and mkdir refused by the filter",
			r.exit.GetExitCode(), r.stdout, r.stderr, want)
	}
}

// An exec racing the container's end either runs (and dies with the
// container's PID namespace) or is refused; none hangs, none outlives the
// container, and the shim reaps every one.
func TestExecWhileTheContainerStops(t *testing.T) {
	p := startPod(t)
	p.create(p.config("c", p.execRootfs(), "sleep", "1000"))
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := p.execErr(&shimv1.ExecProcess{Container: "c", Args: []string{"sleep", "30"}})
			switch c := status.Code(err); {
			case err == nil && r.exit.GetExitCode() != 128+9:
				errs <- "exec ended with " + r.exit.String() + ", want killed with the container"
			case err != nil && c != codes.FailedPrecondition && c != codes.Internal:
				errs <- "exec: " + err.Error()
			}
		}()
	}
	p.signal("c", int32(syscall.SIGKILL))
	p.waitStopped("c", 10*time.Second)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	testutil.WaitFor(t, 5*time.Second, "no child of the shim left", func() (bool, error) {
		return len(childrenOf(int32(p.c.Pid()))) == 0, nil
	})
}

// An exec's timeout never kills once the command has ended and been
// reaped: its pid (and the group of that id) may then be any other
// process's on the host, another pod's container included (pids wrap at
// 32768 on many hosts). The command here ends in time but leaves a
// process, in a session of its own, holding its output open, so the shim
// still drains the output when the timer goes off; meanwhile a process of
// the test takes the command's pid, and must survive.
func TestExecTimeoutAfterTheCommandEndedKillsNothing(t *testing.T) {
	p := startPod(t)
	p.create(p.config("c", p.execRootfs(), "sleep", "1000"))
	shim := int32(p.c.Pid())
	for attempt := 1; ; attempt++ {
		token := fmt.Sprintf("stale-kill-%d", attempt)
		done := make(chan execResult, 1)
		go func() {
			r, err := p.execErr(&shimv1.ExecProcess{Container: "c", TimeoutMs: 700,
				Args: []string{"sh", "-c", "setsid sleep 5 & sleep 0.2; : " + token}})
			if err != nil {
				t.Errorf("exec: %v", err)
			}
			done <- r
		}()
		var pid int
		testutil.WaitFor(t, 10*time.Second, "the exec'd shell", func() (bool, error) {
			for _, c := range childrenOf(shim) {
				if b, _ := os.ReadFile("/proc/" + c + "/cmdline"); strings.Contains(string(b), token) {
					pid, _ = strconv.Atoi(c)
					return true, nil
				}
			}
			return false, nil
		})
		testutil.WaitFor(t, 10*time.Second, "the shell reaped", func() (bool, error) {
			_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
			return os.IsNotExist(err), nil
		})
		killed := testutil.ProcessAtPid(t, pid)
		r := <-done
		if killed == nil {
			if attempt < 5 {
				continue
			}
			t.Fatalf("no process of the test took pid %d in %d attempts", pid, attempt)
		}
		if r.exit.GetExitCode() != 0 || r.exit.GetTimedOut() {
			t.Errorf("exec ended with %v, want exit 0 in time", r.exit)
		}
		if killed() {
			t.Fatalf("pid %d, the reaped command's, now another process's, was killed after the command ended", pid)
		}
		return
	}
}

// A shim outlives an upgrade of its binaries: when the files it was started
// from (podd-shim, and the podd-create beside it) have been replaced, its
// execs still run its own helper (which reads its own request), and its
// starts its own create child, not the new file's.
func TestExecAfterTheShimBinaryIsReplaced(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "podd-shim")
	for _, name := range []string{"podd-shim", "podd-create"} {
		if err := copyFile(filepath.Join(binDir, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	p := startPodWith(t, bin)
	p.create(p.config("c", p.execRootfs(), "sleep", "1000"))
	for _, name := range []string{"podd-shim", "podd-create"} {
		next := filepath.Join(dir, "next")
		if err := os.WriteFile(next, []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(next, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if r := p.exec(&shimv1.ExecProcess{Container: "c", Args: []string{"echo", "hi"}}); r.stdout != "hi\n" || r.exit.GetExitCode() != 0 {
		t.Fatalf("exec after the binary was replaced: %+v", r)
	}
	p.create(p.config("d", p.rootfs("d"), "sleep", "1000"))
}
