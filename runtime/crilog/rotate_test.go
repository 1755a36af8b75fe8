package crilog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

func writeLines(t *testing.T, w *Writer, from, to int) {
	t.Helper()
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	copyString(t, w, Stdout, b.String())
}

func readAll(t *testing.T, path string, tail int64) string {
	t.Helper()
	var out bytes.Buffer
	if err := Read(context.Background(), path, ReadOptions{Tail: tail}, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func lines(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// Issue 7.7: a log is bounded by MaxSize × MaxFiles however much is written,
// and reads see the retained files as one log.
func TestRotatingFileBoundsTheLogAndReadsAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	rf, err := OpenRotating(path, Rotation{MaxSize: 1000, MaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(rf)
	writeLines(t, w, 1, 500)
	files, err := logFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("files %v, want 3", files)
	}
	var total int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1000 {
			t.Errorf("%s is %d bytes, more than MaxSize", f, fi.Size())
		}
		total += fi.Size()
	}
	if total > 3000 {
		t.Errorf("log is %d bytes in all, want at most 3000", total)
	}
	all := readAll(t, path, -1)
	if !strings.HasSuffix(all, lines(480, 500)) {
		t.Fatalf("read does not end with the last lines: %q", all[max(0, len(all)-200):])
	}
	first := strings.SplitN(all, "\n", 2)[0]
	var n int
	fmt.Sscanf(first, "line %d", &n)
	if all != lines(n, 500) {
		t.Fatalf("read is not a contiguous run of lines ending at 500")
	}
	// A tail longer than the live file reaches into the rotated ones.
	live, _ := os.ReadFile(path)
	liveLines := bytes.Count(live, []byte("\n"))
	want := liveLines + 5
	if got := readAll(t, path, int64(want)); got != lines(500-want+1, 500) {
		t.Fatalf("tail %d = %q, want lines %d-500", want, got, 500-want+1)
	}
	if got := readAll(t, path, 0); got != "" {
		t.Fatalf("tail 0 = %q", got)
	}
	// Reopening goes on with the numbering and keeps the bound.
	rf.Close()
	rf, err = OpenRotating(path, Rotation{MaxSize: 1000, MaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	writeLines(t, NewWriter(rf), 501, 600)
	rf.Close()
	if files, _ := logFiles(path); len(files) != 3 {
		t.Fatalf("files after reopen %v, want 3", files)
	}
	if all := readAll(t, path, -1); !strings.HasSuffix(all, lines(580, 600)) {
		t.Fatalf("after reopen the log does not end with line 600")
	}
}

func TestOpenRotatingNeedsTwoFiles(t *testing.T) {
	if _, err := OpenRotating(filepath.Join(t.TempDir(), "0.log"), Rotation{MaxSize: 10, MaxFiles: 1}); err == nil {
		t.Fatal("rotation keeping 1 file accepted")
	}
}

// A follower goes on from the rotated file to the new one.
func TestReadFollowsAcrossRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	rf, err := OpenRotating(path, Rotation{MaxSize: 200, MaxFiles: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	w := NewWriter(rf)
	writeLines(t, w, 1, 3)
	out := &syncBuffer{ch: make(chan string, 100)}
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- Read(context.Background(), path, ReadOptions{Tail: -1, Follow: true, Done: done, PollInterval: time.Millisecond}, out)
	}()
	got := ""
	waitFor := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for !strings.HasSuffix(got, want) {
			select {
			case s := <-out.ch:
				got += s
			case <-deadline:
				t.Fatalf("follower printed %q, want it to end with %q", got, want)
			}
		}
	}
	waitFor(lines(3, 3))
	writeLines(t, w, 4, 6) // rotates once: 6 records of ~40 bytes pass 200
	if files, _ := logFiles(path); len(files) < 2 {
		t.Fatalf("no rotation happened: %v", files)
	}
	waitFor(lines(6, 6))
	close(done)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for s := range len(out.ch) {
		_ = s
		got += <-out.ch
	}
	if got != lines(1, 6) {
		t.Fatalf("follower printed %q, want lines 1-6", got)
	}
}

// logFiles lists the files that make up the log at path, oldest first: its
// rotated files, then path itself.
func logFiles(path string) ([]string, error) {
	rot, err := rotatedFiles(path)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rot)+1)
	for _, r := range rot {
		out = append(out, r.path)
	}
	return append(out, path), nil
}

// Reopen after a client moved the log away writes to a new file at the
// path; the moved file keeps what was written before.
func TestRotatingFileReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	f, err := OpenRotating(path, Rotation{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f)
	writeLines(t, w, 1, 2)
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	writeLines(t, w, 3, 4)
	if got := readAll(t, path+".moved", -1); got != lines(1, 2) {
		t.Errorf("moved log = %q", got)
	}
	if got := readAll(t, path, -1); got != lines(3, 4) {
		t.Errorf("reopened log = %q", got)
	}
	f.Close()
	if err := f.Reopen(); err == nil {
		t.Error("Reopen of a closed log succeeded")
	}
}

// A rotation never leaves more than MaxFiles files beside each other, not
// even for a moment: whoever lists the log's files meanwhile (a reader,
// the kubelet's view, TestLogRotationBoundsAFloodAndLogsReadsAcrossFiles)
// sees the bound. The oldest file goes before the live one is renamed.
func TestRotationNeverShowsMoreThanMaxFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	const maxFiles = 3
	rf, err := OpenRotating(path, Rotation{MaxSize: 64, MaxFiles: maxFiles})
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	stop := make(chan struct{})
	seen := make(chan int, 1)
	go func() {
		most := 0
		for {
			select {
			case <-stop:
				seen <- most
				return
			default:
			}
			// One getdents call: os.ReadDir's later calls can show a
			// renamed file under both names.
			if names, err := testutil.NamesAtOnce(dir); err == nil {
				most = max(most, len(names))
			}
		}
	}()
	record := []byte(strings.Repeat("x", 40) + "\n")
	for range 10000 {
		if _, err := rf.Write(record); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if most := <-seen; most > maxFiles {
		t.Fatalf("a listing during rotations found %d files, more than MaxFiles %d", most, maxFiles)
	}
}

// Read in the moment of a rotation, after the live file was renamed and
// before the next was created, reads the log as it was: the newest rotated
// file is then the live one.
func TestReadMidRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	rf, err := OpenRotating(path, Rotation{})
	if err != nil {
		t.Fatal(err)
	}
	writeLines(t, NewWriter(rf), 1, 3)
	rf.Close()
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, path, -1); got != lines(1, 3) {
		t.Errorf("read mid-rotation = %q", got)
	}
}
