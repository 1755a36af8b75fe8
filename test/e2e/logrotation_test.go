package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// logFiles lists a container's log files under the daemon's root and their
// total size.
func (e *env) logFiles(container string) ([]string, int64) {
	// The files as one getdents call lists them (testutil.NamesAtOnce): a
	// glob during a rotation could show a renamed file twice.
	dirs, _ := filepath.Glob(filepath.Join(e.root, "pods", "*", "logs", container))
	var files []string
	var total int64
	for _, dir := range dirs {
		names, err := testutil.NamesAtOnce(dir)
		if err != nil {
			continue // its pod is gone
		}
		for _, name := range names {
			f := filepath.Join(dir, name)
			files = append(files, f)
			if fi, err := os.Stat(f); err == nil {
				total += fi.Size()
			}
		}
	}
	return files, total
}

// newestRotation is the highest rotated-file number among files.
func newestRotation(files []string) int {
	n := 0
	for _, f := range files {
		if i := strings.LastIndex(f, ".log."); i >= 0 {
			if v, err := strconv.Atoi(f[i+len(".log."):]); err == nil && v > n {
				n = v
			}
		}
	}
	return n
}

// Issue 7.7: a container flooding its output cannot grow its log past
// containerLogMaxSize × containerLogMaxFiles, and logs reads across the
// rotated files.
func TestLogRotationBoundsAFloodAndLogsReadsAcrossFiles(t *testing.T) {
	t.Parallel()
	const maxSize, maxFiles = 256 << 10, 3
	e := newEnv(t, "--container-log-max-size", "256Ki", "--container-log-max-files", strconv.Itoa(maxFiles))
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: flood}
spec:
  containers:
  - {name: flood, image: busybox:latest, command: ["yes", "podd-flood-line"]}
---
apiVersion: v1
kind: Pod
metadata: {name: counter}
spec:
  restartPolicy: Never
  containers:
  - {name: counter, image: busybox:latest, command: ["seq", "1", "30000"]}
`)
	e.waitRunning("flood", 60*time.Second)
	// Many rotations: the flood has written several times the cap.
	testutil.WaitFor(t, 120*time.Second, "the flood's log to rotate 10 times", func() (bool, error) {
		files, total := e.logFiles("flood")
		if total > maxFiles*maxSize+4096 {
			t.Fatalf("flood log is %d bytes in %d files, more than %d × %d", total, len(files), maxFiles, maxSize)
		}
		if n := newestRotation(files); n < 10 {
			return false, fmt.Errorf("newest rotation %d, files %v", n, files)
		}
		return true, nil
	})
	files, total := e.logFiles("flood")
	if len(files) > maxFiles || total > maxFiles*maxSize+4096 {
		t.Fatalf("flood log: %d files, %d bytes; want at most %d files of %d bytes", len(files), total, maxFiles, maxSize)
	}
	t.Logf("flood log after %d rotations: %d files, %d bytes", newestRotation(files), len(files), total)
	if out := e.podctl("logs", "flood", "--tail", "3"); out != strings.Repeat("podd-flood-line\n", 3) {
		t.Fatalf("logs --tail 3 = %q", out)
	}

	e.waitForPhase("counter", corev1.PodSucceeded, 60*time.Second)
	out := e.podctl("logs", "counter")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	first, err := strconv.Atoi(lines[0])
	if err != nil {
		t.Fatalf("first line %q", lines[0])
	}
	for i, l := range lines {
		if l != strconv.Itoa(first+i) {
			t.Fatalf("line %d is %q, want %d: the retained files do not read as one log", i, l, first+i)
		}
	}
	cfiles, _ := e.logFiles("counter")
	live, _ := os.ReadFile(cfiles[0])
	for _, f := range cfiles {
		if strings.HasSuffix(f, ".log") {
			live, _ = os.ReadFile(f)
		}
	}
	if lines[len(lines)-1] != "30000" || first == 1 || len(lines) <= strings.Count(string(live), "\n") {
		t.Fatalf("logs gave lines %d–%s from %d files; want the newest lines, more than the live file holds, and the oldest rotated away", first, lines[len(lines)-1], len(cfiles))
	}
	t.Logf("counter: logs read lines %d–30000 across %d files", first, len(cfiles))
}
