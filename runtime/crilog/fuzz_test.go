package crilog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds arbitrary log files to the parser and the reader (whole,
// tailed, with timestamps): a corrupt or hostile log must never panic or
// hang the reader.
func FuzzRead(f *testing.F) {
	f.Add([]byte("2024-01-01T00:00:00.000000001Z stdout F hello\n2024-01-01T00:00:00.1Z stderr P par\n2024-01-01T00:00:00.2Z stderr F tial\n"), int64(-1), false)
	f.Add([]byte("garbage\n\n\x00\xff 2024 stdout F\n"), int64(1), true)
	f.Add([]byte("2024-01-01T00:00:00Z stdout P "), int64(0), false)
	f.Fuzz(func(t *testing.T, data []byte, tail int64, timestamps bool) {
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if e, err := ParseLine(line); err == nil && !bytes.Contains(line, e.Content) {
				t.Fatalf("content %q is not part of the line %q", e.Content, line)
			}
		}
		path := filepath.Join(t.TempDir(), "0.log")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		Read(context.Background(), path, ReadOptions{Tail: tail % 1000, Timestamps: timestamps}, &out)
	})
}

// FuzzWriterRoundTrip checks that whatever a container writes reads back
// exactly, however it is split into lines and partial records.
func FuzzWriterRoundTrip(f *testing.F) {
	f.Add([]byte("first\nsecond\n"))
	f.Add(bytes.Repeat([]byte("ab"), MaxLineSize))
	f.Add([]byte("\n\n\r\n no newline at the end"))
	f.Fuzz(func(t *testing.T, in []byte) {
		path := filepath.Join(t.TempDir(), "0.log")
		fl, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		copyString(t, NewWriter(fl), Stdout, string(in))
		fl.Close()
		var out bytes.Buffer
		if err := Read(context.Background(), path, ReadOptions{Tail: -1}, &out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("round trip changed the log: got %q, want %q", out.Bytes(), in)
		}
	})
}
