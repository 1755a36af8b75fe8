package shim_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/test/testutil"
)

// The shim creates and starts every container in a short-lived child
// (podd-create). These tests use a podd-create built with the
// podd_createfault tag, beside a shim of its own, which reads a fault from
// the file create-fault in the state dir: "<step> <what>" at step build (before
// anything exists), created (libcontainer state made) or started (the init
// runs, its pid not yet reported).

var (
	faultShimOnce sync.Once
	faultShim     string
	faultShimErr  error
)

// faultShimBinary builds a shim beside the fault-injection podd-create once
// per test run.
func faultShimBinary(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	faultShimOnce.Do(func() {
		dir := filepath.Join(binDir, "fault")
		faultShim = filepath.Join(dir, "podd-shim")
		cmd, err := testutil.ShimBuild(dir, "podd_createfault")
		if err != nil {
			faultShimErr = err
			return
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			faultShimErr = errors.New(string(out))
		}
	})
	if faultShimErr != nil {
		t.Fatalf("build the fault-injection shim: %v", faultShimErr)
	}
	return faultShim
}

func (p *testPod) setCreateFault(fault string) {
	p.t.Helper()
	path := filepath.Join(p.stateDir, "create-fault")
	if fault == "" {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			p.t.Fatal(err)
		}
		return
	}
	if err := os.WriteFile(path, []byte(fault), 0o600); err != nil {
		p.t.Fatal(err)
	}
}

// createChildPid is the pid the last create child wrote.
func (p *testPod) createChildPid() int {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.stateDir, "create-child.pid"))
	if err != nil {
		p.t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		p.t.Fatal(err)
	}
	return pid
}

// leftovers lists what container id left on the host: its cgroup
// directories (with their processes) and its libcontainer state.
func (p *testPod) leftovers(id string) []string {
	var left []string
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + p.cgroup + "/" + id)
	for _, d := range dirs {
		procs, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		left = append(left, d+" (procs: "+strings.Join(strings.Fields(string(procs)), ",")+")")
	}
	if _, err := os.Stat(filepath.Join(shimdir.RuncDir(p.stateDir), id)); err == nil {
		left = append(left, "libcontainer state of "+id)
	}
	return left
}

// A create child that fails or dies at any step fails the start (recorded
// as the container's exit, 128), leaves no process, cgroup or state of the
// container, and the same container starts once the fault is gone.
func TestCreateChildFailuresLeaveNothing(t *testing.T) {
	bin := faultShimBinary(t)
	for _, fault := range []string{"build exit", "build kill", "created exit", "created kill", "started exit", "started kill"} {
		t.Run(strings.ReplaceAll(fault, " ", "-"), func(t *testing.T) {
			p := startPodWith(t, bin)
			cfg := p.config("c", p.rootfs("r"), "sleep", "1000")
			p.setCreateFault(fault)
			_, err := p.c.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: cfg})
			if err == nil {
				t.Fatal("the start succeeded with a failing create child")
			}
			st := p.state("c")
			if st.GetStatus() != shimv1.Status_STATUS_STOPPED || st.GetExitCode() != 128 || st.GetReason() != shimdir.ReasonRunError {
				t.Errorf("state after the failed start: %v, want stopped, 128, %s", st, shimdir.ReasonRunError)
			}
			if left := p.leftovers("c"); len(left) != 0 {
				t.Errorf("left after the failed start: %v", left)
			}
			child := p.createChildPid()
			if err := syscall.Kill(child, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("create child %d still exists (kill 0: %v)", child, err)
			}
			p.setCreateFault("")
			if _, err := p.c.Remove(context.Background(), &shimv1.RemoveRequest{Id: "c"}); err != nil {
				t.Fatal(err)
			}
			p.create(cfg)
			p.signal("c", int32(syscall.SIGKILL))
			if st := p.waitStopped("c", 10*time.Second); st.GetExitCode() != 137 {
				t.Errorf("exit after the retry: %v, want 137", st)
			}
		})
	}
}

// An init that ends before the shim has its pid (between the start and
// the create child's report) is still the shim's to reap: its exit is
// recorded, with its status.
func TestInitEndingBeforeTheShimHasItsPidIsRecorded(t *testing.T) {
	p := startPodWith(t, faultShimBinary(t))
	cfg := p.config("c", p.rootfs("r"), "sleep", "1000")
	p.setCreateFault("started kill-init")
	// The start may report running (the exit follows) or already stopped.
	if _, err := p.c.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	st := p.waitStopped("c", 10*time.Second)
	if st.GetExitCode() != 137 || st.GetSignal() != int32(syscall.SIGKILL) {
		t.Errorf("exit of the init killed before its pid was reported: %v, want 137 by SIGKILL", st)
	}
	if left := p.leftovers("c"); len(left) != 0 {
		t.Errorf("left after the exit: %v", left)
	}
}

// A shim killed while its create child has started a container takes the
// child along (its parent-death signal), and the daemon's last resort,
// shimdir.Kill, leaves nothing of the pod.
func TestShimKilledMidCreateLeavesNothingAfterKill(t *testing.T) {
	p := startPodWith(t, faultShimBinary(t))
	cfg := p.config("c", p.rootfs("r"), "sleep", "1000")
	p.setCreateFault("started stall")
	done := make(chan error, 1)
	go func() {
		_, err := p.c.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: cfg})
		done <- err
	}()
	var procs []string
	testutil.WaitFor(t, 10*time.Second, "the stalled create child's container running", func() (bool, error) {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + p.cgroup + "/c")
		for _, d := range dirs {
			b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
			if procs = strings.Fields(string(b)); len(procs) > 0 {
				return true, nil
			}
		}
		return false, nil
	})
	child := p.createChildPid()
	shimPid := p.c.Pid()
	if err := syscall.Kill(shimPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	testutil.WaitFor(t, 10*time.Second, "the create child gone with the shim", func() (bool, error) {
		return gone(child), nil
	})
	if err := shimdir.Kill(p.stateDir, p.cgroup); err != nil {
		t.Fatalf("shimdir.Kill: %v", err)
	}
	for _, s := range procs {
		pid, _ := strconv.Atoi(s)
		testutil.WaitFor(t, 10*time.Second, "container process "+s+" gone", func() (bool, error) {
			return gone(pid), nil
		})
	}
	if left := p.leftovers("c"); len(left) != 0 {
		t.Errorf("left after shimdir.Kill: %v", left)
	}
	if dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + p.cgroup); len(dirs) != 0 {
		t.Errorf("pod cgroups left after shimdir.Kill: %v", dirs)
	}
	// The shim is gone: the pod's cleanup has nothing to stop. A new shim
	// takes over the state dir for it.
	p.c.Close()
	p.launch(filepath.Join(binDir, "podd-shim"))
}

// gone reports whether process pid no longer runs (ended, or a zombie).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// Update reaches the cgroup of a container the create child started (the
// shim sets it through the cgroup manager, libcontainer's state is the
// child's), and a signal reaches its init through the pidfd.
func TestUpdateAndSignalAContainerTheCreateChildStarted(t *testing.T) {
	p := startPod(t)
	cfg := p.config("c", p.rootfs("r"), "sleep", "1000")
	cfg.Resources = &shimv1.Resources{MemoryLimitBytes: 64 << 20}
	p.create(cfg)
	read := func(v1, v2 string) string {
		t.Helper()
		for _, name := range []string{v1, v2} {
			m, _ := filepath.Glob("/sys/fs/cgroup/*" + p.cgroup + "/c/" + name)
			if len(m) == 0 {
				m, _ = filepath.Glob("/sys/fs/cgroup" + p.cgroup + "/c/" + name)
			}
			if len(m) > 0 {
				b, err := os.ReadFile(m[0])
				if err != nil {
					t.Fatal(err)
				}
				return strings.TrimSpace(string(b))
			}
		}
		t.Fatalf("no %s or %s in the container's cgroup", v1, v2)
		return ""
	}
	if got := read("memory.limit_in_bytes", "memory.max"); got != strconv.Itoa(64<<20) {
		t.Fatalf("memory limit at start: %s, want %d", got, 64<<20)
	}
	_, err := p.c.Update(context.Background(), &shimv1.UpdateRequest{Id: "c", Resources: &shimv1.Resources{
		MemoryLimitBytes: 128 << 20, CpuQuotaUs: 50000, CpuPeriodUs: 100000,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := read("memory.limit_in_bytes", "memory.max"); got != strconv.Itoa(128<<20) {
		t.Errorf("memory limit after the update: %s, want %d", got, 128<<20)
	}
	if got := read("cpu.cfs_quota_us", "cpu.max"); got != "50000" && got != "50000 100000" {
		t.Errorf("CPU quota after the update: %s, want 50000", got)
	}
	p.signal("c", int32(syscall.SIGKILL))
	if st := p.waitStopped("c", 10*time.Second); st.GetExitCode() != 137 {
		t.Errorf("exit after SIGKILL: %v, want 137", st)
	}
	if left := p.leftovers("c"); len(left) != 0 {
		t.Errorf("left after the exit: %v", left)
	}
}

// A shim creates its containers through the podd-create beside it: one
// without it fails at its start, saying so, instead of at its first
// container.
func TestShimNeedsPoddCreateBesideIt(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "podd-shim")
	if err := copyFile(filepath.Join(binDir, "podd-shim"), bin); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cgroup := fmt.Sprintf("/pstest%d", rand.Uint32())
	defer removeCgroupDirs(cgroup)
	c, err := shim.Launch(ctx, shim.LaunchConfig{
		ShimBinary: bin, PodUID: "uid-nocreate", StateDir: filepath.Join(dir, "run"), CgroupParent: cgroup,
	})
	if err == nil {
		c.Close()
		t.Fatal("a shim without podd-create beside it started")
	}
	if !strings.Contains(err.Error(), "podd-create") {
		t.Errorf("launch error %q does not name podd-create", err)
	}

}
