package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/network/cni"
	"github.com/podd-dev/podd/network/proxier"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/test/image"
	"github.com/podd-dev/podd/test/testutil"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error

	imgOnce sync.Once
	imgTar  string
	imgErr  error

	envSeq atomic.Int32
)

// binaries returns the directory with podd, podctl, podd-shim, podd-pause:
// PODD_BIN_DIR (make test sets it), else a fresh build.
func binaries(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if d := os.Getenv("PODD_BIN_DIR"); d != "" {
			binDir = d
			return
		}
		dir, err := os.MkdirTemp("", "podd-bin")
		if err != nil {
			binErr = err
			return
		}
		var cmds []*exec.Cmd
		for _, b := range []struct{ name, pkg, cgo, tags string }{
			{"podd", "./cmd/podd", "1", ""}, {"podctl", "./cmd/podctl", "0", "grpcnotrace"},
			{"podd-pause", "./cmd/podd-pause", "0", ""},
		} {
			cmd := exec.Command("go", "build", "-tags", b.tags, "-o", filepath.Join(dir, b.name), b.pkg)
			cmd.Dir = "../.."
			cmd.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo)
			cmds = append(cmds, cmd)
		}
		shimBuild, err := testutil.ShimBuild(dir)
		if err != nil {
			binErr = err
			return
		}
		for _, cmd := range append(cmds, shimBuild) {
			if out, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("%s: %v\n%s", cmd, err, out)
				return
			}
		}
		binDir = dir
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

// binDirBesideShim fills dir, a bin dir whose podd-shim a test supplies,
// with the other binaries the daemon looks for there, this build's
// (symlinks).
func binDirBesideShim(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"podd-pause", "podd-create"} {
		if err := os.Symlink(filepath.Join(binaries(t), name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// busyboxTar returns a docker-archive of busybox:latest built from the host's
// busybox-static.
func busyboxTar(t testing.TB) string {
	t.Helper()
	imgOnce.Do(func() {
		dir, err := os.MkdirTemp("", "podd-img")
		if err != nil {
			imgErr = err
			return
		}
		imgTar = filepath.Join(dir, "busybox.tar")
		imgErr = image.BuildBusybox(imgTar, "busybox:latest")
	})
	if imgErr != nil {
		t.Fatal(imgErr)
	}
	return imgTar
}

// env is one running podd with its own roots, socket and CNI bridge.
type env struct {
	t       testing.TB
	bin     string
	dir     string
	socket  string
	root    string
	runRoot string
	// runTmpfs: runRoot is a tmpfs of the env's, as /run is on a host
	// (benchmarks: newEnvBin).
	runTmpfs bool
	bridge   string
	subnet   string
	// serviceCIDR is the daemon's own service CIDR (daemons refuse
	// overlapping ones): picked like the subnet, so that two envs share
	// it only when they share the subnet too.
	serviceCIDR string
	// cgroupParent is this daemon's own cgroup parent, so leaks are countable.
	cgroupParent string
	// network is the CNI network name (default: the bridge name) and
	// ipamDir host-local's data dir (default: <dir>/ipam).
	network string
	ipamDir string
	// ipMasq turns on the bridge plugin's masquerade chains.
	ipMasq bool
	// defaultRoute gives pods a default route through the bridge (cluster
	// IPs are reached through it).
	defaultRoute bool
	// sharedNetwork and sharedCgroup mark an env whose bridge (and NAT
	// chains) or cgroup parent belong to another env: its cleanup leaves
	// those alone, and only those.
	sharedNetwork, sharedCgroup bool
	cmd                         *exec.Cmd
	logBuf                      *testutil.SyncBuffer
	client                      poddv1.PodServiceClient
	conn                        *grpc.ClientConn
	// args are the daemon's flags, reused by restarts.
	args []string
	// extraEnv is added to the daemon's environment.
	extraEnv []string
}

// newEnv starts a daemon and imports busybox:latest into it. Everything it
// made is removed in Cleanup, even when the test fails.
func newEnv(t *testing.T, extraFlags ...string) *env {
	t.Helper()
	return newEnvWith(t, nil, extraFlags...)
}

// newEnvWith is newEnv with extra environment variables for the daemon.
func newEnvWith(t testing.TB, extraEnv []string, extraFlags ...string) *env {
	t.Helper()
	return newEnvBin(t, "", extraEnv, extraFlags...)
}

// newEnvBin is newEnvWith with the binaries of dir bin ("": the tests').
func newEnvBin(t testing.TB, bin string, extraEnv []string, extraFlags ...string) *env {
	t.Helper()
	e := prepareEnv(t, extraEnv)
	if bin != "" {
		e.bin = bin
	}
	e.writeConflist()
	t.Cleanup(e.cleanup)
	if _, bench := t.(*testing.B); bench {
		// Benchmarks run podd as a host runs it: its run root (netns
		// pins, shim and libcontainer state, pod files) on a tmpfs, as
		// /run/podd is (DESIGN.md). The floor's runc keeps its state
		// there too, as /run/runc is.
		if err := os.MkdirAll(e.runRoot, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", e.runRoot, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=0755"); err != nil {
			t.Fatalf("mount a tmpfs on the run root: %v", err)
		}
		e.runTmpfs = true
	}
	args := append([]string{
		"--root", e.root, "--run-root", e.runRoot, "--socket", e.socket,
		"--cni-conf-dir", e.confDir(), "--manifests", "", "--backoff-base", "1s", "--backoff-max", "8s",
		"--cgroup-parent", e.cgroupParent, "--service-cidr", e.serviceCIDR,
	}, extraFlags...)
	e.start(args)
	e.importBusybox()
	return e
}

// prepareEnv makes an env's directories and names; nothing runs yet and no
// cleanup is registered.
func prepareEnv(t testing.TB, extraEnv []string) *env {
	t.Helper()
	testutil.RequireRoot(t)
	bin := binaries(t)
	n := envSeq.Add(1)
	dir, err := os.MkdirTemp("/tmp", "pde")
	if err != nil {
		t.Fatal(err)
	}
	// Searchable, as a host's /var/lib is: the root of a sandbox's own
	// user namespace reaches the daemon's dirs through it.
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	e := &env{
		t: t, bin: bin, dir: dir,
		socket:      filepath.Join(dir, "podd.sock"),
		root:        filepath.Join(dir, "root"),
		runRoot:     filepath.Join(dir, "run"),
		bridge:      fmt.Sprintf("pde%d%d", os.Getpid()%10000, n),
		subnet:      fmt.Sprintf("10.%d.%d.0/24", 200+os.Getpid()%50, n%250),
		serviceCIDR: fmt.Sprintf("10.%d.%d.0/24", 150+os.Getpid()%50, n%250),
		extraEnv:    extraEnv,
	}
	e.cgroupParent = "/" + e.bridge
	if err := os.MkdirAll(e.confDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) confDir() string { return filepath.Join(e.dir, "cni") }

// importBusybox imports busybox:latest into the running daemon.
func (e *env) importBusybox() {
	e.t.Helper()
	out := e.podctl("image", "import", busyboxTar(e.t), "--name", "busybox:latest")
	if !strings.Contains(out, "busybox") {
		e.t.Fatalf("image import printed %q", out)
	}
}

func (e *env) conflist() string {
	routes := ""
	if e.defaultRoute {
		routes = `, "routes": [{"dst": "0.0.0.0/0"}]`
	}
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "%[1]s",
  "plugins": [
    {"type": "bridge", "bridge": "%[1]s", "isGateway": true, "ipMasq": %[4]t, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "%[2]s"}]], "dataDir": "%[3]s"%[5]s}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}`, e.bridge, e.subnet, e.ipamDataDir(), e.ipMasq, routes)
}

// writeConflist writes the env's network into its conf dir; the daemon
// reads it at its next sandbox.
func (e *env) writeConflist() {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.confDir(), "10-test.conflist"), []byte(e.conflist()), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) networkName() string {
	if e.network != "" {
		return e.network
	}
	return e.bridge
}

func (e *env) ipamDataDir() string {
	if e.ipamDir != "" {
		return e.ipamDir
	}
	return filepath.Join(e.dir, "ipam")
}

// leaseDir is where host-local keeps this env's leases.
func (e *env) leaseDir() string { return filepath.Join(e.ipamDataDir(), e.networkName()) }

func (e *env) start(args []string) {
	e.t.Helper()
	e.args = args
	if e.logBuf == nil {
		e.logBuf = &testutil.SyncBuffer{}
	}
	e.cmd = exec.Command(filepath.Join(e.bin, "podd"), args...)
	e.cmd.Env = append(os.Environ(), e.extraEnv...)
	e.cmd.Stdout = e.logBuf
	e.cmd.Stderr = e.logBuf
	// A killed daemon's socket can answer a dial for a while: its
	// children not yet exec'd hold copies of its listener. Only a socket
	// file the new daemon put in place proves that it listens.
	old := socketFile(e.socket)
	if err := e.cmd.Start(); err != nil {
		// Nothing runs: cleanup has no daemon to stop (it dereferenced
		// the missing process, and the panic took down every test of
		// the run without their cleanups).
		e.cmd = nil
		e.t.Fatal(err)
	}
	testutil.WaitFor(e.t, 15*time.Second, "podd socket", func() (bool, error) {
		if old != (fileID{}) && socketFile(e.socket) == old {
			return false, errors.New("the socket file is still the previous daemon's")
		}
		c, err := net.Dial("unix", e.socket)
		if err != nil {
			return false, err
		}
		c.Close()
		return true, nil
	})
	e.connect()
}

// fileID tells files apart: a new file at a path has another inode or,
// with the inode reused, another change time.
type fileID struct {
	dev, ino uint64
	ctime    syscall.Timespec
}

// socketFile is the identity of the file at path; zero when there is none.
func socketFile(path string) fileID {
	var st syscall.Stat_t
	if syscall.Lstat(path, &st) != nil {
		return fileID{}
	}
	return fileID{dev: st.Dev, ino: st.Ino, ctime: st.Ctim}
}

// connect opens the API client of the running daemon.
func (e *env) connect() {
	e.t.Helper()
	conn, err := grpc.NewClient("unix://"+e.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		e.t.Fatal(err)
	}
	e.conn = conn
	e.client = poddv1.NewPodServiceClient(conn)
}

// killDaemon kills podd with SIGKILL (a crash) and waits for it.
func (e *env) killDaemon() {
	e.t.Helper()
	if e.conn != nil {
		e.conn.Close()
	}
	e.cmd.Process.Kill()
	e.cmd.Wait()
	e.cmd = nil
}

// restartDaemon starts podd again with the same flags.
func (e *env) restartDaemon() {
	e.t.Helper()
	e.start(e.args)
}

// stopDaemon sends SIGTERM to podd and waits for it (killed after 20 s).
func (e *env) stopDaemon() {
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	e.terminate(20 * time.Second)
}

// terminate sends SIGTERM to podd and waits until it exits, or kills it
// after limit; it returns how long the wait took and whether it killed.
func (e *env) terminate(limit time.Duration) (took time.Duration, killed bool) {
	if e.conn != nil {
		e.conn.Close()
	}
	start := time.Now()
	e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		e.cmd.Process.Kill()
		<-done
		killed = true
	}
	e.cmd = nil
	return time.Since(start), killed
}

func (e *env) cleanup() {
	if e.cmd != nil && e.client == nil {
		// The daemon never served (start failed the test).
		e.cmd.Process.Kill()
		e.cmd.Wait()
		e.cmd = nil
	}
	if e.t.Failed() {
		e.saveShimLogs()
	}
	if e.cmd != nil {
		// Deleting many pods takes minutes on a loaded host: the budget is
		// scaled like every other wait.
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Scaled(60*time.Second))
		// A workload left by a failed test would create its pods again
		// while they are deleted: it goes first.
		deleteObjects(ctx, e.client, "cronjobs", "jobs", "deployments", "daemonsets")
		// The list is paged: delete what a page shows until none is left.
		for range 100 {
			if e.client == nil {
				break // the daemon never answered
			}
			resp, err := e.client.ListPods(ctx, &poddv1.ListPodsRequest{})
			if err != nil || len(resp.Pods) == 0 {
				break
			}
			for _, p := range resp.Pods {
				var pod corev1.Pod
				if json.Unmarshal(p.Json, &pod) == nil {
					zero := int64(0)
					e.client.DeletePod(ctx, &poddv1.DeletePodRequest{Namespace: pod.Namespace, Name: pod.Name, GracePeriodSeconds: &zero, Wait: true, Force: true})
				}
			}
		}
		deleteObjects(ctx, e.client, "services")
		cancel()
		e.stopDaemon()
		// Every test ends with a leak check: deleted pods leave nothing.
		if !e.t.Failed() {
			if c := e.census(e.t); !c.empty() {
				e.t.Errorf("left on the host after deleting every pod: %+v", c)
			}
		}
	}
	if e.t.Failed() && e.logBuf != nil {
		e.t.Logf("podd log:\n%s", tail(e.logBuf.String(), 60))
		if dir := os.Getenv("PODD_E2E_LOG_DIR"); dir != "" {
			// The whole log of a failed test, for what the tail leaves out.
			path := filepath.Join(dir, strings.NewReplacer("/", "_").Replace(e.t.Name())+".podd.log")
			if err := os.WriteFile(path, []byte(e.logBuf.String()), 0o644); err != nil {
				e.t.Logf("save the podd log: %v", err)
			} else {
				e.t.Logf("the whole podd log: %s", path)
			}
		}
	}
	forceClean(e)
}

// saveShimLogs copies every shim's log of a failed test into
// PODD_E2E_LOG_DIR before its pods are deleted (a shim's log goes with its
// pod's run directory).
func (e *env) saveShimLogs() {
	dir := os.Getenv("PODD_E2E_LOG_DIR")
	if dir == "" || e.runRoot == "" {
		return
	}
	logs, _ := filepath.Glob(filepath.Join(e.runRoot, "pods", "*", shimdir.LogFileName))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		uid := filepath.Base(filepath.Dir(l))
		path := filepath.Join(dir, strings.NewReplacer("/", "_").Replace(e.t.Name())+".shim-"+uid+".log")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			e.t.Logf("save a shim log: %v", err)
			return
		}
	}
	if len(logs) > 0 {
		e.t.Logf("%d shim logs saved in %s", len(logs), dir)
	}
}

// forceClean removes whatever a failed test may have left: shims, mounts
// under the roots, the bridge, the cgroups, the directories.
func forceClean(e *env) {
	exec.Command("pkill", "-9", "-f", "podd-shim --pod-uid .* --state-dir "+e.runRoot).Run()
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		var mps []string
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && strings.HasPrefix(f[4], e.dir+"/") {
				mps = append(mps, f[4])
			}
		}
		for i := len(mps) - 1; i >= 0; i-- {
			syscall.Unmount(mps[i], syscall.MNT_DETACH)
		}
	}
	// The daemon's Service rules outlive it by design; a test's go with it.
	proxier.Cleanup(context.Background(), e.rulesTag())
	if !e.sharedNetwork {
		removeNatChains(e.networkName())
		cni.RemoveMasquerade(e.networkName())
		exec.Command("ip", "link", "del", e.bridge).Run()
	}
	if !e.sharedCgroup {
		for _, d := range cgroupDirs(e.cgroupParent) {
			removeCgroupTree(d)
		}
	}
	os.RemoveAll(e.dir)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// podctlErr runs podctl against this daemon and returns its output and error.
func (e *env) podctlErr(args ...string) (string, error) {
	return e.podctlIn("", args...)
}

func (e *env) podctlIn(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scaled(90*time.Second))
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "podctl"), append([]string{"--socket", e.socket}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// podctl runs podctl and fails the test on a non-zero exit.
func (e *env) podctl(args ...string) string {
	e.t.Helper()
	out, err := e.podctlErr(args...)
	if err != nil {
		e.t.Fatalf("podctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// apply applies a manifest through podctl apply -f -.
func (e *env) apply(manifest string) string {
	e.t.Helper()
	out, err := e.podctlIn(manifest, "apply", "-f", "-")
	if err != nil {
		e.t.Fatalf("podctl apply: %v\n%s", err, out)
	}
	return out
}

// pod fetches a pod through the API.
func (e *env) pod(name string) (*corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scaled(10*time.Second))
	defer cancel()
	p, err := e.client.GetPod(ctx, &poddv1.GetPodRequest{Namespace: "default", Name: name})
	if err != nil {
		return nil, err
	}
	pod := &corev1.Pod{}
	return pod, json.Unmarshal(p.Json, pod)
}

// waitForPod polls until cond holds for the pod, and returns it.
func (e *env) waitForPod(name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	e.t.Helper()
	var last *corev1.Pod
	testutil.WaitFor(e.t, timeout, fmt.Sprintf("pod %s: %s", name, what), func() (bool, error) {
		p, err := e.pod(name)
		if err != nil {
			return false, err
		}
		last = p
		if cond(p) {
			return true, nil
		}
		return false, fmt.Errorf("phase %s, containers %s", p.Status.Phase, describeStates(p))
	})
	return last
}

func (e *env) waitForPhase(name string, phase corev1.PodPhase, timeout time.Duration) *corev1.Pod {
	e.t.Helper()
	return e.waitForPod(name, timeout, "phase "+string(phase), func(p *corev1.Pod) bool { return p.Status.Phase == phase })
}

// waitRunning waits until every app container of the pod is running.
func (e *env) waitRunning(name string, timeout time.Duration) *corev1.Pod {
	e.t.Helper()
	return e.waitForPod(name, timeout, "all containers running", func(p *corev1.Pod) bool {
		if p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
			return false
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Running == nil {
				return false
			}
		}
		return true
	})
}

// waitGone waits until the pod is no longer known.
func (e *env) waitGone(name string, timeout time.Duration) {
	e.t.Helper()
	testutil.WaitFor(e.t, timeout, "pod "+name+" gone", func() (bool, error) {
		_, err := e.pod(name)
		return err != nil && strings.Contains(err.Error(), "not found"), err
	})
}

func describeStates(p *corev1.Pod) string {
	var b strings.Builder
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			switch {
			case cs.State.Running != nil:
				fmt.Fprintf(&b, "%s=running ", cs.Name)
			case cs.State.Terminated != nil:
				fmt.Fprintf(&b, "%s=terminated(%d,%s,%s) ", cs.Name, cs.State.Terminated.ExitCode, cs.State.Terminated.Reason, cs.State.Terminated.Message)
			case cs.State.Waiting != nil:
				fmt.Fprintf(&b, "%s=waiting(%s: %s) ", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)
			}
		}
	}
	return b.String()
}

// containerStatus returns the named app container's status.
func containerStatus(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// waitLog waits until the daemon's log matches re and returns the match.
func (e *env) waitLog(re *regexp.Regexp, timeout time.Duration) []string {
	e.t.Helper()
	var m []string
	testutil.WaitFor(e.t, timeout, "daemon log line "+re.String(), func() (bool, error) {
		m = re.FindStringSubmatch(e.logBuf.String())
		return m != nil, nil
	})
	return m
}

// deleteObjects deletes every object of the resources, in order: Services
// (their rules go with them) as cleanup deletes every pod, and the
// workloads before the pods they own.
func deleteObjects(ctx context.Context, c poddv1.PodServiceClient, resources ...string) {
	if c == nil {
		return
	}
	for _, res := range resources {
		resp, err := c.ListObjects(ctx, &poddv1.ListObjectsRequest{Resource: res})
		if err != nil {
			continue
		}
		for _, o := range resp.Objects {
			var s struct {
				Metadata struct{ Namespace, Name string } `json:"metadata"`
			}
			if json.Unmarshal(o.Json, &s) == nil {
				c.DeleteObject(ctx, &poddv1.DeleteObjectRequest{Resource: res, Namespace: s.Metadata.Namespace, Name: s.Metadata.Name})
			}
		}
	}
}
