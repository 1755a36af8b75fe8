package crilog

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

var fixedTime = time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC)

func newTestWriter(dst io.Writer) *Writer {
	w := NewWriter(dst)
	w.now = func() time.Time { return fixedTime }
	return w
}

func TestCopyWritesCRIRecords(t *testing.T) {
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sb strings.Builder
			if err := newTestWriter(&sb).Copy(tt.stream, strings.NewReader(tt.in)); err != nil {
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

type failingWriter struct{ writes int }

func (f *failingWriter) Write(p []byte) (int, error) {
	f.writes++
	return 0, errors.New("disk full")
}

func TestCopyKeepsDrainingAfterWriteError(t *testing.T) {
	fw := &failingWriter{}
	w := newTestWriter(fw)
	src := strings.NewReader(strings.Repeat("line\n", 1000))
	if err := w.Copy(Stdout, src); err != nil {
		t.Fatal(err)
	}
	if src.Len() != 0 {
		t.Fatalf("%d bytes left unread after a write error", src.Len())
	}
	if w.Err() == nil || fw.writes != 1000 {
		t.Fatalf("Err() = %v, writes = %d; want the error and 1000 attempts", w.Err(), fw.writes)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestCopyReturnsReadError(t *testing.T) {
	want := errors.New("boom")
	var sb strings.Builder
	if err := newTestWriter(&sb).Copy(Stdout, io.MultiReader(strings.NewReader("half"), errReader{want})); !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	if !strings.HasSuffix(sb.String(), " stdout P half\n") {
		t.Fatalf("fragment before the error not written as partial: %q", sb.String())
	}
}
