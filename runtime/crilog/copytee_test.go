package crilog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

// bufioRecords is how Copy cut lines before CopyTee: a bufio.Reader of
// MaxLineSize bytes read up to each newline. The splitter must give the
// same records whatever sizes its reads have.
func bufioRecords(in []byte) []string {
	var out []string
	br := bufio.NewReaderSize(bytes.NewReader(in), MaxLineSize)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			out = append(out, tagFull+" "+string(line[:len(line)-1]))
		case errors.Is(err, bufio.ErrBufferFull):
			out = append(out, tagPartial+" "+string(line))
		default:
			if len(line) > 0 {
				out = append(out, tagPartial+" "+string(line))
			}
			return out
		}
	}
}

// randomOutput is lines of 0 to 40 KiB, the last with or without its
// newline.
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

// records are the tags and contents of what w wrote into sb.
func records(sb *syncBuilder) []string {
	var out []string
	ts := fixedTime.Format(time.RFC3339Nano) + " stdout "
	for _, l := range strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n") {
		if l != "" {
			out = append(out, strings.TrimPrefix(l, ts))
		}
	}
	return out
}

type syncBuilder struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuilder) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// CopyTee from a pipe written in random pieces, and from a regular file,
// cuts records exactly as the bufio reader did, and tees every byte.
func TestCopyTeeCutsAsBufioDid(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := range 60 {
		in := randomOutput(r)
		want := bufioRecords(in)

		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer pw.Close()
			for rest := in; len(rest) > 0; {
				n := min(len(rest), 1+r.Intn(70000))
				pw.Write(rest[:n])
				rest = rest[n:]
			}
		}()
		var sb, tee syncBuilder
		if err := newTestWriter(&sb).CopyTee(Stdout, pr, &tee); err != nil {
			t.Fatal(err)
		}
		pr.Close()
		if got := records(&sb); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("input %d (%d bytes) over a pipe: %d records, want %d", i, len(in), len(got), len(want))
		}
		if tee.String() != string(in) {
			t.Fatalf("input %d: tee got %d bytes, want %d", i, tee.Len(), len(in))
		}

		var csb syncBuilder
		if err := newTestWriter(&csb).Copy(Stdout, iotest.HalfReader(bytes.NewReader(in))); err != nil {
			t.Fatal(err)
		}
		if got := records(&csb); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("input %d through Copy: %d records, want %d", i, len(got), len(want))
		}

		f := filepath.Join(t.TempDir(), "out")
		if err := os.WriteFile(f, in, 0o600); err != nil {
			t.Fatal(err)
		}
		fr, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		var fsb syncBuilder
		if err := newTestWriter(&fsb).CopyTee(Stdout, fr, nil); err != nil {
			t.Fatal(err)
		}
		fr.Close()
		if got := records(&fsb); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("input %d from a file: %d records, want %d", i, len(got), len(want))
		}
	}
}

// Between writes a copy waits holding no chunk; the writer's end closing
// ends it with nil.
func TestCopyHoldsNoBufferWhileIdle(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var sb, tee syncBuilder
	done := make(chan error, 1)
	go func() { done <- newTestWriter(&sb).CopyTee(Stdout, pr, &tee) }()
	for i, line := range []string{"one\n", "two\n"} {
		if _, err := pw.WriteString(line); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 10*time.Second, "the line copied", func() (bool, error) { return len(records(&sb)) == i+1, nil })
		// Copied: the copy is back waiting, or about to be.
		testutil.WaitFor(t, 10*time.Second, "no chunk lent", func() (bool, error) { return chunksLent.Load() == 0, nil })
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("CopyTee at EOF: %v", err)
	}
	if got := records(&sb); strings.Join(got, "|") != "F one|F two" || tee.String() != "one\ntwo\n" {
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
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	if _, err := pw.WriteString("done\nhalf"); err != nil {
		t.Fatal(err)
	}
	var sb syncBuilder
	done := make(chan error, 1)
	go func() { done <- newTestWriter(&sb).CopyTee(Stdout, pr, io.Discard) }()
	testutil.WaitFor(t, 10*time.Second, "the first line copied", func() (bool, error) { return len(records(&sb)) == 1, nil })
	if err := pr.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("CopyTee after the deadline: %v, want a deadline error", err)
	}
	if got := records(&sb); strings.Join(got, "|") != "F done|P half" {
		t.Fatalf("records %q", got)
	}
}
