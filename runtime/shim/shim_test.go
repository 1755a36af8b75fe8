package shim_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/test/testutil"
)

var recordRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) (stdout|stderr) [FP] `)

func TestContainerOutputLandsInCRILog(t *testing.T) {
	p := startPod(t)
	cfg := p.config("echo-0", p.rootfs("r"), "sh", "-c", "echo out; echo err >&2; printf tail")
	p.create(cfg)
	st := p.waitStopped("echo-0", 10*time.Second)
	if st.GetExitCode() != 0 || st.GetReason() != "" {
		t.Fatalf("exit = %d %q, want 0", st.GetExitCode(), st.GetReason())
	}
	lines := p.logLines(cfg)
	var got []string
	for _, l := range lines {
		if !recordRE.MatchString(l) {
			t.Fatalf("log line %q is not a CRI record", l)
		}
		got = append(got, recordRE.ReplaceAllStringFunc(l, func(m string) string {
			f := strings.Fields(m)
			return f[1] + " " + f[2] + " "
		}))
	}
	want := map[string]bool{"stdout F out": true, "stderr F err": true, "stdout P tail": true}
	if len(got) != len(want) {
		t.Fatalf("log records %q, want %v", got, want)
	}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("unexpected log record %q in %q", g, got)
		}
	}
}

// R23: a normal exit keeps its code; the record survives on disk.
func TestExitCodeIsRecorded(t *testing.T) {
	p := startPod(t)
	cfg := p.config("exit-0", p.rootfs("r"), "sh", "-c", "exit 3")
	p.create(cfg)
	st := p.waitStopped("exit-0", 10*time.Second)
	if st.GetExitCode() != 3 || st.GetSignal() != 0 || st.GetFinishedUnixNano() < st.GetStartedUnixNano() {
		t.Fatalf("state = %v, want exit 3", st)
	}
	recs, err := shim.ReadExitRecords(p.stateDir)
	if err != nil || len(recs) != 1 || recs[0].ExitCode != 3 || recs[0].Labels["test"] != t.Name() {
		t.Fatalf("exit records = %+v, %v; want one with exit 3", recs, err)
	}
	// Signal on a stopped container succeeds.
	p.signal("exit-0", int32(syscall.SIGKILL))
}

// R23, R56: a TERM handler exits with 143 at once.
func TestTermHandlerExits143(t *testing.T) {
	p := startPod(t)
	p.create(p.config("trap-0", p.rootfs("r"), "sh", "-c", `trap "exit 143" TERM; sleep 1000 & wait`))
	// The shell installs its trap after it starts; wait until it waits.
	testutil.WaitFor(t, 5*time.Second, "sleep child", func() (bool, error) {
		return len(childrenOf(p.state("trap-0").GetPid())) > 0, nil
	})
	start := time.Now()
	p.signal("trap-0", int32(syscall.SIGTERM))
	st := p.waitStopped("trap-0", 5*time.Second)
	if st.GetExitCode() != 143 || time.Since(start) > 2*time.Second {
		t.Fatalf("exit %d after %s, want 143 within 2s", st.GetExitCode(), time.Since(start))
	}
}

// R56: a PID 1 without a TERM handler ignores TERM; SIGKILL gives 137.
func TestPID1IgnoresTermAndDiesOnKill(t *testing.T) {
	p := startPod(t)
	p.create(p.config("sleep-0", p.rootfs("r"), "sleep", "1000"))
	p.signal("sleep-0", int32(syscall.SIGTERM))
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if st := p.state("sleep-0"); st.GetStatus() != shimv1.Status_STATUS_RUNNING {
			t.Fatalf("sleep as PID 1 stopped on SIGTERM: %v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.signal("sleep-0", int32(syscall.SIGKILL))
	st := p.waitStopped("sleep-0", 5*time.Second)
	if st.GetExitCode() != 137 || st.GetSignal() != int32(syscall.SIGKILL) {
		t.Fatalf("exit %d signal %d, want 137 and 9", st.GetExitCode(), st.GetSignal())
	}
}

// R22: a start failure caused by the executable is ContainerCannotRun, 128.
func TestStartFailuresAreContainerCannotRun(t *testing.T) {
	p := startPod(t)
	root := p.rootfs("r")
	if err := os.WriteFile(filepath.Join(root, "bin", "notelf"), []byte("just text\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "noexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ id, cmd, msg string }{
		{"missing-0", "/bin/nope", "no such file"},
		{"missing-1", "nope", "not found"},
		{"format-0", "/bin/notelf", "exec format error"},
		{"perm-0", "/bin/noexec", "permission denied"},
	} {
		_, err := p.c.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: p.config(tt.id, root, tt.cmd)})
		if status.Code(err) != codes.FailedPrecondition {
			t.Errorf("%s: create error %v, want FailedPrecondition", tt.id, err)
		}
		st := p.state(tt.id)
		if st.GetStatus() != shimv1.Status_STATUS_STOPPED || st.GetExitCode() != 128 ||
			st.GetReason() != shimdir.ReasonCannotRun || !strings.Contains(st.GetMessage(), tt.msg) {
			t.Errorf("%s: state %v, want stopped, 128, %s, message with %q", tt.id, st, shimdir.ReasonCannotRun, tt.msg)
		}
		if _, err := os.Stat(shimdir.ExitRecordPath(p.stateDir, tt.id)); err != nil {
			t.Errorf("%s: no exit record: %v", tt.id, err)
		}
	}
	_, err := p.c.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: p.config("missing-0", root, "sh")})
	if status.Code(err) != codes.AlreadyExists {
		t.Fatalf("second create with the same id: %v, want AlreadyExists", err)
	}
}

// R94: containers join the pause's IPC and UTS namespaces and a pinned netns.
func TestAppJoinsPauseNamespaces(t *testing.T) {
	p := startPod(t)
	nsPath := newNetns(t, "ps"+filepath.Base(p.dir))

	root := p.rootfs("r")
	// Like the daemon: podd-pause as the namespace holder (no libcontainer).
	pause := p.holderConfig(nsPath)
	pst := p.create(pause)
	assertHolder(t, p, pst.GetPid())

	app := p.config("app-0", root, "sh", "-c", "hostname; sleep 1000")
	app.Hostname = "ignored"
	app.Namespaces = []*shimv1.Namespace{{Type: "net", Path: nsPath}, {Type: "ipc", Container: "pause"}, {Type: "uts", Container: "pause"}, {Type: "pid"}}
	ast := p.create(app)

	for _, ns := range []string{"net", "ipc", "uts"} {
		a, _ := os.Readlink(filepathNS(ast.GetPid(), ns))
		b, _ := os.Readlink(filepathNS(pst.GetPid(), ns))
		if a == "" || a != b {
			t.Errorf("%s namespace: app %q, pause %q; want the same", ns, a, b)
		}
	}
	if a, b := readlinkNS(ast.GetPid(), "pid"), readlinkNS(pst.GetPid(), "pid"); a == b {
		t.Errorf("app shares the pause's PID namespace %s", a)
	}
	// The app sees the holder's hostname and the sysctls written in its
	// namespaces.
	r := p.exec(&shimv1.ExecProcess{Container: "app-0", Args: []string{"cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start", "/proc/sys/kernel/shm_rmid_forced"}})
	if r.stdout != "0\n1\n" {
		t.Errorf("sysctls in the app: %q, want the holder's 0 and 1", r.stdout)
	}
	testutil.WaitFor(t, 5*time.Second, "app hostname in log", func() (bool, error) {
		b, err := os.ReadFile(app.GetLogPath())
		return strings.Contains(string(b), " stdout F mypod\n"), err
	})

	// Exec runs in the container and returns output and exit code.
	r = p.exec(&shimv1.ExecProcess{Container: "app-0", Args: []string{"echo", "hi"}})
	if r.stdout != "hi\n" || r.exit.GetExitCode() != 0 {
		t.Fatalf("exec echo hi: %+v", r)
	}
	r = p.exec(&shimv1.ExecProcess{Container: "app-0", Args: []string{"sh", "-c", "hostname; cat; exit 7"}, Stdin: true}, stdinMsg("from stdin\n"))
	if r.stdout != "mypod\nfrom stdin\n" || r.exit.GetExitCode() != 7 {
		t.Fatalf("exec with stdin: %+v", r)
	}
	r = p.exec(&shimv1.ExecProcess{Container: "app-0", Args: []string{"stty", "size"}, Tty: true, Width: 80, Height: 24})
	if r.stdout != "24 80\r\n" || r.exit.GetExitCode() != 0 {
		t.Fatalf("exec with an 80x24 tty: %+v", r)
	}
	r = p.exec(&shimv1.ExecProcess{Container: "app-0", Args: []string{"sh", "-c", "read x; stty size"}, Tty: true, Stdin: true, Width: 80, Height: 24},
		resizeMsg(100, 30), stdinMsg("\n"))
	if !strings.HasSuffix(r.stdout, "30 100\r\n") || r.exit.GetExitCode() != 0 {
		t.Fatalf("exec with a tty resized to 100x30: %+v", r)
	}
	r = p.exec(&shimv1.ExecProcess{Container: "app-0", Args: []string{"sh", "-c", "echo 0123456789"}, OutputLimit: 4})
	if r.stdout != "0123" {
		t.Fatalf("exec output limit 4: %q", r.stdout)
	}
	r = p.exec(&shimv1.ExecProcess{Container: "app-0", Args: []string{"nope"}})
	if r.exit.GetExitCode() != 127 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("exec of a missing command: %+v", r)
	}
	// R48: an exec is killed, with its children, when its timeout passes.
	start := time.Now()
	r = p.exec(&shimv1.ExecProcess{Container: "app-0", Args: []string{"sh", "-c", "sleep 30 & sleep 30"}, TimeoutMs: 1000})
	if took := time.Since(start); !r.exit.GetTimedOut() || r.exit.GetExitCode() != 137 || took > 3*time.Second {
		t.Fatalf("exec sleep 30 with 1s timeout: %+v after %s", r.exit, took)
	}
	testutil.WaitFor(t, 5*time.Second, "timed-out exec's children gone", func() (bool, error) {
		for _, pid := range cgroupProcs(t, p.cgroup+"/app-0") {
			if cmd, _ := os.ReadFile("/proc/" + pid + "/cmdline"); strings.Contains(string(cmd), "sleep\x0030") {
				return false, nil
			}
		}
		return true, nil
	})

	// R94: with a shared PID namespace the pause is PID 1 and reaps what a
	// container leaves behind.
	shared := p.config("shared-0", root, "sh", "-c", "sleep 1000 & sleep 1000 & exit 0")
	shared.Namespaces = []*shimv1.Namespace{{Type: "net", Path: nsPath}, {Type: "ipc", Container: "pause"}, {Type: "uts", Container: "pause"}, {Type: "pid", Container: "pause"}}
	p.create(shared)
	p.waitStopped("shared-0", 10*time.Second)
	testutil.WaitFor(t, 5*time.Second, "pause reaped the orphans", func() (bool, error) {
		return len(childrenOf(pst.GetPid())) == 0, nil
	})
	if _, err := p.c.Remove(context.Background(), &shimv1.RemoveRequest{Id: "shared-0"}); err != nil {
		t.Fatal(err)
	}

	// Remove refuses a running container; Shutdown(force) kills and cleans.
	if _, err := p.c.Remove(context.Background(), &shimv1.RemoveRequest{Id: "app-0"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("remove running container: %v, want FailedPrecondition", err)
	}
	// The pause exits 0 on SIGTERM.
	p.signal("pause", int32(syscall.SIGTERM))
	if st := p.waitStopped("pause", 5*time.Second); st.GetExitCode() != 0 {
		t.Fatalf("pause exited %d on SIGTERM, want 0", st.GetExitCode())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := p.c.Stop(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int32{ast.GetPid(), pst.GetPid(), int32(p.c.Pid())} {
		if err := syscall.Kill(int(pid), 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after shutdown", pid)
		}
	}
	assertPodCleanedUp(t, p)
	recs, err := shim.ReadExitRecords(p.stateDir)
	if err != nil || len(recs) != 2 || recs[0].ID != "app-0" || recs[0].ExitCode != 137 || recs[1].ExitCode != 0 {
		t.Fatalf("exit records after shutdown = %+v, %v; want app-0 killed (137) and pause 0", recs, err)
	}
}

func TestRemoveForgetsStoppedContainer(t *testing.T) {
	p := startPod(t)
	p.create(p.config("once-0", p.rootfs("r"), "true"))
	p.waitStopped("once-0", 10*time.Second)
	if _, err := p.c.Remove(context.Background(), &shimv1.RemoveRequest{Id: "once-0"}); err != nil {
		t.Fatal(err)
	}
	if st := p.state("once-0"); st != nil {
		t.Fatalf("removed container still listed: %v", st)
	}
	if _, err := os.Stat(shimdir.ExitRecordPath(p.stateDir, "once-0")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("exit record left after remove: %v", err)
	}
	if matches, _ := filepath.Glob("/sys/fs/cgroup/*" + p.cgroup + "/once-0"); len(matches) > 0 {
		t.Fatalf("container cgroup left after remove: %v", matches)
	}
	if _, err := p.c.Remove(context.Background(), &shimv1.RemoveRequest{Id: "once-0"}); err != nil {
		t.Fatalf("removing an unknown container: %v", err)
	}
}

func TestLaunchRejectsLongSocketPath(t *testing.T) {
	_, err := shim.Launch(context.Background(), shim.LaunchConfig{
		ShimBinary: "/nonexistent", PodUID: "u", CgroupParent: "/podd/podu",
		StateDir: "/tmp/" + strings.Repeat("x", 100),
	})
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("err = %v, want a socket path length error", err)
	}
}

func assertPodCleanedUp(t *testing.T, p *testPod) {
	t.Helper()
	if matches, _ := filepath.Glob("/sys/fs/cgroup/*" + p.cgroup); len(matches) > 0 {
		t.Errorf("pod cgroup left after shutdown: %v", matches)
	}
	for _, f := range []string{shimdir.RuncDir(p.stateDir), shimdir.SocketPath(p.stateDir), shimdir.PidFile(p.stateDir)} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after shutdown (%v)", f, err)
		}
	}
}

// cgroupProcs lists the processes of a cgroup (v1 pids hierarchy or v2).
func cgroupProcs(t *testing.T, cgroup string) []string {
	t.Helper()
	for _, dir := range []string{"/sys/fs/cgroup/pids", "/sys/fs/cgroup"} {
		b, err := os.ReadFile(filepath.Join(dir, cgroup, "cgroup.procs"))
		if err == nil {
			return strings.Fields(string(b))
		}
	}
	t.Fatalf("no cgroup.procs for %s", cgroup)
	return nil
}

func filepathNS(pid int32, ns string) string {
	return filepath.Join("/proc", itoa(int(pid)), "ns", ns)
}

func readlinkNS(pid int32, ns string) string {
	s, _ := os.Readlink(filepathNS(pid, ns))
	return s
}

func childrenOf(pid int32) []string {
	matches, _ := filepath.Glob(filepath.Join("/proc", itoa(int(pid)), "task", "*", "children"))
	var out []string
	for _, m := range matches {
		b, _ := os.ReadFile(m)
		out = append(out, strings.Fields(string(b))...)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// shimChildrenWith returns the pids of the shim's children whose command
// line contains marker.
func shimChildrenWith(p *testPod, marker string) []string {
	var out []string
	for _, pid := range childrenOf(int32(p.c.Pid())) {
		if b, _ := os.ReadFile("/proc/" + pid + "/cmdline"); strings.Contains(string(b), marker) {
			out = append(out, pid)
		}
	}
	return out
}
