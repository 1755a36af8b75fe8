package libct

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/podd-dev/podd/runtime/shim/createchild"
	"github.com/podd-dev/podd/test/testutil"
)

// The create children of these tests run a podd-create built for them (a
// shim finds it beside its own binary).
func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "libctbin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
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
