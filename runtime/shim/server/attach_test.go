package server

import (
	"bytes"
	"testing"
)

// recorder is a container's stdin as the hub sees it.
type recorder struct {
	bytes.Buffer
	closes int
}

func (r *recorder) Close() error { r.closes++; return nil }

func drain(sub *attachSub) (stdout, stderr string, open bool) {
	for {
		select {
		case c, ok := <-sub.ch:
			if !ok {
				return stdout, stderr, false
			}
			if c.stderr {
				stderr += string(c.data)
			} else {
				stdout += string(c.data)
			}
		default:
			return stdout, stderr, true
		}
	}
}

// Each client gets the streams it asked for, from the moment it attached.
func TestAttachHubFansOutRequestedStreams(t *testing.T) {
	h := newAttachHub()
	h.output(false).Write([]byte("before\n"))
	both, _ := h.subscribe(true, true)
	outOnly, _ := h.subscribe(true, false)
	buf := []byte("out\n")
	h.output(false).Write(buf)
	copy(buf, "XXXX") // the writer's buffer is reused by the log copy
	h.output(true).Write([]byte("err\n"))
	if o, e, open := drain(both); o != "out\n" || e != "err\n" || !open {
		t.Errorf("stdout+stderr client got %q %q open=%v", o, e, open)
	}
	if o, e, _ := drain(outOnly); o != "out\n" || e != "" {
		t.Errorf("stdout client got %q %q", o, e)
	}
}

// The container's exit ends every client; a later one is told at once.
func TestAttachHubExitEndsClients(t *testing.T) {
	h := newAttachHub()
	sub, _ := h.subscribe(true, false)
	h.exit()
	if _, _, open := drain(sub); open || sub.lagged {
		t.Fatalf("after exit: open=%v lagged=%v", open, sub.lagged)
	}
	if _, ok := h.subscribe(true, false); ok {
		t.Fatal("subscribe after exit succeeded")
	}
	h.unsubscribe(sub) // idempotent after exit
}

// A client that falls behind is dropped; the writer (the log copy) never
// blocks and the other clients keep their output.
func TestAttachHubDropsASlowClient(t *testing.T) {
	h := newAttachHub()
	slow, _ := h.subscribe(true, false)
	for i := 0; i < attachQueue+1; i++ {
		if n, err := h.output(false).Write([]byte("x")); n != 1 || err != nil {
			t.Fatalf("write %d: %d %v", i, n, err)
		}
	}
	fast, _ := h.subscribe(true, false)
	h.output(false).Write([]byte("y"))
	if o, _, open := drain(slow); open || !slow.lagged || len(o) != attachQueue {
		t.Fatalf("slow client: %d bytes open=%v lagged=%v", len(o), open, slow.lagged)
	}
	if o, _, open := drain(fast); o != "y" || !open {
		t.Fatalf("fast client got %q open=%v", o, open)
	}
}

// Input reaches stdin until it is closed (stdin_once or the exit); closing
// twice closes once.
func TestAttachHubStdin(t *testing.T) {
	h := newAttachHub()
	h.write([]byte("lost")) // no stdin yet
	in := &recorder{}
	h.setInput(in, nil)
	h.write([]byte("a"))
	h.closeStdin()
	h.closeStdin()
	h.write([]byte("b"))
	if in.String() != "a" || in.closes != 1 {
		t.Fatalf("stdin got %q, closed %d times", in.String(), in.closes)
	}
	if err := h.setSize(80, 24); err != nil {
		t.Fatalf("resize without a terminal: %v", err)
	}
	var got [2]uint16
	h.setInput(nil, func(w, hh uint16) error { got = [2]uint16{w, hh}; return nil })
	if err := h.setSize(100, 40); err != nil || got != [2]uint16{100, 40} {
		t.Fatalf("resize: %v %v", got, err)
	}
}
