package crilog

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var fixedTime = time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC)

func newTestWriter(dst io.Writer) *Writer {
	w := NewWriter(dst)
	w.now = func() time.Time { return fixedTime }
	return w
}

// fileWith is a regular file holding in, open for reading.
func fileWith(t testing.TB, in []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, in, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// pipeWith is the read end of a pipe that a goroutine writes in into, in
// pieces of the given sizes (the rest at once when they run out), and then
// closes. The write error, if any, comes on the channel.
func pipeWith(t testing.TB, in []byte, pieces ...int) (*os.File, <-chan error) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close() })
	werr := make(chan error, 1)
	go func() {
		defer pw.Close()
		for rest := in; len(rest) > 0; {
			n := len(rest)
			if len(pieces) > 0 {
				n, pieces = min(n, pieces[0]), pieces[1:]
			}
			if _, err := pw.Write(rest[:n]); err != nil {
				werr <- err
				return
			}
			rest = rest[n:]
		}
		werr <- nil
	}()
	return pr, werr
}

// copyString copies in as a shim copies a container's output: with
// CopyTee from a file.
func copyString(t testing.TB, w *Writer, stream Stream, in string) {
	t.Helper()
	if err := w.CopyTee(stream, fileWith(t, []byte(in)), nil); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTeeWritesCRIRecords(t *testing.T) {
	ts := fixedTime.Format(time.RFC3339Nano)
	long := strings.Repeat("x", MaxLineSize)
	tests := []struct {
		name   string
		stream Stream
		in     string
		want   []string
	}{
		{"one line", Stdout, "hello\n", []string{ts + " stdout F hello"}},
		{"two lines on stderr", Stderr, "a\nb\n", []string{ts + " stderr F a", ts + " stderr F b"}},
		{"empty line", Stdout, "\n", []string{ts + " stdout F "}},
		{"trailing fragment is partial", Stdout, "a\nrest", []string{ts + " stdout F a", ts + " stdout P rest"}},
		{"no input", Stdout, "", nil},
		{"long line split", Stdout, long + "yz\n", []string{ts + " stdout P " + long, ts + " stdout F yz"}},
		{"line of exactly max size", Stdout, long + "\n", []string{ts + " stdout P " + long, ts + " stdout F "}},
		{"line one short of max size", Stdout, long[1:] + "\n", []string{ts + " stdout F " + long[1:]}},
	}
	sources := []struct {
		name string
		open func(t *testing.T, in string) *os.File
	}{
		{"from a file", func(t *testing.T, in string) *os.File { return fileWith(t, []byte(in)) }},
		{"from a pipe", func(t *testing.T, in string) *os.File { r, _ := pipeWith(t, []byte(in), 1, 2, 3); return r }},
	}
	for _, src := range sources {
		for _, tt := range tests {
			t.Run(src.name+"/"+tt.name, func(t *testing.T) {
				var sb strings.Builder
				if err := newTestWriter(&sb).CopyTee(tt.stream, src.open(t, tt.in), nil); err != nil {
					t.Fatal(err)
				}
				got := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
				if sb.Len() == 0 {
					got = nil
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Fatalf("records:\n got %q\nwant %q", got, tt.want)
				}
			})
		}
	}
}

type failingWriter struct{ writes int }

func (f *failingWriter) Write(p []byte) (int, error) {
	f.writes++
	return 0, errors.New("disk full")
}

// More than a pipe holds: the container would block if the copy stopped.
func TestCopyTeeKeepsDrainingAfterWriteError(t *testing.T) {
	const lines = 100000
	fw := &failingWriter{}
	w := newTestWriter(fw)
	src, werr := pipeWith(t, []byte(strings.Repeat("line\n", lines)))
	if err := w.CopyTee(Stdout, src, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("the container's write: %v", err)
	}
	if w.Err() == nil || fw.writes != lines {
		t.Fatalf("Err() = %v, writes = %d; want the error and %d attempts", w.Err(), fw.writes, lines)
	}
}

// A read error ends the copy and says what it read.
func TestCopyTeeReturnsReadError(t *testing.T) {
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	var sb strings.Builder
	err = newTestWriter(&sb).CopyTee(Stdout, dir, nil)
	if pe := (*os.PathError)(nil); !errors.As(err, &pe) || pe.Path != dir.Name() || !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("err = %v, want a read error on %s", err, dir.Name())
	}
	if sb.Len() != 0 {
		t.Fatalf("records %q after nothing was read", sb.String())
	}
}

// The Writer keeps its record buffer between records only while it is
// small: one long line must not pin it.
func TestWriterDropsALongRecordsBuffer(t *testing.T) {
	w := newTestWriter(io.Discard)
	copyString(t, w, Stdout, "short\n")
	if cap(w.buf) == 0 || cap(w.buf) > maxKeptBuffer {
		t.Fatalf("after a short record the buffer holds %d bytes, want it kept", cap(w.buf))
	}
	copyString(t, w, Stdout, strings.Repeat("x", MaxLineSize-1)+"\n")
	if w.buf != nil {
		t.Fatalf("after a long line the buffer holds %d bytes, want none", cap(w.buf))
	}
}
