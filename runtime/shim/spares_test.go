package shim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/test/testutil"
)

// newSpares returns spares of binary, closed at the end of the test.
func newSpares(t *testing.T, binary string) *shim.Spares {
	return newSparesIn(t, binary, "")
}

// newSparesIn is newSpares with spares waiting in cgroup.
func newSparesIn(t *testing.T, binary, cgroup string) *shim.Spares {
	t.Helper()
	testutil.RequireRoot(t)
	s := shim.NewSpares(binary, cgroup)
	t.Cleanup(s.Close)
	return s
}

// newSparesInOwnCgroup is newSparesIn with a cgroup of the test's, removed
// at its end.
func newSparesInOwnCgroup(t *testing.T, binary string) (*shim.Spares, string) {
	t.Helper()
	cgroup := fmt.Sprintf("/pstestspare%d", rand.Uint32())
	t.Cleanup(func() { removeCgroupDirs(cgroup) })
	return newSparesIn(t, binary, cgroup), cgroup
}

// waitIdleSpare waits for s's spare to wait for its arguments and returns
// its pid.
func waitIdleSpare(t *testing.T, s *shim.Spares) int {
	t.Helper()
	var pid int
	testutil.WaitFor(t, 10*time.Second, "an idle spare", func() (bool, error) {
		pid = s.IdlePid()
		return pid != 0, nil
	})
	return pid
}

// startPodThrough starts a test pod's shim with launch, in shim cgroup
// shimCgroup, and stops it at the end of the test.
func startPodThrough(t *testing.T, launch func(context.Context, shim.LaunchConfig) (*shim.Client, error), binary string) (*testPod, string) {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "ps")
	if err != nil {
		t.Fatal(err)
	}
	p := &testPod{t: t, dir: dir, stateDir: filepath.Join(dir, "run"), cgroup: fmt.Sprintf("/pstest%d", rand.Uint32())}
	shimCgroup := fmt.Sprintf("/pstestshim%d", rand.Uint32())
	t.Cleanup(func() {
		removeCgroupDirs(p.cgroup)
		removeCgroupDirs(shimCgroup)
		os.RemoveAll(dir)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := launch(ctx, shim.LaunchConfig{
		ShimBinary: binary, PodUID: "uid-" + filepath.Base(dir),
		StateDir: p.stateDir, CgroupParent: p.cgroup, ShimCgroup: shimCgroup, LogLevel: "debug",
	})
	if err != nil {
		t.Fatal(err)
	}
	p.c = c
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := p.c.Stop(ctx, true); err != nil {
			t.Errorf("stop shim: %v", err)
			_ = syscall.Kill(p.c.Pid(), syscall.SIGKILL)
		}
		p.c.Close()
		if t.Failed() {
			if b, err := os.ReadFile(shimdir.LogFile(p.stateDir)); err == nil {
				t.Logf("shim log:\n%s", b)
			}
		}
	})
	return p, shimCgroup
}

// A launch takes the idle spare: the pod's shim is that process, in the
// shim cgroup, serving in the pod's state dir, logging to the pod's shim
// log, showing the command line of an exec'd shim; it runs containers;
// and the next spare is started.
func TestLaunchBindsTheSpare(t *testing.T) {
	binary := filepath.Join(binDir, "podd-shim")
	s, spareCgroup := newSparesInOwnCgroup(t, binary)
	sparePid := waitIdleSpare(t, s)
	// The spare and the create child it starts for its pod's first
	// container, which waits with it.
	ready := spareAndCreateChild(t, spareCgroup, sparePid)
	p, shimCgroup := startPodThrough(t, s.Launch, binary)

	pid := p.c.Pid()
	if pid != sparePid {
		t.Fatalf("the pod's shim is pid %d, want the spare %d", pid, sparePid)
	}
	if procs := cgroupProcs(t, shimCgroup); len(procs) != 2 || !slices.Contains(procs, strconv.Itoa(pid)) || !slices.Contains(procs, ready) {
		t.Errorf("shim cgroup %s holds %v, want the shim %d and its create child %s", shimCgroup, procs, pid, ready)
	}
	if _, err := os.Stat(shimdir.TTRPCSocketPath(p.stateDir)); err != nil {
		t.Errorf("no ttrpc socket in the pod's state dir: %v", err)
	}
	if b, _ := os.ReadFile(shimdir.PidFile(p.stateDir)); string(b) != strconv.Itoa(pid) {
		t.Errorf("pid file says %q, want %d", b, pid)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(strings.Fields(strings.ReplaceAll(string(cmdline), "\x00", " ")), " ")
	want := binary + " --pod-uid uid-" + filepath.Base(p.dir) + " --state-dir " + p.stateDir + " --cgroup-parent " + p.cgroup
	if !strings.HasPrefix(args, want) || strings.Contains(args, shimdir.SpareArg) {
		t.Errorf("the bound spare's command line is %q, want it to start %q", args, want)
	}
	for fd, want := range map[int]string{0: os.DevNull, 1: shimdir.LogFile(p.stateDir), 2: shimdir.LogFile(p.stateDir)} {
		if got, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd)); got != want {
			t.Errorf("the bound spare's fd %d is %q, want %q", fd, got, want)
		}
	}
	if b, _ := os.ReadFile(shimdir.LogFile(p.stateDir)); !bytes.Contains(b, []byte("shim serving")) || !bytes.Contains(b, []byte("spare=true")) {
		t.Errorf("shim log has no 'shim serving' line of a spare:\n%s", b)
	}

	runsEcho(t, p)
	// The container was made by the create child that waited.
	if pid, _ := strconv.Atoi(ready); running(pid) {
		t.Errorf("the spare's create child %s still runs after the first container's creation", ready)
	}
	if procs := cgroupProcs(t, shimCgroup); len(procs) != 1 || procs[0] != strconv.Itoa(pid) {
		t.Errorf("shim cgroup %s holds %v, want only the shim %d", shimCgroup, procs, pid)
	}
	// Pipes this process holds too were inherited by every child.
	inherited := map[string]bool{}
	ours, _ := filepath.Glob("/proc/self/fd/*")
	for _, fd := range ours {
		l, _ := os.Readlink(fd)
		inherited[l] = true
	}
	testutil.WaitFor(t, 5*time.Second, "the bound spare to hold no pipe of its own", func() (bool, error) {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			if l, _ := os.Readlink(fd); strings.HasPrefix(l, "pipe:") && !inherited[l] {
				return false, fmt.Errorf("it holds %s -> %s", fd, l)
			}
		}
		return true, nil
	})

	var next int
	testutil.WaitFor(t, 10*time.Second, "the next spare", func() (bool, error) {
		next = s.IdlePid()
		return next != 0 && next != pid, nil
	})
	spareAndCreateChild(t, spareCgroup, next)
	s.Close()
	if dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + spareCgroup); len(dirs) > 0 {
		t.Errorf("closed spares left their cgroup: %v", dirs)
	}
}

// A spare whose daemon end closes (the daemon died, even by SIGKILL)
// exits 0 at once: no spare outlives its daemon.
func TestSpareExitsWhenTheDaemonEndCloses(t *testing.T) {
	s := newSpares(t, filepath.Join(binDir, "podd-shim"))
	waitIdleSpare(t, s)
	exited, waitErr := s.CloseIdleArgs()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the spare still runs 10 s after its argument pipe was closed")
	}
	if err := waitErr(); err != nil {
		t.Errorf("the spare exited with %v, want 0", err)
	}
}

// A daemon killed with SIGKILL leaves no spare behind.
func TestSpareDiesWithItsDaemon(t *testing.T) {
	testutil.RequireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command(self, "-test.run=^TestHelperSpareDaemon$")
	// Not a root test run itself: it builds nothing.
	daemon.Env = append(os.Environ(), "PODD_TEST_SPARE_DAEMON="+filepath.Join(binDir, "podd-shim"), testutil.RootEnv+"=0")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	daemon.Stdout = pw
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() { _ = daemon.Process.Kill(); _ = daemon.Wait() })
	line := make([]byte, 64)
	n, err := pr.Read(line)
	pr.Close()
	spare, perr := strconv.Atoi(strings.TrimSpace(string(line[:n])))
	if err != nil || perr != nil {
		t.Fatalf("the helper daemon printed %q (%v)", line[:n], err)
	}
	if err := daemon.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = daemon.Wait()
	testutil.WaitFor(t, 10*time.Second, "the spare to exit", func() (bool, error) {
		return !running(spare), nil
	})
}

// TestHelperSpareDaemon is the daemon of TestSpareDiesWithItsDaemon: it
// prints its idle spare's pid and waits to be killed.
func TestHelperSpareDaemon(t *testing.T) {
	binary := os.Getenv("PODD_TEST_SPARE_DAEMON")
	if binary == "" {
		t.Skip("run by TestSpareDiesWithItsDaemon")
	}
	s := shim.NewSpares(binary, "")
	fmt.Println(waitIdleSpare(t, s))
	select {}
}

// running reports whether pid runs (a zombie does not).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && len(b) > i+2 && b[i+2] != 'Z' && b[i+2] != 'X'
}

// A spare killed while idle is not used: the launch starts a shim of its
// own, whether the pool saw the death or not.
func TestKilledSpareIsNotUsed(t *testing.T) {
	binary := filepath.Join(binDir, "podd-shim")
	s := newSpares(t, binary)
	killed := waitIdleSpare(t, s)
	if err := syscall.Kill(killed, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p, _ := startPodThrough(t, s.Launch, binary)
	if p.c.Pid() == killed {
		t.Fatalf("the pod's shim is the killed spare %d", killed)
	}
	cfg := p.config("echo-0", p.rootfs("r"), "true")
	p.create(cfg)
	p.waitStopped("echo-0", 10*time.Second)
}

// A binary without spares (a podd-shim from before them) turns spares off;
// launches exec their shims as before.
func TestLaunchWithoutSpares(t *testing.T) {
	testutil.RequireRoot(t)
	old := filepath.Join(t.TempDir(), "podd-shim")
	script := "#!/bin/sh\n[ \"$1\" = " + shimdir.SpareArg + " ] && { echo 'flag provided but not defined: -spare' >&2; exit 2; }\nexec " + filepath.Join(binDir, "podd-shim") + " \"$@\"\n"
	if err := os.WriteFile(old, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s := newSpares(t, old)
	testutil.WaitFor(t, 10*time.Second, "spares turned off", func() (bool, error) { return s.Off(), nil })
	p, _ := startPodThrough(t, s.Launch, old)
	cfg := p.config("echo-0", p.rootfs("r"), "true")
	p.create(cfg)
	p.waitStopped("echo-0", 10*time.Second)
	if s.IdlePid() != 0 {
		t.Errorf("spares of a binary without them: idle spare %d", s.IdlePid())
	}
}

// Replacing the binary on disk (an upgrade) retires the spare of the old
// one: the launch execs the new binary.
func TestSpareOfAReplacedBinaryIsNotUsed(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	binary := filepath.Join(dir, "podd-shim")
	for _, name := range []string{"podd-shim", "podd-create"} {
		if err := copyFile(filepath.Join(binDir, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	s := newSpares(t, binary)
	old := waitIdleSpare(t, s)
	if err := copyFile(filepath.Join(binDir, "podd-shim"), binary+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(binary+".new", binary); err != nil {
		t.Fatal(err)
	}
	p, _ := startPodThrough(t, s.Launch, binary)
	if p.c.Pid() == old {
		t.Fatalf("the pod's shim is the spare %d of the replaced binary", old)
	}
	if running(old) {
		t.Errorf("the spare %d of the replaced binary still runs", old)
	}
}

// BenchmarkLaunch compares a shim's launch exec'd and through a spare
// (ready before each launch).
func BenchmarkLaunch(b *testing.B) {
	if binDir == "" {
		b.Skip("needs root and " + testutil.RootEnv + "=1")
	}
	binary := filepath.Join(binDir, "podd-shim")
	for _, mode := range []string{"exec", "spare"} {
		b.Run(mode, func(b *testing.B) {
			spareCg := fmt.Sprintf("/psbenchspare%d", rand.Uint32())
			s := shim.NewSpares(binary, spareCg)
			defer s.Close()
			launch := shim.Launch
			if mode == "spare" {
				launch = s.Launch
			}
			for range b.N {
				b.StopTimer()
				dir, err := os.MkdirTemp("/tmp", "psb")
				if err != nil {
					b.Fatal(err)
				}
				cg := fmt.Sprintf("/psbench%d", rand.Uint32())
				if mode == "spare" {
					deadline := time.Now().Add(10 * time.Second)
					for s.IdlePid() == 0 && time.Now().Before(deadline) {
						time.Sleep(time.Millisecond)
					}
				}
				b.StartTimer()
				c, err := launch(context.Background(), shim.LaunchConfig{
					ShimBinary: binary, PodUID: "uid-" + filepath.Base(dir),
					StateDir: filepath.Join(dir, "run"), CgroupParent: cg, ShimCgroup: cg + "shim",
				})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := c.Stop(ctx, true); err != nil {
					b.Error(err)
				}
				cancel()
				c.Close()
				if os.Getenv("SHOWLOG") != "" {
					l, _ := os.ReadFile(shimdir.LogFile(filepath.Join(dir, "run")))
					for _, line := range strings.Split(string(l), "\n") {
						if strings.Contains(line, "TIMING") {
							b.Log(mode, line[strings.Index(line, "msg="):])
						}
					}
				}
				removeCgroupDirs(cg)
				removeCgroupDirs(cg + "shim")
				os.RemoveAll(dir)
			}
		})
	}
}

// A pod whose shim's command line does not fit in the spare's room gets
// an exec'd shim; the spare waits for the next pod.
func TestLaunchTooLongForTheSpareExecs(t *testing.T) {
	binary := filepath.Join(binDir, "podd-shim")
	s := newSpares(t, binary)
	spare := waitIdleSpare(t, s)
	long := func(_ context.Context, cfg shim.LaunchConfig) (*shim.Client, error) {
		cfg.PodUID = strings.Repeat("u", shimdir.SpareRoom)
		return s.Launch(context.Background(), cfg)
	}
	p, _ := startPodThrough(t, long, binary)
	if p.c.Pid() == spare {
		t.Fatalf("the pod's shim is the spare %d, whose room is too small for its command line", spare)
	}
	if got := s.IdlePid(); got != spare {
		t.Errorf("idle spare %d after the launch, want %d still", got, spare)
	}
}

// A spare refill that comes while a launch moves the spare it took out of
// the spares' cgroup (the refill timer of an earlier launch firing then)
// waits for the move: the spare cgroup is renamed to the pod's, and a spare
// joining it meanwhile went along into that pod's shim cgroup, in some
// hierarchies or all, where it kept the cgroup from being removed after the
// pod's shim exited (EBUSY, a failed StopPodSandbox in critest once). Here
// the refill comes, and is waited for, just before the move.
func TestRefillWaitsForTheSparesMove(t *testing.T) {
	binary := filepath.Join(binDir, "podd-shim")
	s, spareCgroup := newSparesInOwnCgroup(t, binary)
	taken := waitIdleSpare(t, s)
	s.BeforeMove(func() {
		s.FillNow()
		testutil.WaitFor(t, 10*time.Second, "the refill to end", func() (bool, error) { return !s.Filling(), nil })
	})
	p, shimCgroup := startPodThrough(t, s.Launch, binary)
	if p.c.Pid() != taken {
		t.Fatalf("the pod's shim is pid %d, want the spare %d", p.c.Pid(), taken)
	}
	for _, pid := range cgroupProcs(t, shimCgroup) {
		if cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline"); pid != strconv.Itoa(taken) && strings.Contains(string(cmdline), shimdir.SpareArg) {
			t.Errorf("shim cgroup %s holds spare %s, started while the launch moved spare %d", shimCgroup, pid, taken)
		}
	}
	// The refill comes once the launch is done.
	s.FillNow()
	next := waitIdleSpare(t, s)
	if procs := cgroupProcs(t, spareCgroup); !slices.Contains(procs, strconv.Itoa(next)) {
		t.Errorf("spare cgroup %s holds %v, want the next spare %d", spareCgroup, procs, next)
	}
}

// A spare of this binary started by a daemon from before SparePlaced,
// which writes nothing to it until it binds it, the arguments first: the
// spare starts no create child early (the daemon never said where it
// placed it) and binds, serves and runs its pod's containers.
func TestSpareOfADaemonBeforeSparePlaced(t *testing.T) {
	testutil.RequireRoot(t)
	binary := filepath.Join(binDir, "podd-shim")
	var pid int
	oldLaunch := func(ctx context.Context, cfg shim.LaunchConfig) (*shim.Client, error) {
		args, err := json.Marshal(shim.ShimArgs(cfg))
		if err != nil {
			return nil, err
		}
		argsR, argsW, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		defer argsW.Close()
		statusR, statusW, err := os.Pipe()
		if err != nil {
			argsR.Close()
			return nil, err
		}
		defer statusR.Close()
		cmd := shim.ShimCommand(binary, shimdir.SpareArg, strings.Repeat(" ", shimdir.SpareRoom))
		cmd.Stdin, cmd.ExtraFiles = argsR, []*os.File{statusW}
		err = cmd.Start()
		argsR.Close()
		statusW.Close()
		if err != nil {
			return nil, err
		}
		pid = cmd.Process.Pid
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		if _, err := argsW.Write(args); err != nil {
			return nil, err
		}
		argsW.Close()
		status, err := io.ReadAll(statusR) // until the serving shim closes it
		if err != nil || string(status) != string([]byte{shimdir.SpareWaiting, shimdir.SpareBound, shimdir.SpareServing}) {
			return nil, fmt.Errorf("spare status %q (%v), want waiting, bound, serving", status, err)
		}
		return shim.Connect(ctx, cfg.StateDir)
	}
	p, _ := startPodThrough(t, oldLaunch, binary)
	if p.c.Pid() != pid {
		t.Fatalf("the pod's shim is pid %d, want the spare %d", p.c.Pid(), pid)
	}
	if ready := readyCreateChildren(t, pid); len(ready) != 0 {
		t.Errorf("the spare started create children %v before its pod's first container, in a cgroup it was not placed in", ready)
	}
	runsEcho(t, p)
}

// runsEcho runs a container echoing hi in p's shim and checks its exit
// and log.
func runsEcho(t *testing.T, p *testPod) {
	t.Helper()
	cfg := p.config("echo-0", p.rootfs("r"), "echo", "hi")
	p.create(cfg)
	if st := p.waitStopped("echo-0", 10*time.Second); st.GetExitCode() != 0 {
		t.Fatalf("container exit %d %q, want 0", st.GetExitCode(), st.GetReason())
	}
	if lines := p.logLines(cfg); len(lines) != 1 || !strings.HasSuffix(lines[0], " stdout F hi") {
		t.Errorf("container log %q, want one record 'hi'", lines)
	}
}

// readyCreateChildren lists the children of pid that are ready create
// children.
func readyCreateChildren(t *testing.T, pid int) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces, not ')'.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		dir := filepath.Dir(st)
		if cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline")); strings.Contains(string(cmdline), "create-container\x00ready") {
			out = append(out, filepath.Base(dir))
		}
	}
	return out
}

// spareAndCreateChild checks that spare cgroup holds the idle spare and
// the create child it started for its pod's first container, and returns
// the child's pid.
func spareAndCreateChild(t *testing.T, cgroup string, spare int) string {
	t.Helper()
	var procs []string
	var child string
	testutil.WaitFor(t, 10*time.Second, "the spare's create child", func() (bool, error) {
		procs, child = cgroupProcs(t, cgroup), ""
		for _, p := range procs {
			if cmdline, _ := os.ReadFile("/proc/" + p + "/cmdline"); strings.Contains(string(cmdline), "create-container\x00ready") {
				child = p
			}
		}
		return len(procs) == 2 && slices.Contains(procs, strconv.Itoa(spare)) && child != "", nil
	})
	return child
}
