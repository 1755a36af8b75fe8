package libct

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/shim/createchild"
	"github.com/podd-dev/podd/test/testutil"
)

// The create children of these tests run a podd-create built for them in
// createDir (a shim finds it beside its own binary).
var createDir string

func TestMain(m *testing.M) {
	code := func() int {
		if dir := os.Getenv(fdHelperEnv); dir != "" {
			// The helper process: podd-create is built.
			createBinary = sync.OnceValues(func() (*os.File, error) {
				return os.Open(filepath.Join(dir, createchild.BinaryName))
			})
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "libctbin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		createDir = dir
		cmd, err := testutil.ShimBuild(dir)
		if err == nil {
			var out []byte
			if out, err = cmd.CombinedOutput(); err != nil {
				err = fmt.Errorf("%w\n%s", err, out)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "build podd-create:", err)
			return 1
		}
		createBinary = sync.OnceValues(func() (*os.File, error) {
			return os.Open(filepath.Join(dir, createchild.BinaryName))
		})
		return m.Run()
	}()
	os.Exit(code)
}

// A ready create child nobody uses is killed after readyChildTTL and
// forgotten: it only held memory.
func TestUnusedReadyChildIsKilled(t *testing.T) {
	defer func(ttl time.Duration) { readyChildTTL = ttl }(readyChildTTL)
	readyChildTTL = 300 * time.Millisecond
	r := &Runtime{}
	r.PrepareCreate()
	r.readyMu.Lock()
	rc := r.ready
	r.readyMu.Unlock()
	if rc == nil {
		t.Fatal("PrepareCreate started no create child")
	}
	pid := rc.proc.cmd.Process.Pid
	time.Sleep(100 * time.Millisecond)
	if !alive(pid) {
		t.Fatalf("the ready child ended at once (%s)", rc.proc.errOut.String())
	}
	// A second preparation keeps the one waiting.
	r.PrepareCreate()
	r.readyMu.Lock()
	same := r.ready == rc
	r.readyMu.Unlock()
	if !same {
		t.Fatal("a second PrepareCreate replaced the waiting child")
	}
	testutil.WaitFor(t, 5*time.Second, "the unused ready child to be killed and reaped", func() (bool, error) {
		return !alive(pid), nil
	})
	r.readyMu.Lock()
	left := r.ready
	r.readyMu.Unlock()
	if left != nil {
		t.Error("the runtime still has a ready child after it was killed")
	}
}

// A ready child whose socket closes without a request (its shim dropped
// it) exits 0 having made nothing.
func TestReadyChildExitsWhenItsSocketCloses(t *testing.T) {
	r := &Runtime{}
	r.PrepareCreate()
	rc := r.takeReady()
	if rc == nil {
		t.Fatal("PrepareCreate started no create child")
	}
	rc.sock.Close()
	if err := rc.proc.wait(); err != nil {
		t.Fatalf("the ready child whose socket closed: %v (%s), want exit 0", err, rc.proc.errOut.String())
	}
	if out := rc.proc.out.String(); out != "" {
		t.Errorf("it replied %q, want nothing", out)
	}
}

// alive reports whether process pid exists, reaped or not yet.
func alive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

// The shim's descriptor of podd-create may have any number, one of those
// the create child's stdio takes among them: the child, which execs it
// after Go has rearranged its descriptors for that stdio, still runs
// podd-create (it failed with "fork/exec /proc/self/fd/5: no such file or
// directory" when it named its own descriptor). The test binary holds 3 to
// 6 itself; the start runs in a new process of it, which opens podd-create
// first, as one of them.
func TestCreateChildRunsItsBinaryWhateverItsDescriptor(t *testing.T) {
	testutil.RequireRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCreateChildDescriptorHelper$", "-test.v")
	cmd.Env = append(os.Environ(), fdHelperEnv+"="+createDir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestCreateChildDescriptorHelper") {
		t.Fatalf("the start in a process whose podd-create descriptor the child's stdio takes: %v\n%s", err, out)
	}
}

// fdHelperEnv names podd-create's directory in the helper process of
// TestCreateChildRunsItsBinaryWhateverItsDescriptor.
const fdHelperEnv = "PODD_LIBCT_FD_HELPER"

// TestCreateChildDescriptorHelper is that helper: it runs only in that
// process.
func TestCreateChildDescriptorHelper(t *testing.T) {
	if os.Getenv(fdHelperEnv) == "" {
		t.Skip("the helper process of TestCreateChildRunsItsBinaryWhateverItsDescriptor")
	}
	bin, err := createBinary()
	if err != nil {
		t.Fatal(err)
	}
	fd := int(bin.Fd())
	if fd < createchild.FdStdin || fd > createchild.FdConsole {
		t.Fatalf("podd-create is descriptor %d here, not one the create child's stdio takes", fd)
	}
	rt, cfg := sleeper(t, "fd")
	c, err := rt.Create(cfg, func(id, _ string) (string, error) { return "", fmt.Errorf("no container %q", id) })
	if err != nil {
		t.Fatal(err)
	}
	// All four stdio descriptors given: 3 to 6 are the child's stdio.
	p, err := c.Start(Stdio{Stdin: os.Stdin, Stdout: os.Stderr, Stderr: os.Stderr})
	if err != nil {
		t.Fatalf("start with podd-create as descriptor %d: %v", fd, err)
	}
	_ = c.Signal(unix.SIGKILL, true)
	_, _ = p.Wait()
	if err := c.Destroy(); err != nil {
		t.Error(err)
	}
}
