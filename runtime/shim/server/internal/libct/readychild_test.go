package libct

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

// The test binary is its own create child (PrepareCreate starts it from
// /proc/self/exe) and container init (libcontainer re-executes it).
func TestMain(m *testing.M) {
	if IsInit() {
		Init()
	}
	if IsCreateChild() {
		CreateChildMain()
	}
	os.Exit(m.Run())
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

// A ready child's descriptors arrive in order, one per stream its request
// sets; each goes to its stream's place, and a count that does not match
// the request is an error.
func TestPlaceDescriptors(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []int
		set  []bool
		want []int
		err  bool
	}{
		{"stdio", []int{7, 8, 9}, []bool{true, true, true, false}, []int{7, 8, 9, -1}, false},
		{"console only", []int{7}, []bool{false, false, false, true}, []int{-1, -1, -1, 7}, false},
		{"no stdin", []int{7, 8}, []bool{false, true, true, false}, []int{-1, 7, 8, -1}, false},
		{"none", nil, []bool{false, false, false, false}, []int{-1, -1, -1, -1}, false},
		{"too few", []int{7}, []bool{true, true, false, false}, nil, true},
		{"too many", []int{7, 8}, []bool{true, false, false, false}, nil, true},
	} {
		got, err := placeDescriptors(tc.got, tc.set)
		if (err != nil) != tc.err || (!tc.err && !slices.Equal(got, tc.want)) {
			t.Errorf("%s: placeDescriptors(%v, %v) = %v, %v; want %v (error %v)", tc.name, tc.got, tc.set, got, err, tc.want, tc.err)
		}
	}
}
