package crilog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sampleLog = `2025-01-02T03:04:05.1Z stdout F one
2025-01-02T03:04:05.2Z stderr P tw
2025-01-02T03:04:05.3Z stderr F o
not a record
2025-01-02T03:04:05.4Z stdout F three
2025-01-02T03:04:05.5Z stdout P fo
2025-01-02T03:04:05.6Z stdout P ur
`

func writeLog(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		line    string
		want    Entry
		wantErr bool
	}{
		{line: "2025-01-02T03:04:05.1Z stdout F hi there\n", want: Entry{Stream: Stdout, Content: []byte("hi there")}},
		{line: "2025-01-02T03:04:05.1Z stderr P ", want: Entry{Stream: Stderr, Partial: true, Content: []byte{}}},
		{line: "2025-01-02T03:04:05.1Z stdin F x", wantErr: true},
		{line: "2025-01-02T03:04:05.1Z stdout X x", wantErr: true},
		{line: "yesterday stdout F x", wantErr: true},
		{line: "2025-01-02T03:04:05.1Z stdout", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseLine([]byte(tt.line))
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseLine(%q) err = %v, wantErr %v", tt.line, err, tt.wantErr)
			continue
		}
		if err == nil && (got.Stream != tt.want.Stream || got.Partial != tt.want.Partial || !bytes.Equal(got.Content, tt.want.Content)) {
			t.Errorf("ParseLine(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestReadPrintsAsOptionsSay(t *testing.T) {
	path := writeLog(t, sampleLog)
	tests := []struct {
		name string
		opts ReadOptions
		want string
	}{
		{"all lines joined", ReadOptions{Tail: -1}, "one\ntwo\nthree\nfour"},
		{"tail 2 counts lines not records", ReadOptions{Tail: 2}, "three\nfour"},
		{"tail 3", ReadOptions{Tail: 3}, "two\nthree\nfour"},
		{"tail more than there is", ReadOptions{Tail: 100}, "one\ntwo\nthree\nfour"},
		{"tail 0", ReadOptions{Tail: 0}, ""},
		{"timestamps print each record", ReadOptions{Tail: 2, Timestamps: true},
			"2025-01-02T03:04:05.4Z three\n2025-01-02T03:04:05.5Z fo\n2025-01-02T03:04:05.6Z ur\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Read(context.Background(), path, tt.opts, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Fatalf("got %q, want %q", out.String(), tt.want)
			}
		})
	}
}

func TestReadWriterRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("ab", MaxLineSize)
	in := "first\n" + long + "\nlast"
	copyString(t, NewWriter(f), Stdout, in)
	f.Close()
	var out bytes.Buffer
	if err := Read(context.Background(), path, ReadOptions{Tail: -1}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != in {
		t.Fatalf("round trip changed the log: got %d bytes, want %d", out.Len(), len(in))
	}
}

// syncBuffer lets the test read what the follower wrote so far.
type syncBuffer struct {
	ch chan string
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.ch <- string(p)
	return len(p), nil
}

func TestReadFollowsUntilDoneAndDrains(t *testing.T) {
	path := writeLog(t, "2025-01-02T03:04:05.1Z stdout F one\n")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done := make(chan struct{})
	out := &syncBuffer{ch: make(chan string, 16)}
	errc := make(chan error, 1)
	go func() {
		errc <- Read(context.Background(), path, ReadOptions{Tail: -1, Follow: true, Done: done, PollInterval: 10 * time.Millisecond}, out)
	}()
	expect := func(want string) {
		t.Helper()
		var got string
		deadline := time.After(5 * time.Second)
		for got != want {
			select {
			case s := <-out.ch:
				got += s
			case <-deadline:
				t.Fatalf("follower printed %q, want %q", got, want)
			}
		}
	}
	expect("one\n")
	// A record written in two pieces is printed once it is complete.
	f.WriteString("2025-01-02T03:04:05.2Z stdout F t")
	f.WriteString("wo\n")
	expect("two\n")
	f.WriteString("2025-01-02T03:04:05.3Z stderr F three\n")
	close(done)
	expect("three\n")
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follower did not return after Done")
	}
}

func TestReadFollowStopsOnCancel(t *testing.T) {
	path := writeLog(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Read(ctx, path, ReadOptions{Tail: -1, Follow: true}, &bytes.Buffer{}) }()
	cancel()
	select {
	case err := <-errc:
		if err != context.Canceled {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follower did not stop on cancel")
	}
}
