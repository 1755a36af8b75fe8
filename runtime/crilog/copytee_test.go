package crilog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

// bufioCopy is how the shim cut lines before CopyTee: a bufio.Reader of
// MaxLineSize bytes read up to each newline. CopyTee must write the same
// records whatever sizes its reads have.
func bufioCopy(w *Writer, stream Stream, src io.Reader) error {
	br := bufio.NewReaderSize(src, MaxLineSize)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			w.write(stream, tagFull, line[:len(line)-1])
		case errors.Is(err, bufio.ErrBufferFull):
			w.write(stream, tagPartial, line)
		default:
			if len(line) > 0 {
				w.write(stream, tagPartial, line)
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// bufioRecords are the records bufioCopy cuts in.
func bufioRecords(in []byte) []string {
	var sb testutil.SyncBuffer
	_ = bufioCopy(newTestWriter(&sb), Stdout, bytes.NewReader(in))
	return records(&sb)
}

// randomOutput is lines of 0 to 40 KiB, a third of them around
// MaxLineSize, the last with or without its newline.
func randomOutput(r *rand.Rand) []byte {
	var b bytes.Buffer
	for range r.Intn(12) {
		n := r.Intn(40 * 1024)
		if r.Intn(3) == 0 {
			n = MaxLineSize - 2 + r.Intn(4) // around the cut
		}
		for i := range n {
			b.WriteByte('a' + byte(i%26))
		}
		b.WriteByte('\n')
	}
	if r.Intn(2) == 0 {
		b.WriteString(strings.Repeat("z", r.Intn(20*1024)))
	}
	return b.Bytes()
}

// randomPieces are sizes to cut n bytes into: single bytes, a few, around
// MaxLineSize, or more than a pipe holds.
func randomPieces(r *rand.Rand, n int) []int {
	var out []int
	for n > 0 {
		var p int
		switch r.Intn(4) {
		case 0:
			p = 1 + r.Intn(8)
		case 1:
			p = 1 + r.Intn(4096)
		case 2:
			p = MaxLineSize - 2 + r.Intn(4)
		default:
			p = 1 + r.Intn(70000)
		}
		out = append(out, min(p, n))
		n -= p
	}
	return out
}

// records are the tags and contents of what a test writer wrote into sb.
func records(sb *testutil.SyncBuffer) []string {
	var out []string
	ts := fixedTime.Format(time.RFC3339Nano) + " stdout "
	for _, l := range strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n") {
		if l != "" {
			out = append(out, strings.TrimPrefix(l, ts))
		}
	}
	return out
}

func sameRecords(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s: %d records, want %d as the bufio reader cut them", what, len(got), len(want))
	}
}

// The splitter cuts records as the bufio reader did whatever sizes the
// reads have, down to single bytes.
func TestSplitterCutsAsBufioDid(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for i := range 300 {
		in := randomOutput(r)
		var sb testutil.SyncBuffer
		sp := splitter{w: newTestWriter(&sb), stream: Stdout}
		rest := in
		for _, n := range randomPieces(r, len(in)) {
			sp.feed(rest[:n])
			rest = rest[n:]
		}
		sp.flush()
		sameRecords(t, fmt.Sprintf("input %d (%d bytes)", i, len(in)), records(&sb), bufioRecords(in))
	}
}

// The splitter keeps only the line it has begun, and nothing once the line
// is written.
func TestSplitterKeepsOnlyABegunLine(t *testing.T) {
	long := strings.Repeat("x", MaxLineSize)
	tests := []struct {
		name        string
		reads       []string
		wantPending int
	}{
		{"whole lines", []string{"one\n", "two\n"}, 0},
		{"a line begun", []string{"one\nhal"}, 3},
		{"a begun line ended", []string{"one\nhal", "f\n"}, 0},
		{"a long line cut", []string{long[:100], long + long[100:]}, 0},
		{"a long line cut, its rest begun", []string{long[:100], long}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := splitter{w: newTestWriter(io.Discard), stream: Stdout}
			for _, r := range tt.reads {
				sp.feed([]byte(r))
			}
			if len(sp.pending) != tt.wantPending || cap(sp.pending) > max(2*tt.wantPending, 8) {
				t.Fatalf("pending %d bytes of %d, want %d", len(sp.pending), cap(sp.pending), tt.wantPending)
			}
		})
	}
}

// CopyTee from a pipe written in random pieces, and from a regular file,
// cuts records exactly as the bufio reader did, and tees every byte.
func TestCopyTeeCutsAsBufioDid(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := range 60 {
		in := randomOutput(r)
		want := bufioRecords(in)

		pr, werr := pipeWith(t, in, randomPieces(r, len(in))...)
		var sb, tee testutil.SyncBuffer
		if err := newTestWriter(&sb).CopyTee(Stdout, pr, &tee); err != nil {
			t.Fatal(err)
		}
		if err := <-werr; err != nil {
			t.Fatal(err)
		}
		sameRecords(t, fmt.Sprintf("input %d (%d bytes) over a pipe", i, len(in)), records(&sb), want)
		if tee.String() != string(in) {
			t.Fatalf("input %d: tee got %d bytes, want %d", i, tee.Len(), len(in))
		}

		var fsb testutil.SyncBuffer
		if err := newTestWriter(&fsb).CopyTee(Stdout, fileWith(t, in), nil); err != nil {
			t.Fatal(err)
		}
		sameRecords(t, fmt.Sprintf("input %d (%d bytes) from a file", i, len(in)), records(&fsb), want)
	}
}

// The tee gets exactly the bytes the container wrote; its closing the pipe
// ends the copy with nil.
func TestCopyTeeFromAPipe(t *testing.T) {
	in := []byte("one\n" + strings.Repeat("long", MaxLineSize) + "\nno newline")
	pr, werr := pipeWith(t, in, 3, 5000, MaxLineSize, 1)
	var sb, tee testutil.SyncBuffer
	if err := newTestWriter(&sb).CopyTee(Stdout, pr, &tee); err != nil {
		t.Fatalf("CopyTee at EOF: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if tee.String() != string(in) {
		t.Fatalf("tee got %d bytes, want the %d written", tee.Len(), len(in))
	}
	sameRecords(t, "over a pipe", records(&sb), bufioRecords(in))
}

// waitCopyParked waits until a CopyTee waits in the runtime's poller.
func waitCopyParked(t *testing.T) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, "the copy waiting in the poller", func() (bool, error) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range bytes.Split(buf, []byte("\n\n")) {
			if bytes.Contains(g, []byte("[IO wait")) && bytes.Contains(g, []byte("crilog.(*Writer).CopyTee")) {
				return true, nil
			}
		}
		return false, nil
	})
}

// Between writes a copy waits holding no chunk, not even the start of a
// line; the writer's end closing ends it with nil.
func TestCopyHoldsNoBufferWhileIdle(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close(); pw.Close() })
	var sb, tee testutil.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- newTestWriter(&sb).CopyTee(Stdout, pr, &tee) }()
	written := 0
	for _, piece := range []string{"one\n", "two\nhal", "f\n"} {
		if _, err := pw.WriteString(piece); err != nil {
			t.Fatal(err)
		}
		written += len(piece)
		testutil.WaitFor(t, 10*time.Second, "the piece copied", func() (bool, error) { return tee.Len() == written, nil })
		waitCopyParked(t)
		if n := chunksLent.Load(); n != 0 {
			t.Fatalf("a waiting copy holds %d chunks", n)
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("CopyTee at EOF: %v", err)
	}
	if got := records(&sb); strings.Join(got, "|") != "F one|F two|F half" || tee.String() != "one\ntwo\nhalf\n" {
		t.Fatalf("records %q, tee %q", got, tee.String())
	}
}

// The idle check above must be able to fail: a chunk is lent while a copy
// reads, and counted.
func TestChunksAreCounted(t *testing.T) {
	b := takeChunk()
	if chunksLent.Load() != 1 {
		t.Fatalf("lent %d, want 1", chunksLent.Load())
	}
	giveChunk(b)
	if chunksLent.Load() != 0 {
		t.Fatalf("lent %d, want 0", chunksLent.Load())
	}
}

// A read deadline ends an idle copy, writing the line it had begun as a
// P record (the shim's drain at a container's end).
func TestCopyTeeEndsAtTheReadDeadline(t *testing.T) {
	tests := []struct {
		name    string
		written string
		in      time.Duration // from when the copy waits
		want    string
	}{
		{"deadline passed, a line begun", "done\nhalf", -time.Second, "F done|P half"},
		{"deadline ahead, a line begun", "done\nhalf", 50 * time.Millisecond, "F done|P half"},
		{"deadline ahead, nothing begun", "done\n", 50 * time.Millisecond, "F done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pr.Close(); pw.Close() })
			if _, err := pw.WriteString(tt.written); err != nil {
				t.Fatal(err)
			}
			var sb, tee testutil.SyncBuffer
			done := make(chan error, 1)
			go func() { done <- newTestWriter(&sb).CopyTee(Stdout, pr, &tee) }()
			testutil.WaitFor(t, 10*time.Second, "the bytes read", func() (bool, error) { return tee.Len() == len(tt.written), nil })
			waitCopyParked(t)
			if err := pr.SetReadDeadline(time.Now().Add(tt.in)); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("CopyTee after the deadline: %v, want a deadline error", err)
				}
			case <-time.After(testutil.Scaled(10 * time.Second)):
				t.Fatal("CopyTee still copies after its read deadline")
			}
			if got := records(&sb); strings.Join(got, "|") != tt.want {
				t.Fatalf("records %q, want %q", got, tt.want)
			}
		})
	}
}

// countingFile writes records to a file, as a RotatingFile does, and
// counts them.
type countingFile struct {
	f *os.File
	n atomic.Int64
}

func (c *countingFile) Write(p []byte) (int, error) {
	defer c.n.Add(1)
	return c.f.Write(p)
}

// BenchmarkIdleCopies reports the memory 200 copies hold (heap and
// goroutine stacks, per copy) once each has copied a line into a file and
// waits on a quiet pipe: with CopyTee and with the bufio reader it
// replaced.
func BenchmarkIdleCopies(b *testing.B) {
	const copies = 200
	ways := []struct {
		name string
		copy func(w *Writer, r *os.File) error
	}{
		{"bufio", func(w *Writer, r *os.File) error { return bufioCopy(w, Stdout, io.TeeReader(r, io.Discard)) }},
		{"CopyTee", func(w *Writer, r *os.File) error { return w.CopyTee(Stdout, r, io.Discard) }},
	}
	for _, way := range ways {
		b.Run(way.name, func(b *testing.B) {
			var heap, stack float64
			for b.Loop() {
				before := memInUse()
				null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
				if err != nil {
					b.Fatal(err)
				}
				dst := countingFile{f: null}
				writers := make([]*os.File, 0, copies)
				var wg sync.WaitGroup
				for range copies {
					pr, pw, err := os.Pipe()
					if err != nil {
						b.Fatal(err)
					}
					writers = append(writers, pw)
					wg.Go(func() {
						defer pr.Close()
						_ = way.copy(NewWriter(&dst), pr)
					})
					if _, err := pw.WriteString("a line a container wrote\n"); err != nil {
						b.Fatal(err)
					}
				}
				for dst.n.Load() < copies {
					runtime.Gosched()
				}
				after := memInUse()
				heap += float64(after.HeapInuse-before.HeapInuse) / copies
				stack += float64(after.StackInuse-before.StackInuse) / copies
				for _, pw := range writers {
					pw.Close()
				}
				wg.Wait()
				null.Close()
			}
			b.ReportMetric(heap/float64(b.N), "heap-B/copy")
			b.ReportMetric(stack/float64(b.N), "stack-B/copy")
		})
	}
}

// memInUse is the memory in use after two collections, the second
// emptying what the first left in sync.Pools.
func memInUse() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}
