package server

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// execStream is the server side of an Exec stream: Recv hands out reqs,
// then recvErr; Send records.
type execStream struct {
	reqs    []*shimv1.ExecRequest
	recvErr error
	sent    []*shimv1.ExecResponse
}

func (e *execStream) Context() context.Context { return context.Background() }
func (e *execStream) Recv() (*shimv1.ExecRequest, error) {
	if len(e.reqs) == 0 {
		return nil, e.recvErr
	}
	r := e.reqs[0]
	e.reqs = e.reqs[1:]
	return r, nil
}
func (e *execStream) Send(r *shimv1.ExecResponse) error {
	e.sent = append(e.sent, r)
	return nil
}

func execStart(container string, args ...string) *shimv1.ExecRequest {
	return &shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Start{Start: &shimv1.ExecProcess{Container: container, Args: args}}}
}

// Exec refuses, before starting anything, a stream that does not open with
// a start carrying args, and a container that is unknown or not running.
func TestExecRefusals(t *testing.T) {
	s := testService(t)
	s.add(t, "app-0", createdState{})
	s.add(t, "done-0", stoppedState{})
	gone := errors.New("client went")
	for _, tc := range []struct {
		name   string
		stream *execStream
		code   codes.Code
		substr string
	}{
		{"stdin first", &execStream{reqs: []*shimv1.ExecRequest{{Msg: &shimv1.ExecRequest_Stdin{Stdin: []byte("x")}}}}, codes.InvalidArgument, "first message must be start"},
		{"no args", &execStream{reqs: []*shimv1.ExecRequest{execStart("app-0")}}, codes.InvalidArgument, "with args"},
		{"unknown container", &execStream{reqs: []*shimv1.ExecRequest{execStart("web-0", "true")}}, codes.NotFound, `"web-0": no such container`},
		{"created container", &execStream{reqs: []*shimv1.ExecRequest{execStart("app-0", "true")}}, codes.FailedPrecondition, `"app-0": it is not running`},
		{"stopped container", &execStream{reqs: []*shimv1.ExecRequest{execStart("done-0", "true")}}, codes.FailedPrecondition, `"done-0": it is not running`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.name, s.Exec(tc.stream), tc.code, tc.substr)
			if len(tc.stream.sent) != 0 {
				t.Errorf("sent %v before refusing", tc.stream.sent)
			}
		})
	}
	if err := s.Exec(&execStream{recvErr: gone}); !errors.Is(err, gone) {
		t.Errorf("Exec with no first message: %v, want the stream's error", err)
	}
}

// pump sends output as it is read, stdout and stderr apart, and past the
// limit reads on without sending (the process never blocks on a full pipe).
func TestExecOutputPumpAndLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limit  int64
		stderr bool
		in     string
		want   string
	}{
		{"no limit", 0, false, "hello world", "hello world"},
		{"stderr", 0, true, "oops", "oops"},
		{"cut at the limit", 5, false, "hello world", "hello"},
		{"under the limit", 64, false, "hi", "hi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := &execStream{}
			out := &execOutput{stream: stream, limit: tc.limit}
			r := &chunkReader{chunks: strings.SplitAfter(tc.in, " ")}
			out.pump(r, tc.stderr, nil)
			if len(r.chunks) != 0 {
				t.Fatalf("pump stopped with %q unread", r.chunks)
			}
			var got strings.Builder
			for _, m := range stream.sent {
				if tc.stderr {
					got.Write(m.GetStderr())
					if m.GetStdout() != nil {
						t.Errorf("stderr output sent as stdout: %v", m)
					}
				} else {
					got.Write(m.GetStdout())
				}
			}
			if got.String() != tc.want {
				t.Fatalf("sent %q, want %q", got.String(), tc.want)
			}
		})
	}
}

// chunkReader returns one chunk per Read, then EOF.
type chunkReader struct{ chunks []string }

func (c *chunkReader) Read(b []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(b, c.chunks[0])
	c.chunks = c.chunks[1:]
	return n, nil
}

// Closing a terminal's input sends end-of-file (^D): a hang-up would end
// the session instead of the input.
func TestTTYInputCloseSendsEOT(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	in := &ttyInput{f: w}
	if _, err := in.Write([]byte("ls\n")); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, _ := r.Read(buf)
	if got := string(buf[:n]); got != "ls\n\x04" {
		t.Fatalf("terminal got %q", got)
	}
}
