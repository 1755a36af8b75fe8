package libct

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/internal/procstat"
	"github.com/podd-dev/podd/test/testutil"
)

// A create child (killed by its parent-death signal when the thread that
// forked it ends) outlives the thread of the goroutine that asked for it,
// even when that goroutine locked its thread and returns, ending it, as
// the pause's holder and the seccomp read of a first exec do.
func TestCreateChildOutlivesTheThreadThatAskedForIt(t *testing.T) {
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: unix.SIGKILL}
	started := make(chan error, 1)
	tids := make(chan int, 1)
	var ask func()
	ask = func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if unix.Gettid() == os.Getpid() {
			// The main thread never ends: keep it, ask from another.
			go ask()
			select {}
		}
		tids <- unix.Gettid()
		started <- startOnForkThread(cmd)
	}
	go ask()
	tid := <-tids
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	testutil.WaitFor(t, 10*time.Second, "the asking goroutine's thread to end", func() (bool, error) {
		_, err := os.Stat("/proc/self/task/" + strconv.Itoa(tid))
		return os.IsNotExist(err), nil
	})
	st, err := procstat.Read(cmd.Process.Pid)
	if err != nil || st.Ended() {
		t.Fatalf("create child %d after the asking thread ended: %+v, %v; want it running", cmd.Process.Pid, st, err)
	}
}
