package libct

import (
	"os/exec"
	"testing"
	"time"

	"github.com/podd-dev/podd/internal/procstat"
	"github.com/podd-dev/podd/test/testutil"
)

// IfUnreaped runs while the process lives and while it is a zombie (its
// pid still its own), never once Wait has reaped it.
func TestIfUnreapedStopsAtTheReap(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{pid: cmd.Process.Pid}
	testutil.WaitFor(t, 10*time.Second, "true ended, not reaped", func() (bool, error) {
		st, err := procstat.Read(p.pid)
		return err == nil && st.State == 'Z', nil
	})
	var got []int
	if !p.IfUnreaped(func(pid int) { got = append(got, pid) }) || len(got) != 1 || got[0] != p.pid {
		t.Fatalf("IfUnreaped on a zombie ran with %v, want once with %d", got, p.pid)
	}
	if ex, err := p.Wait(); err != nil || ex.Code != 0 {
		t.Fatalf("Wait: %+v, %v", ex, err)
	}
	if p.IfUnreaped(func(pid int) { t.Errorf("ran with %d after the reap", pid) }) {
		t.Error("IfUnreaped reported running after the reap")
	}
}
