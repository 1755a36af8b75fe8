package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

// A daemon keeps one spare podd-shim ahead of the next pod (issue 13): a
// pod's shim is that process, shown with the command line of an exec'd
// shim, and the next spare takes its place. The spare is the daemon's:
// it dies with a daemon killed -9 (the pod's shim runs on), and a daemon
// that stops leaves none.
func TestSpareShimIsTheNextPodsAndDiesWithTheDaemon(t *testing.T) {
	e := newEnv(t)
	spare := e.waitSpare(0)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: s}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: t
    image: busybox:latest
    command: ["sleep", "3600"]
`)
	pod := e.waitRunning("s", 60*time.Second)
	b, err := os.ReadFile(filepath.Join(e.runRoot, "pods", string(pod.UID), "shim.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != strconv.Itoa(spare) {
		t.Errorf("the pod's shim is pid %s, want the daemon's spare %d", got, spare)
	}
	if shims := e.census(t).Shims; len(shims) != 1 || shims[0] != strconv.Itoa(spare) {
		t.Errorf("shims of this run root by command line: %v, want the bound spare %d", shims, spare)
	}
	next := e.waitSpare(spare)

	e.killDaemon()
	testutil.WaitFor(t, 10*time.Second, "the killed daemon's spare to exit", func() (bool, error) {
		return !processRuns(next), nil
	})
	e.restartDaemon()
	e.waitRunning("s", 30*time.Second)
	if !processRuns(spare) {
		t.Errorf("the pod's shim %d (a bound spare) died with the daemon", spare)
	}
	last := e.waitSpare(0)
	e.stopDaemon()
	if processRuns(last) {
		t.Errorf("the stopped daemon left its spare %d running", last)
	}
	e.restartDaemon()
}

// waitSpare waits for the daemon's spare podd-shim, other than not, and
// returns its pid.
func (e *env) waitSpare(not int) int {
	e.t.Helper()
	daemon := e.cmd.Process.Pid
	var spare int
	testutil.WaitFor(e.t, 15*time.Second, "the daemon's spare shim", func() (bool, error) {
		spare = 0
		procs, _ := os.ReadDir("/proc")
		for _, p := range procs {
			pid, err := strconv.Atoi(p.Name())
			if err != nil || pid == not {
				continue
			}
			cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
			if err != nil || !bytes.HasPrefix(cmdline, []byte(filepath.Join(e.bin, "podd-shim")+"\x00--spare\x00")) {
				continue
			}
			if stat, err := os.ReadFile(filepath.Join("/proc", p.Name(), "stat")); err == nil && parentOf(stat) == daemon {
				if spare != 0 {
					return false, fmt.Errorf("two spares: %d and %d", spare, pid)
				}
				spare = pid
			}
		}
		return spare != 0, nil
	})
	return spare
}

// parentOf is the parent pid in a /proc/<pid>/stat line.
func parentOf(stat []byte) int {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// processRuns reports whether pid runs (a zombie does not).
func processRuns(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && len(stat) > i+2 && stat[i+2] != 'Z' && stat[i+2] != 'X'
}
