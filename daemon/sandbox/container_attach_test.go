package sandbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/podd-dev/podd/internal/errdefs"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// attachStream is a shim's Attach stream, scripted: it answers what the
// test queues and records what the daemon sends.
type attachStream struct {
	grpc.ClientStream
	ctx  context.Context
	resp chan *shimv1.AttachResponse
	err  error // after resp is closed
	mu   sync.Mutex
	sent []*shimv1.AttachRequest
}

func (s *attachStream) Send(m *shimv1.AttachRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	return nil
}

func (s *attachStream) Recv() (*shimv1.AttachResponse, error) {
	select {
	case r, ok := <-s.resp:
		if !ok {
			return nil, s.err
		}
		return r, nil
	case <-s.ctx.Done():
		return nil, status.FromContextError(s.ctx.Err()).Err()
	}
}

func (s *attachStream) sentMsgs() []*shimv1.AttachRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*shimv1.AttachRequest(nil), s.sent...)
}

// attachShim is a ShimClient whose Attach is an attachStream.
type attachShim struct {
	ShimClient
	stream *attachStream
}

func (a *attachShim) Attach(ctx context.Context, _ ...grpc.CallOption) (grpc.BidiStreamingClient[shimv1.AttachRequest, shimv1.AttachResponse], error) {
	a.stream.ctx = ctx
	return a.stream, nil
}

func newAttachShim(resps ...*shimv1.AttachResponse) *attachShim {
	s := &attachStream{resp: make(chan *shimv1.AttachResponse, len(resps)+1), err: io.EOF}
	for _, r := range resps {
		s.resp <- r
	}
	return &attachShim{stream: s}
}

func stdoutMsg(s string) *shimv1.AttachResponse {
	return &shimv1.AttachResponse{Msg: &shimv1.AttachResponse_Stdout{Stdout: []byte(s)}}
}

var exitMsg = &shimv1.AttachResponse{Msg: &shimv1.AttachResponse_Exit{Exit: &shimv1.AttachExit{}}}

// The container's output reaches the client's writers until it exits; the
// start names the container and the streams wanted.
func TestAttachInCopiesOutputUntilTheExit(t *testing.T) {
	cl := newAttachShim(stdoutMsg("out"), &shimv1.AttachResponse{Msg: &shimv1.AttachResponse_Stderr{Stderr: []byte("err")}}, exitMsg)
	var out, errOut bytes.Buffer
	if err := attachIn(context.Background(), cl, "c1", AttachRequest{Stdout: &out, Stderr: &errOut}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out" || errOut.String() != "err" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
	start := cl.stream.sentMsgs()[0].GetStart()
	if start.GetContainer() != "c1" || start.GetStdin() || !start.GetStdout() || !start.GetStderr() || start.GetStdinOnce() {
		t.Errorf("start %v", start)
	}
}

// Without stdin_once the end of the client's input detaches it: the
// container goes on. With stdin_once it closes the container's stdin and
// the client stays until the exit.
func TestAttachInStdin(t *testing.T) {
	cl := newAttachShim()
	done := make(chan error, 1)
	go func() {
		done <- attachIn(context.Background(), cl, "c1", AttachRequest{Stdin: strings.NewReader("in"), Stdout: io.Discard})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("detach: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the end of the input did not detach the client")
	}
	sent := cl.stream.sentMsgs()
	if len(sent) != 3 || string(sent[1].GetStdin()) != "in" || !sent[2].GetCloseStdin() || !sent[0].GetStart().GetStdin() {
		t.Fatalf("sent %v", sent)
	}

	cl = newAttachShim()
	var out bytes.Buffer
	go func() {
		done <- attachIn(context.Background(), cl, "c1", AttachRequest{Stdin: strings.NewReader("in"), Stdout: &out, StdinOnce: true})
	}()
	testutil.WaitFor(t, 10*time.Second, "stdin and its end sent", func() (bool, error) { return len(cl.stream.sentMsgs()) >= 3, nil })
	select {
	case err := <-done:
		t.Fatalf("a stdin_once client ended with its input: %v", err)
	default:
	}
	if !cl.stream.sentMsgs()[0].GetStart().GetStdinOnce() {
		t.Errorf("start %v", cl.stream.sentMsgs()[0])
	}
	cl.stream.resp <- stdoutMsg("bye")
	cl.stream.resp <- exitMsg
	if err := <-done; err != nil || out.String() != "bye" {
		t.Fatalf("stdin_once client: %v %q", err, out.String())
	}
}

// The shim's refusals keep their class; a stream that ends without the
// exit is an error.
func TestAttachInErrors(t *testing.T) {
	cl := newAttachShim()
	cl.stream.err = status.Error(codes.FailedPrecondition, `attach to container "c1": it is stopped`)
	close(cl.stream.resp)
	err := attachIn(context.Background(), cl, "c1", AttachRequest{Stdout: io.Discard})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "it is stopped") {
		t.Errorf("refused: %v", err)
	}
	cl = newAttachShim(stdoutMsg("x"))
	close(cl.stream.resp)
	if err := attachIn(context.Background(), cl, "c1", AttachRequest{Stdout: io.Discard}); err == nil || !strings.Contains(err.Error(), "ended before the container exited") {
		t.Errorf("cut short: %v", err)
	}
}
