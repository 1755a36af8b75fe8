package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

// truncate cuts a file to half its size, as a crash mid-write on a
// filesystem without ordered data could.
func truncate(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
}

// Issue 7 item 2: one pod's truncated pod.json must not keep the daemon
// from starting. After kill -9 and a restart, that pod is quarantined (file
// moved aside, error log, event) and what it ran is released; a pod whose
// state.json is truncated starts afresh; the other pod is untouched.
func TestCorruptPodFilesQuarantineOnePod(t *testing.T) {
	e := newEnv(t)
	e.apply(strings.Join([]string{tickerPod("broken"), tickerPod("amnesic"), tickerPod("good")}, "---\n"))
	broken := e.waitRunning("broken", 60*time.Second)
	amnesic := e.waitRunning("amnesic", 60*time.Second)
	e.waitRunning("good", 60*time.Second)
	goodStart := e.pid1Start("good")
	e.killDaemon()
	truncate(t, filepath.Join(e.root, "pods", string(broken.UID), "pod.json"))
	truncate(t, filepath.Join(e.root, "pods", string(amnesic.UID), "state.json"))

	e.restartDaemon()
	e.waitLog(regexp.MustCompile(`Pod unreadable; moved aside and dropped" uid=`+string(broken.UID)), 30*time.Second)
	e.waitLog(regexp.MustCompile(`Pod state unreadable; moved aside, the pod starts afresh" pod=default/amnesic`), 30*time.Second)
	p := e.waitRunning("good", 30*time.Second)
	if got := e.pid1Start("good"); got != goodStart {
		t.Errorf("good: PID 1 replaced (%s → %s)", goodStart, got)
	}
	if rc := containerStatus(p, "t").RestartCount; rc != 0 {
		t.Errorf("good restarted %d times", rc)
	}
	if _, err := e.pod("broken"); err == nil {
		t.Error("the pod with the unreadable pod.json is still served")
	}
	for uid, name := range map[string]string{string(broken.UID): "pod.json", string(amnesic.UID): "state.json"} {
		m, _ := filepath.Glob(filepath.Join(e.root, "quarantine", uid, name+".corrupt-*"))
		if len(m) != 1 {
			t.Errorf("quarantined %s of %s: %v", name, uid, m)
		}
	}
	e.waitRunning("amnesic", 60*time.Second)
	evs := e.podctl("events", "-A")
	for _, reason := range []string{"PodQuarantined", "StateQuarantined"} {
		if !strings.Contains(evs, reason) {
			t.Errorf("no %s event in:\n%s", reason, evs)
		}
	}
	for _, name := range []string{"good", "amnesic"} {
		e.podctl("delete", "pod", name, "--grace-period", "0")
	}
	testutil.WaitFor(t, 30*time.Second, "nothing left of any pod", func() (bool, error) {
		c := e.census(t)
		return c.empty(), fmt.Errorf("census %+v", c)
	})
}
