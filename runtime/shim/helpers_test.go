package shim_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/test/testutil"
)

// binDir holds podd-shim, podd-create and podd-pause built for this test
// run.
var binDir string

func TestMain(m *testing.M) {
	code := func() int {
		if os.Getenv(testutil.RootEnv) == "1" && os.Geteuid() == 0 {
			dir, err := os.MkdirTemp("/tmp", "psbin")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			if err := buildBinaries(dir); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			binDir = dir
		}
		return m.Run()
	}()
	os.Exit(code)
}

func buildBinaries(dir string) error {
	// The shim is built as the Makefile builds it: with libseccomp.
	cmd, err := testutil.ShimBuild(dir)
	if err != nil {
		return fmt.Errorf("build podd-shim: %w", err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build podd-shim: %v\n%s", err, out)
	}
	// podd-pause is C: the one build command make build runs too.
	if out, err := exec.Command("../../hack/build-pause.sh", filepath.Join(dir, "podd-pause")).CombinedOutput(); err != nil {
		return fmt.Errorf("build podd-pause: %v\n%s", err, out)
	}
	return nil
}

// testPod is one shim with its own short temp dir and pod cgroup.
type testPod struct {
	t        *testing.T
	dir      string
	stateDir string
	cgroup   string
	c        *shim.Client
}

func startPod(t *testing.T) *testPod {
	t.Helper()
	return startPodWith(t, filepath.Join(binDir, "podd-shim"))
}

// startPodWith is startPod with the podd-shim binary shimBinary.
func startPodWith(t *testing.T, shimBinary string) *testPod {
	t.Helper()
	testutil.RequireRoot(t)
	dir, err := os.MkdirTemp("/tmp", "ps")
	if err != nil {
		t.Fatal(err)
	}
	p := &testPod{t: t, dir: dir, stateDir: filepath.Join(dir, "run"), cgroup: fmt.Sprintf("/pstest%d", rand.Uint32())}
	t.Cleanup(func() {
		removeCgroupDirs(p.cgroup)
		os.RemoveAll(dir)
	})
	p.launch(shimBinary)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := p.c.Stop(ctx, true); err != nil {
			t.Errorf("stop shim: %v", err)
			_ = exec.Command("kill", "-9", fmt.Sprint(p.c.Pid())).Run()
		}
		p.c.Close()
		if t.Failed() {
			if b, err := os.ReadFile(shimdir.LogFile(p.stateDir)); err == nil {
				t.Logf("shim log:\n%s", b)
			}
		}
	})
	return p
}

// removeCgroupDirs kills whatever still runs in a test's pod cgroup and
// removes it from every hierarchy, deepest first, in case the shim did not
// (a failed test).
func removeCgroupDirs(cgroup string) {
	top, _ := filepath.Glob("/sys/fs/cgroup/*" + cgroup)
	more, _ := filepath.Glob("/sys/fs/cgroup/*" + cgroup + "/*")
	var dirs []string
	for _, d := range append(more, top...) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, pid := range strings.Fields(string(b)) {
			_ = exec.Command("kill", "-9", pid).Run()
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, d := range dirs {
		for {
			err := os.Remove(d)
			if err == nil || os.IsNotExist(err) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// rootfs makes a busybox root filesystem named name in the pod's dir.
// launch starts shimBinary for the pod's state dir (again, after a shim
// was killed: the new one takes the state dir over) and makes it p.c.
func (p *testPod) launch(shimBinary string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := shim.Launch(ctx, shim.LaunchConfig{
		ShimBinary: shimBinary, PodUID: "uid-" + filepath.Base(p.dir),
		StateDir: p.stateDir, CgroupParent: p.cgroup, LogLevel: "debug",
	})
	if err != nil {
		p.t.Fatal(err)
	}
	p.c = c
}

// reconnect closes the pod's client and connects to its running shim
// again, as a restarted daemon does.
func (p *testPod) reconnect() {
	p.t.Helper()
	if err := p.c.Close(); err != nil {
		p.t.Fatal(err)
	}
	c, err := shim.Connect(context.Background(), p.stateDir)
	if err != nil {
		p.t.Fatal(err)
	}
	p.c = c
}

func (p *testPod) rootfs(name string) string {
	p.t.Helper()
	root := filepath.Join(p.dir, name)
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := copyFile("/bin/busybox", filepath.Join(root, "bin", "busybox")); err != nil {
		p.t.Fatal(err)
	}
	for _, applet := range []string{"sh", "sleep", "echo", "cat", "ls", "ps", "hostname", "wget", "httpd", "true", "tty", "readlink", "test", "tail", "stty"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			p.t.Fatal(err)
		}
	}
	return root
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// config is a container with new namespaces, logging to the pod's logs dir.
func (p *testPod) config(id, rootfs string, args ...string) *shimv1.ContainerConfig {
	return &shimv1.ContainerConfig{
		Id:         id,
		Rootfs:     rootfs,
		Args:       args,
		Env:        []string{"PATH=/bin"},
		CgroupPath: p.cgroup + "/" + id,
		LogPath:    filepath.Join(p.dir, "logs", id+".log"),
		Namespaces: []*shimv1.Namespace{{Type: "pid"}, {Type: "ipc"}, {Type: "uts"}, {Type: "net"}},
		Labels:     map[string]string{"test": p.t.Name()},
	}
}

func (p *testPod) create(cfg *shimv1.ContainerConfig) *shimv1.ContainerState {
	p.t.Helper()
	resp, err := p.c.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: cfg})
	if err != nil {
		p.t.Fatalf("create %s: %v", cfg.GetId(), err)
	}
	if resp.GetState().GetStatus() != shimv1.Status_STATUS_RUNNING || resp.GetState().GetStartedUnixNano() == 0 {
		p.t.Fatalf("create %s returned %v, want running with a start time", cfg.GetId(), resp.GetState())
	}
	return resp.GetState()
}

func (p *testPod) state(id string) *shimv1.ContainerState {
	p.t.Helper()
	resp, err := p.c.State(context.Background(), &shimv1.StateRequest{})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, c := range resp.GetContainers() {
		if c.GetId() == id {
			return c
		}
	}
	return nil
}

func (p *testPod) waitStopped(id string, timeout time.Duration) *shimv1.ContainerState {
	p.t.Helper()
	var st *shimv1.ContainerState
	testutil.WaitFor(p.t, timeout, id+" stopped", func() (bool, error) {
		st = p.state(id)
		return st.GetStatus() == shimv1.Status_STATUS_STOPPED, nil
	})
	return st
}

func (p *testPod) signal(id string, sig int32) {
	p.t.Helper()
	if _, err := p.c.Signal(context.Background(), &shimv1.SignalRequest{Id: id, Signal: sig}); err != nil {
		p.t.Fatalf("signal %s: %v", id, err)
	}
}

// logLines returns the container's log records.
func (p *testPod) logLines(cfg *shimv1.ContainerConfig) []string {
	p.t.Helper()
	b, err := os.ReadFile(cfg.GetLogPath())
	if err != nil {
		p.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// execResult is what an exec stream returned.
type execResult struct {
	stdout, stderr string
	exit           *shimv1.ExecExit
}

// exec runs proc; each input message is sent in order after the start, then
// stdin is closed when any was sent.
func (p *testPod) exec(proc *shimv1.ExecProcess, input ...*shimv1.ExecRequest) execResult {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := p.c.Exec(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := stream.Send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Start{Start: proc}}); err != nil {
		p.t.Fatal(err)
	}
	for _, m := range input {
		if err := stream.Send(m); err != nil {
			p.t.Fatal(err)
		}
	}
	if len(input) > 0 {
		if err := stream.Send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_CloseStdin{CloseStdin: true}}); err != nil {
			p.t.Fatal(err)
		}
	}
	var r execResult
	for r.exit == nil {
		resp, err := stream.Recv()
		if err != nil {
			p.t.Fatalf("exec %v: %v (stdout %q, stderr %q)", proc.GetArgs(), err, r.stdout, r.stderr)
		}
		r.stdout += string(resp.GetStdout())
		r.stderr += string(resp.GetStderr())
		r.exit = resp.GetExit()
	}
	return r
}

func stdinMsg(s string) *shimv1.ExecRequest {
	return &shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Stdin{Stdin: []byte(s)}}
}

func resizeMsg(w, h uint32) *shimv1.ExecRequest {
	return &shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Resize{Resize: &shimv1.Resize{Width: w, Height: h}}}
}
