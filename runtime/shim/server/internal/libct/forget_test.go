package libct

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer/seccomp"
	"golang.org/x/sys/unix"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// A started container keeps nothing only its creation needed: not its
// seccomp profile (the default one is
// tens of KiB, parsed and compiled). An exec still runs under the
// container's filter. Without libseccomp (a build without the seccomp
// tag) the container runs without one.
func TestStartedContainerForgetsItsCreation(t *testing.T) {
	testutil.RequireRoot(t)
	rt, cfg := sleeper(t, "forget", "grep")
	if seccomp.Enabled {
		cfg.Seccomp = []byte(`{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
			"syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"}]}`)
	}
	c, err := rt.Create(cfg, func(id, _ string) (string, error) { return "", fmt.Errorf("no container %q", id) })
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Start(Stdio{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Signal(unix.SIGKILL, true)
		_, _ = p.Wait()
		if err := c.Destroy(); err != nil {
			t.Error(err)
		}
	})

	for what, kept := range map[string]bool{
		"its compiled seccomp profile": c.config.Seccomp != nil,
		"its seccomp profile":          c.spec.Linux.Seccomp != nil,
		"its mounts":                   c.config.Mounts != nil || c.spec.Mounts != nil,
		"its devices":                  c.config.Devices != nil || c.spec.Linux.Devices != nil,
	} {
		if kept {
			t.Errorf("the started container keeps %s", what)
		}
	}

	own, err := ownSeccompFilters()
	if err != nil {
		t.Fatal(err)
	}
	want := own
	if seccomp.Enabled {
		want++
	}
	out := execOutput(t, c, "grep", "Seccomp_filters:", "/proc/self/status")
	if got := strings.TrimSpace(out); got != fmt.Sprintf("Seccomp_filters:\t%d", want) {
		t.Errorf("an exec runs under %q, want %d filters", got, want)
	}
}

// An exec of a started container, which has dropped its seccomp profile,
// is refused for a profile it cannot apply with the error it had when the
// container kept it, at the exec and not before.
func TestExecRefusesAForgottenProfileAsBefore(t *testing.T) {
	cfg := baseConfig()
	cfg.Seccomp = []byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}`)
	c, err := (&Runtime{root: t.TempDir()}).Create(cfg, testInputs.nsPath)
	if err != nil {
		t.Fatal(err)
	}
	_, cause := seccompFlags(c.config.Seccomp)
	if cause == nil {
		t.Fatal("podd's exec applies a notifying profile: this test wants one it cannot")
	}
	c.forgetCreation()
	_, err = c.Exec(ProcessSpec{Args: []string{"true"}})
	if want := fmt.Sprintf("exec in container %q: %v", cfg.GetId(), cause); err == nil || err.Error() != want {
		t.Errorf("exec: %v, want %s", err, want)
	}
}

// sleeper is a runtime, as a shim's (the test process its child
// subreaper: an init is reparented to the shim once its create child
// exits), and the config of container id running "sleep 1000" in its own
// PID, IPC and UTS namespaces, with busybox's applets sleep and those
// given.
func sleeper(t *testing.T, id string, applets ...string) (*Runtime, *shimv1.ContainerConfig) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	rt, err := NewRuntime(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return rt, &shimv1.ContainerConfig{
		Id: id, Rootfs: busyboxRootfs(t, append([]string{"sleep"}, applets...)...), Args: []string{"sleep", "1000"},
		Env: []string{"PATH=/bin"}, CgroupPath: fmt.Sprintf("/libcttest%d", rand.Uint32()),
		Namespaces: []*shimv1.Namespace{{Type: "pid"}, {Type: "ipc"}, {Type: "uts"}},
	}
}

// execOutput runs args in c and returns its stdout; it must exit 0.
func execOutput(t *testing.T, c *Container, args ...string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := c.Exec(ProcessSpec{Args: args, Stdio: Stdio{Stdout: w, Stderr: w}})
	w.Close()
	if err != nil {
		t.Fatalf("exec %q: %v", args, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := p.Wait()
	if err != nil || ex.Code != 0 {
		t.Fatalf("exec %q: %+v, %v (output %q)", args, ex, err, b)
	}
	return string(b)
}

// busyboxRootfs is a root filesystem of the host's (static) busybox with
// applets as commands.
func busyboxRootfs(t *testing.T, applets ...string) string {
	t.Helper()
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
