package shim_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// holderConfig is the pod's namespace holder as the daemon sends it
// (runtime/spec PauseConfig), in the pinned netns at nsPath, owning the
// UTS, IPC and (shared) PID namespaces.
func (p *testPod) holderConfig(nsPath string) *shimv1.ContainerConfig {
	return &shimv1.ContainerConfig{
		Id:              "pause",
		Holder:          true,
		Args:            []string{filepath.Join(binDir, "podd-pause")},
		Env:             []string{"PATH=/bin"},
		User:            &shimv1.User{Uid: 65535, Gid: 65535},
		Hostname:        "mypod",
		CgroupPath:      p.cgroup + "/pause",
		Resources:       &shimv1.Resources{CpuShares: 2},
		LogPath:         filepath.Join(p.dir, "logs", "pause.log"),
		Namespaces:      []*shimv1.Namespace{{Type: "net", Path: nsPath}, {Type: "ipc"}, {Type: "uts"}, {Type: "pid"}},
		Sysctls:         map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "kernel.shm_rmid_forced": "1"},
		OomScoreAdj:     900,
		NoNewPrivileges: true,
		Labels:          map[string]string{"test": p.t.Name()},
	}
}

// newNetns pins a network namespace named name for the test.
func newNetns(t *testing.T, name string) string {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", name).Run() })
	return "/run/netns/" + name
}

// assertHolder checks what the holder at pid was given: its user, no
// capability, no_new_privs, its cgroup, oom_score_adj, the host's mount
// namespace, and the hostname and sysctls of the namespaces it holds.
func assertHolder(t *testing.T, p *testPod, pid int32) {
	t.Helper()
	proc := "/proc/" + strconv.Itoa(int(pid))
	status := procStatus(t, proc)
	for field, want := range map[string]string{
		"Uid": "65535\t65535\t65535\t65535", "Gid": "65535\t65535\t65535\t65535", "Groups": "",
		"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
		"CapBnd": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "1",
	} {
		if got := status[field]; got != want {
			t.Errorf("holder %s: %q, want %q", field, got, want)
		}
	}
	// In every hierarchy (cgroup v1: devices too).
	b, _ := os.ReadFile(proc + "/cgroup")
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasSuffix(line, ":"+p.cgroup+"/pause") {
			t.Errorf("holder cgroup %q, want %s/pause", line, p.cgroup)
		}
	}
	if b, _ := os.ReadFile(proc + "/oom_score_adj"); strings.TrimSpace(string(b)) != "900" {
		t.Errorf("holder oom_score_adj %q, want 900", b)
	}
	if exe, _ := os.Readlink(proc + "/exe"); exe != filepath.Join(binDir, "podd-pause") {
		t.Errorf("holder runs %q, want podd-pause", exe)
	}
	// podd-pause names itself once it runs; the shim answers as soon as
	// it is exec'd (as /proc/self/fd/N, which names it "N").
	testutil.WaitFor(t, 5*time.Second, "the holder's comm to be podd-pause", func() (bool, error) {
		b, _ := os.ReadFile(proc + "/comm")
		got := strings.TrimSpace(string(b))
		return got == "podd-pause", fmt.Errorf("comm %q", got)
	})
	if a, b := readlinkNS(pid, "mnt"), readlinkNS(int32(os.Getpid()), "mnt"); a != b {
		t.Errorf("holder mount namespace %s, want the host's %s", a, b)
	}
	for file, want := range map[string]string{
		"/proc/sys/kernel/hostname":                     "mypod",
		"/proc/sys/net/ipv4/ip_unprivileged_port_start": "0",
		"/proc/sys/kernel/shm_rmid_forced":              "1",
	} {
		out, err := exec.Command("nsenter", "-t", strconv.Itoa(int(pid)), "-n", "-i", "-u", "cat", file).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("%s in the holder's namespaces: %q (%v), want %q", file, out, err, want)
		}
	}
}

func procStatus(t *testing.T, proc string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(proc + "/status")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// The holder is no libcontainer container: exec and update are refused.
func TestHolderRefusesExecAndUpdate(t *testing.T) {
	p := startPod(t)
	p.create(p.holderConfig(newNetns(t, "ph"+filepath.Base(p.dir))))
	ctx := context.Background()
	if _, err := p.c.Update(ctx, &shimv1.UpdateRequest{Id: "pause", Resources: &shimv1.Resources{CpuShares: 4}}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("update the holder: %v, want FailedPrecondition", err)
	}
	stream, err := p.c.Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Start{Start: &shimv1.ExecProcess{Container: "pause", Args: []string{"true"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("exec in the holder: %v, want FailedPrecondition", err)
	}
}

// A holder that cannot start (its program is missing) is recorded as a
// start failure and leaves no cgroup behind.
func TestHolderStartFailureIsRecorded(t *testing.T) {
	p := startPod(t)
	cfg := p.holderConfig(newNetns(t, "pf"+filepath.Base(p.dir)))
	cfg.Args = []string{filepath.Join(p.dir, "no-such-pause")}
	_, err := p.c.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: cfg})
	if err == nil || !strings.Contains(err.Error(), "no-such-pause") {
		t.Fatalf("create a holder with no program: %v", err)
	}
	if st := p.state("pause"); st.GetStatus() != shimv1.Status_STATUS_STOPPED || st.GetExitCode() != 128 {
		t.Errorf("holder state %v, want stopped with 128", st)
	}
	if dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + p.cgroup + "/pause"); len(dirs) != 0 {
		t.Errorf("cgroups left by the failed holder: %v", dirs)
	}
}

// A hostNetwork/hostPID pod's holder stays in the host's network, UTS and
// PID namespaces (its hostname is the node's) and owns only its IPC one.
func TestHolderInHostNamespaces(t *testing.T) {
	p := startPod(t)
	cfg := p.holderConfig("")
	cfg.Namespaces = []*shimv1.Namespace{{Type: "ipc"}}
	cfg.Hostname = ""
	cfg.Sysctls = map[string]string{"kernel.shm_rmid_forced": "1"}
	pid := p.create(cfg).GetPid()
	self := int32(os.Getpid())
	for _, ns := range []string{"net", "uts", "pid", "mnt"} {
		if a, b := readlinkNS(pid, ns), readlinkNS(self, ns); a == "" || a != b {
			t.Errorf("holder %s namespace %s, want the host's %s", ns, a, b)
		}
	}
	if a, b := readlinkNS(pid, "ipc"), readlinkNS(self, "ipc"); a == "" || a == b {
		t.Errorf("holder ipc namespace %s, want its own", a)
	}
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(int(pid)), "-i", "cat", "/proc/sys/kernel/shm_rmid_forced").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Errorf("kernel.shm_rmid_forced in the holder's IPC namespace: %q (%v), want 1", out, err)
	}
	// The holder is no PID 1 here: it exits 0 on SIGTERM all the same,
	// once it has blocked the signal (before that the default action kills
	// it, as it would kill the kubelet's pause in the host PID namespace).
	testutil.WaitFor(t, 5*time.Second, "the holder to wait for SIGTERM", func() (bool, error) {
		return waitsForSignals(pid)
	})
	p.signal("pause", int32(syscall.SIGTERM))
	if st := p.waitStopped("pause", 5*time.Second); st.GetExitCode() != 0 {
		t.Errorf("holder exited %d on SIGTERM, want 0", st.GetExitCode())
	}
}

// waitsForSignals tells whether process pid sleeps in sigwaitinfo
// (rt_sigtimedwait, in /proc/<pid>/syscall): podd-pause blocks SIGTERM,
// SIGINT and SIGCHLD before it waits, and has no handler to show in
// SigCgt; while it waits, the kernel shows them unblocked in SigBlk.
func waitsForSignals(pid int32) (bool, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
	if err != nil {
		return false, err
	}
	f := strings.Fields(string(data))
	return len(f) > 0 && f[0] == strconv.Itoa(unix.SYS_RT_SIGTIMEDWAIT), nil
}

// While the holder and a container run, no thread of the shim sits in a
// blocking waitid(2): their exits are awaited on pidfds in the runtime's
// poller, so an idle shim keeps no OS thread per process it waits for.
func TestShimHoldsNoThreadInWaitForItsProcesses(t *testing.T) {
	p := startPod(t)
	p.create(p.holderConfig(newNetns(t, "pw"+filepath.Base(p.dir))))
	p.create(p.config("c", p.rootfs("r"), "sleep", "1000"))
	// The waits start right after the starts return; a second shows a
	// thread that went to sleep in one.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		tids, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", p.c.Pid()))
		for _, f := range tids {
			b, _ := os.ReadFile(f)
			// The first field is the syscall number the thread sleeps in.
			if nr := strings.Fields(string(b)); len(nr) > 0 && nr[0] == strconv.Itoa(unix.SYS_WAITID) {
				t.Fatalf("shim thread %s sleeps in waitid", filepath.Base(filepath.Dir(f)))
			}
		}
	}
}
