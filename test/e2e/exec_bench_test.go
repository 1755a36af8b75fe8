package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// execsPerRound is how many `true`s each side runs per benchmark round.
const execsPerRound = 20

// Issue 13 as a figure: CPU per exec of `true` in a running container,
// through podd (daemon + shim + everything the exec runs, the path exec
// probes take) against `runc exec` of the same command in a container of
// the same rootfs (the path CRI-O's and conmon's exec probes take), measured
// in one run. Reported in ms and as the ratio podd/runc. Both containers
// run under the default seccomp filter podd gives a pod (moby's, without
// x32), which libcontainer compiles at each exec in both.
func BenchmarkExecCPU(b *testing.B) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		b.Fatal("runc is not installed (make deps installs it)")
	}
	e := benchEnv(b)
	b.StopTimer()
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: xb}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: busybox:latest, command: ["sleep", "1000000"]}
`)
	e.waitRunning("xb", 60*time.Second)
	rc := newRuncContainer(b, runc, e)
	// Like for like: both sides exec under a seccomp filter.
	if got := e.execIn("xb", "c", "grep", "^Seccomp:", "/proc/self/status"); !strings.Contains(got, "2") {
		b.Fatalf("podd exec: %q, want seccomp mode 2", got)
	}
	if out, err := exec.Command(runc, "--root", rc.root, "exec", rc.id, "grep", "^Seccomp:", "/proc/self/status").CombinedOutput(); err != nil || !strings.Contains(string(out), "2") {
		b.Fatalf("runc exec: %q (%v), want seccomp mode 2", out, err)
	}
	e.execTrue(b, "xb")
	rc.execTrue(b)
	b.StartTimer()

	var podd, ref time.Duration
	for i := 0; i < b.N; i++ {
		podd += e.cpuOf(b, func() {
			for j := 0; j < execsPerRound; j++ {
				e.execTrue(b, "xb")
			}
		})
		for j := 0; j < execsPerRound; j++ {
			ref += rc.execTrue(b)
		}
	}
	n := float64(b.N * execsPerRound)
	poddMs := float64(podd.Microseconds()) / 1000 / n
	runcMs := float64(ref.Microseconds()) / 1000 / n
	b.ReportMetric(poddMs, "cpu-ms/exec-podd")
	b.ReportMetric(runcMs, "cpu-ms/exec-runc")
	b.ReportMetric(poddMs/runcMs, "ratio-podd/runc")
	load, _ := os.ReadFile("/proc/loadavg")
	b.Logf("load average %s", strings.Join(strings.Fields(string(load))[:3], " "))
}

// execTrue runs `true` in pod's first container through the daemon's API,
// as an exec probe does, and fails unless it exits 0.
func (e *env) execTrue(tb testing.TB, pod string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := e.client.Exec(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	start := &poddv1.ExecStart{Namespace: "default", Name: pod, Command: []string{"true"}}
	if err := st.Send(&poddv1.ExecRequest{Msg: &poddv1.ExecRequest_Start{Start: start}}); err != nil {
		tb.Fatal(err)
	}
	st.CloseSend()
	for {
		resp, err := st.Recv()
		if errors.Is(err, io.EOF) {
			tb.Fatal("exec stream ended without an exit code")
		}
		if err != nil {
			tb.Fatal(err)
		}
		if c, ok := resp.Msg.(*poddv1.ExecResponse_ExitCode); ok {
			if c.ExitCode != 0 {
				tb.Fatalf("exec true exited %d", c.ExitCode)
			}
			return
		}
	}
}

// cpuOf returns the CPU that the daemon, the shims and every container
// process of e used while fn ran.
func (e *env) cpuOf(tb testing.TB, fn func()) time.Duration {
	tb.Helper()
	c0, d0 := e.cgroupCPU(tb), processCPU(tb, e.cmd.Process.Pid)
	fn()
	c1, d1 := e.cgroupCPU(tb), processCPU(tb, e.cmd.Process.Pid)
	return (c1 - c0) + (d1 - d0)
}

// cgroupCPU is the CPU used so far by everything under e's cgroup parent:
// the shims (<parent>/shims) and the pods.
func (e *env) cgroupCPU(tb testing.TB) time.Duration {
	tb.Helper()
	if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuacct", e.cgroupParent, "cpuacct.usage")); err == nil {
		ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			tb.Fatal(err)
		}
		return time.Duration(ns)
	}
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", e.cgroupParent, "cpu.stat"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "usage_usec" {
			us, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return time.Duration(us) * time.Microsecond
		}
	}
	tb.Fatalf("no usage_usec in the cpu.stat of %s", e.cgroupParent)
	return 0
}

// processCPU is the user+system time process pid has used so far.
func processCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	// utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux podd runs on.
const clockTicks = 100

// runcContainer is a busybox container run by the host's runc, the
// reference side of BenchmarkExecCPU.
type runcContainer struct {
	runc, root, id string
}

// newRuncContainer starts `sleep` in a container of a busybox rootfs under
// its own runc root and cgroup; Cleanup deletes it.
func newRuncContainer(tb testing.TB, runc string, e *env) *runcContainer {
	tb.Helper()
	dir := filepath.Join(e.dir, "runc-bench")
	rootfs := filepath.Join(dir, "bundle", "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		tb.Fatal(err)
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), data, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, applet := range []string{"sh", "sleep", "true", "grep"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", applet)); err != nil {
			tb.Fatal(err)
		}
	}
	bundle := filepath.Dir(rootfs)
	if out, err := exec.Command(runc, "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		tb.Fatalf("runc spec: %v: %s", err, out)
	}
	cgroup := e.cgroupParent + "-runc"
	if err := editJSON(filepath.Join(bundle, "config.json"), func(c map[string]any) {
		p := c["process"].(map[string]any)
		p["terminal"] = false
		p["args"] = []string{"sleep", "1000000"}
		c["root"].(map[string]any)["readonly"] = true
		c["linux"].(map[string]any)["cgroupsPath"] = cgroup + "/c"
		c["linux"].(map[string]any)["seccomp"] = defaultSeccomp(tb, p)
	}); err != nil {
		tb.Fatal(err)
	}
	rc := &runcContainer{runc: runc, root: filepath.Join(dir, "state"), id: "podd-bench-" + e.bridge}
	tb.Cleanup(func() {
		exec.Command(runc, "--root", rc.root, "delete", "-f", rc.id).Run()
		for _, d := range cgroupDirs(cgroup) {
			removeCgroupTree(d)
		}
	})
	// The detached container keeps runc's stdio: give it a file, not a pipe
	// that would never reach end-of-file.
	log, err := os.Create(filepath.Join(dir, "runc.log"))
	if err != nil {
		tb.Fatal(err)
	}
	defer log.Close()
	run := exec.Command(runc, "--root", rc.root, "run", "-d", "--bundle", bundle, rc.id)
	run.Stdout, run.Stderr = log, log
	if err := run.Run(); err != nil {
		out, _ := os.ReadFile(log.Name())
		tb.Fatalf("runc run: %v: %s", err, out)
	}
	return rc
}

// defaultSeccomp is the filter podd's RuntimeDefault gives a container
// with process p's bounding capabilities: moby's default profile without
// the x32 ABI (runtime/spec), as a JSON value.
func defaultSeccomp(tb testing.TB, p map[string]any) any {
	tb.Helper()
	var bounding []string
	if caps, ok := p["capabilities"].(map[string]any); ok {
		for _, c := range caps["bounding"].([]any) {
			bounding = append(bounding, c.(string))
		}
	}
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: bounding}}}
	filter, err := seccomp.GetDefaultProfile(rs)
	if err != nil {
		tb.Fatal(err)
	}
	filter.Architectures = slices.DeleteFunc(filter.Architectures, func(a specs.Arch) bool { return a == specs.ArchX32 })
	b, err := json.Marshal(filter)
	if err != nil {
		tb.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

// execTrue runs `runc exec` of `true` and returns the CPU it took: runc and
// every process it waited for (its init stages and `true`).
func (rc *runcContainer) execTrue(tb testing.TB) time.Duration {
	tb.Helper()
	cmd := exec.Command(rc.runc, "--root", rc.root, "exec", rc.id, "true")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("runc exec: %v: %s", err, out)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// editJSON rewrites a JSON object file through edit.
func editJSON(path string, edit func(map[string]any)) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	edit(c)
	b, err = json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
