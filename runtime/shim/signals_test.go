package shim_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// sigIgnored parses the SigIgn line of a /proc/<pid>/status and reports
// whether signal sig is ignored.
func sigIgnored(t *testing.T, status string, sig uint) bool {
	t.Helper()
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return mask&(1<<(sig-1)) != 0
		}
	}
	t.Fatalf("no SigIgn in %q", status)
	return false
}

// A container's processes, its main process and those exec'd into it,
// start with SIGHUP, SIGINT and SIGPIPE at their default disposition, as
// under runc: what the shim itself ignores is not theirs (an ignored
// signal stays ignored across fork and exec). A shell's SIGINT from
// `kill -INT` or a terminal's Ctrl-C, a pipe's reader gone, would
// otherwise be lost on programs that rely on the default.
func TestContainerProcessesDoNotInheritTheShimsIgnoredSignals(t *testing.T) {
	p := startPod(t)
	cfg := p.config("c", p.execRootfs(), "sh", "-c", "cat /proc/self/status; sleep 1000")
	p.create(cfg)
	var status string
	testutil.WaitFor(t, 10*time.Second, "the main process's status in its log", func() (bool, error) {
		var lines []string
		for _, l := range p.logLines(cfg) {
			if i := strings.Index(l, " stdout F "); i >= 0 {
				lines = append(lines, l[i+len(" stdout F "):])
			}
		}
		status = strings.Join(lines, "\n")
		return strings.Contains(status, "SigIgn:"), nil
	})
	r := p.exec(&shimv1.ExecProcess{Container: "c", Args: []string{"cat", "/proc/self/status"}})
	for _, sig := range []struct {
		name string
		n    uint
	}{{"SIGHUP", 1}, {"SIGINT", 2}, {"SIGPIPE", 13}} {
		if sigIgnored(t, status, sig.n) {
			t.Errorf("the container's main process starts with %s ignored", sig.name)
		}
		if sigIgnored(t, r.stdout, sig.n) {
			t.Errorf("a process exec'd into the container starts with %s ignored", sig.name)
		}
	}
}
